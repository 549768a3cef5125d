"""The Python API of noegletal.ingest: validate, ingest_frames (revisions), problems, safe spreadsheets."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pandas as pd
import pytest

from noegletal import model
from noegletal.ingest import Problem, ingest_frames, ingest_path, validate
from noegletal.spreadsheet import new_workbook, safe_cell, write_frame
from noegletal.store import Store


def frames(n_extra_area: float = 0.0):
    """Two buildings as the demo builder passes them: typed with model.coerce_dtypes."""
    b = model.coerce_dtypes(pd.DataFrame({
        "kommunekode": [101, 101], "bygning_id": ["B1", "B2"], "ejendom_id": ["E1", "E1"],
        "navn": ["Nørreskolen", "Gymnastiksal"], "anvendelseskode": [421, 533], "kategori": [None, None],
        "opfoerelsesaar": [1962, None], "bruttoareal_m2": [1000.0 + n_extra_area, 400.0],
        "ejerforhold": ["ejet", "lejet"], "varmeandel_vejruafhaengig_pct": [None, 35.0],
    }), "bygninger")
    k = pd.DataFrame({c: [None, None] for c in model.column_ids("kvartal")})
    k = k.assign(kommunekode=101, bygning_id=["B1", "B2"], periode="2026Q3", varme_kwh=[25000.0, None],
                 el_kwh=[9000.0, 0.0], tomt_areal_m2=[0.0, 50.0])
    return b, model.coerce_dtypes(k, "kvartal")


def test_typed_frames_are_valid_and_come_back_unchanged():
    b, k = frames()
    result = validate(b, k, "demo")
    assert result.ok and result.errors == [] and result.warnings == []
    assert (result.kommunekode, result.periode) == (101, "2026Q3")
    assert list(result.bygninger.columns) == model.column_ids("bygninger")  # no derived columns added
    assert list(result.kvartal.columns) == model.column_ids("kvartal")
    pd.testing.assert_frame_equal(result.bygninger, b.reset_index(drop=True))
    pd.testing.assert_frame_equal(result.kvartal, k.reset_index(drop=True))


def test_problems_in_frames_from_code_count_rows_as_in_a_sheet():
    b, k = frames()
    k["tilstandsgrad"] = pd.array([None, 6.0], dtype="Float64")
    result = validate(b, k, "demo 101 2026Q3")
    assert not result.ok
    [p] = result.errors
    assert (p.fil, p.ark, p.raekke, p.kolonne, p.vaerdi, p.alvor) == ("demo 101 2026Q3", "kvartal", 3, "tilstandsgrad", "6", "fejl")


def test_problem_reads_as_one_danish_line():
    p = Problem("skema.xlsx", "kvartal", 7, "varme_kwh", "12,5 MWh", "værdien er ikke et tal", "et tal i kWh")
    assert str(p) == ("Fejl: skema.xlsx, ark kvartal, række 7, kolonne varme_kwh, værdi «12,5 MWh»: "
                      "værdien er ikke et tal. Forventet: et tal i kWh.")
    w = Problem("x", None, None, None, None, "mistænkeligt", "noget andet", "advarsel")
    assert str(w) == "Advarsel: x: mistænkeligt. Forventet: noget andet."


def test_optional_columns_may_be_left_out():
    b, k = frames()
    result = validate(b.drop(columns=["kategori", "varmeandel_vejruafhaengig_pct"]),
                      k.drop(columns=["husleje_kr", "indeklima"]), "x")
    assert result.ok
    assert result.bygninger["kategori"].isna().all() and result.kvartal["indeklima"].isna().all()
    assert list(result.bygninger.columns) == model.column_ids("bygninger")


def test_unknown_but_valid_bbr_code_is_a_warning_unless_a_category_is_given():
    b, k = frames()
    b["anvendelseskode"] = pd.array([999, 998], dtype="Int64")
    b["kategori"] = pd.array([None, "idraet"], dtype="string")
    result = validate(b, k, "x")
    assert result.ok
    [w] = result.warnings
    assert (w.alvor, w.raekke, w.kolonne, w.vaerdi) == ("advarsel", 2, "anvendelseskode", "999")
    assert "kategorien oevrige" in w.problem


def test_a_building_without_quarter_values_is_a_warning():
    b, k = frames()
    result = validate(b, k.iloc[:1], "x")
    assert result.ok
    assert [(w.ark, w.raekke, w.vaerdi) for w in result.warnings] == [("bygninger", 3, "B2")]


def test_revisions_identical_resubmission_dry_run_and_rejection(tmp_path):
    at = dt.datetime(2026, 11, 20, 9, 30)
    with Store(tmp_path / "db.duckdb") as store:
        b, k = frames()
        assert ingest_frames(store, b, k, "a.xlsx", dry_run=True).status == "gyldig"
        assert store.submissions().empty

        first = ingest_frames(store, b, k, "a.xlsx", ingested_at=at)
        assert (first.status, first.revision, first.kommunekode, first.periode, first.antal_bygninger) == (
            "gemt", 1, 101, "2026Q3", 2)

        same = ingest_frames(store, b.iloc[::-1], k, "kopi.xlsx")  # other order, same content
        assert (same.status, same.revision) == ("uaendret", 1)

        b2, k2 = frames(n_extra_area=10)
        second = ingest_frames(store, b2, k2, "b.xlsx")
        assert (second.status, second.revision) == ("gemt", 2)

        k_bad = k2.copy()
        k_bad["tomt_areal_m2"] = pd.array([5000.0, 0.0], dtype="Float64")
        bad = ingest_frames(store, b2, k_bad, "c.xlsx")
        assert bad.status == "afvist" and bad.revision is None and len(bad.errors) == 1

        subs = store.submissions()
        assert subs[["revision", "kildefil"]].values.tolist() == [[1, "a.xlsx"], [2, "b.xlsx"]]
        assert subs["indlaest"][0] == at
        assert store.revision(101, "2026Q3", 1, "bygninger")["bruttoareal_m2"].tolist() == [1000.0, 400.0]
        assert store.latest("bygninger")["bruttoareal_m2"].tolist() == [1010.0, 400.0]


def test_warnings_are_stored_with_the_revision(tmp_path):
    b, k = frames()
    b["anvendelseskode"] = pd.array([999, 533], dtype="Int64")
    with Store(tmp_path / "db.duckdb") as store:
        result = ingest_frames(store, b, k, "a.xlsx")
        assert result.status == "gemt" and len(result.warnings) == 1
        stored = json.loads(store.submissions()["advarsler"][0])
    assert stored == [str(result.warnings[0])]
    assert stored[0].startswith("Advarsel: a.xlsx, ark bygninger, række 2, kolonne anvendelseskode, værdi «999»")


def test_ingest_path_never_raises_for_a_missing_path(tmp_path):
    with Store(tmp_path / "db.duckdb") as store:
        result = ingest_path(store, tmp_path / "findes_ikke.xlsx")
    assert result.status == "afvist"
    assert "findes ikke" in result.errors[0].problem


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+45 12 34", "-Annex", "@SUM(A1)", "\tx"])
def test_safe_cell_neutralises_formula_like_text(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Nørreskolen", "", -5, 3.5, None, "a=b"])
def test_safe_cell_leaves_other_values_alone(value):
    assert safe_cell(value) == value


def test_write_frame_writes_safe_text_frozen_header_and_widths(tmp_path):
    df = pd.DataFrame({"navn": ["=1+1", "Skolen"], "areal": [-5.0, None], "kode": pd.array([421, None], dtype="Int64")})
    wb = new_workbook()
    write_frame(wb, "ark", df)
    wb.save(tmp_path / "x.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "x.xlsx")["ark"]
    assert [c.value for c in ws[1]] == ["navn", "areal", "kode"]
    assert ws["A2"].value == "'=1+1" and ws["A2"].data_type == "s"
    assert ws["B2"].value == -5 and ws["B3"].value is None and ws["C2"].value == 421 and ws["C3"].value is None
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.bold
    assert ws.column_dimensions["A"].width >= 8

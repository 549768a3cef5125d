"""The questionnaire workbook, and the whole round trip as a new user does it."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from noegletal import model
from noegletal.cli import app
from noegletal.ingest import ingest_frames, write_template
from noegletal.store import Store

runner = CliRunner()


def _validations(ws) -> dict[str, object]:
    """Data validations by the header of the column they cover."""
    headers = {c.column_letter: c.value for c in ws[1]}
    out = {}
    for dv in ws.data_validations.dataValidation:
        letter = str(dv.sqref).split(":")[0].rstrip("0123456789")
        assert str(dv.sqref).startswith(f"{letter}2:")
        out[headers[letter]] = dv
    return out


@pytest.fixture
def template(ingest_db, tmp_path):
    path = tmp_path / "aarhus_2026Q3.xlsx"
    result = runner.invoke(app, ["--db", str(ingest_db), "template", "751", "2026Q3", "-o", str(path)])
    assert result.exit_code == 0, result.output
    assert "udfyldt med 4 bygninger fra indberetningen for 2026Q2" in result.output
    return path


def test_sheets_headers_prefill_and_layout(template):
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames == ["vejledning", "bygninger", "kvartal"]
    b, k = wb["bygninger"], wb["kvartal"]
    assert [c.value for c in b[1]] == model.column_ids("bygninger")
    assert [c.value for c in k[1]] == model.column_ids("kvartal")
    assert [r[1] for r in b.iter_rows(min_row=2, values_only=True)] == ["B-001", "B-002", "B-003", "B-004"]
    assert list(b.iter_rows(min_row=2, max_row=2, values_only=True))[0][:5] == (751, "B-001", "E-01", "Skovvangskolen", 421)
    assert b["H2"].value == 4250.5
    assert list(k.iter_rows(min_row=2, values_only=True))[0] == (751, "B-001", "2026Q3") + (None,) * 15
    for ws in (b, k):
        assert ws.freeze_panes == "A2"
        assert ws["A1"].font.bold
        assert ws.column_dimensions["D"].width > 8
    assert b.column_dimensions["D"].width >= len("Skovvangskolen, gymnastiksal")


def test_data_validation_follows_the_model(template):
    wb = openpyxl.load_workbook(template)
    b, k = _validations(wb["bygninger"]), _validations(wb["kvartal"])
    assert b["ejerforhold"].type == "list" and b["ejerforhold"].formula1 == '"ejet,lejet"'
    assert b["kategori"].formula1 == '"' + ",".join(model.CATEGORIES) + '"'
    assert b["anvendelseskode"].type == "list" and "421" in b["anvendelseskode"].formula1
    assert b["anvendelseskode"].errorStyle == "warning"  # other valid 3-digit codes are allowed
    assert b["kommunekode"].formula1 == '"751"' and k["periode"].formula1 == '"2026Q3"'
    assert (b["opfoerelsesaar"].type, b["opfoerelsesaar"].operator, b["opfoerelsesaar"].formula1) == ("whole", "between", "1600")
    assert (b["bruttoareal_m2"].operator, b["bruttoareal_m2"].formula1) == ("greaterThan", "0")
    assert (b["varmeandel_vejruafhaengig_pct"].formula1, b["varmeandel_vejruafhaengig_pct"].formula2) == ("0", "100")
    for grade in ("tilstandsgrad", "indeklima"):
        assert (k[grade].type, k[grade].formula1, k[grade].formula2) == ("decimal", "1", "5")
    assert (k["varme_kwh"].operator, k["varme_kwh"].formula1) == ("greaterThanOrEqual", "0")
    assert all(dv.allow_blank for dv in list(b.values()) + list(k.values()))
    assert "bygning_id" not in b  # free text


def test_instructions_explain_every_column_users_and_deadline(template):
    ws = openpyxl.load_workbook(template)["vejledning"]
    text = "\n".join(" | ".join(str(v) for v in row if v is not None) for row in ws.iter_rows(values_only=True))
    assert "Aarhus Kommune (751), 2026Q3" in text
    assert "Frist: 25. november 2026" in text
    for table, columns in model.TABLES.items():
        for col in columns:
            assert f"{table} | {col.id} |" in text
    assert "skole | Skoler | elever" in text and "plejecenter | Plejecentre | beboere" in text
    assert "dagtilbud | Dagtilbud | indskrevne børn" in text
    assert "tom celle betyder 'ikke indberettet'" in text.lower()
    assert "421 | Grundskole | skole" in text


def test_formula_like_names_are_neutralised_and_round_trip(ingest_db, tmp_path):
    b = model.coerce_dtypes(pd.DataFrame({
        "kommunekode": [101, 101], "bygning_id": ["-1", "B2"], "ejendom_id": ["E1", "@E2"],
        "navn": ['=HYPERLINK("http://x","klik")', "+Annex"], "anvendelseskode": [421, 533], "kategori": [None, None],
        "opfoerelsesaar": [None, None], "bruttoareal_m2": [100.0, 50.0], "ejerforhold": ["ejet", "ejet"],
        "varmeandel_vejruafhaengig_pct": [None, None],
    }), "bygninger")
    k = model.coerce_dtypes(pd.DataFrame({"kommunekode": [101, 101], "bygning_id": ["-1", "B2"], "periode": "2026Q2"}).reindex(
        columns=model.column_ids("kvartal")), "kvartal")
    path = tmp_path / "kbh.xlsx"
    with Store(ingest_db) as store:
        assert ingest_frames(store, b, k, "x").status == "gemt"
        write_template(store, 101, "2026Q2", path)
    ws = openpyxl.load_workbook(path)["bygninger"]
    assert ws["D2"].value == "'=HYPERLINK(\"http://x\",\"klik\")" and ws["D2"].data_type == "s"
    assert ws["B2"].value == "'-1" and ws["C3"].value == "'@E2" and ws["D3"].value == "'+Annex"
    # Submitting the untouched template gives the same content: identical re-submission, nothing new.
    result = runner.invoke(app, ["--db", str(ingest_db), "ingest", str(path)])
    assert result.exit_code == 0, result.output
    assert "uændret" in result.output


def test_municipality_without_earlier_submission_gets_empty_sheets(ingest_db, tmp_path):
    path = tmp_path / "ny.xlsx"
    with Store(ingest_db) as store:
        info = write_template(store, 147, "2026Q3", path)
    assert (info.antal_bygninger, info.fra_periode) == (0, None)
    wb = openpyxl.load_workbook(path)
    assert wb["bygninger"].max_row == 1 and wb["kvartal"].max_row == 1


def test_prefill_takes_the_newest_submission_up_to_the_quarter(ingest_db, tmp_path):
    with Store(ingest_db) as store:
        assert write_template(store, 751, "2026Q1", tmp_path / "før.xlsx").fra_periode is None
        assert write_template(store, 751, "2026Q2", tmp_path / "samme.xlsx").fra_periode == "2026Q2"


@pytest.mark.parametrize("args, message", [
    (["999", "2026Q3"], "999 er ikke en kommunekode"),
    (["751", "2026-3"], "'2026-3' er ikke et kvartal"),
    (["751", "2026Q5"], "'2026Q5' er ikke et kvartal"),
])
def test_bad_template_arguments_are_clear_errors(ingest_db, tmp_path, args, message):
    result = runner.invoke(app, ["--db", str(ingest_db), "template", *args, "-o", str(tmp_path / "x.xlsx")])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.xlsx").exists()


def test_template_output_must_be_xlsx(ingest_db, tmp_path):
    result = runner.invoke(app, ["--db", str(ingest_db), "template", "751", "2026Q3", "-o", str(tmp_path / "x.csv")])
    assert result.exit_code == 1 and "skal ende på .xlsx" in result.output


def test_new_user_fills_in_the_template_makes_a_mistake_and_fixes_it(template, ingest_db):
    """As a person would: open the template, type the quarter's numbers (some as Danish text), save."""
    wb = openpyxl.load_workbook(template)
    k = wb["kvartal"]
    header = [c.value for c in k[1]]
    typed = {  # row 2 = B-001, row 4 = B-003
        2: {"brugere": 405, "varme_kwh": "101.500", "el_kwh": 30250, "tilstandsgrad": 3},
        4: {"brugere": 57, "varme_kwh": 13900, "el_kwh": "5.100,5", "tomt_areal_m2": 700},  # 700 m² > 610 m²
    }
    for row, values in typed.items():
        for column, value in values.items():
            k.cell(row=row, column=header.index(column) + 1, value=value)
    filled = template.with_name("aarhus_udfyldt.xlsx")
    wb.save(filled)

    result = runner.invoke(app, ["--db", str(ingest_db), "ingest", str(filled)])
    assert result.exit_code == 1
    assert (f"Fejl: {filled}, ark kvartal, række 4, kolonne tomt_areal_m2, værdi «700»: det tomme areal er større end "
            "bygningens bruttoareal. Forventet: højst bruttoarealet fra arket bygninger (610 m²).") in result.output
    assert "1 afvist" in result.output

    k.cell(row=4, column=header.index("tomt_areal_m2") + 1, value=70)
    wb.save(filled)
    result = runner.invoke(app, ["--db", str(ingest_db), "ingest", str(filled)])
    assert result.exit_code == 0, result.output
    assert "gemt (revision 1)" in result.output
    with Store(ingest_db) as store:
        q3 = store.latest("kvartal", kommunekode=751, periode="2026Q3").set_index("bygning_id")
    assert q3.loc["B-001", "varme_kwh"] == 101500 and q3.loc["B-003", "el_kwh"] == 5100.5
    assert q3.loc["B-003", "tomt_areal_m2"] == 70
    assert pd.isna(q3.loc["B-002", "varme_kwh"])  # left empty: not reported

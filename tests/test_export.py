"""`noegletal export`: CSV, XLSX and Parquet with exactly the export columns, on the fixture mart."""

from __future__ import annotations

import csv

import pandas as pd
import pytest
from openpyxl import load_workbook
from rich.console import Console
from typer.testing import CliRunner

import fixtures_mart as fx
from noegletal import export, keyfigures
from noegletal.cli import app
from noegletal.store import Store

EXPORT_COLUMNS = [
    "periode", "vindue", "niveau", "kommunekode", "enhed", "kategori", "noegletal", "vaerdi", "taeller", "naevner",
    "antal_bygninger", "median", "p10", "p90", "definitioner_version",
]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "mart.duckdb"
    fx.computed_store(path).close()
    return path


@pytest.fixture(scope="module")
def mart(db) -> pd.DataFrame:
    with Store(db, read_only=True) as s:
        return s.query(export.export_sql())


def consoles():
    return Console(record=True, width=200), Console(record=True, width=200)


def test_csv_columns_and_full_precision(db, mart, tmp_path):
    out, err = consoles()
    target = tmp_path / "ud" / "noegletal.csv"
    with Store(db, read_only=True) as s:
        assert export.run(s, target, out, err) == 0
    text = target.read_text(encoding="utf-8")
    header = text.splitlines()[0]
    assert header == ",".join(EXPORT_COLUMNS)
    assert not target.with_name("noegletal.csv.part").exists()
    back = pd.read_csv(target, keep_default_na=False, na_values=[""])
    assert len(back) == len(mart) and list(back.columns) == EXPORT_COLUMNS
    # a value with many digits round-trips exactly: 320500 / 4500 = 71.2222...
    row = back[(back["niveau"] == "kommune") & (back["kommunekode"] == 101) & (back["noegletal"] == "driftsudgift_pr_m2")
               & (back["vindue"] == "kvartal") & (back["periode"] == "2026Q1")].iloc[0]
    assert row["vaerdi"] == 320500 / 4500
    assert "71.22222222222223" in text  # repr of the float, '.' as decimal point
    # empty cells are NULL: a kommune row has no kategori, a group row no kommunekode
    with open(target, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    kommune = next(r for r in rows if r["niveau"] == "kommune")
    assert kommune["kategori"] == "" and kommune["kommunekode"].isdigit()
    alle = next(r for r in rows if r["niveau"] == "alle")
    assert alle["kommunekode"] == "" and alle["enhed"] == "alle"
    bygning = next(r for r in rows if r["niveau"] == "bygning")
    assert bygning["antal_bygninger"] == "" and bygning["median"] == ""
    assert f"Eksporterede {len(mart):,} nøgletalsrækker".replace(",", ".") in out.export_text(clear=False)


def test_rows_are_sorted(mart):
    first = mart.iloc[0]
    assert (first["periode"], first["vindue"], first["niveau"]) == ("2025Q1", "kvartal", "bygning")
    levels = mart[(mart["periode"] == "2026Q1") & (mart["vindue"] == "kvartal")]["niveau"].drop_duplicates().tolist()
    assert levels == list(keyfigures.LEVELS)


def test_parquet(db, mart, tmp_path):
    out, err = consoles()
    with Store(db, read_only=True) as s:
        assert export.run(s, tmp_path / "m.parquet", out, err) == 0
    back = pd.read_parquet(tmp_path / "m.parquet")
    assert list(back.columns) == EXPORT_COLUMNS and len(back) == len(mart)
    pd.testing.assert_series_equal(back["vaerdi"], mart["vaerdi"], check_dtype=False)


def test_xlsx(db, mart, tmp_path):
    out, err = consoles()
    with Store(db, read_only=True) as s:
        assert export.run(s, tmp_path / "m.xlsx", out, err) == 0
    ws = load_workbook(tmp_path / "m.xlsx", read_only=True)["noegletal"]
    values = list(ws.values)
    assert list(values[0]) == EXPORT_COLUMNS
    assert len(values) == len(mart) + 1
    second = values[1]
    assert second[:3] == ("2025Q1", "kvartal", "bygning")
    assert second[7] == mart["vaerdi"].iloc[0]
    assert [row[7] for row in values[1:]] == pytest.approx(mart["vaerdi"].tolist(), rel=1e-15)


def test_xlsx_text_is_neutralised(tmp_path):
    byg = fx.BUILDINGS.copy()
    byg.loc[byg["bygning_id"] == "A", "bygning_id"] = "=1+1"
    kv = lambda p: fx.kvartal_rows(p).replace({"bygning_id": {"A": "=1+1"}})  # noqa: E731
    with fx.make_store(tmp_path / "f.duckdb", periods=["2026Q1"], buildings=byg, kvartal=kv) as s:
        from noegletal import compute

        compute.save(s, compute.build(s, find_findings=fx.find_findings))
        out, err = consoles()
        assert export.run(s, tmp_path / "f.xlsx", out, err) == 0
    ws = load_workbook(tmp_path / "f.xlsx", read_only=True)["noegletal"]
    enheder = {row[4] for row in ws.iter_rows(min_row=2, values_only=True)}
    assert "'=1+1" in enheder and "=1+1" not in enheder


def test_unknown_suffix_is_refused(db, tmp_path):
    out, err = consoles()
    with Store(db, read_only=True) as s:
        assert export.run(s, tmp_path / "m.txt", out, err) == 1
    assert "Ukendt filtype '.txt'" in err.export_text(clear=False) and "brug .csv, .xlsx eller .parquet" in err.export_text(clear=False)
    assert not (tmp_path / "m.txt").exists()


def test_no_mart_yet(tmp_path):
    fx.make_store(tmp_path / "raw.duckdb").close()
    out, err = consoles()
    with Store(tmp_path / "raw.duckdb", read_only=True) as s:
        assert export.run(s, tmp_path / "m.csv", out, err) == 1
    assert "Kør først 'noegletal compute'" in err.export_text(clear=False)


def test_cli(db, tmp_path):
    result = CliRunner().invoke(app, ["--db", str(db), "export", "-o", str(tmp_path / "cli.csv")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli.csv").read_text(encoding="utf-8").startswith("periode,vindue,niveau,")
    result = CliRunner().invoke(app, ["--db", str(db), "export", "-o", str(tmp_path / "cli.json")])
    assert result.exit_code == 1

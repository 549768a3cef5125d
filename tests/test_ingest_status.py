"""Round status: members, received, newest revision, warnings, deadline and days left."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
from typer.testing import CliRunner

from noegletal import model
from noegletal.cli import app
from noegletal.ingest import ingest_frames, round_status
from noegletal.store import Store

runner = CliRunner()


def _submit(store: Store, kommunekode: int, periode: str, code: int = 421, area: float = 100.0, at=None):
    b = model.coerce_dtypes(pd.DataFrame({
        "kommunekode": [kommunekode], "bygning_id": ["B1"], "ejendom_id": ["E1"], "navn": ["Skolen"],
        "anvendelseskode": [code], "kategori": [None], "opfoerelsesaar": [None], "bruttoareal_m2": [area],
        "ejerforhold": ["ejet"], "varmeandel_vejruafhaengig_pct": [None],
    }), "bygninger")
    k = model.coerce_dtypes(pd.DataFrame({"kommunekode": [kommunekode], "bygning_id": ["B1"], "periode": [periode]})
                            .reindex(columns=model.column_ids("kvartal")), "kvartal")
    result = ingest_frames(store, b, k, f"{kommunekode}_{periode}.xlsx", ingested_at=at)
    assert result.status == "gemt", result.errors


def _db(path):
    """751 has two revisions of 2026Q2 (the second with one warning); 147 only submitted 2026Q1."""
    with Store(path) as store:
        _submit(store, 751, "2026Q2", at=dt.datetime(2026, 8, 1, 10, 0))
        _submit(store, 751, "2026Q2", code=999, at=dt.datetime(2026, 8, 3, 14, 5))
        _submit(store, 147, "2026Q1", at=dt.datetime(2026, 5, 20, 9, 0))
    return path


def test_round_status_before_and_after_the_deadline(tmp_path):
    with Store(_db(tmp_path / "db.duckdb")) as store:
        before = round_status(store, "2026Q2", today=dt.date(2026, 8, 20))
        after = round_status(store, "2026Q2", today=dt.date(2026, 9, 1))
    assert list(before.columns) == ["kommunekode", "navn", "modtaget", "revision", "indlaest", "advarsler", "frist",
                                    "dage_til_frist", "status"]
    rows = before.set_index("kommunekode")
    assert rows.loc[751, ["navn", "modtaget", "revision", "advarsler", "status"]].tolist() == [
        "Aarhus", True, 2, 1, "modtaget"]
    assert rows.loc[751, "indlaest"] == pd.Timestamp(2026, 8, 3, 14, 5)
    assert rows.loc[147, ["navn", "modtaget", "status"]].tolist() == ["Frederiksberg", False, "mangler (5 dage til fristen)"]
    assert pd.isna(rows.loc[147, "revision"])
    assert (rows["frist"] == dt.date(2026, 8, 25)).all() and (rows["dage_til_frist"] == 5).all()
    assert after.set_index("kommunekode").loc[147, "status"] == "mangler (fristen overskredet med 7 dage)"
    assert (after["dage_til_frist"] == -7).all()


def test_status_command_table_and_json(tmp_path):
    db = _db(tmp_path / "db.duckdb")
    table = runner.invoke(app, ["--db", str(db), "status", "2026Q2"])
    assert table.exit_code == 0, table.output
    assert "Indberetninger 2026Q2 – frist 25. august 2026" in table.output
    assert "Aarhus" in table.output and "Frederiksberg" in table.output
    assert "03-08-2026 14:05" in table.output
    assert "1 af 2 kommuner har indberettet" in table.output

    doc = json.loads(runner.invoke(app, ["--db", str(db), "status", "2026Q2", "--json"]).stdout)
    assert (doc["periode"], doc["frist"], doc["medlemmer"], doc["modtaget"]) == ("2026Q2", "2026-08-25", 2, 1)
    by_code = {k["kommunekode"]: k for k in doc["kommuner"]}
    assert by_code[751] | {"dage_til_frist": None, "status": None} == {
        "kommunekode": 751, "navn": "Aarhus", "modtaget": True, "revision": 2, "indlaest": "2026-08-03T14:05:00",
        "advarsler": 1, "frist": "2026-08-25", "dage_til_frist": None, "status": None}
    assert by_code[147]["revision"] is None and by_code[147]["modtaget"] is False


def test_status_without_members_and_with_a_bad_period(tmp_path):
    db = tmp_path / "empty.duckdb"
    result = runner.invoke(app, ["--db", str(db), "status", "2026Q2"])
    assert result.exit_code == 0 and "Ingen kommuner har indberettet endnu" in result.output
    assert json.loads(runner.invoke(app, ["--db", str(db), "status", "2026Q2", "--json"]).stdout)["kommuner"] == []
    bad = runner.invoke(app, ["--db", str(db), "status", "Q2-2026"])
    assert bad.exit_code == 1 and "er ikke et kvartal" in bad.output

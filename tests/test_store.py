"""The DuckDB store: migrations from an empty file, round trip, revisions, atomicity."""

import duckdb
import pandas as pd
import pytest

from noegletal import model
from noegletal.store import SCHEMA_VERSION, Store, StoreError, content_checksum


def _bygninger(area=1000.0, navn="Nørreskolen"):
    return model.coerce_dtypes(pd.DataFrame({
        "kommunekode": [101, 101], "bygning_id": ["B1", "B2"], "ejendom_id": ["E1", "E1"],
        "navn": [navn, "Gymnastiksal"], "anvendelseskode": [421, 533], "kategori": [None, None],
        "opfoerelsesaar": [1962, None], "bruttoareal_m2": [area, 400.0], "ejerforhold": ["ejet", "lejet"],
        "varmeandel_vejruafhaengig_pct": [None, 35.0],
    }), "bygninger")


def _kvartal(varme=25000.0, periode="2026Q3"):
    df = pd.DataFrame({c: [None, None] for c in model.column_ids("kvartal")})
    df = df.assign(kommunekode=101, bygning_id=["B1", "B2"], periode=periode, varme_kwh=[varme, None], el_kwh=[9000.0, 0.0])
    return model.coerce_dtypes(df, "kvartal")


def test_new_file_is_migrated_and_has_reference_data(tmp_path):
    with Store(tmp_path / "x.duckdb") as s:
        assert s.schema_version() == SCHEMA_VERSION
        assert len(s.municipalities()) == 98
        assert s.degree_days_normal().sum() == 3112
        assert (s.degree_days()["serie"] == "national").all()
        assert s.query("SELECT count(*) n FROM bbr_koder")["n"][0] > 20
    # opening again does not migrate twice
    with Store(tmp_path / "x.duckdb") as s:
        assert s.query("SELECT count(*) n FROM schema_version")["n"][0] == SCHEMA_VERSION


def test_default_path_follows_env(tmp_path, monkeypatch):
    monkeypatch.setenv("NOEGLETAL_DB", str(tmp_path / "env.duckdb"))
    with Store() as s:
        assert s.path == tmp_path / "env.duckdb"


def test_round_trip_keeps_nulls_and_zeros(tmp_path):
    with Store(tmp_path / "x.duckdb") as s:
        assert s.add_submission(101, "2026Q3", _bygninger(), _kvartal(), "skema.xlsx") == 1
        k = s.latest("kvartal", kommunekode=101, periode="2026Q3")
        assert k["varme_kwh"].tolist()[0] == 25000.0 and pd.isna(k["varme_kwh"].tolist()[1])
        assert k["el_kwh"].tolist() == [9000.0, 0.0]  # a reported zero is not NULL
        b = s.latest("bygninger")
        assert b["navn"].tolist() == ["Nørreskolen", "Gymnastiksal"]
        sub = s.submissions("2026Q3")
        assert sub[["kommunekode", "revision", "kildefil", "antal_bygninger"]].values.tolist() == [[101, 1, "skema.xlsx", 2]]
        assert sub["kontrolsum"][0] == content_checksum(_bygninger(), _kvartal())


def test_revisions_are_append_only_and_identical_content_changes_nothing(tmp_path):
    with Store(tmp_path / "x.duckdb") as s:
        assert s.add_submission(101, "2026Q3", _bygninger(), _kvartal(), "a.xlsx") == 1
        # same content, other file name and row order: nothing new
        assert s.add_submission(101, "2026Q3", _bygninger().iloc[::-1], _kvartal(), "b.xlsx") is None
        assert s.add_submission(101, "2026Q3", _bygninger(), _kvartal(varme=26000.0), "c.xlsx") == 2
        assert s.submissions()["revision"].tolist() == [1, 2]
        assert s.latest("kvartal")["varme_kwh"].tolist()[0] == 26000.0
        # the earlier state is still there, exactly
        assert s.revision(101, "2026Q3", 1, "kvartal")["varme_kwh"].tolist()[0] == 25000.0
        # another quarter is its own submission
        assert s.add_submission(101, "2026Q4", _bygninger(), _kvartal(periode="2026Q4"), "d.xlsx") == 1


def test_failed_write_leaves_nothing(tmp_path):
    with Store(tmp_path / "x.duckdb") as s:
        broken = _kvartal().drop(columns=["el_kwh"])
        with pytest.raises(KeyError):
            s.add_submission(101, "2026Q3", _bygninger(), broken, "x.xlsx")
        assert s.submissions().empty
        assert s.query("SELECT count(*) n FROM bygninger")["n"][0] == 0


def test_transaction_rolls_back(tmp_path):
    with Store(tmp_path / "x.duckdb") as s:
        with pytest.raises(RuntimeError):
            with s.transaction() as con:
                con.execute("DELETE FROM kommuner")
                raise RuntimeError("afbrudt")
        assert len(s.municipalities()) == 98


def test_read_only_store(tmp_path):
    with pytest.raises(StoreError, match="findes ikke"):
        Store(tmp_path / "none.duckdb", read_only=True)
    with Store(tmp_path / "x.duckdb") as s:
        s.add_submission(101, "2026Q3", _bygninger(), _kvartal(), "a.xlsx")
    with Store(tmp_path / "x.duckdb", read_only=True) as s:
        assert len(s.latest("bygninger")) == 2
        with pytest.raises(duckdb.Error):
            s.con.execute("DELETE FROM kommuner")


def test_newer_schema_is_refused(tmp_path):
    with Store(tmp_path / "x.duckdb") as s:
        s.con.execute("INSERT INTO schema_version VALUES (99, now())")
    with pytest.raises(StoreError, match="nyere"):
        Store(tmp_path / "x.duckdb")


def test_degree_day_upsert_replaces_months(tmp_path):
    with Store(tmp_path / "x.duckdb") as s:
        s.upsert_degree_days(pd.DataFrame({"aar": [2021, 2026], "maaned": [1, 1], "graddage": [500.0, 480.0]}), "import")
        dd = s.degree_days().set_index(["aar", "maaned"])
        assert dd.loc[(2021, 1), "graddage"] == 500.0 and dd.loc[(2021, 1), "serie"] == "import"
        assert dd.loc[(2021, 2), "serie"] == "national"
        assert len(dd) == 176


def test_replace_tables_is_whole(tmp_path):
    with Store(tmp_path / "x.duckdb") as s:
        s.replace_tables({"noegletal": pd.DataFrame({"a": [1, 2]})})
        s.replace_tables({"noegletal": pd.DataFrame({"a": [3]})})
        assert s.table("noegletal")["a"].tolist() == [3]
        assert s.has_table("noegletal") and not s.has_table("findes_ikke")


@pytest.mark.parametrize("read_only", [False, True])
def test_opened_store_leaves_no_unfinished_result(tmp_path, read_only):
    """DuckDB 2 refuses new work on a connection while a result is half fetched (fetchone); opening,
    migrating and adding a submission must leave the connection free for the caller's own queries."""
    path = tmp_path / "db.duckdb"
    with Store(path) as s:
        s.add_submission(101, "2026Q3", _bygninger(), _kvartal(), "test")
        assert s.con.sql("SELECT 1 AS x").fetchall() == [(1,)]
    with Store(path, read_only=read_only) as s:
        assert s.con.sql("SELECT count(*) FROM indberetninger").fetchall() == [(1,)]

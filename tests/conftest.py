"""Shared fixtures. Prefix fixtures with the area that owns them (ingest_…, …)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

MALFORMED = Path(__file__).resolve().parent / "malformed"


@pytest.fixture(scope="session")
def ingest_corpus() -> Path:
    """tests/malformed: the malformed submissions and the valid one they are made from."""
    return MALFORMED


@pytest.fixture(scope="session")
def ingest_base_db(tmp_path_factory) -> Path:
    from noegletal.ingest import ingest_path
    from noegletal.store import Store

    path = tmp_path_factory.mktemp("ingest_base") / "base.duckdb"
    with Store(path) as store:
        result = ingest_path(store, MALFORMED / "valid.xlsx")
        assert result.status == "gemt", result.errors
    return path


@pytest.fixture
def ingest_db(ingest_base_db, tmp_path) -> Path:
    """A database file holding one submission: tests/malformed/valid.xlsx (Aarhus 751, 2026Q2, revision 1)."""
    path = tmp_path / "noegletal.duckdb"
    shutil.copy(ingest_base_db, path)
    return path


def ingest_db_state(path: Path) -> dict:
    """Everything ingest may write, for 'the database is unchanged' assertions."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            table: con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
            for table in ("indberetninger", "bygninger", "kvartal", "graddage")
        }
    finally:
        con.close()


@pytest.fixture
def ingest_state():
    """The function ingest_db_state(path) -> dict of table rows."""
    return ingest_db_state

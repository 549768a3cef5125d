"""The DuckDB store: one file, a versioned schema, submissions as append-only revisions.

This module is the only place that writes SQL for storage. Everything else talks to `Store`.

Tables
- `schema_version`                 — the applied migrations.
- `kommuner`, `bbr_koder`, `graddage_normal`, `graddage` — reference data (loaded on creation;
  `graddage` holds actual monthly degree days with a `serie`: national, import or syntetisk).
- `indberetninger`                 — one row per submission revision (municipality × quarter ×
  revision) with ingest time, source file name and content checksum.
- `bygninger`, `kvartal`           — the submitted rows, keyed by `indberetning_id`.
- mart tables (`noegletal`, `fund`, …) — written whole by `noegletal compute`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd

from noegletal import model, reference

DEFAULT_DB = Path("data") / "noegletal.duckdb"


def default_db_path() -> Path:
    """--db, else $NOEGLETAL_DB, else data/noegletal.duckdb under the current directory."""
    env = os.environ.get("NOEGLETAL_DB")
    return Path(env) if env else DEFAULT_DB


def _sql_type(col: model.Column) -> str:
    return {"int": "INTEGER", "text": "VARCHAR", "number": "DOUBLE"}[col.type]


def _table_ddl(name: str, columns: tuple[model.Column, ...]) -> str:
    body = ",\n  ".join(f"{c.id} {_sql_type(c)}" for c in columns)
    return f"CREATE TABLE {name} (\n  indberetning_id INTEGER NOT NULL,\n  {body}\n)"


# Each migration moves the schema one version up. Never edit an applied migration: add a new one.
MIGRATIONS: list[list[str]] = [
    [
        "CREATE TABLE kommuner (kommunekode INTEGER PRIMARY KEY, navn VARCHAR, regionskode INTEGER, "
        "region VARCHAR, kommunegruppe_kode INTEGER, kommunegruppe VARCHAR, areal_km2 DOUBLE, "
        "befolkning BIGINT, befolkning_aar INTEGER)",
        "CREATE TABLE bbr_koder (anvendelseskode INTEGER PRIMARY KEY, status VARCHAR, tekst_da VARCHAR, "
        "tekst_en VARCHAR, reference_kategori VARCHAR, kategori VARCHAR)",
        "CREATE TABLE graddage_normal (maaned INTEGER PRIMARY KEY, graddage DOUBLE NOT NULL)",
        "CREATE TABLE graddage (aar INTEGER NOT NULL, maaned INTEGER NOT NULL, graddage DOUBLE NOT NULL, "
        "serie VARCHAR NOT NULL, PRIMARY KEY (aar, maaned))",
        "CREATE SEQUENCE indberetning_seq START 1",
        "CREATE TABLE indberetninger (indberetning_id INTEGER PRIMARY KEY, kommunekode INTEGER NOT NULL, "
        "periode VARCHAR NOT NULL, revision INTEGER NOT NULL, indlaest TIMESTAMP NOT NULL, "
        "kildefil VARCHAR NOT NULL, kontrolsum VARCHAR NOT NULL, antal_bygninger INTEGER NOT NULL, "
        "advarsler VARCHAR NOT NULL, UNIQUE (kommunekode, periode, revision))",
        _table_ddl("bygninger", model.BYGNINGER),
        _table_ddl("kvartal", model.KVARTAL),
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)


def content_checksum(bygninger: pd.DataFrame, kvartal: pd.DataFrame) -> str:
    """SHA-256 of a submission's content, independent of row order, file format and file name."""
    h = hashlib.sha256()
    for table, df in (("bygninger", bygninger), ("kvartal", kvartal)):
        norm = model.coerce_dtypes(df, table).sort_values(["kommunekode", "bygning_id"]).reset_index(drop=True)
        h.update(table.encode())
        h.update(",".join(norm.columns).encode())
        # pandas' row hash is deterministic (fixed key) and vectorised: far faster than writing CSV
        h.update(pd.util.hash_pandas_object(norm, index=False).to_numpy().tobytes())
    return h.hexdigest()


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """The single value of a one-row query. Fetched with fetchall: a result read with fetchone stays
    open in DuckDB 2, which then refuses the connection's next `con.sql(...)`."""
    return con.execute(sql, params).fetchall()[0][0]


class StoreError(Exception):
    """A problem with the database file itself (missing, wrong version, locked)."""


class Store:
    """One DuckDB file. Use as a context manager; read-only stores never migrate or write."""

    def __init__(self, path: str | Path | None = None, read_only: bool = False):
        self.path = Path(path) if path is not None else default_db_path()
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise StoreError(f"Databasen {self.path} findes ikke. Kør først 'noegletal demo' eller 'noegletal ingest'.")
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as e:
            raise StoreError(f"Kan ikke åbne databasen {self.path}: {e}") from e
        if not read_only:
            self.migrate()
        elif self.schema_version() != SCHEMA_VERSION:
            raise StoreError(
                f"Databasen {self.path} har skemaversion {self.schema_version()}, pakken forventer {SCHEMA_VERSION}. "
                "Åbn den én gang uden read-only for at opgradere."
            )

    # -- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: commits on success, rolls back on any exception."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    # -- schema ----------------------------------------------------------------------------------
    def schema_version(self) -> int:
        exists = scalar(self.con, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'")
        if not exists:
            return 0
        return int(scalar(self.con, "SELECT coalesce(max(version), 0) FROM schema_version"))

    def migrate(self) -> None:
        """Bring the file up to SCHEMA_VERSION, one migration per transaction."""
        current = self.schema_version()
        if current > SCHEMA_VERSION:
            raise StoreError(f"Databasen {self.path} er nyere (skema {current}) end pakken (skema {SCHEMA_VERSION}).")
        for version in range(current + 1, SCHEMA_VERSION + 1):
            with self.transaction() as con:
                if version == 1:
                    con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied TIMESTAMP)")
                for stmt in MIGRATIONS[version - 1]:
                    con.execute(stmt)
                if version == 1:
                    self._load_reference(con)
                con.execute("INSERT INTO schema_version VALUES (?, ?)", [version, dt.datetime.now()])

    @staticmethod
    def _load_reference(con: duckdb.DuckDBPyConnection) -> None:
        kom = reference.municipalities()  # noqa: F841  (read by DuckDB's replacement scan)
        con.execute("INSERT INTO kommuner SELECT kommunekode, navn, regionskode, region, kommunegruppe_kode, "
                    "kommunegruppe, areal_km2, befolkning, befolkning_aar FROM kom")
        bbr = reference.bbr_codes()  # noqa: F841
        con.execute("INSERT INTO bbr_koder SELECT anvendelseskode, status, tekst_da, tekst_en, reference_kategori, "
                    "kategori FROM bbr")
        normal = reference.degree_days_normal().reset_index()  # noqa: F841
        con.execute("INSERT INTO graddage_normal SELECT maaned, graddage FROM normal")
        national = reference.degree_days_national()  # noqa: F841
        con.execute("INSERT INTO graddage SELECT aar, maaned, graddage, 'national' FROM national")

    # -- reading ---------------------------------------------------------------------------------
    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).df()

    def table(self, name: str) -> pd.DataFrame:
        return self.con.execute(f'SELECT * FROM "{name}"').df()

    def has_table(self, name: str) -> bool:
        return bool(scalar(self.con, "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]))

    def submissions(self, periode: str | None = None) -> pd.DataFrame:
        """All revisions (newest last) with their metadata."""
        where, params = ("WHERE periode = ?", [periode]) if periode else ("", [])
        return self.query(
            f"SELECT * FROM indberetninger {where} ORDER BY periode, kommunekode, revision", params
        )

    def latest_submission_ids(self) -> str:
        """SQL for the ids of the newest revision of every municipality × quarter."""
        return (
            "SELECT indberetning_id FROM indberetninger QUALIFY revision = "
            "max(revision) OVER (PARTITION BY kommunekode, periode)"
        )

    def latest(self, table: str, kommunekode: int | None = None, periode: str | None = None) -> pd.DataFrame:
        """Rows of `bygninger` or `kvartal` from the newest revision of each submission."""
        if table not in model.TABLES:
            raise ValueError(table)
        cond, params = [], []
        if kommunekode is not None:
            cond.append("i.kommunekode = ?")
            params.append(int(kommunekode))
        if periode is not None:
            cond.append("i.periode = ?")
            params.append(periode)
        where = ("AND " + " AND ".join(cond)) if cond else ""
        cols = ", ".join(f"t.{c}" for c in model.column_ids(table))
        return self.query(
            f"SELECT i.periode AS indberetning_periode, {cols} FROM {table} t "
            f"JOIN indberetninger i USING (indberetning_id) "
            f"WHERE t.indberetning_id IN ({self.latest_submission_ids()}) {where} "
            "ORDER BY i.periode, t.kommunekode, t.bygning_id",
            params,
        )

    def revision(self, kommunekode: int, periode: str, revision: int, table: str) -> pd.DataFrame:
        """The rows of one earlier revision, exactly as stored (any earlier state is reproducible)."""
        cols = ", ".join(f"t.{c}" for c in model.column_ids(table))
        return self.query(
            f"SELECT {cols} FROM {table} t JOIN indberetninger i USING (indberetning_id) "
            "WHERE i.kommunekode = ? AND i.periode = ? AND i.revision = ? ORDER BY t.bygning_id",
            [int(kommunekode), periode, int(revision)],
        )

    def degree_days(self) -> pd.DataFrame:
        return self.query("SELECT aar, maaned, graddage, serie FROM graddage ORDER BY aar, maaned")

    def degree_days_normal(self) -> pd.Series:
        return self.query("SELECT maaned, graddage FROM graddage_normal ORDER BY maaned").set_index("maaned")["graddage"]

    def municipalities(self) -> pd.DataFrame:
        return self.query("SELECT * FROM kommuner ORDER BY kommunekode")

    def data_as_of(self) -> dt.datetime | None:
        """Time of the newest ingest: what every report states as 'data pr.'."""
        return scalar(self.con, "SELECT max(indlaest) FROM indberetninger")

    # -- writing ---------------------------------------------------------------------------------
    def add_submission(
        self,
        kommunekode: int,
        periode: str,
        bygninger: pd.DataFrame,
        kvartal: pd.DataFrame,
        source_name: str,
        warnings: list[str] | None = None,
        ingested_at: dt.datetime | None = None,
    ) -> int | None:
        """Store a validated submission as a new revision, in one transaction.

        Returns the new revision number, or None when the content equals the newest revision
        (an identical re-submission changes nothing).
        """
        checksum = content_checksum(bygninger, kvartal)
        with self.transaction() as con:
            last = con.execute(
                "SELECT revision, kontrolsum FROM indberetninger WHERE kommunekode = ? AND periode = ? "
                "ORDER BY revision DESC LIMIT 1",
                [int(kommunekode), periode],
            ).fetchall()
            last = last[0] if last else None
            if last and last[1] == checksum:
                return None
            revision = (last[0] + 1) if last else 1
            sub_id = scalar(con, "SELECT nextval('indberetning_seq')")
            con.execute(
                "INSERT INTO indberetninger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    sub_id,
                    int(kommunekode),
                    periode,
                    revision,
                    ingested_at or dt.datetime.now().replace(microsecond=0),
                    source_name,
                    checksum,
                    len(bygninger),
                    json.dumps(warnings or [], ensure_ascii=False),
                ],
            )
            for table, df in (("bygninger", bygninger), ("kvartal", kvartal)):
                cols = model.column_ids(table)
                frame = df[cols].copy()  # noqa: F841  (read by DuckDB's replacement scan)
                con.execute(
                    f"INSERT INTO {table} (indberetning_id, {', '.join(cols)}) "
                    f"SELECT {sub_id}, {', '.join(cols)} FROM frame"
                )
            return revision

    def upsert_degree_days(self, df: pd.DataFrame, serie: str) -> int:
        """Add or replace monthly degree days (aar, maaned, graddage). Returns rows written."""
        frame = df[["aar", "maaned", "graddage"]].copy()  # noqa: F841
        with self.transaction() as con:
            con.execute("DELETE FROM graddage USING frame WHERE graddage.aar = frame.aar AND graddage.maaned = frame.maaned")
            con.execute("INSERT INTO graddage SELECT aar, maaned, graddage, ? FROM frame", [serie])
        return len(df)

    def replace_tables(self, tables: dict[str, pd.DataFrame], views: dict[str, str] | None = None) -> None:
        """Replace whole derived tables (the mart) in one transaction.

        `views` maps view names to SELECT statements over the tables; they are (re)created after the
        tables in the same transaction (the key-figure mart `noegletal` is such a view). A name may
        change from table to view or back.
        """
        with self.transaction() as con:
            for name, df in tables.items():
                self._drop_if_kind(con, name, "VIEW")
                con.register("_frame", df)
                con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _frame')
                con.unregister("_frame")
            for name, select in (views or {}).items():
                self._drop_if_kind(con, name, "BASE TABLE")
                con.execute(f'CREATE OR REPLACE VIEW "{name}" AS {select}')

    @staticmethod
    def _drop_if_kind(con: duckdb.DuckDBPyConnection, name: str, kind: str) -> None:
        """Drop `name` if it exists as `kind` ('VIEW' or 'BASE TABLE'): CREATE OR REPLACE cannot change the kind."""
        found = con.execute(
            "SELECT table_type FROM information_schema.tables WHERE table_schema = 'main' AND table_name = ?", [name]
        ).fetchall()
        if found and found[0][0] == kind:
            con.execute(f'DROP {"VIEW" if kind == "VIEW" else "TABLE"} "{name}"')

"""Quarterly submissions: questionnaire template, reading, validation, revisions, round status.

The Python API for the same operations as the command line (for analysts in JupyterLab and for the
demo builder)::

    from noegletal.store import Store
    from noegletal import ingest

    with Store("data/noegletal.duckdb") as store:
        ingest.write_template(store, 751, "2026Q3", "aarhus_2026Q3.xlsx")
        result = ingest.ingest_path(store, "aarhus_2026Q3.xlsx", dry_run=True)
        for p in result.errors:
            print(p)
        ingest.round_status(store, "2026Q3")

A valid submission becomes a new revision of that municipality's quarter, in one transaction; an
identical re-submission changes nothing; an invalid one stores nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from noegletal.ingest.read import read_degree_days, read_submission
from noegletal.ingest.status import round_status
from noegletal.ingest.template import write_template
from noegletal.ingest.validate import Problem, ValidationResult, validate, validate_degree_days
from noegletal.store import Store

__all__ = [
    "DegreeDayResult",
    "IngestResult",
    "Problem",
    "ValidationResult",
    "import_degree_days",
    "ingest_frames",
    "ingest_path",
    "read_submission",
    "round_status",
    "validate",
    "write_template",
]

Status = Literal["gemt", "uaendret", "afvist", "gyldig"]


@dataclass
class IngestResult:
    """What happened to one submission: gemt (new revision), uaendret (identical to the newest
    revision), afvist (errors; nothing stored) or gyldig (a valid dry run)."""

    source: str
    status: Status
    kommunekode: int | None = None
    periode: str | None = None
    revision: int | None = None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    antal_bygninger: int = 0


def ingest_frames(
    store: Store,
    bygninger: pd.DataFrame,
    kvartal: pd.DataFrame,
    source: str,
    dry_run: bool = False,
    ingested_at: dt.datetime | None = None,
    sheet_rows: bool = False,
) -> IngestResult:
    """Validate two tables and store them as a new revision (unless invalid, identical or a dry run)."""
    return _store(store, validate(bygninger, kvartal, source, sheet_rows=sheet_rows), source, dry_run, ingested_at)


def ingest_path(store: Store, path: str | Path, dry_run: bool = False) -> IngestResult:
    """Read, validate and store one submission file (.xlsx) or folder (bygninger.csv + kvartal.csv)."""
    source = str(path)
    try:
        bygninger, kvartal, problems = read_submission(path)
    except Exception as e:  # noqa: BLE001  a damaged file is a problem to report, never a traceback
        return IngestResult(source, "afvist", errors=[Problem(
            source, None, None, None, None, f"filen er beskadiget og kunne ikke læses ({type(e).__name__}: {e})",
            "en fil gemt på ny fra Excel (.xlsx) eller som CSV",
        )])
    if bygninger is None or kvartal is None:
        return IngestResult(source, "afvist", errors=problems)
    result = validate(bygninger, kvartal, source, sheet_rows=True)
    result.errors = problems + result.errors
    return _store(store, result, source, dry_run, None)


def _store(store: Store, result: ValidationResult, source: str, dry_run: bool, ingested_at) -> IngestResult:
    out = IngestResult(
        source, "afvist", result.kommunekode, result.periode, None, result.errors, result.warnings, len(result.bygninger)
    )
    if result.errors:
        return out
    if dry_run:
        out.status = "gyldig"
        return out
    revision = store.add_submission(
        result.kommunekode, result.periode, result.bygninger, result.kvartal, source,
        warnings=[str(w) for w in result.warnings], ingested_at=ingested_at,
    )
    if revision is None:
        subs = store.submissions(result.periode)
        out.revision = int(subs.loc[subs["kommunekode"] == result.kommunekode, "revision"].max())
        out.status = "uaendret"
    else:
        out.revision = revision
        out.status = "gemt"
    return out


@dataclass
class DegreeDayResult:
    source: str
    status: Literal["gemt", "afvist"]
    antal_maaneder: int = 0
    fra: str | None = None  # first month, "YYYY-MM"
    til: str | None = None
    errors: list[Problem] = field(default_factory=list)


def import_degree_days(store: Store, path: str | Path) -> DegreeDayResult:
    """Add or replace actual monthly degree days from a CSV file (aar, maaned, graddage)."""
    source = str(path)
    raw, problems = read_degree_days(path)
    if raw is None:
        return DegreeDayResult(source, "afvist", errors=problems)
    clean, errors = validate_degree_days(raw, source, sheet_rows=True)
    errors = problems + errors
    if errors:
        return DegreeDayResult(source, "afvist", errors=errors)
    store.upsert_degree_days(clean.astype({"aar": "int64", "maaned": "int64", "graddage": "float64"}), serie="import")
    months = sorted(zip(clean["aar"], clean["maaned"]))
    return DegreeDayResult(source, "gemt", len(clean), f"{months[0][0]}-{months[0][1]:02d}",
                           f"{months[-1][0]}-{months[-1][1]:02d}")

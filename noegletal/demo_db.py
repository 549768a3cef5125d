"""Build the demo database: synthetic submissions through the same validation path as real ones."""

from __future__ import annotations

import datetime as dt
import time

import pandas as pd
from rich.console import Console
from rich.progress import Progress

from noegletal import demo, model
from noegletal.ingest import ingest_frames
from noegletal.store import Store


class DemoError(Exception):
    """The generator produced a submission that validation rejects: a bug in the demo."""


def submitted_at(periode: str, kommunekode: int) -> dt.datetime:
    """A deterministic ingest time some days before the round's deadline (varies by municipality)."""
    due = model.deadline(periode)
    return dt.datetime(due.year, due.month, due.day, 9, 0) - dt.timedelta(days=kommunekode % 17, minutes=kommunekode)


def build_demo_database(
    store: Store, n_municipalities: int = 30, n_quarters: int = 8, seed: int = 42, console: Console | None = None
) -> str:
    """Generate demo data and ingest it into `store`; return a one-line Danish summary."""
    start = time.perf_counter()
    data = demo.generate(n_municipalities=n_municipalities, n_quarters=n_quarters, seed=seed)
    if not data.degree_days.empty:
        store.upsert_degree_days(data.degree_days, serie="syntetisk")
    n_warnings = 0
    with Progress(console=console, transient=True, disable=console is None) as progress:
        task = progress.add_task("Indlæser demo-indberetninger", total=len(data.submissions))
        for sub in data.submissions:
            result = ingest_frames(
                store,
                sub.bygninger,
                sub.kvartal,
                source=f"demo/{sub.kommunekode}/{sub.periode}",
                ingested_at=submitted_at(sub.periode, sub.kommunekode),
            )
            if result.errors:
                first = "\n".join(str(p) for p in result.errors[:5])
                raise DemoError(f"Demo-indberetning {sub.kommunekode} {sub.periode} blev afvist:\n{first}")
            n_warnings += len(result.warnings)
            progress.advance(task)
    planted = pd.DataFrame([vars(p) for p in data.planted])
    store.replace_tables({"demo_plantede_fejl": planted})
    periods = sorted({s.periode for s in data.submissions})
    kommuner = sorted({s.kommunekode for s in data.submissions})
    n_buildings = int(store.query(
        "SELECT count(DISTINCT (kommunekode, bygning_id)) AS n FROM bygninger"
    )["n"].iloc[0])
    return (
        f"Demodatabase {store.path}: {len(kommuner)} kommuner, {len(periods)} kvartaler "
        f"({periods[0]}–{periods[-1]}), {n_buildings} bygninger, {len(data.submissions)} indberetninger, "
        f"{n_warnings} {'advarsel' if n_warnings == 1 else 'advarsler'}, {len(data.planted)} indplantede fejl, "
        f"{time.perf_counter() - start:.1f} s."
    )

"""`noegletal compute`: building facts, data-quality findings and the key-figure mart, in one go.

`build(store)` computes the derived tables and returns them as frames without writing anything;
`save(store, tables)` replaces them in the store in one transaction (with the view `noegletal`);
`run` does both for the command line and prints a short Danish summary.

Stored tables: `bygningsfakta` (windowed building facts, with `udeladt`/`udeladt_aarsag`), `fund`
(data-quality findings), `noegletal_grupper` (group rows), `mart_info` (definitions version, time of
computation, package version, data as of) and the view `noegletal` (the whole mart, long format).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterator

import pandas as pd
import pyarrow as pa
from rich.console import Console

import noegletal
from noegletal import definitions, formatting, keyfigures, quality
from noegletal.definitions import Definitions

DUCKDB_MEMORY = "1GB"
FindFindings = Callable[[object, pd.DataFrame, Definitions], pd.DataFrame]


def build(store, find_findings: FindFindings | None = None, defs: Definitions | None = None) -> dict[str, pd.DataFrame]:
    """All derived tables, keyed by table name; nothing is written.

    `find_findings(store, facts, defs)` returns the data-quality findings (default
    `noegletal.quality.find`); buildings with a finding of severity `fejl` are left out of the group
    figures of every window that includes the quarter. Raises KeyFigureError (Danish message).
    """
    defs = defs if defs is not None else definitions.default()
    find_findings = find_findings if find_findings is not None else quality.find
    with _duckdb_memory(store):
        facts = keyfigures.building_facts(store, defs)
        findings = find_findings(store, facts, defs)
        udeladt, aarsag = keyfigures.exclusions(facts, findings)
        groups = keyfigures.group_rows(store, facts, udeladt, defs)
    facts = facts.assign(udeladt=udeladt, udeladt_aarsag=aarsag)
    info = pd.DataFrame({
        "definitioner_version": [defs.version],
        "beregnet": [dt.datetime.now().replace(microsecond=0)],
        "pakke_version": [noegletal.__version__],
        "data_pr": [store.data_as_of()],
    })
    return {
        keyfigures.FACTS_TABLE: facts,
        "fund": findings,
        keyfigures.GROUP_TABLE: groups,
        "mart_info": info,
    }


def save(store, tables: dict[str, pd.DataFrame], defs: Definitions | None = None) -> None:
    """Replace the derived tables and the mart view in one transaction."""
    defs = defs if defs is not None else definitions.default()
    # DuckDB reads Arrow several times faster than pandas' text columns (seconds at national scale)
    big = {keyfigures.FACTS_TABLE, keyfigures.GROUP_TABLE}
    frames = {name: _arrow(df) if name in big else df for name, df in tables.items()}
    with _duckdb_memory(store):
        store.replace_tables(frames, views={keyfigures.MART_VIEW: keyfigures.mart_view_sql(defs)})


@contextlib.contextmanager
def _duckdb_memory(store) -> Iterator[None]:
    """DuckDB keeps up to 80 % of the RAM for its buffers by default; while the mart is built the
    pandas frames are the big part, so DuckDB gets a fixed share (and spills to disk beyond it).
    This lowers the peak by about 1 GB at national scale without making it slower."""
    store.con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
    try:
        yield
    finally:
        store.con.execute("RESET memory_limit")


def _arrow(df: pd.DataFrame) -> pa.Table:
    """`df` as an Arrow table; a column that is all NULL (e.g. no exclusions at all) becomes text."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    for i, field in enumerate(table.schema):
        if pa.types.is_null(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.string()))
    return table


def run(store, console: Console, err_console: Console) -> int:
    """`noegletal compute`. Returns the exit code (1 with a Danish message when the mart cannot be built)."""
    start = time.perf_counter()
    defs = definitions.default()
    try:
        tables = build(store, defs=defs)
    except keyfigures.KeyFigureError as e:
        err_console.print(f"[bold red]Fejl:[/bold red] {e}")
        return 1
    save(store, tables, defs)
    facts = tables[keyfigures.FACTS_TABLE]
    findings = tables["fund"]
    periods = sorted(facts["periode"].unique())
    n = formatting.number
    by_severity = findings["alvor"].value_counts() if len(findings) else pd.Series(dtype="int64")
    excluded = facts.loc[facts["udeladt"], ["kommunekode", "bygning_id"]].drop_duplicates()
    span = f"{periods[0]}–{periods[-1]}" if periods else "ingen"
    console.print(
        f"Nøgletal beregnet (definitioner {defs.version}): {len(periods)} kvartaler ({span}), "
        f"{facts['kommunekode'].nunique()} kommuner, {n(len(facts), 0)} bygningsrækker i begge vinduer, "
        f"{n(len(tables[keyfigures.GROUP_TABLE]), 0)} grupperækker."
    )
    console.print(
        f"Datakvalitet: {n(int(by_severity.get('fejl', 0)), 0)} fejl og {n(int(by_severity.get('advarsel', 0)), 0)} "
        f"advarsler; {n(len(excluded), 0)} bygninger er udeladt af gruppetal i mindst ét vindue "
        "(se 'noegletal quality')."
    )
    console.print(f"Tid: {formatting.number(time.perf_counter() - start, 1)} s.")
    return 0

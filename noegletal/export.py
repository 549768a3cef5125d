"""`noegletal export -o FILE`: the key-figure mart in long format as CSV, XLSX or Parquet.

The columns are exactly DESIGN.md's export list (`keyfigures.MART_COLUMNS`); the internal columns
`udeladt`/`udeladt_aarsag` are not exported. Rows are sorted by period, window, level (bygning,
kategori, kommune, gruppe, alle), municipality, unit, category and key figure.

- CSV: UTF-8, `,` separator, `.` decimal point, floats at full precision (shortest text that reads
  back to the same number), empty = NULL. Written by DuckDB, so it streams at any size.
- XLSX: one sheet `noegletal`; text cells go through `spreadsheet.safe_cell` (formula
  neutralisation). Refused when the mart has more rows than an Excel sheet holds.
- Parquet: by DuckDB, with the mart's column types.
The file is written beside the target and renamed at the end: a failed export leaves no half file.
"""

from __future__ import annotations

import os
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from rich.console import Console

from noegletal import formatting, keyfigures, spreadsheet

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}
EXCEL_MAX_ROWS = 1_048_576 - 1  # one row is the header
LEVEL_ORDER = "CASE niveau " + " ".join(f"WHEN '{n}' THEN {i}" for i, n in enumerate(keyfigures.LEVELS)) + " END"


def export_sql() -> str:
    cols = ", ".join(keyfigures.MART_COLUMNS)
    return (
        f"SELECT {cols} FROM {keyfigures.MART_VIEW} ORDER BY periode, vindue, {LEVEL_ORDER}, "
        "kommunekode NULLS LAST, enhed, kategori NULLS FIRST, noegletal"
    )


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def run(store, output: Path, console: Console, err_console: Console) -> int:
    """Write the mart to `output` (format by suffix). Returns the exit code."""
    output = Path(output)
    kind = FORMATS.get(output.suffix.lower())
    if kind is None:
        err_console.print(
            f"[bold red]Fejl:[/bold red] Ukendt filtype '{output.suffix or '(ingen)'}' for {output}: "
            "brug .csv, .xlsx eller .parquet."
        )
        return 1
    if not store.has_table(keyfigures.MART_VIEW):
        err_console.print("[bold red]Fejl:[/bold red] Der er ingen nøgletal i databasen. Kør først 'noegletal compute'.")
        return 1
    n_rows = int(store.query(f"SELECT count(*) AS n FROM {keyfigures.MART_VIEW}")["n"].iloc[0])
    if kind == "xlsx" and n_rows > EXCEL_MAX_ROWS:
        err_console.print(
            f"[bold red]Fejl:[/bold red] Nøgletalsmarten har {formatting.number(n_rows, 0)} rækker, flere end et "
            f"Excel-ark kan rumme ({formatting.number(EXCEL_MAX_ROWS, 0)}). Eksportér til .csv eller .parquet."
        )
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".part")
    try:
        if kind == "xlsx":
            _write_xlsx(store, partial)
        else:
            options = "FORMAT csv, HEADER true, DELIMITER ','" if kind == "csv" else "FORMAT parquet"
            store.con.execute(f"COPY ({export_sql()}) TO {_literal(partial)} ({options})")
        os.replace(partial, output)
    except OSError as e:
        partial.unlink(missing_ok=True)
        err_console.print(f"[bold red]Fejl:[/bold red] Kan ikke skrive {output}: {e.strerror or e}")
        return 1
    console.print(f"Eksporterede {formatting.number(n_rows, 0)} nøgletalsrækker til {output}.")
    return 0


def _write_xlsx(store, path: Path) -> None:
    """Stream the rows into a write-only workbook (constant memory), text cells made safe."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("noegletal")
    ws.freeze_panes = "A2"
    header = []
    for name in keyfigures.MART_COLUMNS:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    result = store.con.execute(export_sql())
    while batch := result.fetchmany(10_000):
        for row in batch:
            ws.append([spreadsheet.safe_cell(v) for v in row])
    wb.save(path)

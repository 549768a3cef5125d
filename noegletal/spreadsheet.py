"""Writing spreadsheets safely: one place for formula neutralisation, frozen headers and column widths.

Every workbook the package writes goes through `safe_cell`, so that a text such as a building named
"=HYPERLINK(...)" or "-Annex" is shown as text and never run as a formula by Excel or LibreOffice
(CSV/formula injection). The neutralisation is the usual one: a leading apostrophe. Ingest removes
that apostrophe again (noegletal.ingest.validate), so a prefilled template round-trips unchanged.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

# Characters that make a spreadsheet program read a cell as a formula (tab and CR too, per OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MIN_WIDTH = 8
MAX_WIDTH = 60


def safe_cell(value):
    """The value to write into a cell: formula-like text gets a leading apostrophe; others unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _plain(value):
    """A cell value openpyxl can write: NA -> empty, numpy scalars -> Python, text made safe."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, (str, int, float, bool, dt.date, dt.datetime)):
        return safe_cell(value)
    return safe_cell(str(value))


def new_workbook() -> Workbook:
    """An empty workbook without openpyxl's default sheet."""
    wb = Workbook()
    wb.remove(wb.active)
    return wb


def set_widths(ws: Worksheet, widths: list[int]) -> None:
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(MIN_WIDTH, min(MAX_WIDTH, w + 2))


def write_frame(wb: Workbook, title: str, df: pd.DataFrame) -> Worksheet:
    """Add `df` as a sheet: bold frozen header row, safe cells, column widths fitted to the content."""
    ws = wb.create_sheet(title)
    ws.append([_plain(str(c)) for c in df.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in df.itertuples(index=False, name=None):
        ws.append([_plain(v) for v in row])
    ws.freeze_panes = "A2"
    # Width from the header and the first rows is enough for a readable sheet and stays fast.
    sample = df.head(500)
    widths = [
        max([len(str(c))] + [len(str(v)) for v in sample.iloc[:, i] if not pd.isna(v)])
        for i, c in enumerate(df.columns)
    ]
    set_widths(ws, widths)
    return ws

"""Reading submission files as the user made them: xlsx workbooks, or folders with two CSV files.

The reader only finds the tables and their cells; it does not judge values (that is `validate`). It
returns raw frames whose index is the row number the user sees in Excel (header = row 1), with
`attrs["fil"]` and `attrs["ark"]` naming the file and sheet, so every problem can point at its cell.
Anything that keeps a file from being read at all becomes a `Problem` naming the file, never an
exception.

CSV as Danish Excel and other systems write it: `;`, `,` or tab as separator (taken from the header
line, or Excel's `sep=;` first line), UTF-8 with or without BOM, UTF-16 (Excel's "Unicode-tekst"),
else Windows-1252.

Decisions about what people actually send:
- Sheet names, file names and headers are matched trimmed and case-insensitively ("Bygninger",
  "Kommunekode "); the header must be row 1 (a header found lower down is reported with its row).
- Blank rows are skipped (also formatted blank rows at the end); row numbers stay the file's own.
- A formula counts with the value Excel saved with the file; a formula without one (the file was
  written by a program and never opened in Excel) is a problem for that cell, as is an Excel error
  value (#DIV/0!, #N/A, …).
- A column with data but no header is a problem; an empty one is ignored.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pandas as pd
from openpyxl.utils import get_column_letter

from noegletal import model
from noegletal.ingest.validate import DEGREE_DAY_COLUMNS, CellProblem, Problem

TABLES = tuple(model.TABLES)  # ("bygninger", "kvartal")
EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"})
# How far down a misplaced header row is looked for, to tell the user where it is.
HEADER_SEARCH_ROWS = 20
EXPECTED_SUBMISSION = (
    "en Excel-projektmappe (.xlsx) med arkene bygninger og kvartal, "
    "eller en mappe med filerne bygninger.csv og kvartal.csv"
)

Frames = tuple[pd.DataFrame | None, pd.DataFrame | None, list[Problem]]


def read_submission(path: str | Path) -> Frames:
    """Read a submission: an .xlsx workbook or a folder with bygninger.csv and kvartal.csv.

    Returns (bygninger, kvartal, problems). A frame is None when its table could not be read at all.
    """
    path = Path(path)
    fil = str(path)
    if not path.exists():
        return None, None, [_file_problem(fil, "filen eller mappen findes ikke", EXPECTED_SUBMISSION)]
    if path.is_dir():
        return _read_folder(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_workbook(path)
    if suffix == ".csv":
        return None, None, [_file_problem(
            fil, "en CSV-fil alene er ikke en indberetning",
            "mappen, der indeholder både bygninger.csv og kvartal.csv (angiv mappen i stedet for filen)",
        )]
    if suffix in (".xls", ".ods", ".numbers"):
        return None, None, [_file_problem(
            fil, f"filformatet {suffix} kan ikke læses", "en .xlsx-fil (Gem som → Excel-projektmappe (*.xlsx))"
        )]
    return None, None, [_file_problem(fil, f"ukendt filtype «{path.suffix or '(ingen)'}»", EXPECTED_SUBMISSION)]


def read_degree_days(path: str | Path) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read a degree-day CSV (aar, maaned, graddage) the same way as a submission's CSV files."""
    path = Path(path)
    if not path.is_file():
        return None, [_file_problem(str(path), "filen findes ikke", "en CSV-fil med kolonnerne aar, maaned, graddage")]
    if path.suffix.lower() != ".csv":
        return None, [_file_problem(str(path), f"filtypen «{path.suffix}» er ikke CSV",
                                    "en CSV-fil med kolonnerne aar, maaned, graddage")]
    return _read_csv(path, "graddage", [c.id for c in DEGREE_DAY_COLUMNS])


def _file_problem(fil: str, problem: str, expected: str, ark: str | None = None) -> Problem:
    return Problem(fil, ark, None, None, None, problem, expected)


# -- folders of CSV files ----------------------------------------------------------------------------

def _read_folder(folder: Path) -> Frames:
    files = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    frames: dict[str, pd.DataFrame | None] = {}
    problems: list[Problem] = []
    for table in TABLES:
        path = files.get(f"{table}.csv")
        if path is None:
            found = ", ".join(sorted(p.name for p in files.values())) or "ingen filer"
            problems.append(_file_problem(
                str(folder), f"filen {table}.csv mangler i mappen (fandt: {found})",
                "en mappe med filerne bygninger.csv og kvartal.csv",
            ))
            frames[table] = None
            continue
        frames[table], found_problems = _read_csv(path, table, model.column_ids(table))
        problems += found_problems
    return frames["bygninger"], frames["kvartal"], problems


def _decode(data: bytes) -> str | None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return None


def _read_csv(path: Path, table: str, column_ids: list[str]) -> tuple[pd.DataFrame | None, list[Problem]]:
    fil = str(path)
    expected = f"en CSV-fil med overskriftsrække ({', '.join(column_ids[:3])}, …) og én række pr. post"
    data = path.read_bytes()
    if not data:
        return None, [_file_problem(fil, "filen er tom (0 byte)", expected)]
    if data.startswith(b"PK\x03\x04"):
        return None, [_file_problem(fil, "filen er en Excel-projektmappe, ikke en CSV-fil",
                                    "gem arket som CSV (semikolonsepareret), eller indsend .xlsx-filen")]
    text = _decode(data)
    if text is None or "\x00" in text:
        return None, [_file_problem(fil, "filen er ikke en tekstfil (ukendt tegnsæt)",
                                    "en CSV-fil gemt som UTF-8 eller Windows-1252 (Excel: Gem som → CSV)")]
    lines = text.splitlines()
    sep = None
    if lines and lines[0].lower().startswith("sep=") and len(lines[0]) >= 5:
        sep = lines[0][4]  # Excel's separator hint; Excel hides this line, so rows count from the next
        text = text.split("\n", 1)[1] if "\n" in text else ""
        lines = lines[1:]
    header = next((line for line in lines if line.strip()), "")
    if sep is None:
        sep = max((";", ",", "\t"), key=header.count) if any(c in header for c in ";,\t") else ";"
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    return _table(rows, fil, None, table, column_ids, text_only=True)


# -- workbooks ---------------------------------------------------------------------------------------

def _read_workbook(path: Path) -> Frames:
    fil = str(path)
    if path.stat().st_size == 0:
        return None, None, [_file_problem(fil, "filen er tom (0 byte)", EXPECTED_SUBMISSION)]
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception:  # noqa: BLE001  whatever openpyxl trips over, the file is not a readable workbook
        return None, None, [_file_problem(
            fil, "filen er ikke en gyldig Excel-projektmappe",
            "en .xlsx-fil gemt fra Excel, LibreOffice eller Google Sheets",
        )]
    problems: list[Problem] = []
    frames: dict[str, pd.DataFrame | None] = {t: None for t in TABLES}
    try:
        names = {name.strip().lower(): name for name in wb.sheetnames}
        for table in TABLES:
            name = names.get(table)
            if name is None or not hasattr(wb[name], "iter_rows"):
                problems.append(_file_problem(
                    fil, f"arket «{table}» mangler (fandt: {', '.join(wb.sheetnames)})",
                    "en projektmappe med arkene bygninger og kvartal (arknavne som i skabelonen)",
                ))
                continue
            rows, formulas = _sheet_rows(wb[name])
            if formulas:
                _resolve_formulas(path, name, rows, formulas)
            frames[table], found = _table(rows, fil, name, table, model.column_ids(table), text_only=False)
            problems += found
    finally:
        wb.close()
    return frames["bygninger"], frames["kvartal"], problems


def _sheet_rows(ws) -> tuple[list[list], list[tuple[int, int]]]:
    """All cell values of a sheet, row by row; and the (row, column) positions holding formulas."""
    ws.reset_dimensions()  # some writers store a wrong sheet size; read what is there
    rows: list[list] = []
    formulas: list[tuple[int, int]] = []
    for r, row in enumerate(ws.iter_rows()):
        values = []
        for c, cell in enumerate(row):
            if getattr(cell, "data_type", None) == "f":
                formulas.append((r, c))
            values.append(cell.value)
        rows.append(values)
    return rows, formulas


def _resolve_formulas(path: Path, sheet: str, rows: list[list], formulas: list[tuple[int, int]]) -> None:
    """Replace formulas by the value Excel computed and saved; a formula without one is a problem."""
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb[sheet]
        ws.reset_dimensions()
        cached = [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
    for r, c in formulas:
        value = cached[r][c] if r < len(cached) and c < len(cached[r]) else None
        rows[r][c] = value if value is not None else CellProblem(
            str(rows[r][c]), "cellen indeholder en formel uden beregnet værdi",
            "en værdi: åbn og gem filen i Excel, eller kopiér cellerne og indsæt dem som værdier",
        )


# -- from rows to a table ----------------------------------------------------------------------------

def _blank(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _row_blank(row: list) -> bool:
    try:
        return not "".join(row).strip()  # CSV rows: all text, one C-level pass
    except TypeError:  # workbook rows also hold numbers, dates and None
        return all(_blank(v) for v in row)


def _norm(v) -> str:
    return "" if v is None else str(v).replace("\ufeff", "").strip().lower()


def _table(
    rows: list[list], fil: str, ark: str | None, table: str, column_ids: list[str], text_only: bool
) -> tuple[pd.DataFrame | None, list[Problem]]:
    """The header row (row 1) and the data rows below it, blank rows left out, as a raw frame."""
    where = f"arket «{ark}»" if ark else "filen"
    blank = [_row_blank(row) for row in rows]
    last = max((i for i, b in enumerate(blank) if not b), default=-1)
    if last < 0:
        return None, [_file_problem(fil, f"{where} er tomt" if ark else "filen indeholder ingen data",
                                    f"overskriftsrækken i række 1 ({', '.join(column_ids[:3])}, …) og data under den", ark)]
    known = set(column_ids)
    header = rows[0] if rows else []
    if not any(_norm(h) in known for h in header):
        found = next((i for i, row in enumerate(rows[1:HEADER_SEARCH_ROWS], start=2)
                      if sum(_norm(v) in known for v in row) >= 2), None)
        if found:
            return None, [Problem(fil, ark, found, None, None,
                                  f"kolonneoverskrifterne står i række {found}, ikke i række 1",
                                  "overskriftsrækken i række 1: slet rækkerne over den")]
        return None, [Problem(fil, ark, 1, None, None, f"{where} har ingen kendte kolonneoverskrifter i række 1",
                              f"overskrifterne fra skabelonen i række 1: {', '.join(column_ids)}")]

    problems: list[Problem] = []
    data = rows[1:last + 1]
    width = max([len(header)] + [len(r) for r in data])
    keep: list[int] = []
    for j in range(width):
        name = header[j] if j < len(header) else None
        if not _blank(name):
            keep.append(j)
            continue
        filled = [i + 2 for i, r in enumerate(data) if j < len(r) and not _blank(r[j])]
        if filled:
            problems.append(Problem(fil, ark, filled[0], get_column_letter(j + 1), None,
                                    f"kolonne {get_column_letter(j + 1)} har data men ingen overskrift",
                                    "en overskrift fra skabelonen i række 1, eller slet kolonnen"))
    names = [str(header[j]).strip() for j in keep]
    n = len(keep)
    contiguous = keep == list(range(n))
    index, body = [], []
    for i, r in enumerate(data, start=2):
        if blank[i - 1]:
            continue
        values = r[:n] + [None] * (n - len(r)) if contiguous else [r[j] if j < len(r) else None for j in keep]
        if len(values) < len(r) and _row_blank(values):
            continue  # its only content is in columns without a header (reported above)
        index.append(i)
        body.append(values)
    if text_only:
        df = pd.DataFrame(body, columns=names, index=index, dtype="string")
    else:
        body = [[_excel_error(v) for v in row] for row in body]
        df = pd.DataFrame(body, columns=names, index=index, dtype=object)
    df.attrs["fil"] = fil
    df.attrs["ark"] = ark
    return df, problems


def _excel_error(v):
    """An Excel error value (#DIV/0! from a formula, or pasted as text) cannot be a value."""
    if isinstance(v, str) and v.strip() in EXCEL_ERRORS:
        return CellProblem(v, f"cellen viser Excel-fejlen {v.strip()}", "en værdi (ret formlen, eller skriv tallet)")
    return v

"""Validation of a submission against the data model (DESIGN.md, "Submission files").

`validate` takes the two tables as read from a file (text, numbers and odd Excel values mixed) or as
typed frames made by code, checks every rule of the data model and returns clean frames in the model's
dtypes together with every problem found. It is vectorised: column-wise pandas/numpy operations on the
happy path; `Problem` objects are built only for failing cells.

Numbers written as text are read the Danish way (decimal comma, thousands dot: `1.234,5`; spaces
between thousands are allowed too). A table written with decimal point (`1234.5`) is accepted when
nothing in it uses a decimal comma; a value that reads differently under the two conventions
(`1.234`) is then refused rather than guessed. A decimal point in a table that otherwise uses decimal
commas is refused.

Decisions beyond DESIGN.md: an unknown column is an error (it is usually a misspelt one, and its data
would be lost silently); an optional column may be left out (all its cells not reported); the code
columns `ejerforhold` and `kategori` are compared trimmed and case-insensitively, with æ/ø/å accepted
for ae/oe/aa ("Ejet " -> ejet, "Idræt" -> idraet); `periode` is upper-cased ("2026q3").
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from noegletal import model, reference

Severity = Literal["fejl", "advarsel"]


@dataclass
class Problem:
    """One problem in a submission, placed as the user sees it in Excel. Texts are Danish."""

    fil: str
    ark: str | None
    raekke: int | None
    kolonne: str | None
    vaerdi: str | None  # None: not about one cell; "": the cell is empty
    problem: str
    forventet: str
    alvor: Severity = "fejl"

    def __str__(self) -> str:
        place = [self.fil]
        if self.ark:
            place.append(f"ark {self.ark}")
        if self.raekke is not None:
            place.append(f"række {self.raekke}")
        if self.kolonne:
            place.append(f"kolonne {self.kolonne}")
        if self.vaerdi is not None:
            place.append(f"værdi «{self.vaerdi}»" if self.vaerdi != "" else "værdi (tom)")
        head = "Advarsel" if self.alvor == "advarsel" else "Fejl"
        return f"{head}: {', '.join(place)}: {self.problem.rstrip('.')}. Forventet: {self.forventet.rstrip('.')}."


@dataclass(frozen=True)
class CellProblem:
    """Put by the reader into a cell it cannot turn into a value (e.g. a formula without a result)."""

    shown: str
    problem: str
    expected: str


@dataclass
class ValidationResult:
    bygninger: pd.DataFrame
    kvartal: pd.DataFrame
    kommunekode: int | None
    periode: str | None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


_DTYPES = {"int": "Int64", "text": "string", "number": "Float64"}
_TRANSLIT = {"æ": "ae", "ø": "oe", "å": "aa"}
# Columns whose values are codes: compared trimmed, case-insensitive, æøå spelled ae/oe/aa
# ("Ejet " -> ejet, "Idræt" -> idraet), since people type them by hand.
_CODE_COLUMNS = {"kategori", "ejerforhold"}

# Text-number shapes, after removing spaces between thousands groups.
_INT = r"-?\d+"
_DK = r"-?(?:\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+,\d+)"  # 1.234.567,89 / 1,5
_EN = r"-?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+)"  # 1,234,567.89 / 1.5
_SPACE_GROUP = r"(?<=\d)[ \u00a0\u202f](?=\d{3}(?:\D|$))"

# A one-line explanation for a value out of range, where the bare interval would not say enough.
_RANGE_HINT = {
    "anvendelseskode": "en BBR-anvendelseskode (byg021) har 3 cifre",
    "tilstandsgrad": "tilstandsgraden går fra 1 (god) til 5 (dårlig)",
    "indeklima": "indeklimaet vurderes fra 1 (godt) til 5 (dårligt)",
    "varmeandel_vejruafhaengig_pct": "en procentdel ligger mellem 0 og 100",
}


KNOWN_MUNICIPALITY = "en af de 98 kommunekoder, fx 101 (København) eller 751 (Aarhus)"


@functools.cache
def _rule(col: model.Column) -> str:
    return KNOWN_MUNICIPALITY if col.id == "kommunekode" else col.rule_da()


def _missing(col: model.Column) -> str:
    what = col.description_da if col.type == "text" and not col.allowed else _rule(col)
    return f"{what} – cellen skal udfyldes"


@functools.cache
def _known_bbr_codes() -> np.ndarray:
    return reference.bbr_codes()["anvendelseskode"].to_numpy("float64")


@functools.cache
def _municipality_codes() -> np.ndarray:
    return np.array(sorted(reference.municipality_codes()), dtype="float64")


def shown(value) -> str:
    """A cell value as the user would recognise it (Danish decimal comma)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, CellProblem):
        return value.shown
    if isinstance(value, bool):
        return "SAND" if value else "FALSK"
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else repr(float(value)).replace(".", ",")
    if isinstance(value, (dt.datetime, dt.date)):
        return value.strftime("%d-%m-%Y")
    text = str(value)
    return text if len(text) <= 80 else text[:79] + "…"


class _Collector:
    """Problems of one submission; builds them only for the cells that fail."""

    def __init__(self) -> None:
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def add(self, p: Problem) -> None:
        (self.warnings if p.alvor == "advarsel" else self.errors).append(p)


class _Sheet:
    """One table of a submission: its raw columns by id, and where its rows are in the file."""

    def __init__(self, table: str, df: pd.DataFrame, source: str, sheet_rows: bool, out: _Collector):
        self.table = table
        self.fil = str(df.attrs.get("fil", source))
        self.ark = df.attrs.get("ark", table)
        self.sheet_rows = sheet_rows
        self.n = len(df)
        # Row numbers as the user sees them: the file's own (reader) or header in row 1 (frames from code).
        self.rows = df.index.to_numpy() if sheet_rows else np.arange(self.n) + 2
        self.out = out
        self.raw: dict[str, pd.Series] = {}
        self._kinds: dict[str, _Cells] = {}
        self._columns(df)

    def kinds(self, column: str) -> _Cells:
        if column not in self._kinds:
            self._kinds[column] = _kinds(self.raw[column])
        return self._kinds[column]

    def problem(self, raekke, kolonne, vaerdi, problem, forventet, alvor: Severity = "fejl") -> None:
        self.out.add(Problem(self.fil, self.ark, raekke, kolonne, vaerdi, problem, forventet, alvor))

    def cells(
        self,
        mask: np.ndarray,
        column: str,
        problem: str | Callable[[int], str],
        forventet: str | Callable[[int], str],
        alvor: Severity = "fejl",
    ) -> None:
        """One problem per True in `mask`; texts may depend on the row position."""
        if not mask.any():
            return
        for i in np.flatnonzero(mask):
            p = problem(i) if callable(problem) else problem
            f = forventet(i) if callable(forventet) else forventet
            self.problem(int(self.rows[i]), column, shown(self.raw[column].iloc[i]), p, f, alvor)

    def _columns(self, df: pd.DataFrame) -> None:
        specs = {c.id: c for c in model.TABLES[self.table]} if self.table in model.TABLES else _DEGREE_DAY_SPECS
        header_row = 1 if self.sheet_rows else None
        seen: set[str] = set()
        for name, column in df.items():
            key = str(name).replace("\ufeff", "").strip().lower()
            if key not in specs:
                close = difflib.get_close_matches(key, list(specs), n=1, cutoff=0.75)
                expected = (f"«{close[0]}» (kolonnenavnet fra skabelonen)" if close
                            else f"kun skabelonens kolonner: {', '.join(specs)}")
                self.problem(header_row, str(name), None, f"ukendt kolonne «{name}»", expected)
            elif key in seen:
                self.problem(header_row, str(name), None, "kolonnen står mere end én gang", "hver kolonne én gang")
            else:
                seen.add(key)
                self.raw[key] = column
        for col in specs.values():
            if col.id not in self.raw and col.required:
                self.problem(
                    header_row, col.id, None, "kolonnen mangler",
                    f"en kolonne med overskriften «{col.id}» ({col.description_da})",
                )
        if self.n == 0:
            self.problem(None, None, None, f"{'arket' if self.ark else 'filen'} har ingen rækker med data",
                         "én række pr. bygning under overskriftsrækken" if self.table in model.TABLES
                         else "én række pr. måned under overskriftsrækken")


# -- reading cells -----------------------------------------------------------------------------------

@dataclass
class _Cells:
    """A raw column split by what its cells hold."""

    nums: np.ndarray  # real numbers (float), NaN elsewhere
    text: pd.Series | None  # stripped text, NA elsewhere; None when the column holds no text
    other: np.ndarray  # neither: dates, booleans, cells the reader could not read


def _kinds(series: pd.Series) -> _Cells:
    n = len(series)
    nothing = np.zeros(n, bool)
    if pd.api.types.is_bool_dtype(series.dtype):
        return _Cells(np.full(n, np.nan), None, series.notna().to_numpy())
    if pd.api.types.is_numeric_dtype(series.dtype):
        return _Cells(series.to_numpy("float64", na_value=np.nan), None, nothing)
    if pd.api.types.is_string_dtype(series.dtype) and series.dtype != object:
        return _Cells(np.full(n, np.nan), _clean_text(series.astype("string")), nothing)
    # object: the mixed cells of a workbook
    types = series.map(type)
    is_num = types.isin([int, float, np.int64, np.float64]).to_numpy()
    is_text = types.eq(str).to_numpy()
    is_none = series.isna().to_numpy() & ~is_text & ~is_num
    nums = np.full(n, np.nan)
    if is_num.any():
        nums[is_num] = series[is_num].astype("float64").to_numpy()
    text = _clean_text(series.where(is_text).astype("string")) if is_text.any() else None
    return _Cells(nums, text, ~(is_num | is_text | is_none))


def _clean_text(text: pd.Series) -> pd.Series:
    text = text.str.strip()
    empty = (text == "").to_numpy(bool, na_value=False)
    return text.mask(empty) if empty.any() else text


def _number_shapes(text: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray, np.ndarray]:
    """Normalised text and masks: integer, Danish-shaped, English-shaped."""
    norm = text.str.replace("\u2212", "-", regex=False)
    # A plain (not raw) string, so the pattern holds the space characters themselves: Arrow's regex
    # engine (RE2) does not read \u escapes, and pandas would fall back to a slow Python loop.
    spaced = norm.str.contains("[0-9][ \u00a0\u202f][0-9]").to_numpy(bool, na_value=False)
    if spaced.any():  # the regex needs Python's engine: run it only where there are spaces
        norm = norm.mask(spaced, norm[spaced].str.replace(_SPACE_GROUP, "", regex=True))
    is_int = norm.str.fullmatch(_INT).fillna(False).to_numpy(bool)
    is_dk = norm.str.fullmatch(_DK).fillna(False).to_numpy(bool)
    is_en = norm.str.fullmatch(_EN).fillna(False).to_numpy(bool)
    return norm, is_int, is_dk, is_en


def _decimal_mark(sheet: _Sheet, columns: list[model.Column]) -> str:
    """',' (Danish, the default) unless the table's text numbers use only a decimal point."""
    dk = en = 0
    for col in columns:
        if col.id in sheet.raw:
            text = sheet.kinds(col.id).text
            if text is not None:
                _, _, is_dk, is_en = _number_shapes(text)
                dk += int((is_dk & ~is_en).sum())
                en += int((is_en & ~is_dk).sum())
    return "." if en > 0 and dk == 0 else ","


def _numbers(sheet: _Sheet, col: model.Column, mark: str) -> tuple[np.ndarray, np.ndarray]:
    """Parse one int/number column and report unreadable cells.

    Returns (values as float, NaN where empty or bad; mask of empty cells).
    """
    cells = sheet.kinds(col.id)
    values = cells.nums.copy()
    empty = np.isnan(values) & ~cells.other
    if cells.text is not None:
        has_text = cells.text.notna().to_numpy()
        empty &= ~has_text
        norm, is_int, is_dk, is_en = _number_shapes(cells.text)
        if mark == ",":
            good, wrong_mark, ambiguous = is_int | is_dk, is_en & ~is_dk, np.zeros(len(norm), bool)
            plain = norm.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        else:
            good, wrong_mark, ambiguous = is_int | (is_en & ~is_dk), is_dk & ~is_en, is_en & is_dk
            plain = norm.str.replace(",", "", regex=False)
        if good.any():
            values[good] = pd.to_numeric(plain[good]).to_numpy("float64")
        where = "arket" if sheet.ark else "filen"
        used, other_mark = ("decimalkomma", "decimalpunktum") if mark == "," else ("decimalpunktum", "decimalkomma")
        sheet.cells(wrong_mark, col.id, f"tallet er skrevet med {other_mark}, men resten af {where} bruger {used}",
                    "samme decimaltegn i hele filen, helst dansk: decimalkomma og evt. punktum "
                    "som tusindtalsskilletegn (1.234,5)")
        sheet.cells(ambiguous, col.id,
                    lambda i: f"tallet kan læses både som {_dk_reading(norm.iloc[i])} og som "
                              f"{_en_reading(norm.iloc[i])}, og {where} bruger ellers decimalpunktum",
                    "et tal uden tusindtalsskilletegn, fx 1234 eller 1234.5")
        example = ", skrevet uden enhed og tekst, fx 1234,5" if col.type == "number" else ""
        sheet.cells(has_text & ~good & ~wrong_mark & ~ambiguous, col.id, "værdien er ikke et tal", _rule(col) + example)
        values[has_text & ~good] = np.nan
    _report_other(sheet, col, cells.other, "et tal")
    if col.type == "int":
        fractional = ~np.isnan(values) & (np.floor(values) != values)
        sheet.cells(fractional, col.id, "tallet skal være et heltal", _rule(col))
        values[fractional] = np.nan
    return values, empty


def _dk_reading(text: str) -> str:
    return shown(float(text.replace(".", "").replace(",", ".")))


def _en_reading(text: str) -> str:
    return shown(float(text.replace(",", "")))


def _report_other(sheet: _Sheet, col: model.Column, other: np.ndarray, kind: str) -> None:
    """Cells holding something that is neither a number nor text: dates, booleans, unreadable cells."""
    if not other.any():
        return
    raw = sheet.raw[col.id]

    def what(i: int) -> str:
        v = raw.iloc[i]
        if isinstance(v, CellProblem):
            return v.problem
        if isinstance(v, (dt.datetime, dt.date, dt.time, pd.Timestamp)):
            return "Excel har gemt værdien som en dato (sker fx når 1.5 skrives i en dansk Excel)"
        if isinstance(v, (bool, np.bool_)):
            return "Excel har gemt værdien som SAND/FALSK"
        return f"værdien er ikke {kind}"

    def expected(i: int) -> str:
        v = raw.iloc[i]
        return v.expected if isinstance(v, CellProblem) else _rule(col)

    sheet.cells(other, col.id, what, expected)


def _texts(sheet: _Sheet, col: model.Column) -> tuple[pd.Series, np.ndarray]:
    """One text column, trimmed; numbers become text (101 -> '101'). Returns (text, mask of bad cells).

    Works on an Arrow array: this runs for every text column of every submission (the demo ingests
    thousands), and pyarrow's kernels cost a fraction of pandas' string-accessor calls.
    """
    raw = sheet.raw[col.id]
    if pd.api.types.is_string_dtype(raw.dtype) and raw.dtype != object:
        text, other = pa.array(raw, type=pa.string(), from_pandas=True), np.zeros(len(raw), bool)
    else:
        other = raw.map(lambda v: isinstance(v, CellProblem)).to_numpy(bool)
        text = pa.array([None if v is None or v is pd.NA else _as_text(v) for v in raw], type=pa.string())
    _report_other(sheet, col, other, "en tekst")
    text = pc.utf8_trim_whitespace(text)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    # Undo our own formula neutralisation (noegletal.spreadsheet.safe_cell) so templates round-trip.
    quoted = pc.match_substring_regex(text, r"^'[=+\-@]")
    if pc.any(quoted).as_py():
        text = pc.if_else(quoted, pc.utf8_slice_codeunits(text, 1), text)
    if col.id in _CODE_COLUMNS:
        text = pc.utf8_lower(text)
        for letter, spelled in _TRANSLIT.items():
            text = pc.replace_substring(text, letter, spelled)
    elif col.id == "periode":
        text = pc.utf8_upper(text)
    return pd.Series(pd.arrays.ArrowStringArray(text)), other


def _as_text(v) -> str | None:
    if isinstance(v, CellProblem):
        return None
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return None
        return str(int(v)) if float(v).is_integer() else repr(float(v))
    if isinstance(v, (dt.datetime, dt.date)):
        return v.strftime("%d-%m-%Y")
    return str(v)


def _check_column(sheet: _Sheet, col: model.Column, mark: str) -> pd.Series:
    """Parse a column and check type, presence, allowed values and range. Bad cells become NA."""
    if col.id not in sheet.raw:
        return pd.Series(pd.NA, index=range(sheet.n), dtype=_DTYPES[col.type])
    if col.type == "text":
        values, other = _texts(sheet, col)
        if col.required:
            sheet.cells(values.isna().to_numpy() & ~other, col.id, "værdien mangler", _missing(col))
        if col.allowed:
            bad = values.notna().to_numpy() & ~values.isin(col.allowed).to_numpy(bool)
            raw = sheet.raw[col.id]
            sheet.cells(bad, col.id, lambda i: f"«{shown(raw.iloc[i]).strip()}» er ikke en tilladt værdi",
                        _rule(col))
            values = values.mask(bad)
        return values
    values, empty = _numbers(sheet, col, mark)
    if col.required:
        sheet.cells(empty, col.id, "værdien mangler", _missing(col))
    _check_range(sheet, col, values)
    missing = np.isnan(values)
    if col.type == "int":
        return pd.Series(pd.arrays.IntegerArray(np.where(missing, 0, values).astype("int64"), missing))
    return pd.Series(pd.arrays.FloatingArray(np.where(missing, 0.0, values), missing))


def _check_range(sheet: _Sheet, col: model.Column, v: np.ndarray) -> None:
    """Report values out of the column's range and set them to NaN (in place)."""
    hint = _RANGE_HINT.get(col.id)
    with np.errstate(invalid="ignore"):
        if col.min is not None:
            below = (v <= col.min) if col.min_exclusive else (v < col.min)
            if col.min == 0:
                neg = below & (v < 0)
                sheet.cells(neg, col.id, hint or "negative tal er ikke tilladt", _rule(col))
                sheet.cells(below & ~neg, col.id, "værdien må ikke være 0", _rule(col))
            else:
                sheet.cells(below, col.id, hint or f"tallet er mindre end {model._fmt(col.min)}", _rule(col))
            v[below] = np.nan
        if col.max is not None:
            above = v > col.max
            sheet.cells(above, col.id, hint or f"tallet er større end {model._fmt(col.max)}", _rule(col))
            v[above] = np.nan


# -- the submission ----------------------------------------------------------------------------------

def _mode(values: np.ndarray):
    """Most frequent non-missing value of a float array; ties go to the one seen first."""
    values = values[~np.isnan(values)]
    if not len(values):
        return None
    unique, first, counts = np.unique(values, return_index=True, return_counts=True)
    best = np.flatnonzero(counts == counts.max())
    return unique[best[np.argmin(first[best])]]


def _positions(values: pd.Series, pool: pd.Series) -> np.ndarray:
    """For each text value, the position of its first occurrence in `pool` (NaN: not there, or missing)."""
    found = pc.index_in(pa.array(values, type=pa.string()), value_set=pa.array(pool, type=pa.string()), skip_nulls=True)
    return found.to_numpy(zero_copy_only=False).astype("float64")


def validate(
    bygninger: pd.DataFrame, kvartal: pd.DataFrame, source: str, sheet_rows: bool = False
) -> ValidationResult:
    """Check a submission against every rule of the data model.

    `bygninger` and `kvartal` may be raw (as read from a file: text, numbers, dates mixed) or typed
    (model dtypes). `source` names the submission in problems; a frame's `attrs["fil"]`/`attrs["ark"]`
    (set by `read_submission`) name its file and sheet more precisely. Row numbers in problems are the
    frame index when `sheet_rows` is true (the reader puts the file's row numbers there), otherwise the
    row the data would have in a sheet with the header in row 1 (first data row = 2).
    """
    out = _Collector()
    sheets = {
        "bygninger": _Sheet("bygninger", bygninger, source, sheet_rows, out),
        "kvartal": _Sheet("kvartal", kvartal, source, sheet_rows, out),
    }
    clean: dict[str, dict[str, pd.Series]] = {}
    for table, sheet in sheets.items():
        specs = model.TABLES[table]
        mark = _decimal_mark(sheet, [c for c in specs if c.type != "text"])
        clean[table] = {c.id: _check_column(sheet, c, mark) for c in specs}
    kommunekode, periode = _check_submission(sheets["bygninger"], sheets["kvartal"], clean["bygninger"], clean["kvartal"])
    frames = {t: pd.DataFrame({c: v.array for c, v in cols.items()}, copy=False) for t, cols in clean.items()}
    return ValidationResult(
        frames["bygninger"], frames["kvartal"], kommunekode, periode, _in_file_order(out.errors), _in_file_order(out.warnings)
    )


def _in_file_order(problems: list[Problem]) -> list[Problem]:
    """Sort as a user reads the file: sheet bygninger before kvartal, then row, then column."""
    sheet_order = {"bygninger": 0, "kvartal": 1}
    column_order = {c.id: i for t in model.TABLES.values() for i, c in enumerate(t)}
    return sorted(problems, key=lambda p: (
        p.fil, sheet_order.get(str(p.ark).lower(), 2), p.raekke or 0, column_order.get(p.kolonne or "", -1),
    ))


def _check_submission(sb: _Sheet, sk: _Sheet, b: dict[str, pd.Series], k: dict[str, pd.Series]):
    """Rules across rows and sheets. Works on the values that passed the column checks."""
    codes = {}
    for sheet, cols in ((sb, b), (sk, k)):
        code = cols["kommunekode"].to_numpy("float64", na_value=np.nan)
        bad = ~np.isnan(code) & ~np.isin(code, _municipality_codes())
        sheet.cells(bad, "kommunekode", "ukendt kommunekode", KNOWN_MUNICIPALITY)
        code[bad] = np.nan
        codes[sheet.table] = code
        cols["kommunekode"] = cols["kommunekode"].mask(bad) if bad.any() else cols["kommunekode"]

    # One municipality per submission: the one most rows name (bygninger first).
    kommunekode = _mode(codes["bygninger"])
    if kommunekode is None:
        kommunekode = _mode(codes["kvartal"])
    if kommunekode is not None:
        kommunekode = int(kommunekode)
        cb, ck = codes["bygninger"], codes["kvartal"]
        sb.cells(~np.isnan(cb) & (cb != kommunekode), "kommunekode",
                 lambda i: f"arket indeholder flere kommuner ({kommunekode} og {int(cb[i])}); én indberetning = én kommune",
                 f"kommunekode {kommunekode} i alle rækker (indsend hver kommune i sin egen fil)")
        sk.cells(~np.isnan(ck) & (ck != kommunekode), "kommunekode",
                 f"kommunekoden passer ikke med resten af indberetningen ({kommunekode})",
                 f"kommunekode {kommunekode}, som i arket bygninger")

    # One quarter per submission.
    per = k["periode"]
    malformed = per.notna().to_numpy() & ~per.str.fullmatch(model.PERIOD_RE.pattern).to_numpy(bool, na_value=False)
    sk.cells(malformed, "periode", "værdien er ikke et kvartal", "et kvartal på formen ÅÅÅÅQn, fx 2026Q3")
    per = per.mask(malformed) if malformed.any() else per
    counts = per.value_counts(sort=False)  # in order of appearance, so ties go to the first seen
    periode = None if counts.empty else str(counts.idxmax())
    if len(counts) > 1:
        sk.cells((per != periode).to_numpy(bool, na_value=False), "periode",
                 lambda i: f"arket indeholder flere kvartaler ({periode} og {per.iloc[i]}); én indberetning = ét kvartal",
                 f"{periode} i alle rækker (indsend hvert kvartal i sin egen fil)")
    k["periode"] = per

    # Buildings: unique ids, every kvartal row has a building.
    _duplicates(sb, b["bygning_id"])
    _duplicates(sk, k["bygning_id"])
    if "bygning_id" in sb.raw and "bygning_id" in sk.raw:  # else the missing column is the problem
        in_b = _positions(k["bygning_id"], b["bygning_id"])
        sk.cells(k["bygning_id"].notna().to_numpy() & np.isnan(in_b), "bygning_id",
                 "bygningen findes ikke i arket bygninger",
                 "et bygning_id fra arket bygninger (tilføj bygningen dér, eller ret id'et)")
        if sk.n:
            in_k = _positions(b["bygning_id"], k["bygning_id"])
            sb.cells(b["bygning_id"].notna().to_numpy() & np.isnan(in_k), "bygning_id",
                     "bygningen har ingen række i arket kvartal; dens kvartalstal bliver tomme",
                     "én række i arket kvartal pr. bygning", alvor="advarsel")

        # Vacant area at most the gross area of the same building.
        gross = b["bruttoareal_m2"].to_numpy("float64", na_value=np.nan)
        found = ~np.isnan(in_b)
        kg = np.full(len(in_b), np.nan)
        kg[found] = gross[in_b[found].astype(int)]
        with np.errstate(invalid="ignore"):
            above = k["tomt_areal_m2"].to_numpy("float64", na_value=np.nan) > kg
        sk.cells(above, "tomt_areal_m2", "det tomme areal er større end bygningens bruttoareal",
                 lambda i: f"højst bruttoarealet fra arket bygninger ({shown(kg[i])} m²)")

    # BBR code: 3 digits is a rule; a code outside the known list gives category oevrige (a warning).
    code = b["anvendelseskode"].to_numpy("float64", na_value=np.nan)
    unknown = ~np.isnan(code) & ~np.isin(code, _known_bbr_codes()) & b["kategori"].isna().to_numpy()
    sb.cells(unknown, "anvendelseskode",
             "BBR-koden er ikke i pakkens liste over kendte koder; bygningen får kategorien oevrige",
             "en kendt BBR-anvendelseskode, eller en kategori i kolonnen kategori", alvor="advarsel")
    return kommunekode, periode


def _duplicates(sheet: _Sheet, ids: pd.Series) -> None:
    dup = ids.notna().to_numpy() & ids.duplicated(keep="first").to_numpy()
    if dup.any():
        first = pd.Series(sheet.rows, index=ids.to_numpy()).groupby(level=0).first()
        sheet.cells(dup, "bygning_id",
                    lambda i: f"bygning_id står flere gange (første gang i række {first[ids.iloc[i]]})",
                    "hvert bygning_id kun én gang i arket")


# -- degree days -------------------------------------------------------------------------------------

# A month's heating degree days (base 17 °C) in Denmark: the normal year's coldest month has 519, and
# even a month averaging -8 °C gives 25 × 31 = 775, colder than any month on record. 800 leaves room for
# extremes and still catches a yearly total or a value typed into the wrong column.
DEGREE_DAY_COLUMNS: tuple[model.Column, ...] = (
    model.Column("aar", "int", True, "År", min=1900, max=dt.date.today().year + 1),
    model.Column("maaned", "int", True, "Måned (1-12)", min=1, max=12),
    model.Column("graddage", "number", True, "Graddage i måneden", min=0, max=800),
)
_DEGREE_DAY_SPECS = {c.id: c for c in DEGREE_DAY_COLUMNS}


def validate_degree_days(df: pd.DataFrame, source: str, sheet_rows: bool = False) -> tuple[pd.DataFrame, list[Problem]]:
    """Check monthly degree days (aar, maaned, graddage). Returns the clean table and the errors."""
    out = _Collector()
    sheet = _Sheet("graddage", df, source, sheet_rows, out)
    mark = _decimal_mark(sheet, list(DEGREE_DAY_COLUMNS))
    clean = pd.DataFrame({c.id: _check_column(sheet, c, mark) for c in DEGREE_DAY_COLUMNS})
    month = clean[["aar", "maaned"]]
    dup = (month.notna().all(axis=1) & month.duplicated(keep="first")).to_numpy()
    sheet.cells(dup, "maaned",
                lambda i: f"måneden {clean['aar'].iloc[i]}-{clean['maaned'].iloc[i]:02d} står mere end én gang",
                "hver måned kun én gang i filen")
    return clean, out.errors

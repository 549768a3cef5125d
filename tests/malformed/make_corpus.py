"""Generate the corpus of malformed submissions in this folder (run from anywhere; output is committed).

    .venv/bin/python tests/malformed/make_corpus.py

Every case starts from the same small valid submission (Aarhus, 751, 2026Q2, four buildings) and
breaks one thing, the way municipal staff do by hand or by exporting from another system. The
expected problem of each case is listed in tests/test_ingest_corpus.py. Workbooks are written
byte-for-byte reproducibly (fixed timestamps), so regenerating changes nothing in git.

`valid.xlsx` and `valid_csv/` are the untouched submission, for positive tests.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent

BYGNINGER_COLS = ["kommunekode", "bygning_id", "ejendom_id", "navn", "anvendelseskode", "kategori",
                  "opfoerelsesaar", "bruttoareal_m2", "ejerforhold", "varmeandel_vejruafhaengig_pct"]
KVARTAL_COLS = ["kommunekode", "bygning_id", "periode", "tomt_areal_m2", "brugere", "varme_kwh", "el_kwh", "vand_m3",
                "rengoering_kr", "forsyning_kr", "vedligehold_planlagt_kr", "vedligehold_akut_kr", "teknisk_drift_kr",
                "administration_kr", "husleje_kr", "tilstandsgrad", "indeklima", "efterslaeb_kr"]
INT_COLS = {"kommunekode", "anvendelseskode", "opfoerelsesaar"}

# Sheet rows 2-5 (row 1 is the header).
BYGNINGER = [
    [751, "B-001", "E-01", "Skovvangskolen", 421, None, 1962, 4250.5, "ejet", None],
    [751, "B-002", "E-01", "Skovvangskolen, gymnastiksal", 533, None, 1975, 820, "ejet", 35],
    [751, "B-003", "E-02", "Børnehuset Mælkebøtten", 441, None, 2004, 610, "lejet", None],
    [751, "B-004", "E-03", "Plejecentret Åbo", 160, None, 1988, 3900, "ejet", None],
]
KVARTAL = [
    [751, "B-001", "2026Q2", 0, 412, 98000, 31000, 610.5, 140000, 52000, 61000, 18000, 45000, 9000, None, 3, 2, 1200000],
    [751, "B-002", "2026Q2", None, None, 21000, 6000, 90, 22000, 9000, 4000, 1500, 8000, 1500, None, 2, None, None],
    [751, "B-003", "2026Q2", 0, 58, 14200, 5200, 120, 30000, 7000, 2000, 800, 3000, 900, 96000, 4, 3, 150000],
    [751, "B-004", "2026Q2", 120, 64, 210000, 88000, 1450, 260000, 98000, 75000, 33000, 70000, 12000, None, 3, 3, 2400000],
]


def base() -> tuple[list[list], list[list]]:
    return copy.deepcopy(BYGNINGER), copy.deepcopy(KVARTAL)


def set_cell(rows: list[list], columns: list[str], sheet_row: int, column: str, value) -> None:
    rows[sheet_row - 2][columns.index(column)] = value


# -- writers -----------------------------------------------------------------------------------------

def danish(value, column: str) -> str:
    """A value as Danish Excel writes it to CSV: decimal comma, thousands dot (not for codes and years)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if column in INT_COLS:
        return str(value)
    text = f"{int(value):,}" if float(value).is_integer() else f"{value:,}"  # 4,250.5
    return text.replace(",", "#").replace(".", ",").replace("#", ".")  # 4.250,5


def write_csv(path: Path, header: list[str], rows: list[list], encoding: str = "utf-8-sig", sep: str = ";") -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([v if isinstance(v, str) else danish(v, c) for v, c in zip(row, header)])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode(encoding))


def csv_case(name: str, bygninger: list[list], kvartal: list[list], encoding: str = "utf-8-sig",
             bygninger_header: list[str] | None = None, kvartal_header: list[str] | None = None) -> None:
    folder = HERE / name
    write_csv(folder / "bygninger.csv", bygninger_header or BYGNINGER_COLS, bygninger, encoding)
    write_csv(folder / "kvartal.csv", kvartal_header or KVARTAL_COLS, kvartal, encoding)


def workbook(sheets: dict[str, list[list]]) -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    return wb


def save(wb: openpyxl.Workbook, name: str) -> None:
    path = HERE / name
    wb.save(path)
    _freeze(path)


def _freeze(path: Path) -> None:
    """Rewrite a workbook with fixed timestamps so the file is reproducible."""
    with zipfile.ZipFile(path) as z:
        entries = [(info.filename, z.read(info)) for info in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2026-01-01T00:00:00Z", data)
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)


def xlsx_case(name: str, bygninger: list[list], kvartal: list[list],
              bygninger_header: list[str] | None = None, kvartal_header: list[str] | None = None) -> None:
    save(workbook({
        "bygninger": [bygninger_header or BYGNINGER_COLS, *bygninger],
        "kvartal": [kvartal_header or KVARTAL_COLS, *kvartal],
    }), name)


# -- the cases ---------------------------------------------------------------------------------------

def make() -> None:
    b, k = base()
    xlsx_case("valid.xlsx", b, k)
    csv_case("valid_csv", b, k)

    # Files that are not submissions at all.
    (HERE / "not_a_workbook.xlsx").write_text("Dette er ikke et regneark, men en tekstfil med forkert endelse.\n")
    (HERE / "empty_file.xlsx").write_bytes(b"")
    (HERE / "old_excel_format.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 56)
    with zipfile.ZipFile(HERE / "zip_not_workbook.xlsx", "w") as z:  # e.g. a Word document renamed
        z.writestr(zipfile.ZipInfo("word/document.xml", date_time=(2026, 1, 1, 0, 0, 0)), "<w:document/>")
    with zipfile.ZipFile(HERE / "valid.xlsx") as src, zipfile.ZipFile(HERE / "damaged_sheet.xlsx", "w") as z:
        for info in src.infolist():  # the kvartal sheet cut off in the middle, as by a broken download
            data = src.read(info)
            z.writestr(info, data[: len(data) // 2] if info.filename == "xl/worksheets/sheet2.xml" else data)
    csv_case("zero_byte_csv", b, k)
    (HERE / "zero_byte_csv" / "bygninger.csv").write_bytes(b"")
    csv_case("missing_kvartal_csv", b, k)
    (HERE / "missing_kvartal_csv" / "kvartal.csv").unlink()
    save(workbook({"bygninger": [BYGNINGER_COLS, *b], "Ark2": [KVARTAL_COLS, *k]}), "missing_sheet.xlsx")
    save(workbook({"bygninger": [BYGNINGER_COLS, *b], "kvartal": [KVARTAL_COLS]}), "empty_kvartal_sheet.xlsx")
    save(workbook({
        "bygninger": [BYGNINGER_COLS, *b],
        "kvartal": [["Kvartalstal for Aarhus Kommune, 2. kvartal 2026"], [], KVARTAL_COLS, *k],
    }), "header_not_first_row.xlsx")

    # Columns.
    b, k = base()
    drop = BYGNINGER_COLS.index("bruttoareal_m2")
    xlsx_case("missing_column.xlsx", [r[:drop] + r[drop + 1:] for r in b], k,
              bygninger_header=BYGNINGER_COLS[:drop] + BYGNINGER_COLS[drop + 1:])
    xlsx_case("unknown_column.xlsx", b, [r + ["ok" if i else "ny måler"] for i, r in enumerate(k)],
              kvartal_header=KVARTAL_COLS + ["bemaerkning"])
    csv_case("misspelled_header", b, k,
             bygninger_header=[("bygnings_id" if c == "bygning_id" else c) for c in BYGNINGER_COLS])
    xlsx_case("duplicate_column.xlsx", [r + [r[3]] for r in b], k, bygninger_header=BYGNINGER_COLS + ["navn"])
    xlsx_case("headerless_column.xlsx", b, [r + (["målerskift"] if i == 1 else []) for i, r in enumerate(k)])

    # Numbers.
    b, k = base()
    set_cell(k, KVARTAL_COLS, 3, "el_kwh", "6.000 kWh")
    csv_case("text_in_number", b, k)

    b, k = base()
    set_cell(k, KVARTAL_COLS, 4, "vand_m3", "120.5")
    csv_case("decimal_point_among_commas", b, k)

    # kvartal.csv exported by a system with decimal point and no thousands separators; one value
    # was typed by hand with a Danish thousands dot and now reads two ways.
    b, k = base()
    k_text = [[v if isinstance(v, str) or v is None else (repr(v) if isinstance(v, float) else str(v)) for v in r]
              for r in k]
    set_cell(k_text, KVARTAL_COLS, 5, "vand_m3", "1.450")
    csv_case("decimal_ambiguous", b, k_text)

    b, k = base()
    set_cell(b, BYGNINGER_COLS, 3, "bruttoareal_m2", -820)
    xlsx_case("negative_area.xlsx", b, k)

    b, k = base()
    set_cell(b, BYGNINGER_COLS, 4, "bruttoareal_m2", 0)
    csv_case("zero_area", b, k)

    b, k = base()
    set_cell(b, BYGNINGER_COLS, 2, "anvendelseskode", "421,5")
    csv_case("fractional_code", b, k)

    b, k = base()
    for r in k:
        r[KVARTAL_COLS.index("brugere")] = None if r[4] is None else str(r[4])
        for c in ("varme_kwh", "el_kwh", "rengoering_kr", "efterslaeb_kr"):
            j = KVARTAL_COLS.index(c)
            r[j] = danish(r[j], c) if r[j] is not None else None
    set_cell(k, KVARTAL_COLS, 2, "brugere", "ca. 400")
    xlsx_case("numbers_as_text.xlsx", b, k)

    b, k = base()
    set_cell(k, KVARTAL_COLS, 4, "tomt_areal_m2", dt.datetime(2026, 5, 1))
    xlsx_case("date_in_number.xlsx", b, k)

    b, k = base()
    set_cell(k, KVARTAL_COLS, 3, "varme_kwh", "=F2*0.2")
    xlsx_case("formula_cells.xlsx", b, k)

    b, k = base()
    set_cell(k, KVARTAL_COLS, 5, "el_kwh", "#DIV/0!")
    xlsx_case("excel_error_value.xlsx", b, k)

    # Municipality and period.
    b, k = base()
    for r in b + k:
        r[0] = 999
    xlsx_case("unknown_municipality.xlsx", b, k)

    b, k = base()
    for r in k:
        r[0] = 147
    xlsx_case("municipality_mismatch.xlsx", b, k)

    b, k = base()
    set_cell(b, BYGNINGER_COLS, 5, "kommunekode", 147)
    set_cell(k, KVARTAL_COLS, 5, "kommunekode", 147)
    csv_case("two_municipalities", b, k)

    b, k = base()
    set_cell(k, KVARTAL_COLS, 5, "periode", "2026Q1")
    xlsx_case("two_periods.xlsx", b, k)

    b, k = base()
    for r in k:
        r[2] = "2026-2"
    csv_case("malformed_period", b, k)

    # Codes and categories.
    b, k = base()
    set_cell(b, BYGNINGER_COLS, 2, "anvendelseskode", 42)
    xlsx_case("bbr_two_digits.xlsx", b, k)

    b, k = base()
    set_cell(b, BYGNINGER_COLS, 2, "anvendelseskode", 4210)
    csv_case("bbr_four_digits", b, k)

    b, k = base()
    set_cell(b, BYGNINGER_COLS, 3, "kategori", "svømmehal")
    xlsx_case("unknown_category.xlsx", b, k)

    b, k = base()
    set_cell(b, BYGNINGER_COLS, 2, "ejerforhold", "Ejet ")  # accepted: trimmed, any case
    set_cell(b, BYGNINGER_COLS, 3, "ejerforhold", "EJET")  # accepted
    set_cell(b, BYGNINGER_COLS, 4, "ejerforhold", "Lejer")  # refused
    csv_case("ownership_unknown", b, k)

    b, k = base()
    set_cell(b, BYGNINGER_COLS, 5, "ejerforhold", "Lånt")
    csv_case("cp1252_error", b, k, encoding="cp1252")

    # Buildings across the sheets.
    b, k = base()
    b.append(copy.deepcopy(b[2]))  # row 6 repeats B-003 from row 4
    csv_case("duplicate_building", b, k)

    b, k = base()
    set_cell(k, KVARTAL_COLS, 5, "bygning_id", "B-009")
    xlsx_case("kvartal_building_missing.xlsx", b, k)

    b, k = base()
    set_cell(k, KVARTAL_COLS, 4, "tomt_areal_m2", 700)
    csv_case("vacant_above_gross", b, k)

    b, k = base()
    set_cell(b, BYGNINGER_COLS, 3, "navn", None)
    csv_case("required_value_missing", b, k)

    # Ranges.
    b, k = base()
    set_cell(k, KVARTAL_COLS, 2, "tilstandsgrad", 0)
    xlsx_case("grade_zero.xlsx", b, k)

    b, k = base()
    set_cell(k, KVARTAL_COLS, 3, "indeklima", 6)
    csv_case("grade_six", b, k)

    b, k = base()
    set_cell(b, BYGNINGER_COLS, 3, "varmeandel_vejruafhaengig_pct", 120)
    xlsx_case("percent_120.xlsx", b, k)

    b, k = base()
    set_cell(b, BYGNINGER_COLS, 2, "opfoerelsesaar", 1500)
    csv_case("year_1500", b, k)

    b, k = base()
    set_cell(b, BYGNINGER_COLS, 5, "opfoerelsesaar", 2999)
    xlsx_case("year_future.xlsx", b, k)

    # A totals row under the data (merged label cells, a sum) and blank formatted rows after it.
    b, k = base()
    wb = workbook({"bygninger": [BYGNINGER_COLS, *b, [], ["I alt", None, None, None, None, None, None,
                                                          sum(r[7] for r in b)]], "kvartal": [KVARTAL_COLS, *k]})
    ws = wb["bygninger"]
    ws.merge_cells("A7:D7")
    for row in range(8, 12):
        ws.cell(row=row, column=1).number_format = "0"
    save(wb, "totals_row.xlsx")

    # Several problems in one file: all are reported at once.
    b, k = base()
    set_cell(b, BYGNINGER_COLS, 4, "navn", None)
    set_cell(k, KVARTAL_COLS, 2, "tilstandsgrad", 7)
    set_cell(k, KVARTAL_COLS, 3, "el_kwh", -6000)
    xlsx_case("many_problems.xlsx", b, k)


if __name__ == "__main__":
    make()

"""Positive tests: the file formats municipal staff actually send are read to the same values.

The reference is tests/malformed/valid.xlsx (typed cells). Every variant below must give exactly the
same submission content (same checksum) and the hand-checked values.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from noegletal.ingest import read_submission, validate
from noegletal.store import content_checksum


def _clean(path: Path):
    b, k, problems = read_submission(path)
    assert problems == []
    result = validate(b, k, str(path), sheet_rows=True)
    assert result.errors == [], [str(p) for p in result.errors]
    return result


@pytest.fixture(scope="module")
def reference(ingest_corpus):
    return _clean(ingest_corpus / "valid.xlsx")


def _checksum(result) -> str:
    return content_checksum(result.bygninger, result.kvartal)


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")), delimiter=";"))


def _write(folder: Path, tables: dict[str, list[list[str]]], encoding="utf-8", sep=";", prefix="") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        buf = io.StringIO()
        csv.writer(buf, delimiter=sep, lineterminator="\r\n").writerows(rows)
        (folder / f"{name}.csv").write_bytes((prefix + buf.getvalue()).encode(encoding))
    return folder


@pytest.fixture
def danish_rows(ingest_corpus):
    return {t: _rows(ingest_corpus / "valid_csv" / f"{t}.csv") for t in ("bygninger", "kvartal")}


def test_reference_values_are_read_exactly(reference):
    assert reference.kommunekode == 751 and reference.periode == "2026Q2"
    b = reference.bygninger.set_index("bygning_id")
    assert b.loc["B-001", "bruttoareal_m2"] == 4250.5
    assert b.loc["B-003", "navn"] == "Børnehuset Mælkebøtten"
    assert b.loc["B-002", "varmeandel_vejruafhaengig_pct"] == 35
    assert pd.isna(b.loc["B-001", "kategori"])
    k = reference.kvartal.set_index("bygning_id")
    assert k.loc["B-001", "vand_m3"] == 610.5
    assert k.loc["B-001", "efterslaeb_kr"] == 1_200_000
    assert k.loc["B-001", "tomt_areal_m2"] == 0  # a reported zero stays zero ...
    assert pd.isna(k.loc["B-002", "tomt_areal_m2"])  # ... and an empty cell is not reported, never zero
    assert pd.isna(k.loc["B-002", "brugere"])
    assert str(reference.kvartal["varme_kwh"].dtype) == "Float64"
    assert str(reference.bygninger["kommunekode"].dtype) == "Int64"
    assert list(reference.kvartal.columns)[:3] == ["kommunekode", "bygning_id", "periode"]


def test_danish_excel_csv_with_bom(reference, ingest_corpus):
    assert _checksum(_clean(ingest_corpus / "valid_csv")) == _checksum(reference)


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_csv_encodings(reference, danish_rows, tmp_path, encoding):
    folder = _write(tmp_path / encoding, danish_rows, encoding=encoding)
    result = _clean(folder)
    assert _checksum(result) == _checksum(reference)
    assert "Plejecentret Åbo" in result.bygninger["navn"].tolist()


def test_excel_unicode_text_utf16_tab_separated(reference, danish_rows, tmp_path):
    folder = _write(tmp_path / "utf16", danish_rows, encoding="utf-16", sep="\t")
    assert _checksum(_clean(folder)) == _checksum(reference)


def test_comma_separator_with_quoted_decimal_comma(reference, danish_rows, tmp_path):
    """Google Sheets in Danish: ',' between fields, "4.250,5" quoted."""
    folder = _write(tmp_path / "sheets", danish_rows, sep=",")
    assert '"4.250,5"' in (folder / "bygninger.csv").read_text()
    assert _checksum(_clean(folder)) == _checksum(reference)


def test_excel_sep_line_is_skipped_and_rows_still_count_from_the_header(danish_rows, tmp_path):
    rows = {t: [r[:] for r in v] for t, v in danish_rows.items()}
    rows["kvartal"][2][rows["kvartal"][0].index("indeklima")] = "9"
    folder = _write(tmp_path / "sep", rows, prefix="sep=;\r\n")
    b, k, problems = read_submission(folder)
    result = validate(b, k, "x", sheet_rows=True)
    assert [(p.raekke, p.kolonne, p.vaerdi) for p in result.errors] == [(3, "indeklima", "9")]


def test_decimal_point_file_without_thousands_separators(reference, danish_rows, tmp_path):
    """A system export with decimal point (and ',' as separator) is read when nothing in it is ambiguous."""
    def english(v: str) -> str:
        danish_number = re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d+)?|\d+(,\d+)?", v)
        return v.replace(".", "").replace(",", ".") if danish_number else v
    rows = {t: [rows[0]] + [[english(v) for v in r] for r in rows[1:]] for t, rows in danish_rows.items()}
    folder = _write(tmp_path / "english", rows, sep=",")
    assert "4250.5" in (folder / "bygninger.csv").read_text()
    assert _checksum(_clean(folder)) == _checksum(reference)


def test_spaces_as_thousands_separators(reference, danish_rows, tmp_path):
    rows = {t: [r[:] for r in v] for t, v in danish_rows.items()}
    col = rows["kvartal"][0].index("efterslaeb_kr")
    assert rows["kvartal"][1][col] == "1.200.000"
    rows["kvartal"][1][col] = "1 200 000"
    rows["kvartal"][4][col] = "2\u00a0400\u00a0000"  # non-breaking spaces, as Excel writes them
    assert _checksum(_clean(_write(tmp_path / "spaces", rows))) == _checksum(reference)


def test_trimmed_case_insensitive_codes_and_header_and_blank_rows(reference, ingest_corpus, tmp_path):
    """Hand-typed variants that mean the same: accepted and stored in the model's spelling."""
    wb = openpyxl.load_workbook(ingest_corpus / "valid.xlsx")
    b = wb["bygninger"]
    b.title = " Bygninger "  # sheet names are matched trimmed and case-insensitive
    b["A1"] = "Kommunekode "  # headers too
    b["I2"] = "Ejet "
    b["I3"] = "EJET"
    b.insert_rows(4)  # a blank row in the middle ...
    for row in range(7, 12):  # ... and formatted blank rows at the end
        b.cell(row=row, column=2).number_format = "@"
    path = tmp_path / "variants.xlsx"
    wb.save(path)
    result = _clean(path)
    assert _checksum(result) == _checksum(reference)
    assert result.bygninger["ejerforhold"].tolist() == ["ejet", "ejet", "lejet", "ejet"]


def test_category_with_danish_letters_and_capitals(ingest_corpus, tmp_path):
    wb = openpyxl.load_workbook(ingest_corpus / "valid.xlsx")
    wb["bygninger"]["F3"] = "Idræt"
    wb["bygninger"]["F5"] = " ØVRIGE"
    path = tmp_path / "kategori.xlsx"
    wb.save(path)
    assert _clean(path).bygninger["kategori"].tolist()[1:4:2] == ["idraet", "oevrige"]


def test_numbers_stored_as_text_in_xlsx(reference, ingest_corpus, tmp_path):
    wb = openpyxl.load_workbook(ingest_corpus / "valid.xlsx")
    for row in wb["kvartal"].iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                cell.value = f"{cell.value:,}".replace(",", "#").replace(".", ",").replace("#", ".")
    wb["bygninger"]["H2"] = "4.250,5"
    wb["bygninger"]["A3"] = " 751 "
    path = tmp_path / "text.xlsx"
    wb.save(path)
    assert wb["kvartal"]["R2"].value == "1.200.000"
    assert _checksum(_clean(path)) == _checksum(reference)


def _with_cached_value(src: Path, dst: Path, formula: str, value: str) -> None:
    """Give a formula the value Excel would have saved with it (openpyxl cannot compute formulas)."""
    with zipfile.ZipFile(src) as z:
        entries = [(i, z.read(i)) for i in z.infolist()]
    with zipfile.ZipFile(dst, "w") as z:
        for info, data in entries:
            old = f"<f>{formula}</f><v /></c>".encode()
            z.writestr(info, data.replace(old, f"<f>{formula}</f><v>{value}</v></c>".encode()))


def test_formula_with_the_value_excel_saved_is_read_as_that_value(reference, ingest_corpus, tmp_path):
    wb = openpyxl.load_workbook(ingest_corpus / "valid.xlsx")
    wb["kvartal"]["F3"] = "=F2*0.2"  # varme_kwh of B-002 = 98000 * 0.2 = 19600 (valid.xlsx has 21000)
    wb["kvartal"]["F4"] = "=14000+200"  # B-003: 14200 as in valid.xlsx
    wb.save(tmp_path / "raw.xlsx")
    path = tmp_path / "formulas.xlsx"
    _with_cached_value(tmp_path / "raw.xlsx", tmp_path / "one.xlsx", "F2*0.2", "19600")
    _with_cached_value(tmp_path / "one.xlsx", path, "14000+200", "14200")
    result = _clean(path)
    assert result.kvartal["varme_kwh"].tolist()[:3] == [98000, 19600, 14200]


def test_our_formula_neutralisation_is_undone_on_ingest(ingest_corpus, tmp_path):
    """A building named '=Hal' is written as "'=Hal" in our templates and must come back as '=Hal'."""
    wb = openpyxl.load_workbook(ingest_corpus / "valid.xlsx")
    wb["bygninger"]["D2"] = "'=Hal"
    wb["bygninger"]["D3"] = "'Kælderen"  # an apostrophe that is not ours stays
    path = tmp_path / "quoted.xlsx"
    wb.save(path)
    assert _clean(path).bygninger["navn"].tolist()[:2] == ["=Hal", "'Kælderen"]


def test_csv_folder_file_names_are_case_insensitive(reference, ingest_corpus, tmp_path):
    folder = tmp_path / "upper"
    shutil.copytree(ingest_corpus / "valid_csv", folder)
    (folder / "bygninger.csv").rename(folder / "Bygninger.CSV")
    assert _checksum(_clean(folder)) == _checksum(reference)

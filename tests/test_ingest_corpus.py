"""The corpus of malformed submissions (tests/malformed, made by make_corpus.py).

Each case is ingested through the real command line into a database that already holds the valid
submission, and must: exit with code 1, name the file, sheet, row, column and value of the problem in
the message, say what is wrong, and leave the database exactly as it was. The same file through the
Python API must give a Problem with exactly those fields.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from typer.testing import CliRunner

from noegletal.cli import app
from noegletal.ingest import ingest_path
from noegletal.store import Store


@dataclass(frozen=True)
class Case:
    path: str  # under tests/malformed
    fil: str  # the file the problem is in (suffix of Problem.fil)
    ark: str | None
    raekke: int | None
    kolonne: str | None
    vaerdi: str | None
    problem: str  # part of the problem text


CASES = [
    # Not a submission at all.
    Case("not_a_workbook.xlsx", "not_a_workbook.xlsx", None, None, None, None, "ikke en gyldig Excel-projektmappe"),
    Case("empty_file.xlsx", "empty_file.xlsx", None, None, None, None, "filen er tom (0 byte)"),
    Case("old_excel_format.xls", "old_excel_format.xls", None, None, None, None, "filformatet .xls kan ikke læses"),
    Case("zip_not_workbook.xlsx", "zip_not_workbook.xlsx", None, None, None, None, "ikke en gyldig Excel-projektmappe"),
    Case("damaged_sheet.xlsx", "damaged_sheet.xlsx", None, None, None, None, "filen er beskadiget og kunne ikke læses"),
    Case("zero_byte_csv", "zero_byte_csv/bygninger.csv", None, None, None, None, "filen er tom (0 byte)"),
    Case("missing_kvartal_csv", "missing_kvartal_csv", None, None, None, None, "filen kvartal.csv mangler i mappen"),
    Case("valid_csv/kvartal.csv", "valid_csv/kvartal.csv", None, None, None, None, "en CSV-fil alene er ikke en indberetning"),
    Case("missing_sheet.xlsx", "missing_sheet.xlsx", None, None, None, None, "arket «kvartal» mangler (fandt: bygninger, Ark2)"),
    Case("empty_kvartal_sheet.xlsx", "empty_kvartal_sheet.xlsx", "kvartal", None, None, None, "ingen rækker med data"),
    Case("header_not_first_row.xlsx", "header_not_first_row.xlsx", "kvartal", 3, None, None,
         "kolonneoverskrifterne står i række 3, ikke i række 1"),
    # Columns.
    Case("missing_column.xlsx", "missing_column.xlsx", "bygninger", 1, "bruttoareal_m2", None, "kolonnen mangler"),
    Case("unknown_column.xlsx", "unknown_column.xlsx", "kvartal", 1, "bemaerkning", None, "ukendt kolonne «bemaerkning»"),
    Case("misspelled_header", "misspelled_header/bygninger.csv", None, 1, "bygnings_id", None, "ukendt kolonne «bygnings_id»"),
    Case("duplicate_column.xlsx", "duplicate_column.xlsx", "bygninger", 1, "navn", None, "kolonnen står mere end én gang"),
    Case("headerless_column.xlsx", "headerless_column.xlsx", "kvartal", 3, "S", None,
         "kolonne S har data men ingen overskrift"),
    # Numbers.
    Case("text_in_number", "text_in_number/kvartal.csv", None, 3, "el_kwh", "6.000 kWh", "værdien er ikke et tal"),
    Case("decimal_point_among_commas", "decimal_point_among_commas/kvartal.csv", None, 4, "vand_m3", "120.5",
         "tallet er skrevet med decimalpunktum, men resten af filen bruger decimalkomma"),
    Case("decimal_ambiguous", "decimal_ambiguous/kvartal.csv", None, 5, "vand_m3", "1.450",
         "tallet kan læses både som 1450 og som 1,45"),
    Case("negative_area.xlsx", "negative_area.xlsx", "bygninger", 3, "bruttoareal_m2", "-820", "negative tal er ikke tilladt"),
    Case("zero_area", "zero_area/bygninger.csv", None, 4, "bruttoareal_m2", "0", "værdien må ikke være 0"),
    Case("fractional_code", "fractional_code/bygninger.csv", None, 2, "anvendelseskode", "421,5", "tallet skal være et heltal"),
    Case("numbers_as_text.xlsx", "numbers_as_text.xlsx", "kvartal", 2, "brugere", "ca. 400", "værdien er ikke et tal"),
    Case("date_in_number.xlsx", "date_in_number.xlsx", "kvartal", 4, "tomt_areal_m2", "01-05-2026",
         "Excel har gemt værdien som en dato"),
    Case("formula_cells.xlsx", "formula_cells.xlsx", "kvartal", 3, "varme_kwh", "=F2*0.2",
         "cellen indeholder en formel uden beregnet værdi"),
    Case("excel_error_value.xlsx", "excel_error_value.xlsx", "kvartal", 5, "el_kwh", "#DIV/0!", "Excel-fejlen #DIV/0!"),
    # Municipality and period.
    Case("unknown_municipality.xlsx", "unknown_municipality.xlsx", "bygninger", 2, "kommunekode", "999", "ukendt kommunekode"),
    Case("municipality_mismatch.xlsx", "municipality_mismatch.xlsx", "kvartal", 2, "kommunekode", "147",
         "kommunekoden passer ikke med resten af indberetningen (751)"),
    Case("two_municipalities", "two_municipalities/bygninger.csv", None, 5, "kommunekode", "147",
         "arket indeholder flere kommuner (751 og 147)"),
    Case("two_periods.xlsx", "two_periods.xlsx", "kvartal", 5, "periode", "2026Q1",
         "arket indeholder flere kvartaler (2026Q2 og 2026Q1)"),
    Case("malformed_period", "malformed_period/kvartal.csv", None, 2, "periode", "2026-2", "værdien er ikke et kvartal"),
    # Codes and categories.
    Case("bbr_two_digits.xlsx", "bbr_two_digits.xlsx", "bygninger", 2, "anvendelseskode", "42", "har 3 cifre"),
    Case("bbr_four_digits", "bbr_four_digits/bygninger.csv", None, 2, "anvendelseskode", "4210", "har 3 cifre"),
    Case("unknown_category.xlsx", "unknown_category.xlsx", "bygninger", 3, "kategori", "svømmehal",
         "«svømmehal» er ikke en tilladt værdi"),
    Case("ownership_unknown", "ownership_unknown/bygninger.csv", None, 4, "ejerforhold", "Lejer",
         "«Lejer» er ikke en tilladt værdi"),
    Case("cp1252_error", "cp1252_error/bygninger.csv", None, 5, "ejerforhold", "Lånt", "«Lånt» er ikke en tilladt værdi"),
    # Buildings across the sheets.
    Case("duplicate_building", "duplicate_building/bygninger.csv", None, 6, "bygning_id", "B-003",
         "bygning_id står flere gange (første gang i række 4)"),
    Case("kvartal_building_missing.xlsx", "kvartal_building_missing.xlsx", "kvartal", 5, "bygning_id", "B-009",
         "bygningen findes ikke i arket bygninger"),
    Case("vacant_above_gross", "vacant_above_gross/kvartal.csv", None, 4, "tomt_areal_m2", "700",
         "det tomme areal er større end bygningens bruttoareal"),
    Case("required_value_missing", "required_value_missing/bygninger.csv", None, 3, "navn", "", "værdien mangler"),
    # Ranges.
    Case("grade_zero.xlsx", "grade_zero.xlsx", "kvartal", 2, "tilstandsgrad", "0", "tilstandsgraden går fra 1 (god) til 5"),
    Case("grade_six", "grade_six/kvartal.csv", None, 3, "indeklima", "6", "indeklimaet vurderes fra 1 (godt) til 5"),
    Case("percent_120.xlsx", "percent_120.xlsx", "bygninger", 3, "varmeandel_vejruafhaengig_pct", "120",
         "en procentdel ligger mellem 0 og 100"),
    Case("year_1500", "year_1500/bygninger.csv", None, 2, "opfoerelsesaar", "1500", "tallet er mindre end 1600"),
    Case("year_future.xlsx", "year_future.xlsx", "bygninger", 5, "opfoerelsesaar", "2999", "tallet er større end"),
    # A totals row below the data, with merged label cells and blank formatted rows after it.
    Case("totals_row.xlsx", "totals_row.xlsx", "bygninger", 7, "kommunekode", "I alt", "værdien er ikke et tal"),
]

# Cases whose file has exactly one problem: the tolerated oddities in them (Danish number formats,
# numbers stored as text, "Ejet " with a space, cp1252 with æøå, blank rows) must not add any.
SINGLE_PROBLEM = {
    "text_in_number", "decimal_point_among_commas", "decimal_ambiguous", "numbers_as_text.xlsx", "ownership_unknown",
    "cp1252_error", "formula_cells.xlsx", "date_in_number.xlsx", "grade_six", "year_1500", "vacant_above_gross",
    "duplicate_building", "two_periods.xlsx", "excel_error_value.xlsx", "fractional_code", "required_value_missing",
    "headerless_column.xlsx",
}

runner = CliRunner()


def _where(case: Case) -> list[str]:
    """The parts of the message that place the problem, as the user reads them."""
    parts = [case.fil]
    if case.ark:
        parts.append(f"ark {case.ark}")
    if case.raekke is not None:
        parts.append(f"række {case.raekke}")
    if case.kolonne:
        parts.append(f"kolonne {case.kolonne}")
    if case.vaerdi is not None:
        parts.append(f"værdi «{case.vaerdi}»" if case.vaerdi else "værdi (tom)")
    return parts


def test_corpus_is_large_enough(ingest_corpus):
    assert len(CASES) >= 30
    for case in CASES:
        assert (ingest_corpus / case.path).exists(), case.path


@pytest.mark.parametrize("case", CASES, ids=[c.path for c in CASES])
def test_malformed_submission_is_rejected_with_its_place(case, ingest_corpus, ingest_db, ingest_state):
    before = ingest_state(ingest_db)
    path = ingest_corpus / case.path

    result = runner.invoke(app, ["--db", str(ingest_db), "ingest", str(path)])

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    line = next((ln for ln in result.output.splitlines() if case.problem in ln), None)
    assert line is not None, f"no line with {case.problem!r} in:\n{result.output}"
    for part in _where(case):
        assert part in line, f"{part!r} missing in {line!r}"
    assert "Forventet:" in line
    assert "afvist" in result.output
    assert ingest_state(ingest_db) == before

    with Store(ingest_db) as store:
        api = ingest_path(store, path)
    assert api.status == "afvist"
    hits = [
        p for p in api.errors
        if p.fil.endswith(case.fil) and p.ark == case.ark and p.raekke == case.raekke and p.kolonne == case.kolonne
        and p.vaerdi == case.vaerdi and case.problem in p.problem
    ]
    assert hits, [vars(p) for p in api.errors]
    if case.path in SINGLE_PROBLEM:
        assert len(api.errors) == 1, [str(p) for p in api.errors]
    assert ingest_state(ingest_db) == before


def test_every_problem_of_a_file_is_reported_at_once(ingest_corpus, ingest_db, ingest_state):
    before = ingest_state(ingest_db)
    result = runner.invoke(app, ["--db", str(ingest_db), "ingest", str(ingest_corpus / "many_problems.xlsx")])
    assert result.exit_code == 1
    out = result.output
    assert "ark bygninger, række 4, kolonne navn, værdi (tom): værdien mangler" in out
    assert "ark kvartal, række 2, kolonne tilstandsgrad, værdi «7»" in out
    assert "ark kvartal, række 3, kolonne el_kwh, værdi «-6000»: negative tal er ikke tilladt" in out
    assert "3 fejl" in out
    assert ingest_state(ingest_db) == before


def test_files_in_one_call_are_independent(ingest_corpus, ingest_db, ingest_state, tmp_path):
    """One bad file does not block the good ones; the summary says which was which."""
    import shutil

    good = tmp_path / "good_csv"
    shutil.copytree(ingest_corpus / "valid_csv", good)
    text = (good / "kvartal.csv").read_text(encoding="utf-8-sig").replace("2026Q2", "2026Q3")
    (good / "kvartal.csv").write_text(text, encoding="utf-8-sig")

    result = runner.invoke(app, ["--db", str(ingest_db), "ingest", str(ingest_corpus / "grade_zero.xlsx"), str(good),
                                 str(ingest_corpus / "valid.xlsx")])
    assert result.exit_code == 1
    assert "1 gemt, 1 uændret (samme indhold som den nyeste revision), 1 afvist." in result.output
    with Store(ingest_db) as store:
        subs = store.submissions()
    assert subs[["periode", "revision"]].values.tolist() == [["2026Q2", 1], ["2026Q3", 1]]


def test_a_problem_repeated_in_many_rows_lists_every_row(ingest_corpus, ingest_db, tmp_path):
    """The first rows in full, then every further row number on one line."""
    import openpyxl

    wb = openpyxl.load_workbook(ingest_corpus / "valid.xlsx")
    ws = wb["kvartal"]
    for i in range(5, 30):  # 25 more buildings, each with a grade of 9
        ws.append([751, f"X-{i}", "2026Q2"] + [None] * 12 + [9])
        wb["bygninger"].append([751, f"X-{i}", "E-9", "Pavillon", 421, None, None, 50, "ejet", None])
    path = tmp_path / "mange.xlsx"
    wb.save(path)
    result = runner.invoke(app, ["--db", str(ingest_db), "ingest", str(path)])
    assert result.exit_code == 1
    assert result.output.count("kolonne tilstandsgrad, værdi «9»") == 10  # rows 6-15 in full
    assert (f"… samme problem i 15 rækker mere ({path}, ark kvartal, kolonne tilstandsgrad: "
            "tilstandsgraden går fra 1 (god) til 5 (dårlig)): række 16, 17, 18") in result.output
    assert "række 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30" in result.output

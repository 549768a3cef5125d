"""`noegletal graddage import`: monthly degree days, validated like submissions."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from noegletal.cli import app
from noegletal.ingest import import_degree_days
from noegletal.store import Store

runner = CliRunner()


def _write(tmp_path, text: str, encoding="utf-8-sig", name="graddage.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_danish_csv_adds_and_replaces_months(ingest_db, tmp_path):
    path = _write(tmp_path, "aar;maaned;graddage\r\n2026;1;512,4\r\n2026;2;470\r\n2007;1;1,5\r\n")
    result = runner.invoke(app, ["--db", str(ingest_db), "graddage", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 måneders graddage gemt (2007-01 – 2026-02)" in result.output
    with Store(ingest_db) as store:
        dd = store.degree_days().set_index(["aar", "maaned"])
    assert dd.loc[(2026, 1), "graddage"] == 512.4 and dd.loc[(2026, 1), "serie"] == "import"
    assert dd.loc[(2007, 1), "graddage"] == 1.5  # replaced the bundled national value
    assert dd.loc[(2007, 2), "serie"] == "national"  # other months untouched


def test_api_result(ingest_db, tmp_path):
    path = _write(tmp_path, "aar,maaned,graddage\n2026,3,401.5\n", encoding="utf-8")
    with Store(ingest_db) as store:
        result = import_degree_days(store, path)
    assert (result.status, result.antal_maaneder, result.fra, result.til, result.errors) == ("gemt", 1, "2026-03", "2026-03", [])


BAD = [
    ("aar;maaned;graddage\n2026;13;100\n", "række 2, kolonne maaned, værdi «13»", "tallet er større end 12"),
    ("aar;maaned;graddage\n2026;1;-5\n", "række 2, kolonne graddage, værdi «-5»", "negative tal er ikke tilladt"),
    ("aar;maaned;graddage\n2026;1;900\n", "række 2, kolonne graddage, værdi «900»", "tallet er større end 800"),
    ("aar;maaned;graddage\n1850;1;500\n", "række 2, kolonne aar, værdi «1850»", "tallet er mindre end 1900"),
    ("aar;maaned;graddage\n2026;1;500\n2026;2;480\n2026;1;510\n", "række 4, kolonne maaned, værdi «1»",
     "måneden 2026-01 står mere end én gang"),
    ("aar;maaned;graddage\n2026;1;ca. 500\n", "række 2, kolonne graddage, værdi «ca. 500»", "værdien er ikke et tal"),
    ("aar;maaned;graddage\n2026;1,5;500\n", "række 2, kolonne maaned, værdi «1,5»", "tallet skal være et heltal"),
    ("aar;maaned;graddage\n2026;;500\n", "række 2, kolonne maaned, værdi (tom)", "værdien mangler"),
    ("aar;maaned\n2026;1\n", "række 1, kolonne graddage", "kolonnen mangler"),
    ("aar;maaned;graddage;kilde\n2026;1;500;DMI\n", "række 1, kolonne kilde", "ukendt kolonne «kilde»"),
    ("aar;maaned;graddage\n", "graddage.csv", "filen har ingen rækker med data"),
    ("", "graddage.csv", "filen er tom (0 byte)"),
]


@pytest.mark.parametrize("text, where, problem", BAD, ids=[b[2] for b in BAD])
def test_bad_degree_day_files_are_rejected_whole(ingest_db, ingest_state, tmp_path, text, where, problem):
    before = ingest_state(ingest_db)
    path = _write(tmp_path, text, encoding="utf-8-sig" if text else "utf-8")
    result = runner.invoke(app, ["--db", str(ingest_db), "graddage", "import", str(path)])
    assert result.exit_code == 1
    line = next((ln for ln in result.output.splitlines() if problem in ln), "")
    assert where in line and "Forventet:" in line, result.output
    assert "afvist – intet gemt" in result.output
    assert ingest_state(ingest_db) == before


def test_not_a_csv_file(ingest_db, tmp_path):
    result = runner.invoke(app, ["--db", str(ingest_db), "graddage", "import", str(tmp_path / "graddage.xlsx")])
    assert result.exit_code == 1 and "findes ikke" in result.output
    path = _write(tmp_path, "x", name="graddage.xlsx")
    result = runner.invoke(app, ["--db", str(ingest_db), "graddage", "import", str(path)])
    assert result.exit_code == 1 and "er ikke CSV" in result.output

"""The report notebooks, run on a small demo round (tests/fixtures_reports.py).

1. Every notebook in notebooks/ is executed with nbclient (as the batch runner does, parameters
   injected by papermill), figures as SVG with their text kept, so the checks can read figure labels:
   no errors, nothing on stderr, same output in two runs, and the ownership and anonymisation rules
   on everything a reader sees, figure labels included.
2. A round is rendered end to end through `noegletal reports` (HTML and PDF): index, manifest, the
   content of a report (municipality name, one of its buildings, a key-figure value exactly as
   printed, the "om rapporten" facts), PDF text (pdftotext), and the data-ownership rule: no other
   municipality's building names in a municipality's reports; no municipality names in the
   anonymised theme-day report.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import noegletal
from fixtures_reports import (
    MEMBERS, NOTEBOOKS, PERIODE, build_db, building_names, execute, municipality_names, normalise, output_text,
    present, present_words, visible_html,
)
from noegletal import api, formatting
from noegletal.cli import app
from noegletal.reports import params

FOCUS = 101  # København: the municipality whose reports are checked
OTHER = 727  # Odder: a second municipality in the rendered round


@pytest.fixture(scope="session")
def reports_db(tmp_path_factory) -> Path:
    return build_db(tmp_path_factory.mktemp("rapporter") / "noegletal.duckdb")


@pytest.fixture(scope="session")
def names(reports_db) -> dict[int, str]:
    return municipality_names(reports_db)


@pytest.fixture(scope="session")
def buildings(reports_db) -> dict[int, set[str]]:
    return building_names(reports_db)


def others_buildings(buildings: dict[int, set[str]], kommunekode: int) -> set[str]:
    return set().union(*(n for k, n in buildings.items() if k != kommunekode))


def test_the_fixture_is_the_round_the_tests_assume(buildings):
    assert sorted(buildings) == list(MEMBERS)
    # no building name of one municipality is part of another's: the ownership checks are meaningful
    for k in MEMBERS:
        own = buildings[k]
        assert not [n for n in others_buildings(buildings, k) if any(n in o for o in own)]


def test_every_notebook_is_known_and_declares_its_parameters():
    found = {p.stem for p in NOTEBOOKS.glob("*.ipynb")}
    assert found == set(params.REPORTS) | params.INTERACTIVE
    for name, report in params.REPORTS.items():
        declared = params.declared_parameters(NOTEBOOKS / f"{name}.ipynb")
        assert set(report.required()) <= set(declared), name
        assert declared["periode"].type_name == "str" and declared["db"].type_name == "str"
    assert params.declared_parameters(NOTEBOOKS / "udforsk.ipynb")["kommunekode"].type_name == "int"


# -- 1. every notebook executed -------------------------------------------------------------------------
RUNS = {
    # name: (notebook, parameters besides periode and db)
    "kommunerapport": ("kommunerapport", {"kommunekode": FOCUS}),
    "kommunerapport_varianter": ("kommunerapport", {"kommunekode": 479, "peer_metode": "kommunegruppe",
                                                    "benchmark": "best_quartile"}),
    "chefrapport": ("chefrapport", {"kommunekode": FOCUS}),
    "beslutningsoplaeg": ("beslutningsoplaeg", {"kommunekode": 479, "antal_skoler": 1, "peer_metode": "klynge",
                                                "peer_klynger": 2}),
    "temadag_anonym": ("temadag", {"anonymiser": True}),
    "temadag_med_navne": ("temadag", {"anonymiser": False}),
    "datakvalitet": ("datakvalitet", {}),
    "udforsk": ("udforsk", {"kommunekode": FOCUS}),
}


@pytest.fixture(scope="session")
def executed(reports_db):
    """Executed notebooks by run name (each run once per session, on first use)."""
    done: dict[str, object] = {}

    def get(run: str):
        if run not in done:
            name, extra = RUNS[run]
            done[run] = execute(name, {"periode": PERIODE, "db": str(reports_db), **extra}, svg=True)
        return done[run]

    return get


@pytest.mark.parametrize("run", list(RUNS))
def test_notebook_runs_cleanly(executed, run):
    nb = executed(run)
    problems = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                problems.append(f"celle {i}: {out.ename}: {out.evalue}")
            elif out.output_type == "stream" and out.name == "stderr":
                problems.append(f"celle {i} skriver på stderr: {out.text[:300]}")
    assert not problems, problems
    figures = [o for c in nb.cells for o in c.get("outputs", []) if "image/svg+xml" in o.get("data", {})]
    assert figures or RUNS[run][0] == "datakvalitet", "ingen figurer"
    if RUNS[run][0] == "udforsk":  # the analyst's raw frames, not a report
        return
    text = output_text(nb)
    assert not re.search(r"\bnan\b|NaN|None|<NA>|Traceback", text), re.findall(r".{40}(?:nan|NaN|None|<NA>).{40}", text)
    assert "Om rapporten" in text


@pytest.mark.parametrize("run", ["kommunerapport", "kommunerapport_varianter", "chefrapport", "beslutningsoplaeg"])
def test_municipality_reports_show_no_other_municipality_buildings_not_even_in_figures(executed, buildings, run):
    kommunekode = RUNS[run][1]["kommunekode"]
    text = output_text(executed(run))
    assert not present(others_buildings(buildings, kommunekode), text)
    if RUNS[run][0] == "kommunerapport":
        assert present(buildings[kommunekode], text), "kommunens egne bygninger mangler (drill-down)"


def test_anonymised_theme_day_has_no_municipality_names_or_codes_not_even_in_figures(executed, names):
    text = output_text(executed("temadag_anonym"))
    assert not present_words(names.values(), text)
    assert not [k for k in MEMBERS if re.search(rf"(?<![\d.,]){k}(?![\d.,])", text)]
    svg = " ".join(o["data"]["image/svg+xml"] for c in executed("temadag_anonym").cells
                   for o in c.get("outputs", []) if "image/svg+xml" in o.get("data", {}))
    assert "Kommune A" in svg and "Kommune D" in svg  # the figure labels are the anonymous names
    # the same report without anonymisation names every member, in the figures too
    plain = output_text(executed("temadag_med_navne"))
    assert present_words([names[k] for k in MEMBERS], plain) == sorted(names[k] for k in MEMBERS)
    assert "Kommune A" not in plain


def test_output_is_deterministic(rendered, reports_db):
    """A fresh kernel draws the same figures, byte for byte, as the batch runner's warm kernel did
    (seeded jitter, no dates in PNG figures): the report is the same whenever it is made."""
    nb = execute("chefrapport", {"periode": PERIODE, "db": str(reports_db), "kommunekode": FOCUS})
    fresh = [o["data"]["image/png"] for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    page = (rendered / f"chefrapport_{FOCUS}.html").read_text(encoding="utf-8")
    batch = re.findall(r'src="data:image/png;base64,([^"]*)"', page)
    assert len(fresh) == len(batch) >= 2
    assert [f.replace("\n", "") for f in fresh] == batch


def test_chief_report_names_exactly_three_things_with_reasons(executed):
    text = output_text(executed("chefrapport"))
    section = text.split("Tre ting, der er værd at se nærmere på", 1)[1].split("Om rapporten", 1)[0]
    items = re.findall(r"(\d)\. \*\*(Niveau|Udvikling|Datakvalitet)\.\*\* \S", section)  # the Markdown list
    assert [i[0] for i in items] == ["1", "2", "3"], section


# -- 2. a round rendered end to end -------------------------------------------------------------------
ROUND_FILE = """\
periode: 2026Q2
rapporter:
  kommunerapport: {formater: [html, pdf]}
  chefrapport: {formater: [html, pdf]}
  beslutningsoplaeg: {formater: [html, pdf]}
  temadag: {formater: [html, pdf]}
  datakvalitet: {formater: [html, pdf]}
anonymiser: true
"""
PER_MUNICIPALITY = ("kommunerapport", "chefrapport", "beslutningsoplaeg")


@pytest.fixture(scope="session")
def rendered(reports_db, tmp_path_factory) -> Path:
    """`noegletal reports` for København and Odder: every batch report as HTML and PDF."""
    work = tmp_path_factory.mktemp("runde")
    (work / "runde.yaml").write_text(ROUND_FILE, encoding="utf-8")
    result = CliRunner().invoke(app, [
        "--db", str(reports_db), "reports", PERIODE, "--kommune", str(FOCUS), "--kommune", str(OTHER),
        "--params", str(work / "runde.yaml"), "--out", str(work / "ud"), "--workers", "2",
    ])
    assert result.exit_code == 0, result.output
    return work / "ud" / PERIODE


def report_ids() -> list[str]:
    return [f"{r}_{k}" for k in (FOCUS, OTHER) for r in PER_MUNICIPALITY] + ["temadag", "datakvalitet"]


def pdf_text(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdftotext (poppler-utils) mangler: PDF-teksten skal tjekkes i CI")
        pytest.skip("pdftotext (poppler-utils) er ikke installeret: PDF-teksten tjekkes ikke")
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    return normalise(done.stdout)


def test_manifest_and_index_list_every_report(rendered, names):
    manifest = json.loads((rendered / "manifest.json").read_text(encoding="utf-8"))
    entries = {e["id"]: e for e in manifest["rapporter"]}
    assert sorted(entries) == sorted(report_ids())
    assert all(e["status"] == "ok" and e["fejl"] is None for e in entries.values())
    assert manifest["periode"] == PERIODE and manifest["pakke_version"] == noegletal.__version__
    for rid, e in entries.items():
        assert e["filer"] == {"html": f"{rid}.html", "pdf": f"{rid}.pdf"}
        assert (rendered / f"{rid}.html").stat().st_size > 0 and (rendered / f"{rid}.pdf").read_bytes()[:5] == b"%PDF-"
    assert entries[f"kommunerapport_{FOCUS}"]["parametre"]["kommunekode"] == FOCUS
    assert entries["temadag"]["parametre"]["anonymiser"] is True
    index = (rendered / "index.html").read_text(encoding="utf-8")
    for rid in report_ids():
        assert f'href="{rid}.html"' in index and f'href="{rid}.pdf"' in index
    assert names[FOCUS] in index and names[OTHER] in index


@pytest.fixture(scope="session")
def facts(reports_db):
    """What the reports must print, computed from the mart with the formatting functions."""
    with api.open_mart(reports_db) as mart:
        own = mart.key_figures(kommunekode=FOCUS, periode=PERIODE, noegletal="driftsudgift_pr_m2").iloc[0]
        behind = mart.buildings_behind(FOCUS, PERIODE, "driftsudgift_pr_m2")
        info = mart.info.iloc[0]
        return {
            # 437.04 -> "437 kr. pr. m²": whole kroner from 100 kr. up, as in every table
            "driftsudgift": formatting.value(own["vaerdi"], own["enhed_da"], 0),
            "stoerste_bygning": behind.nlargest(1, "naevner")["navn"].iloc[0],
            "periode": formatting.period(PERIODE),
            "definitioner": f"version {info['definitioner_version']}",
            "data_pr": formatting.datetime(pd.Timestamp(info["data_pr"]).to_pydatetime()),
            "pakke": f"noegletal {noegletal.__version__}",
        }


def test_municipality_report_content(rendered, names, facts):
    page = visible_html((rendered / f"kommunerapport_{FOCUS}.html").read_text(encoding="utf-8"))
    assert names[FOCUS] in page
    assert facts["stoerste_bygning"] in page
    assert f">{facts['driftsudgift']}<" in page  # exactly this text in a table cell
    for key in ("periode", "definitioner", "data_pr", "pakke"):
        assert facts[key] in page, key
    assert "Om rapporten" in page and "Datakvalitet" in page and "Besparelsespotentiale" in page


@pytest.mark.parametrize("rid", report_ids())
def test_every_report_states_period_definitions_data_and_package(rendered, facts, rid):
    page = visible_html((rendered / f"{rid}.html").read_text(encoding="utf-8"))
    about = page.split("Om rapporten", 1)[1]
    for key in ("periode", "definitioner", "data_pr", "pakke"):
        assert facts[key] in about, (rid, key)


@pytest.mark.parametrize("kommunekode", [FOCUS, OTHER])
def test_no_other_municipality_buildings_in_html(rendered, buildings, kommunekode):
    others = others_buildings(buildings, kommunekode)
    for report in PER_MUNICIPALITY:
        page = visible_html((rendered / f"{report}_{kommunekode}.html").read_text(encoding="utf-8"))
        assert not present(others, page), report


def test_pdf_text(rendered, buildings, names, facts):
    text = pdf_text(rendered / f"kommunerapport_{FOCUS}.pdf")
    assert names[FOCUS] in text and facts["stoerste_bygning"] in text and facts["driftsudgift"] in text
    for report in PER_MUNICIPALITY:
        for kommunekode in (FOCUS, OTHER):
            assert not present(others_buildings(buildings, kommunekode), pdf_text(rendered / f"{report}_{kommunekode}.pdf"))
    theme = pdf_text(rendered / "temadag.pdf")
    assert not present_words(names.values(), theme) and "Kommune A" in theme
    pages = subprocess.run(["pdfinfo", str(rendered / f"chefrapport_{FOCUS}.pdf")], capture_output=True, text=True)
    n_pages = int(re.search(r"Pages:\s+(\d+)", pages.stdout).group(1))
    assert 2 <= n_pages <= 5, n_pages  # the cover and 2–4 pages


def test_anonymised_theme_day_html(rendered, names):
    page = visible_html((rendered / "temadag.html").read_text(encoding="utf-8"))
    assert not present_words(names.values(), page)
    assert "Kommune A" in page and "anonymiseret" in page

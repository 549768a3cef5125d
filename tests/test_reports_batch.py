"""The batch: planning and validation, warm-kernel workers, failures, manifest, index, CLI, Dask.

Runs the tiny notebooks in tests/notebooks (a table and a figure from the database, a round
overview, one that raises) and a few written here (pollute state, kill the kernel, hang), standing in
for the real report notebooks.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import html
import json
import re
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from typer.testing import CliRunner

from noegletal import model
from noegletal.cli import app
from noegletal.reports import commands, params, runner
from noegletal.reports.params import ParamsError, ReportType, RoundSettings, plan_batch
from noegletal.store import Store

TEST_NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"
PERIODE = "2026Q2"
# København 3 buildings, Frederiksberg 2, Ballerup 4 in 2026Q2; Brøndby only in 2026Q1
SUBMISSIONS = [(101, PERIODE, 3), (147, PERIODE, 2), (151, PERIODE, 4), (153, "2026Q1", 2)]
REGISTRY = {"tabel": ReportType("tabel", "Testrapport", True, ("html", "pdf"), True)}
KERNEL_NB = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}


def make_db(path: Path) -> Path:
    with Store(path) as store:
        for kode, periode, n in SUBMISSIONS:
            bygninger = pd.DataFrame({
                "kommunekode": [kode] * n,
                "bygning_id": [f"K{kode}-B{i}" for i in range(n)],
                "ejendom_id": [f"K{kode}-E{i}" for i in range(n)],
                "navn": [f"Skole {kode}-{i}" for i in range(n)],
                "anvendelseskode": [421] * n,
                "bruttoareal_m2": [1000.0 * (i + 1) for i in range(n)],
                "ejerforhold": ["ejet" if i % 2 == 0 else "lejet" for i in range(n)],
            }).reindex(columns=model.column_ids("bygninger"))
            kvartal = pd.DataFrame({
                "kommunekode": [kode] * n, "bygning_id": [f"K{kode}-B{i}" for i in range(n)], "periode": [periode] * n,
            }).reindex(columns=model.column_ids("kvartal"))
            store.add_submission(
                kode, periode, model.coerce_dtypes(bygninger, "bygninger"), model.coerce_dtypes(kvartal, "kvartal"),
                f"test/{kode}", ingested_at=dt.datetime(2026, 8, 20, 9, 0),
            )
        # stand-in for the key-figure mart that `noegletal compute` writes
        store.replace_tables({params.MART_TABLE: pd.DataFrame({"periode": [PERIODE], "kommunekode": [101]})})
    return path


def notebook(path: Path, parameters: str, *cells: str) -> Path:
    first = new_code_cell(parameters, metadata={"tags": ["parameters"]})
    nb = new_notebook(cells=[first, *[new_code_cell(src) for src in cells]], metadata=KERNEL_NB)
    for i, cell in enumerate(nb.cells):
        cell.id = f"{path.stem}-{i}"
    nbformat.write(nb, path)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return make_db(tmp_path_factory.mktemp("reports_db") / "noegletal.duckdb")


@pytest.fixture(scope="module")
def standins(tmp_path_factory) -> Path:
    """The test notebooks under the registry's names; datakvalitet is the one that raises."""
    folder = tmp_path_factory.mktemp("notebooks")
    for name, source in [("kommunerapport", "tabel"), ("chefrapport", "tabel"), ("beslutningsoplaeg", "tabel"),
                         ("temadag", "oversigt"), ("datakvalitet", "fejler")]:
        shutil.copy(TEST_NOTEBOOKS / f"{source}.ipynb", folder / f"{name}.ipynb")
    return folder


def plan(db: Path, notebooks: Path, **kwargs) -> params.Batch:
    settings = kwargs.pop("settings", RoundSettings())
    return plan_batch(settings, PERIODE, db, notebooks=notebooks, **kwargs)


def problems(db: Path, notebooks: Path, **kwargs) -> list[str]:
    with pytest.raises(ParamsError) as info:
        plan(db, notebooks, **kwargs)
    return info.value.problems


# -- planning: everything is checked before a kernel starts -------------------------------------------
def test_plan_passes_each_notebook_what_it_declares(db, standins):
    settings = RoundSettings(peer_antal=3, anonymiser=True, rapporter={"kommunerapport": {}, "temadag": {}})
    batch = plan(db, standins, settings=settings, kommuner=[147, 101])
    assert [j.id for j in batch.jobs] == ["kommunerapport_101", "kommunerapport_147", "temadag"]
    kommune, temadag = batch.jobs[0], batch.jobs[2]
    assert kommune.parametre == {"periode": PERIODE, "db": str(db), "kommunekode": 101, "peer_antal": 3}
    assert temadag.parametre == {"periode": PERIODE, "db": str(db), "anonymiser": True}
    assert kommune.formater == ("html",) and temadag.formater == ("html", "pdf")
    assert kommune.kommune == "København" and temadag.kommune is None
    assert kommune.meta == {
        "titel": "Kommunerapport", "undertitel": "", "periode": PERIODE, "kommune": "København",
        "definitioner_version": batch.definitioner_version, "data_pr": "2026-08-20 09:00:00",
        "pakke_version": batch.pakke_version,
    }
    assert kommune.notebook_sha256 == sha256(standins / "kommunerapport.ipynb")
    assert kommune.cwd == str(standins)
    assert batch.db_sha256 == sha256(db)


def test_plan_defaults_to_every_member_with_data_and_the_standard_reports(db, standins):
    batch = plan(db, standins)
    assert [(j.id, j.formater) for j in batch.jobs] == [
        ("kommunerapport_101", ("html",)), ("kommunerapport_147", ("html",)), ("kommunerapport_151", ("html",)),
        ("chefrapport_101", ("pdf",)), ("chefrapport_147", ("pdf",)), ("chefrapport_151", ("pdf",)),
        ("temadag", ("html", "pdf")), ("datakvalitet", ("html",)),
    ]
    batch = plan(db, standins, reports=["beslutningsoplaeg"], kommuner=[151], formats=("pdf",))
    assert [(j.id, j.formater) for j in batch.jobs] == [("beslutningsoplaeg_151", ("pdf",))]


def test_unknown_parameter_is_an_error(db, standins):
    settings = RoundSettings(rapporter={"kommunerapport": {"parametre": {"peer_antl": 3}}})
    assert problems(db, standins, settings=settings) == [
        f"{standins / 'kommunerapport.ipynb'} (rapporter.kommunerapport.parametre): ukendt parameter 'peer_antl' — "
        "notebooken kender kun periode, db, kommunekode, peer_antal"
    ]


def test_mistyped_parameter_is_an_error(db, standins):
    settings = RoundSettings(rapporter={"kommunerapport": {"parametre": {"peer_antal": "fem"}}})
    assert problems(db, standins, settings=settings) == [
        f"{standins / 'kommunerapport.ipynb'} (rapporter.kommunerapport.parametre): parameteren 'peer_antal' "
        "skal være heltal (int), fik 'fem' (str)"
    ]


def test_runner_parameters_cannot_be_set_in_the_round_file(db, standins):
    settings = RoundSettings(rapporter={"kommunerapport": {"parametre": {"kommunekode": 147}}})
    assert problems(db, standins, settings=settings) == [
        "kommunerapport: kommunekode sættes af kørslen og kan ikke angives under parametre."
    ]


def test_municipality_must_exist_and_have_data(db, standins):
    assert problems(db, standins, kommuner=[101, 153, 999]) == [
        "Brøndby (153) har ingen indberetning for 2026Q2; der kan ikke laves rapporter for kommunen.",
        "Kommunekode 999 findes ikke (se de 98 kommunekoder, fx 101 for København).",
    ]
    settings = RoundSettings(medlemmer=[147, 153])
    assert problems(db, standins, settings=settings) == [
        "Brøndby (153) har ingen indberetning for 2026Q2; der kan ikke laves rapporter for kommunen."
    ]


def test_notebook_must_declare_the_required_parameters(db, standins, tmp_path):
    shutil.copytree(standins, tmp_path, dirs_exist_ok=True)
    notebook(tmp_path / "kommunerapport.ipynb", 'periode = "2026Q2"\ndb = "x"', "print(1)")
    notebook(tmp_path / "temadag.ipynb", 'periode = "2026Q2"\ndb = "x"', "print(1)")
    nb = nbformat.read(standins / "datakvalitet.ipynb", as_version=4)
    nb.cells[0].metadata["tags"] = []  # no parameters cell at all
    nbformat.write(nb, tmp_path / "datakvalitet.ipynb")
    assert problems(db, tmp_path) == [
        f"{tmp_path / 'kommunerapport.ipynb'}: parameters-cellen mangler kommunekode "
        "(en celle med tagget 'parameters').",
        f"{tmp_path / 'temadag.ipynb'}: parameters-cellen mangler anonymiser (en celle med tagget 'parameters').",
        f"{tmp_path / 'datakvalitet.ipynb'}: parameters-cellen mangler periode, db "
        "(en celle med tagget 'parameters').",
    ]


def test_other_planning_problems_are_collected(db, standins, tmp_path):
    settings = RoundSettings(periode="2026Q1")
    shutil.copytree(standins, tmp_path, dirs_exist_ok=True)
    (tmp_path / "chefrapport.ipynb").unlink()
    (tmp_path / "temadag.ipynb").write_text("{ikke json", encoding="utf-8")
    found = problems(db, tmp_path, settings=settings,
                     reports=["kommunerapport", "udforsk", "aarsrapport", "chefrapport", "temadag"])
    assert found[:4] == [
        "Parameterfilen gælder 2026Q1, men kørslen er for 2026Q2.",
        "'udforsk' er til interaktiv brug i JupyterLab og laves ikke i batch.",
        "Ukendt rapport 'aarsrapport' (kendte: kommunerapport, chefrapport, temadag, datakvalitet, beslutningsoplaeg).",
        f"Notebooken til 'chefrapport' findes ikke: {tmp_path / 'chefrapport.ipynb'}.",
    ]
    assert len(found) == 5 and found[4].startswith(f"{tmp_path / 'temadag.ipynb'} kan ikke læses som notebook")
    with pytest.raises(ParamsError, match="ikke et kvartal"):
        plan_batch(RoundSettings(), "2026Q9", db, notebooks=standins)
    with pytest.raises(ParamsError, match="findes ikke"):
        plan(tmp_path / "ingen.duckdb", standins)


def test_missing_mart_and_empty_period(tmp_path, standins):
    empty = tmp_path / "tom.duckdb"
    Store(empty).close()
    assert problems(empty, standins) == [
        "Databasen har ingen nøgletal endnu: kør 'noegletal compute' før rapporterne.",
        "Ingen kommuner har indberettet for 2026Q2; der er intet at lave rapporter om.",
    ]


def test_cli_stops_before_any_kernel_on_invalid_parameters(db, standins, tmp_path, monkeypatch):
    monkeypatch.setenv(params.NOTEBOOKS_ENV, str(standins))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(runner, "run_batch", lambda *a, **k: pytest.fail("a kernel was started"))
    (tmp_path / "runde.yaml").write_text("rapporter: {kommunerapport: {parametre: {farve: blaa}}}\n")
    result = CliRunner().invoke(app, ["--db", str(db), "reports", PERIODE, "--params", "runde.yaml"])
    assert result.exit_code == 1
    assert "ukendt parameter 'farve'" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "reports").exists()


def test_cli_option_errors(db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/nonexistent")
    cases = [
        (["--renderer", "quarto"], "Quarto er ikke installeret"),
        (["--renderer", "latex"], "Ukendt renderer 'latex'"),
        (["--executor", "slurm"], "Ukendt executor 'slurm'"),
        (["--scheduler", "tcp://x:8786"], "--scheduler bruges kun sammen med --executor dask"),
        (["--format", "docx"], "ukendt format docx"),
        (["--kommune", "999"], "Kommunekode 999 findes ikke"),
        (["--report", "udforsk"], "'udforsk' er til interaktiv brug"),
    ]
    for extra, message in cases:
        result = CliRunner().invoke(app, ["--db", str(db), "reports", PERIODE, *extra])
        assert result.exit_code == 1, extra
        assert message in " ".join(result.output.split()), (extra, result.output)


# -- a whole batch through the command line ------------------------------------------------------------
@pytest.fixture(scope="module")
def cli_run(db, standins, tmp_path_factory):
    """`noegletal reports 2026Q2 --kommune 101 --kommune 147 --workers 2` with a round file."""
    work = tmp_path_factory.mktemp("cli")
    (work / "runde.yaml").write_text("periode: 2026Q2\npeer_antal: 3\nanonymiser: true\n", encoding="utf-8")
    mp = pytest.MonkeyPatch()
    mp.setenv(params.NOTEBOOKS_ENV, str(standins))
    mp.chdir(work)
    try:
        result = CliRunner().invoke(
            app,
            ["--db", str(db), "reports", PERIODE, "--kommune", "101", "--kommune", "147", "--workers", "2",
             "--params", "runde.yaml", "--out", "ud"],
        )
    finally:
        mp.undo()
    folder = work / "ud" / PERIODE
    return result, folder, json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def test_batch_one_failure_does_not_stop_the_others(cli_run):
    result, folder, manifest = cli_run
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "Laver 6 rapporter for 2026Q2 med 2 arbejdere (indstillinger fra runde.yaml)." in text
    assert "5 af 6 rapporter lavet" in text and "1 fejlede" in text
    assert "Notebooken fejlede i celle 3: ValueError: Planlagt fejl i testrapporten for kommune 101" in text
    assert sorted(p.name for p in folder.iterdir()) == [
        "_fejlede", "chefrapport_101.pdf", "chefrapport_147.pdf", "index.html", "kommunerapport_101.html",
        "kommunerapport_147.html", "manifest.json", "temadag.html", "temadag.pdf",
    ]
    kept = nbformat.read(folder / "_fejlede" / "datakvalitet.ipynb", as_version=4)
    errors = [o for c in kept.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert [e.ename for e in errors] == ["ValueError"]
    injected = [c for c in kept.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert f'periode = "{PERIODE}"' in injected[0].source  # the notebook as it ran, for debugging


def test_manifest_records_parameters_status_timings_and_inputs(cli_run, db, standins):
    _, folder, manifest = cli_run
    assert set(manifest) == {
        "periode", "opdateret", "pakke_version", "definitioner_version", "data_pr", "input", "koersel",
        "opsummering", "rapporter",
    }
    assert manifest["periode"] == PERIODE and manifest["data_pr"] == "2026-08-20 09:00:00"
    assert manifest["input"] == {"db": str(db), "db_sha256": sha256(db)}
    assert manifest["koersel"]["arbejdere"] == 2 and manifest["koersel"]["executor"] == "local"
    assert manifest["koersel"]["indstillinger"]["peer_antal"] == 3
    assert manifest["opsummering"] == {"i_alt": 6, "ok": 5, "fejlet": 1}
    entries = {e["id"]: e for e in manifest["rapporter"]}
    assert list(entries) == [
        "temadag", "datakvalitet", "kommunerapport_101", "chefrapport_101", "kommunerapport_147", "chefrapport_147",
    ]
    k101 = entries["kommunerapport_101"]
    assert k101["status"] == "ok" and k101["fejl"] is None and k101["fejlet_notebook"] is None
    assert k101["filer"] == {"html": "kommunerapport_101.html"}
    assert k101["parametre"] == {"periode": PERIODE, "db": str(db), "kommunekode": 101, "peer_antal": 3}
    assert k101["undertitel"] == "Testrapport med 3 bygninger"
    assert set(k101["tider_s"]) == {"kerne", "koersel", "html", "pdf", "i_alt"}
    assert k101["input"]["notebook_sha256"] == sha256(standins / "kommunerapport.ipynb")
    assert k101["input"]["db_sha256"] == sha256(db)
    assert entries["chefrapport_147"]["filer"] == {"pdf": "chefrapport_147.pdf"}
    assert entries["temadag"]["parametre"] == {"periode": PERIODE, "db": str(db), "anonymiser": True}
    assert entries["temadag"]["titel"] == "Oversigt over runden"  # set by the notebook with meta()
    failed = entries["datakvalitet"]
    assert failed["status"] == "fejlet" and failed["filer"] == {}
    assert failed["fejl"] == "Notebooken fejlede i celle 3: ValueError: Planlagt fejl i testrapporten for kommune 101"
    assert failed["fejlet_notebook"] == "_fejlede/datakvalitet.ipynb"
    # each worker started its kernel once; the reports after that ran on a warm kernel
    started = [e for e in entries.values() if e["tider_s"]["kerne"] > 0]
    assert len(started) == len({e["arbejder"] for e in entries.values()}) == 2


def test_reports_hold_their_own_data_only(cli_run):
    _, folder, manifest = cli_run
    k101 = (folder / "kommunerapport_101.html").read_text(encoding="utf-8")
    k147 = (folder / "kommunerapport_147.html").read_text(encoding="utf-8")
    assert "Testrapport med 3 bygninger" in k101 and "København" in k101
    assert "Testrapport med 2 bygninger" in k147 and "Frederiksberg" in k147
    assert re.search(r'<img [^>]*src="data:image/png;base64,', k101)
    assert "<script" not in k101 and "Traceback" not in k101
    temadag = (folder / "temadag.html").read_text(encoding="utf-8")
    assert "Kommune 1" in temadag and "København" not in temadag  # anonymised
    assert (folder / "chefrapport_101.pdf").read_bytes().startswith(b"%PDF-")
    # manifest and index hold no data: no building ids or names of any municipality
    for text in ((folder / "manifest.json").read_text(), (folder / "index.html").read_text()):
        assert not re.search(r"K1\d\d-[BE]\d|Skole 1\d\d", text)


def test_index_links_every_report(cli_run):
    _, folder, manifest = cli_run
    page = (folder / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'<a class="format" href="([^"]+)"', page)
    files = sorted(f for e in manifest["rapporter"] for f in e["filer"].values())
    assert sorted(links) == files
    assert all((folder / link).exists() for link in links)
    assert '<html lang="da">' in page and "Rapporter for 2. kvartal 2026" in page
    assert "6 rapporter" in page and "1 fejlede" in page
    assert "København" in page and "Frederiksberg" in page
    assert "Planlagt fejl" not in page  # error messages stay in the manifest
    assert "<script" not in page and not re.search(r"(?:src|href)=[\"']?(?:https?:)?//", page)


def test_rerunning_a_failed_report_completes_the_round(cli_run, db, standins, tmp_path):
    _, folder, _ = cli_run
    fixed = tmp_path / "notebooks"
    shutil.copytree(standins, fixed)
    shutil.copy(TEST_NOTEBOOKS / "oversigt.ipynb", fixed / "datakvalitet.ipynb")
    out = tmp_path / "ud"
    shutil.copytree(folder, out / PERIODE)
    mp = pytest.MonkeyPatch()
    mp.setenv(params.NOTEBOOKS_ENV, str(fixed))
    try:
        result = CliRunner().invoke(app, ["--db", str(db), "reports", PERIODE, "--report", "datakvalitet",
                                          "--workers", "1", "--out", str(out)])
    finally:
        mp.undo()
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / PERIODE / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["opsummering"] == {"i_alt": 6, "ok": 6, "fejlet": 0}
    assert not (out / PERIODE / "_fejlede" / "datakvalitet.ipynb").exists()
    assert (out / PERIODE / "datakvalitet.html").exists()
    assert "datakvalitet.html" in (out / PERIODE / "index.html").read_text(encoding="utf-8")


# -- warm kernels ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def special(tmp_path_factory, db) -> Path:
    """Notebooks that misbehave: change global state, kill their kernel, hang, inspect the namespace."""
    folder = tmp_path_factory.mktemp("special")
    shutil.copy(TEST_NOTEBOOKS / "tabel.ipynb", folder)
    header = 'periode = "2026Q2"\ndb = ""\nkommunekode = 101'
    notebook(
        folder / "forurener.ipynb", header,
        "import os\nimport matplotlib\nimport matplotlib.pyplot as plt\nimport numpy as np\nimport pandas as pd\n"
        "plt.rcParams.update({'axes.grid': True, 'axes.facecolor': '#ffeeee', 'font.size': 20})\n"
        "pd.set_option('display.precision', 1)\nnp.set_printoptions(precision=1)\n"
        "matplotlib.use('Agg')\nplt.figure()\nos.chdir('/')\n"
        "bygninger = 'fra en anden kommune'\nhemmelig = 42",
    )
    notebook(folder / "navnerum.ipynb", header, "print(sorted(k for k in globals() if not k.startswith('_')))")
    notebook(folder / "doer.ipynb", header, "import os\nos._exit(1)")
    notebook(folder / "haenger.ipynb", header, "import time\ntime.sleep(60)")
    # kills the worker process that drives its kernel (the kernel's parent)
    notebook(folder / "draeber.ipynb", header, "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)")
    return folder


def special_jobs(db: Path, folder: Path, *names: str, timeout_s: float = 60) -> dict[str, params.Job]:
    registry = {n: ReportType(n, n.title(), True, ("html", "pdf"), True) for n in names}
    batch = plan_batch(RoundSettings(timeout_s=timeout_s), PERIODE, db, kommuner=[101], registry=registry,
                       notebooks=folder)
    return {job.rapport: job for job in batch.jobs}


def test_warm_kernel_report_is_byte_identical_to_a_fresh_kernel(db, special):
    jobs = special_jobs(db, special, "forurener", "tabel")
    polluted, warm = runner.run_batch([jobs["forurener"], jobs["tabel"]], workers=1)
    assert polluted.status == "ok" and warm.status == "ok", (polluted.fejl, warm.fejl)
    assert warm.tider["kerne"] == 0  # really the same kernel as the polluter
    [fresh] = runner.run_batch([jobs["tabel"]], workers=1, reuse=False)
    assert fresh.status == "ok" and fresh.tider["kerne"] > 0
    assert warm.filer["html"] == fresh.filer["html"]
    assert warm.filer["pdf"] == fresh.filer["pdf"]
    assert b"0.666667" in warm.filer["html"]  # pandas precision restored (the polluter set 1)


def test_namespace_is_cleared_and_dead_or_hung_kernels_are_replaced(db, special):
    jobs = special_jobs(db, special, "forurener", "navnerum", "doer", "haenger", timeout_s=3)
    kernel = runner.WarmKernel()
    try:
        assert runner.process_job(kernel, jobs["forurener"]).status == "ok"
        names = runner.process_job(kernel, jobs["navnerum"])
        assert names.status == "ok" and names.tider["kerne"] == 0
        shown = ast.literal_eval(html.unescape(re.search(r"<pre>(\[.*\])", names.filer["html"].decode()).group(1)))
        # the polluter's variables and imports are gone; IPython's own names and the parameters remain
        assert shown == ["In", "Out", "db", "exit", "get_ipython", "kommunekode", "open", "periode", "quit"]

        dead = runner.process_job(kernel, jobs["doer"])
        assert dead.status == "fejlet" and dead.fejl.startswith("Kernen døde under kørslen")
        assert dead.fejlet_notebook is not None and dead.filer == {}
        after_death = runner.process_job(kernel, jobs["navnerum"])
        assert after_death.status == "ok" and after_death.tider["kerne"] > 0  # a new kernel

        hung = runner.process_job(kernel, jobs["haenger"])
        assert hung.status == "fejlet"
        assert hung.fejl == "Rapporten blev ikke færdig inden for 3 s og blev stoppet; kernen er erstattet."
        after_hang = runner.process_job(kernel, jobs["navnerum"])
        assert after_hang.status == "ok" and after_hang.tider["kerne"] > 0
    finally:
        kernel.close()


def test_a_lost_worker_fails_its_report_not_the_batch(db, special):
    jobs = special_jobs(db, special, "draeber", "tabel", "navnerum")
    results = runner.run_batch([jobs["draeber"], jobs["tabel"], jobs["navnerum"]], workers=2)
    assert [r.status for r in results] == ["fejlet", "ok", "ok"], [r.fejl for r in results]
    assert results[0].fejl == "Arbejderprocessen stoppede uventet under rapporten."


def test_no_jobs_and_more_workers_than_jobs(db, special):
    assert runner.run_batch([], workers=2) == []
    jobs = special_jobs(db, special, "tabel")
    [result] = runner.run_batch([jobs["tabel"]], workers=3)  # only one worker is started
    assert result.status == "ok" and result.arbejder == "1"


# -- Dask ------------------------------------------------------------------------------------------------
def test_dask_local_cluster_gives_the_same_reports(db):
    pytest.importorskip("distributed")
    batch = plan(db, TEST_NOTEBOOKS, kommuner=[101, 147], reports=["tabel"], formats=("html",), registry=REGISTRY)
    dask_results = runner.run_batch(batch.jobs, workers=2, executor="dask")
    assert [r.status for r in dask_results] == ["ok", "ok"], [r.fejl for r in dask_results]
    assert all(r.arbejder.startswith("dask-") for r in dask_results)
    local_results = runner.run_batch(batch.jobs, workers=2)
    assert [r.filer["html"] for r in dask_results] == [r.filer["html"] for r in local_results]


def test_default_workers():
    assert commands._default_workers(1) == 1
    assert 1 <= commands._default_workers(100) <= commands.MAX_DEFAULT_WORKERS

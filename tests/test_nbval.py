"""nbval runs every notebook on the small demo round (DESIGN.md, "Conventions").

The notebooks are committed without outputs, so nbval runs in lax mode: every cell must execute
without error in a fresh kernel. Parameters are injected the papermill way (prepare only), as the
batch runner does; the round is tests/fixtures_reports.py's deterministic demo.
"""

import subprocess
import sys

import papermill

from fixtures_reports import NOTEBOOKS, PERIODE, build_db


def test_nbval_runs_every_notebook(tmp_path):
    db = build_db(tmp_path / "round.duckdb")
    prepared = tmp_path / "notebooks"
    prepared.mkdir()
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert len(notebooks) == 6
    for nb in notebooks:
        params = {"periode": PERIODE, "db": str(db)}
        if "kommunekode" in papermill.inspect_notebook(str(nb)):
            params["kommunekode"] = 727
        papermill.execute_notebook(str(nb), str(prepared / nb.name), parameters=params, prepare_only=True,
                                   progress_bar=False)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", "--rootdir", str(prepared),
         str(prepared)],
        cwd=NOTEBOOKS, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert "failed" not in summary and int(summary.split(" passed")[0].split()[-1]) >= 30, summary

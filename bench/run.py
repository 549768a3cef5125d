"""Benchmarks (`make bench`): time and peak memory of compute and report batches, each against the
naive way in the same run. Results go to bench/results.json and a readable bench/RESULTS.md.

Every measured step runs as its own process tree; peak memory is the largest sum of resident memory
over that tree (sampled every 0.1 s from /proc), so worker processes and kernels count.

    python -m bench.run                 # everything (national demo build takes a few minutes once)
    python -m bench.run --only compute  # or: reports, national-reports
    python -m bench.run --quick         # small smoke run: 6 municipalities, naive loop on 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "work"
VENV_BIN = Path(sys.executable).parent
NOEGLETAL = str(VENV_BIN / "noegletal")
PERIODE = "2026Q2"
# What a round renders (DESIGN.md, "Performance targets"): kommunerapport HTML + chefrapport PDF each.
ROUND_REPORTS = {"kommunerapport": ["html"], "chefrapport": ["pdf"]}
NAIVE_COMPUTE_LIMIT_S = 600  # the naive national mart needs > 8 GB and many minutes: stop it here
ENGINE_RUNS = 5  # the 2-core machine varies from run to run: report the median and the best
# A fixed small workload measured in its own process before every compute run. The virtual machine's
# speed drifts by up to 50 % over hours (sorting and fresh memory alike), so a compute time is only
# comparable with another one measured at a similar probe.
PROBE = """
import json, time
import numpy as np
from noegletal.keyfigures import _small_pages
def best(f, n=5):
    times = []
    for _ in range(n):
        start = time.perf_counter(); f(); times.append(time.perf_counter() - start)
    return round(min(times) * 1000, 1)
x = np.random.default_rng(0).random(3_000_000)
with _small_pages():  # ordinary 4 kB pages, as compute's facts phase uses: the cost of a page fault
    fresh = best(lambda: np.ones(50_000_000))
print(json.dumps({"sort_3m_ms": best(lambda: np.sort(x)), "fresh_400mb_ms": fresh}))
"""


# -- measuring ------------------------------------------------------------------------------------
def _tree_rss_mb(root_pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            pid = int(entry.name)
            children.setdefault(int(fields[1]), []).append(pid)
            rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total / 1e6


def measure(cmd: list[str], label: str, env: dict | None = None, limit_s: float | None = None) -> dict:
    """Run `cmd`, return wall seconds and peak tree memory; fail loudly if it fails.

    With `limit_s` a run still going after that many seconds is stopped and reported as such
    (`timed_out`), so a baseline that does not finish does not stop the benchmark."""
    print(f"  … {label}", flush=True)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0.0]
    samples: list[tuple[float, float]] = []

    def sample() -> None:
        while proc.poll() is None:
            mb = _tree_rss_mb(proc.pid)
            peak[0] = max(peak[0], mb)
            samples.append((round(time.perf_counter() - start, 2), round(mb, 1)))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        output = proc.communicate(timeout=limit_s)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        sampler.join()
        print(f"    stoppet efter {limit_s:.0f} s, top {peak[0]:.0f} MB", flush=True)
        return {"s": round(limit_s, 2), "peak_mb": round(peak[0]), "samples": samples, "output": "", "timed_out": True}
    seconds = time.perf_counter() - start
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{label} fejlede (exit {proc.returncode}):\n{output[-3000:]}")
    print(f"    {seconds:.1f} s, top {peak[0]:.0f} MB", flush=True)
    return {"s": round(seconds, 2), "peak_mb": round(peak[0]), "samples": samples, "output": output}


def machine_probe() -> dict:
    """The machine's speed right now on `PROBE` (lower is faster), in a fresh process like compute's."""
    out = subprocess.run([str(VENV_BIN / "python"), "-c", PROBE], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


# -- inputs ---------------------------------------------------------------------------------------
def demo_db(name: str, municipalities: int, quarters: int) -> tuple[Path, dict]:
    """A computed demo database, built once and kept in bench/work (delete it to rebuild)."""
    db = WORK / f"{name}.duckdb"
    info_file = WORK / f"{name}.json"
    if db.exists() and info_file.exists():
        return db, json.loads(info_file.read_text())
    WORK.mkdir(parents=True, exist_ok=True)
    build = measure([NOEGLETAL, "--db", str(db), "demo", "--municipalities", str(municipalities), "--quarters", str(quarters)],
                    f"demo {municipalities}×{quarters}")
    compute = measure([NOEGLETAL, "--db", str(db), "compute"], f"compute {name}")
    info = {"demo_s": build["s"], "demo_peak_mb": build["peak_mb"], "compute_s": compute["s"],
            "db_mb": round(db.stat().st_size / 1e6, 1)}
    info_file.write_text(json.dumps(info))
    return db, info


def _params_file(name: str, members: list[int] | None) -> Path:
    settings = {"periode": PERIODE, "rapporter": {r: {"formater": f} for r, f in ROUND_REPORTS.items()}}
    if members:
        settings["medlemmer"] = members
    path = WORK / f"{name}.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def _members(db: Path) -> list[int]:
    from noegletal.store import Store

    with Store(db, read_only=True) as s:
        return sorted(int(k) for k in s.submissions(PERIODE)["kommunekode"].unique())


# -- benchmarks -----------------------------------------------------------------------------------
def bench_compute(results: dict) -> None:
    """`noegletal compute` (facts, quality checks, groups, written to the store) against the naive pandas
    mart (facts and groups only, nothing written): the engine does strictly more work."""
    print("Nøgletalsmart i national skala (98 kommuner × 40 kvartaler)")
    db, info = demo_db("national", 98, 40)
    copy = WORK / "national_compute.duckdb"
    runs, probes = [], []
    for i in range(ENGINE_RUNS):
        probes.append(machine_probe())
        shutil.copy(db, copy)  # every run starts from the same database
        runs.append(measure([NOEGLETAL, "--db", str(copy), "compute"], f"noegletal compute (DuckDB), kørsel {i + 1}"))
    copy.unlink()
    with tempfile.TemporaryDirectory() as tmp:  # where the time goes: the phases timed one by one
        phases_file = Path(tmp) / "phases.json"
        measure([str(VENV_BIN / "python"), str(ROOT / "bench" / "bench_compute.py"), "--db", str(db),
                 "--workdir", tmp, "--json", str(phases_file)], "noegletal compute, fase for fase")
        phases = json.loads(phases_file.read_text())
    times = sorted(r["s"] for r in runs)
    engine = {"s": times[len(times) // 2], "best_s": times[0], "runs_s": [r["s"] for r in runs],
              "peak_mb": max(r["peak_mb"] for r in runs), "machine_probe_before_each_run": probes}
    naive = measure([str(VENV_BIN / "python"), str(ROOT / "bench" / "naive_compute.py"), str(db)], "naiv pandas-mart",
                    limit_s=NAIVE_COMPUTE_LIMIT_S)
    results["compute_national"] = {
        "database": info,
        "engine": engine,
        "naive": {k: naive[k] for k in ("s", "peak_mb")}
        | ({"timed_out": True} if naive.get("timed_out") else {"output": naive["output"].strip().splitlines()[-1]}),
        # a naive run that was stopped gives a lower bound on the speed-up
        "speedup": round(naive["s"] / engine["s"], 1),
        "speedup_is_lower_bound": bool(naive.get("timed_out")),
        "targets": {"s": 10, "peak_mb": 2000},
        "phases": phases,
    }


def _batch(db: Path, name: str, members: list[int] | None, workers: int | None = None) -> dict:
    out = WORK / f"reports_{name}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [NOEGLETAL, "--db", str(db), "reports", PERIODE, "--params", str(_params_file(name, members)), "--out", str(out)]
    if workers:
        cmd += ["--workers", str(workers)]
    run = measure(cmd, f"batch {name}")
    manifest = json.loads((out / PERIODE / "manifest.json").read_text(encoding="utf-8"))
    stages: dict[str, list[float]] = {}
    for entry in manifest["rapporter"]:
        for stage, seconds in entry["tider_s"].items():
            stages.setdefault(f"{entry['rapport']}.{stage}", []).append(seconds)
    n = manifest["opsummering"]["i_alt"]
    half = [mb for t, mb in run["samples"] if t > run["s"] * 0.25]
    return {
        "s": run["s"],
        "peak_mb": run["peak_mb"],
        "reports": n,
        "failed": manifest["opsummering"]["fejlet"],
        "s_per_report": round(run["s"] / max(n, 1), 3),
        "stages_mean_s": {k: round(sum(v) / len(v), 3) for k, v in sorted(stages.items())},
        # memory over the batch after warm-up: flat means no growth per report
        "memory_mb_at_25_50_75_100pct": [half[int(len(half) * q) - 1] if half else None for q in (0.25, 0.5, 0.75, 1.0)],
    }


def _naive(db: Path, members: list[int]) -> dict:
    """What a user would otherwise write: papermill CLI then jupyter nbconvert, one process pair per report."""
    out = WORK / "reports_naive"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    script = out / "naive.sh"
    lines = ["set -e"]
    for k in members:
        for report in ROUND_REPORTS:
            nb = out / f"{report}_{k}.ipynb"
            lines.append(f"{VENV_BIN}/papermill --log-level ERROR --no-progress-bar {ROOT}/notebooks/{report}.ipynb {nb} -p periode {PERIODE} "
                         f"-p db {db} -p kommunekode {k} --cwd {ROOT}/notebooks")
            lines.append(f"{VENV_BIN}/jupyter nbconvert --to html --no-input --log-level ERROR {nb}")
    script.write_text("\n".join(lines) + "\n")
    run = measure(["bash", str(script)], f"naiv løkke ({len(members)} kommuner)")
    return {"s": run["s"], "peak_mb": run["peak_mb"], "reports": 2 * len(members),
            "s_per_report": round(run["s"] / (2 * len(members)), 3)}


def bench_reports(results: dict, quick: bool) -> None:
    print("Rapporter for demorunden (30 kommuner): batch mod naiv løkke")
    db, info = demo_db("demo", 6 if quick else 30, 8)
    members = _members(db)
    batch = _batch(db, "demo", None)
    naive_members = members[:3] if quick else members
    naive = _naive(db, naive_members)
    # the naive loop's time for the whole round (measured on all members unless --quick)
    naive_round_s = naive["s_per_report"] * batch["reports"]
    results["reports_demo"] = {
        "database": info,
        "municipalities": len(members),
        "batch": batch,
        "naive": naive | {"estimated_round_s": round(naive_round_s, 1), "measured_on": len(naive_members)},
        "speedup": round(naive_round_s / batch["s"], 1),
        "targets": {"batch_s": 60, "speedup": 5},
        "note": "naiv løkke laver kun HTML (nbconvert har ingen PDF uden LaTeX); batch laver chefrapport som PDF",
    }


def bench_national_reports(results: dict) -> None:
    print("Rapporter for alle 98 kommuner (national demo)")
    db, info = demo_db("national", 98, 40)
    results["reports_national"] = {"database": info, "batch": _batch(db, "national", None)}


def write(results: dict) -> None:
    results["machine"] = {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    results["made"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    lines = ["# Benchmark results", "", f"Made {results['made']} on {results['machine']['cores']} cores.", ""]
    c = results.get("compute_national")
    if c:
        lines += ["## Key-figure mart, national scale (98 × 40 quarters)", "",
                  "| | time (s) | peak memory (MB) |", "|---|---|---|",
                  f"| DuckDB engine (`noegletal compute`), median of {len(c['engine']['runs_s'])} | "
                  f"{c['engine']['s']} (best {c['engine']['best_s']}) | {c['engine']['peak_mb']} |",
                  f"| naive pandas | {'≥ ' if c.get('speedup_is_lower_bound') else ''}{c['naive']['s']} "
                  f"{'(stopped)' if c.get('speedup_is_lower_bound') else ''} | {c['naive']['peak_mb']} |",
                  f"| speed-up | {'≥ ' if c.get('speedup_is_lower_bound') else ''}{c['speedup']}× | |", "",
                  f"Runs: {', '.join(f'{s} s' for s in c['engine']['runs_s'])}. {_probe_text(c['engine'])}", "",
                  f"Targets: ≤ {c['targets']['s']} s, ≤ {c['targets']['peak_mb']} MB. Database: {c['database']}", ""]
        lines += ["Where the time goes (one more run, the phases of `compute.build` and `save` timed one by one "
                  "in one process; start-up and exit not included):", "",
                  "| phase | wall s | CPU s |", "|---|---|---|"]
        lines += [f"| {name} | {p['wall_s']} | {p['cpu_s']} |" for name, p in c["phases"].items()] + [""]
    r = results.get("reports_demo")
    if r:
        b, n = r["batch"], r["naive"]
        lines += [f"## Reports for the demo round ({r['municipalities']} municipalities)", "",
                  "| | time (s) | reports | s/report | peak memory (MB) |", "|---|---|---|---|---|",
                  f"| batch runner (warm kernels) | {b['s']} | {b['reports']} | {b['s_per_report']} | {b['peak_mb']} |",
                  f"| naive loop (papermill + nbconvert) | {n['s']} (measured on {n['measured_on']} municipalities; "
                  f"round ≈ {n['estimated_round_s']}) | {n['reports']} | {n['s_per_report']} | {n['peak_mb']} |",
                  f"| speed-up | {r['speedup']}× | | | |", "",
                  f"Targets: batch ≤ {r['targets']['batch_s']} s and ≥ {r['targets']['speedup']}× the naive loop. {r['note']}.",
                  "", "Where the time goes (mean seconds per report and stage):", "",
                  "| stage | s |", "|---|---|"] + [f"| {k} | {v} |" for k, v in b["stages_mean_s"].items()] + [""]
    nr = results.get("reports_national")
    if nr:
        b = nr["batch"]
        lines += ["## Reports for all 98 municipalities", "",
                  f"{b['reports']} reports in {b['s']} s ({b['s_per_report']} s/report), peak {b['peak_mb']} MB; "
                  f"memory at 25/50/75/100 % of the batch: {b['memory_mb_at_25_50_75_100pct']} MB.", ""]
    (ROOT / "bench" / "RESULTS.md").write_text("\n".join(lines), encoding="utf-8")
    print((ROOT / "bench" / "RESULTS.md").read_text(encoding="utf-8"))


def _probe_text(engine: dict) -> str:
    probes = engine["machine_probe_before_each_run"]
    sort = "/".join(str(p["sort_3m_ms"]) for p in probes)
    fresh = "/".join(str(p["fresh_400mb_ms"]) for p in probes)
    return (f"Machine probe before each run (bench/run.py PROBE; lower is faster): sorting 3 M numbers {sort} ms, "
            f"400 MB of fresh memory {fresh} ms.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["compute", "reports", "national-reports"])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    path = ROOT / "bench" / "results.json"
    results = json.loads(path.read_text()) if path.exists() and args.only else {}
    # Byte-compile the package as pip does for an installed (not editable) one, and as Python does on
    # a first run unless PYTHONDONTWRITEBYTECODE is set (as on our CI machines): otherwise every
    # measured command compiles the package's sources again (≈ 0.07 s per `noegletal compute`).
    subprocess.run([str(VENV_BIN / "python"), "-m", "compileall", "-q", str(ROOT / "noegletal")], check=True)
    if args.only in (None, "compute"):
        bench_compute(results)
    if args.only in (None, "reports"):
        bench_reports(results, args.quick)
    if args.only in (None, "national-reports") and not args.quick:
        bench_national_reports(results)
    write(results)


if __name__ == "__main__":
    main()

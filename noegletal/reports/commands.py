"""`noegletal reports PERIODE …`: validate everything, run the batch, write reports, manifest and index.

Order matters: the round file, formats, report names, municipalities and every notebook parameter
are checked before any kernel starts (exit 1 with every problem listed); then the reports run; a
failed report is listed with its message and makes the exit code 1 without stopping the others.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from noegletal.reports import index, render, runner
from noegletal.reports.params import ParamsError, RoundSettings, load_round_file, parse_formats, plan_batch, round_file

RENDERERS = ("nbconvert", "quarto")
EXECUTORS = ("local", "dask")
MAX_DEFAULT_WORKERS = 8  # each worker holds a kernel (a few hundred MB); more needs --workers


def _default_workers(n_jobs: int) -> int:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cpus, n_jobs, MAX_DEFAULT_WORKERS))


def reports(
    db: Path,
    periode: str,
    kommuner: list[int] | None,
    reports: list[str] | None,
    formats: str | None,
    workers: int | None,
    params_file: Path | None,
    out: Path,
    renderer: str,
    executor: str,
    scheduler: str | None,
    console: Console,
    err_console: Console,
) -> int:
    def fail(*problems: str) -> int:
        for problem in problems:
            err_console.print(f"[bold red]Fejl:[/bold red] {escape(problem)}")
        return 1

    if renderer not in RENDERERS:
        return fail(f"Ukendt renderer '{renderer}'; brug {' eller '.join(RENDERERS)}.")
    if executor not in EXECUTORS:
        return fail(f"Ukendt executor '{executor}'; brug {' eller '.join(EXECUTORS)}.")
    if scheduler is not None and executor != "dask":
        return fail("--scheduler bruges kun sammen med --executor dask.")
    if renderer == "quarto" and not render.quarto_available():
        return fail(render.QUARTO_MISSING)
    if executor == "dask":
        try:
            import distributed  # noqa: F401
        except ImportError:
            return fail("Dask er ikke installeret; installér med pip install 'noegletal[dask]' eller brug --executor local.")

    try:
        path = round_file(periode, params_file)
        settings = load_round_file(path) if path else RoundSettings()
        batch = plan_batch(
            settings,
            periode,
            db,
            kommuner=kommuner,
            reports=reports,
            formats=parse_formats(formats) if formats else None,
            renderer=renderer,
        )
    except ParamsError as e:
        return fail(*e.problems)

    n_workers = workers or settings.workers or _default_workers(len(batch.jobs))
    source = f" (indstillinger fra {path})" if path else ""
    console.print(f"Laver {len(batch.jobs)} rapporter for {periode} med {n_workers} arbejdere{escape(source)}.")
    start = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("Rapporter", total=len(batch.jobs))
        results = runner.run_batch(
            batch.jobs,
            workers=n_workers,
            executor=executor,
            scheduler=scheduler,
            on_result=lambda _result: progress.advance(task),
        )
    duration = time.perf_counter() - start
    run = {
        "varighed_s": round(duration, 3),
        "executor": executor,
        "arbejdere": n_workers,
        "renderer": renderer,
        "parameterfil": str(path) if path else None,
    }
    manifest = runner.write_outputs(batch, results, out, run)
    index_path = index.write_index(out / periode, manifest)

    failed = [(job, r) for job, r in zip(batch.jobs, results) if r.status != "ok"]
    for job, r in failed:
        kept = f" Notebooken er gemt i {out / periode / runner.FAILED_DIR / (job.id + '.ipynb')}." if r.fejlet_notebook else ""
        err_console.print(f"[bold red]Fejlet:[/bold red] {escape(job.id)}: {escape(r.fejl or '')}{escape(kept)}", soft_wrap=True)
    ok = len(results) - len(failed)
    console.print(
        f"{ok} af {len(results)} rapporter lavet på {duration:.1f} s"
        f"{f', {len(failed)} fejlede' if failed else ''}. Oversigt: {escape(str(index_path))}"
    )
    return 1 if failed else 0

"""Run a batch of report jobs in parallel worker processes, each with one warm Jupyter kernel.

Each worker (a local process, or a Dask worker process) owns one `WarmKernel`: an ipykernel started
once with jupyter_client, prepared by `noegletal.reports._kernel_setup()`. For every report the
kernel is reset (`%reset -f`, figures closed, matplotlib/numpy/pandas display state restored, working
directory = the notebook's folder), papermill injects the parameters, nbclient executes all cells on
the running kernel, and `render` makes HTML and/or PDF. A fresh kernel goes through exactly the same
setup and reset, so a report is byte-identical whether its kernel was warm or fresh.

A report that raises, times out or kills its kernel is marked failed (`JobResult.status == "fejlet"`)
with a Danish message and its executed notebook; a timed-out or dead kernel is replaced, and the
other reports go on. Results carry the rendered files as bytes, so workers need not share the output
folder with the main process (a remote Dask cluster only needs the database path).

Timings per report (`JobResult.tider`, seconds): `kerne` (starting the kernel, only for the report
that started it), `koersel` (reset + execution), `html` (nbconvert + page), `pdf` (pandoc + typst),
`i_alt` (all of it in the worker).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import multiprocessing
import os
import queue
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from papermill.parameterize import parameterize_notebook

from noegletal.reports import render
from noegletal.reports.params import Batch, Job

KERNEL_NAME = "python3"
KERNEL_START_TIMEOUT_S = 60
RESET_TIMEOUT_S = 60
KERNEL_SETUP = "import noegletal.reports\nnoegletal.reports._kernel_setup()"


def _reset_code(cwd: str) -> str:
    # Close figures before `%reset -f`, whose garbage collection then frees them; gc.freeze() moves
    # what survives (imported modules) out of later collections, which keeps the next reset fast.
    return (
        f"import noegletal.reports\nnoegletal.reports._kernel_reset({cwd!r})\n"
        "%reset -f\nimport gc\ngc.freeze()\ndel gc"
    )


@dataclass
class JobResult:
    id: str
    status: str  # "ok" or "fejlet"
    fejl: str | None = None
    filer: dict[str, bytes] = field(default_factory=dict)  # format -> rendered file
    fejlet_notebook: str | None = None  # the executed notebook (JSON) of a failed report
    tider: dict[str, float] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)  # header/cover values as rendered
    arbejder: str = ""


class KernelProblem(Exception):
    """The kernel could not start, timed out or died: the report fails and the kernel is replaced."""


class WarmKernel:
    """One ipykernel reused for many reports, with its own event loop (sync API for workers)."""

    def __init__(self, kernel_name: str = KERNEL_NAME):
        self.kernel_name = kernel_name
        self.loop = asyncio.new_event_loop()
        self.km: AsyncKernelManager | None = None
        self.kc = None
        self.log_path: Path | None = None

    @property
    def running(self) -> bool:
        return self.km is not None

    def alive(self) -> bool:
        """A started kernel whose process still runs (it may have died idle, e.g. killed for memory)."""
        return self.running and self.loop.run_until_complete(self.km.is_alive())

    def start(self, cwd: str) -> None:
        self.loop.run_until_complete(self._start(cwd))

    async def _start(self, cwd: str) -> None:
        # the kernel's own stderr goes to a log we quote when it dies (and not onto the user's terminal)
        fd, log = tempfile.mkstemp(prefix="noegletal-kerne-", suffix=".log")
        self.log_path = Path(log)
        km = AsyncKernelManager(kernel_name=self.kernel_name)
        try:
            await km.start_kernel(
                cwd=cwd,
                stdout=subprocess.DEVNULL,
                stderr=fd,
                extra_arguments=["--HistoryManager.hist_file=:memory:"],  # no shared history database on disk
            )
        finally:
            os.close(fd)
        kc = km.client()
        kc.start_channels()
        self.km, self.kc = km, kc
        try:
            await kc.wait_for_ready(timeout=KERNEL_START_TIMEOUT_S)
            await self._run(KERNEL_SETUP, RESET_TIMEOUT_S)
        except (RuntimeError, TimeoutError, KernelProblem) as e:
            detail = self.log_tail()
            await self._stop(now=True)
            raise KernelProblem(f"Kernen kunne ikke starte: {e}{detail}") from e

    async def _run(self, code: str, timeout: float) -> None:
        """Run setup/reset code silently; raise KernelProblem if it fails."""
        reply = await self.kc.execute_interactive(
            code, silent=True, store_history=False, timeout=timeout, output_hook=lambda msg: None
        )
        content = reply["content"]
        if content["status"] != "ok":
            raise KernelProblem(f"{content.get('ename')}: {content.get('evalue')}")

    def execute(self, nb: nbformat.NotebookNode, cwd: str, timeout_s: float) -> None:
        """Reset the kernel and execute every cell of `nb` in place. Raises nbclient's errors."""
        self.loop.run_until_complete(self._execute(nb, cwd, timeout_s))

    async def _execute(self, nb: nbformat.NotebookNode, cwd: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        await self._run(_reset_code(cwd), RESET_TIMEOUT_S)
        client = NotebookClient(
            nb,
            km=self.km,
            kernel_name=self.kernel_name,
            record_timing=False,  # no execution timestamps in the notebook: reproducible output
            # the per-report time budget, spread over the cells
            timeout_func=lambda cell: max(1, math.ceil(deadline - time.monotonic())),
        )
        client.kc = self.kc
        await client.async_execute()

    def log_tail(self, lines: int = 5) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = [
            line
            for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
            if line.strip() and "without encryption" not in line
        ]
        return (" — kernens log: " + " / ".join(text[-lines:])) if text else ""

    def shutdown(self, now: bool = False) -> None:
        """Stop the kernel (if any). The event loop stays usable for a new kernel."""
        if self.running:
            self.loop.run_until_complete(self._stop(now))

    async def _stop(self, now: bool) -> None:
        try:
            self.kc.stop_channels()
            if await self.km.is_alive():
                await self.km.shutdown_kernel(now=now)
            await self.km.cleanup_resources()
        finally:
            self.km = self.kc = None
            if self.log_path is not None:
                self.log_path.unlink(missing_ok=True)
                self.log_path = None

    def close(self) -> None:
        self.shutdown()
        self.loop.close()


def parameterized(job: Job) -> nbformat.NotebookNode:
    """The job's notebook with papermill's injected-parameters cell after the `parameters` cell."""
    nb = nbformat.reads(job.notebook_json, as_version=4)
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])  # papermill expects every cell to have tags
    nb.metadata.setdefault("papermill", {})
    return parameterize_notebook(nb, job.parametre, kernel_name=KERNEL_NAME, language="python")


def _failed_cell(nb: nbformat.NotebookNode) -> int | None:
    """1-based number of the cell that raised, counted as in the notebook file (without injected cell)."""
    cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    for i, cell in enumerate(cells):
        if cell.cell_type == "code" and any(o.output_type == "error" for o in cell.outputs):
            return i + 1
    return None


def process_job(kernel: WarmKernel, job: Job, reuse: bool = True, worker: str = "") -> JobResult:
    """Execute and render one report on `kernel`. Never raises: a failure becomes a failed result."""
    tider = {"kerne": 0.0, "koersel": 0.0, "html": 0.0, "pdf": 0.0}
    result = JobResult(id=job.id, status="ok", tider=tider, arbejder=worker)
    start = time.perf_counter()
    nb = None
    try:
        if not kernel.alive():
            kernel.shutdown(now=True)  # a kernel that died between reports: clean up and start anew
            kernel.start(job.cwd)
            tider["kerne"] = time.perf_counter() - start
        nb = parameterized(job)
        t = time.perf_counter()
        try:
            kernel.execute(nb, job.cwd, job.timeout_s)
        finally:
            tider["koersel"] = time.perf_counter() - t
        clean, nb_meta = render.prepare(nb)
        result.meta = {**job.meta, **nb_meta}
        if job.renderer == "quarto":
            for fmt in job.formater:
                t = time.perf_counter()
                result.filer[fmt] = render.quarto(clean, fmt, result.meta)
                tider[fmt] = time.perf_counter() - t
        else:
            t = time.perf_counter()
            body = render.html_body(clean)
            page = render.html_page(body, result.meta)
            if "html" in job.formater:
                result.filer["html"] = page.encode("utf-8")
            tider["html"] = time.perf_counter() - t
            if "pdf" in job.formater:
                t = time.perf_counter()
                result.filer["pdf"] = render.pdf(body, result.meta, page=page)
                tider["pdf"] = time.perf_counter() - t
    except CellExecutionError as e:
        cell = _failed_cell(nb)
        result.fejl = f"Notebooken fejlede{f' i celle {cell}' if cell else ''}: {e.ename}: {e.evalue}"
    except CellTimeoutError:
        result.fejl = f"Rapporten blev ikke færdig inden for {job.timeout_s:g} s og blev stoppet; kernen er erstattet."
        kernel.shutdown(now=True)
    except DeadKernelError:
        result.fejl = f"Kernen døde under kørslen (fx opbrugt hukommelse); kernen er erstattet.{kernel.log_tail()}"
        kernel.shutdown(now=True)
    except KernelProblem as e:
        result.fejl = str(e)
        kernel.shutdown(now=True)
    except TimeoutError:  # the reset before the report got no answer
        result.fejl = "Kernen svarede ikke; den er erstattet."
        kernel.shutdown(now=True)
    except render.RenderError as e:
        result.fejl = str(e)
    except Exception as e:  # noqa: BLE001  one broken report must not stop the batch
        result.fejl = f"Uventet fejl: {type(e).__name__}: {e}"
        kernel.shutdown(now=True)  # its state is unknown: the next report gets a new kernel
    finally:
        if not reuse:
            kernel.shutdown()
    if result.fejl is not None:
        result.status = "fejlet"
        result.filer = {}
        result.fejlet_notebook = nbformat.writes(nb) if nb is not None else None
    tider["i_alt"] = time.perf_counter() - start
    return result


# -- local executor: worker processes ---------------------------------------------------------------
def _worker_main(worker: str, jobs: multiprocessing.Queue, results: multiprocessing.Queue, reuse: bool) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is handled by the main process
    kernel = WarmKernel()
    try:
        while (job := jobs.get()) is not None:
            results.put(("start", worker, job.id))
            results.put(("done", worker, process_job(kernel, job, reuse, worker)))
    finally:
        kernel.close()


def _lost(job_id: str, worker: str) -> JobResult:
    return JobResult(id=job_id, status="fejlet", fejl="Arbejderprocessen stoppede uventet under rapporten.", arbejder=worker)


def _process_context() -> multiprocessing.context.BaseContext:
    """Workers forked from a clean fork server that has imported this module once (importing nbformat,
    nbconvert and papermill costs seconds per process); spawned where there is no fork server."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        return ctx
    return multiprocessing.get_context("spawn")


def run_local(
    jobs: list[Job], workers: int, reuse: bool = True, on_result: Callable[[JobResult], None] | None = None
) -> list[JobResult]:
    """Run `jobs` in `workers` processes, each with its own warm kernel."""
    ctx = _process_context()
    job_q, result_q = ctx.Queue(), ctx.Queue()
    n = max(1, min(workers, len(jobs)))
    for job in jobs:
        job_q.put(job)
    for _ in range(n):
        job_q.put(None)
    procs = {str(i + 1): ctx.Process(target=_worker_main, args=(str(i + 1), job_q, result_q, reuse)) for i in range(n)}
    for proc in procs.values():
        proc.start()
    results: dict[str, JobResult] = {}
    busy: dict[str, str] = {}  # worker -> job id

    def record(result: JobResult) -> None:
        results[result.id] = result
        if on_result:
            on_result(result)

    try:
        while len(results) < len(jobs):
            try:
                kind, worker, payload = result_q.get(timeout=1)
            except queue.Empty:
                for worker, proc in procs.items():
                    if not proc.is_alive() and worker in busy:
                        record(_lost(busy.pop(worker), worker))
                if not any(p.is_alive() for p in procs.values()) and result_q.empty():
                    for job in jobs:  # every worker is gone: what was never started cannot be done
                        if job.id not in results:
                            record(_lost(job.id, ""))
                continue
            if kind == "start":
                busy[worker] = payload
            else:
                busy.pop(worker, None)
                record(payload)
    except BaseException:  # Ctrl-C or a bug here: stop the workers now (their kernels follow them)
        for proc in procs.values():
            proc.terminate()
        raise
    finally:
        for proc in procs.values():
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()
    return [results[job.id] for job in jobs]


def run_batch(
    jobs: list[Job],
    workers: int,
    executor: str = "local",
    scheduler: str | None = None,
    reuse: bool = True,
    on_result: Callable[[JobResult], None] | None = None,
) -> list[JobResult]:
    """Run every job; `reuse=False` starts a fresh kernel per report (for comparison and benchmarks)."""
    if not jobs:
        return []
    if executor == "dask":
        from noegletal.reports.daskrun import run_dask  # dask is optional

        return run_dask(jobs, workers, scheduler, reuse, on_result)
    return run_local(jobs, workers, reuse, on_result)


# -- output folder and manifest ----------------------------------------------------------------------
MANIFEST = "manifest.json"
FAILED_DIR = "_fejlede"


def _entry(batch: Batch, job: Job, result: JobResult, made: str) -> dict:
    """The manifest's record of one report: parameters, status, files, timings, inputs."""
    files = {fmt: f"{job.id}.{fmt}" for fmt in result.filer}
    return {
        "id": job.id,
        "rapport": job.rapport,
        "titel": result.meta.get("titel", job.titel),
        "undertitel": result.meta.get("undertitel", ""),
        "kommunekode": job.kommunekode,
        "kommune": job.kommune,
        "status": result.status,
        "fejl": result.fejl,
        "filer": files,
        "fejlet_notebook": f"{FAILED_DIR}/{job.id}.ipynb" if result.fejlet_notebook else None,
        "formater": list(job.formater),
        "parametre": job.parametre,
        "tider_s": {key: round(value, 3) for key, value in result.tider.items()},
        "arbejder": result.arbejder,
        "dannet": made,
        "input": {
            "notebook": job.notebook,
            "notebook_sha256": job.notebook_sha256,
            "db_sha256": batch.db_sha256,
            "data_pr": batch.data_pr,
            "definitioner_version": batch.definitioner_version,
            "pakke_version": batch.pakke_version,
        },
    }


def _previous_entries(folder: Path) -> list[dict]:
    """The report entries of an earlier run into the same folder (empty if none or unreadable)."""
    try:
        return list(json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["rapporter"])
    except (OSError, ValueError, KeyError, TypeError):
        return []


def write_outputs(batch: Batch, results: list[JobResult], out: Path, run: dict) -> dict:
    """Write reports, failed notebooks and manifest.json into <out>/<periode>/; return the manifest.

    Reports of an earlier run that this run did not redo stay listed (with their own inputs and
    time), so re-running one failed report completes the round instead of replacing its index.
    Files of redone reports from the earlier run are removed first, so nothing stale is left.
    """
    folder = out / batch.periode
    folder.mkdir(parents=True, exist_ok=True)
    made = dt.datetime.now().isoformat(timespec="seconds")
    redone = {job.id for job in batch.jobs}
    kept = []
    for old in _previous_entries(folder):
        old_files = list(old.get("filer", {}).values()) + ([old["fejlet_notebook"]] if old.get("fejlet_notebook") else [])
        if old.get("id") in redone:
            for name in old_files:
                (folder / name).unlink(missing_ok=True)
        elif all((folder / name).exists() for name in old_files):
            kept.append(old)
    entries = []
    for job, result in zip(batch.jobs, results):
        for fmt, content in result.filer.items():
            (folder / f"{job.id}.{fmt}").write_bytes(content)
        if result.fejlet_notebook:
            (folder / FAILED_DIR).mkdir(exist_ok=True)
            (folder / FAILED_DIR / f"{job.id}.ipynb").write_text(result.fejlet_notebook, encoding="utf-8")
        entries.append(_entry(batch, job, result, made))
    order = {name: i for i, name in enumerate(dict.fromkeys(job.rapport for job in batch.jobs))}
    entries = sorted(
        kept + entries,
        key=lambda e: (e["kommunekode"] is not None, e["kommunekode"] or 0, order.get(e["rapport"], len(order)), e["rapport"]),
    )
    manifest = {
        "periode": batch.periode,
        "opdateret": made,
        "pakke_version": batch.pakke_version,
        "definitioner_version": batch.definitioner_version,
        "data_pr": batch.data_pr,
        "input": {"db": str(batch.db), "db_sha256": batch.db_sha256},
        "koersel": {**run, "indstillinger": batch.settings.model_dump(mode="json")},
        "opsummering": {
            "i_alt": len(entries),
            "ok": sum(e["status"] == "ok" for e in entries),
            "fejlet": sum(e["status"] != "ok" for e in entries),
        },
        "rapporter": entries,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return manifest

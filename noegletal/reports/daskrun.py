"""The optional Dask executor: the same jobs and `process_job` over a `dask.distributed` cluster.

One warm kernel per Dask worker process, started by the first report that runs there and stopped by
`KernelPlugin.teardown` (when the batch unregisters the plugin, or the worker closes). Run one thread
per worker: a second thread in the same process would wait for the kernel's lock. Workers need the
database at the same path as the main process; the rendered files come back as bytes.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable

from distributed import Client, LocalCluster, as_completed
from distributed.diagnostics.plugin import WorkerPlugin

from noegletal.reports.params import Job
from noegletal.reports.runner import JobResult, WarmKernel, process_job

_kernel: WarmKernel | None = None
_lock = threading.Lock()


def _close_kernel() -> None:
    global _kernel
    with _lock:
        if _kernel is not None:
            _kernel.close()
            _kernel = None


class KernelPlugin(WorkerPlugin):
    name = "noegletal-kerne"

    async def teardown(self, worker) -> None:
        # in a thread: the kernel has its own event loop, which cannot run inside the worker's
        await asyncio.to_thread(_close_kernel)


def _run_job(job: Job, reuse: bool) -> JobResult:
    global _kernel
    with _lock:
        if _kernel is None:
            _kernel = WarmKernel()
        return process_job(_kernel, job, reuse, worker=f"dask-{os.getpid()}")


def run_dask(
    jobs: list[Job],
    workers: int,
    scheduler: str | None = None,
    reuse: bool = True,
    on_result: Callable[[JobResult], None] | None = None,
) -> list[JobResult]:
    """Run `jobs` on the cluster at `scheduler`, or on a LocalCluster with `workers` processes."""
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=max(1, min(workers, len(jobs))), threads_per_worker=1, processes=True, dashboard_address=None
        )
    client = Client(scheduler or cluster)
    plugin = KernelPlugin()
    try:
        client.register_plugin(plugin)
        futures = {client.submit(_run_job, job, reuse, key=f"noegletal-{job.id}", pure=False): job for job in jobs}
        results: dict[str, JobResult] = {}
        for future in as_completed(futures):
            job = futures[future]
            try:
                result = future.result()
            except Exception as e:  # noqa: BLE001  a lost Dask worker fails its report, not the batch
                result = JobResult(id=job.id, status="fejlet", fejl=f"Dask-arbejderen fejlede: {type(e).__name__}: {e}")
            results[job.id] = result
            if on_result:
                on_result(result)
        client.unregister_worker_plugin(plugin.name)  # stops the kernels on a cluster that lives on
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return [results[job.id] for job in jobs]

"""Dask plumbing: a client (embedded LocalCluster on 127.0.0.1, or an existing scheduler), the
worker plugin that loads the models once per worker process, and a bounded task loop."""

from __future__ import annotations

import logging
import os
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from pcids.errors import ScreenError

#: Seconds to wait for a scheduler (and for its first worker) before giving up.
CONNECT_TIMEOUT = 10.0
#: Dask settings of the embedded cluster: no statistical profiler in the workers, and the event-loop tick,
#: system and memory monitors polled every second or two instead of every 20-500 ms. On 2 cores those
#: pollers took 1 worker's CPU up 13 % and the client's 4.5x (docs/decisions.md, "Screen: a quiet LocalCluster").
QUIET = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
}


def quiet_env() -> dict[str, str]:
    """:data:`QUIET` as ``DASK_*`` environment variables, for a ``dask worker`` started by hand."""
    return {"DASK_" + k.upper().replace(".", "__").replace("-", "_"): str(v) for k, v in QUIET.items()}


def local_cores() -> int:
    """Cores this process may use (the default number of local workers)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def check_where(client: Any, scheduler: str | None, workers: int | None) -> None:
    """One of: a client, a scheduler address (tcp://HOST:PORT), a number of local workers (or none: one per core)."""
    if client is not None and (scheduler is not None or workers is not None):
        raise ScreenError("give a Dask client, a scheduler address or a number of local workers, not several")
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise ScreenError(f"workers must be a positive integer, got {workers!r}")
    if scheduler is not None:
        if workers is not None:
            raise ScreenError("--workers sizes the local cluster; with --scheduler the cluster's own workers are used")
        if not isinstance(scheduler, str) or "://" not in scheduler:
            raise ScreenError(f"scheduler address must look like tcp://HOST:PORT, got {scheduler!r}")


@contextmanager
def connect(client: Any = None, scheduler: str | None = None, workers: int | None = None, timeout: float = CONNECT_TIMEOUT) -> Iterator[Any]:
    """A dask.distributed Client: the one given, one on ``scheduler``, or an embedded LocalCluster.

    The local cluster has ``workers`` single-threaded worker processes (default:
    one per core), listens on 127.0.0.1 only, runs no dashboard and polls
    quietly (:data:`QUIET`); it is shut down on exit. A client passed in is left open.
    """
    from distributed import Client, LocalCluster

    check_where(client, scheduler, workers)
    if client is not None:
        yield client
        return
    if scheduler is not None:
        try:
            c = Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise ScreenError(
                f"no Dask scheduler answered at {scheduler} within {timeout:g} s ({type(exc).__name__}); "
                "start one with `dask scheduler` (and workers with `dask worker ADDRESS`), or drop --scheduler to run locally"
            ) from None
        try:
            try:
                c.wait_for_workers(1, timeout=timeout)
            except (OSError, TimeoutError):
                raise ScreenError(f"the Dask scheduler at {scheduler} has no workers after {timeout:g} s; start some with `dask worker {scheduler}`") from None
            yield c
        finally:
            c.close()
        return
    import dask

    with dask.config.set(QUIET):  # read by the scheduler and nannies here, and handed to the worker processes
        with warnings.catch_warnings():  # its HTTP routes (health, metrics) take another port when 8787 is busy; say nothing
            warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)
            try:
                cluster = LocalCluster(
                    n_workers=workers or local_cores(), threads_per_worker=1, processes=True, host="127.0.0.1",
                    scheduler_port=0, dashboard_address=None, silence_logs=logging.ERROR,
                )
            except RuntimeError as exc:  # e.g. a script without the main guard: each worker re-imports it
                raise ScreenError(
                    f"the local Dask cluster could not start its worker processes ({exc}); in a script, call screen() under "
                    "`if __name__ == \"__main__\":` (worker processes import the script), or pass a Dask client"
                ) from None
        try:
            c = Client(cluster)
            try:
                yield c
            finally:
                c.close()
        finally:
            cluster.close()


class LoadModels(WorkerPlugin):
    """Worker plugin: one BLAS/OpenMP thread per worker process (threadpoolctl; the worker's one task
    thread is its share of the cores) and the shipped models and glass formers loaded once, when the
    worker starts (and again on a worker the nanny restarts), so tasks carry only their systems.
    Inference is numpy: the workers never import torch."""

    name = "pcids-screen-models"

    def __init__(self, with_gfa: bool):
        self.with_gfa = with_gfa

    def setup(self, worker: Any) -> None:
        from threadpoolctl import threadpool_limits

        from pcids.screen.coarse import _glass_index, models

        self._limits = threadpool_limits(limits=1)  # kept for the worker's life
        models(self.with_gfa)
        _glass_index()


class UserModels(WorkerPlugin):
    """Worker plugin: the caller's property models (``screen(models=)``), sent once per worker under their key."""

    def __init__(self, key: str, given: dict[str, Any]):
        self.key, self.given = key, given
        self.name = f"pcids-screen-{key}"

    def setup(self, worker: Any) -> None:
        from pcids.screen.coarse import set_user_models

        set_user_models(self.key, self.given)


def register_models(client: Any, with_gfa: bool, user_key: str = "", user: dict[str, Any] | None = None) -> None:
    try:
        client.register_plugin(LoadModels(with_gfa), name=LoadModels.name)
        if user_key:
            client.register_plugin(UserModels(user_key, dict(user or {})), name=f"pcids-screen-{user_key}")
    except Exception as exc:  # a worker without pcids, or a broken install there
        raise ScreenError(f"the Dask workers could not load pcids's models ({type(exc).__name__}: {exc}); install pcids on every worker") from None


def run_tasks(
    client: Any, tasks: Iterable[tuple[Any, Callable[..., Any], tuple]], on_result: Callable[[Any, Any], None], max_in_flight: int | None = None
) -> int:
    """Submit ``(tag, fn, args)`` tasks keeping at most ``max_in_flight`` queued, call ``on_result(tag, result)``
    as each completes (in completion order). A worker that dies takes only its tasks in flight with it:
    the scheduler reruns them elsewhere. Returns the number of tasks run."""
    from distributed import as_completed
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    if max_in_flight is None:
        max_in_flight = max(4, 3 * max(1, sum(client.nthreads().values())))
    run = uuid.uuid4().hex[:8]
    todo = iter(tasks)
    tags: dict[str, Any] = {}
    pending = as_completed()

    def submit_next() -> bool:
        item = next(todo, None)
        if item is None:
            return False
        tag, fn, args = item
        fut = client.submit(fn, *args, key=f"pcids-screen-{run}-{tag}", pure=False)
        tags[fut.key] = tag
        pending.add(fut)
        return True

    for _ in range(max_in_flight):
        if not submit_next():
            break
    n = 0
    try:
        for fut in pending:
            try:
                result = fut.result()
            except KilledWorker as exc:
                raise ScreenError(f"task {tags[fut.key]} killed its workers repeatedly ({exc}); it may need more memory than a worker has") from None
            except FutureCancelledError:
                raise ScreenError(f"task {tags[fut.key]} was cancelled by the cluster") from None
            on_result(tags.pop(fut.key), result)
            fut.release()
            n += 1
            submit_next()
    finally:
        for fut in list(pending.futures):
            fut.cancel()
    return n

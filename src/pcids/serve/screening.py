"""``POST /api/screen``: a bounded :func:`pcids.screen.screen` inside the server process.

A request is checked first (the library's own checks, then the server's caps)
without taking a search slot, then runs on one Dask cluster the server keeps
in its own process (threads, in-memory transport): no cluster per request,
no worker processes, models shared with the design searches, nothing
listening beyond 127.0.0.1. At the time limit the screen stops after the
batch in flight and frees its slot (see ``docs/decisions.md``).
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import re
import tempfile
import threading
import time
from typing import Any

from pcids.errors import PcidsError
from pcids.serve.jobs import OBJECTIVE_PATTERNS, objective_field
from pcids.serve.limits import LimitError, Limits

#: screen() arguments the server sets itself (where results go, which cluster, progress), and user
#: models (``models``: the server takes no model files, as /api/design takes none).
SERVER_SIDE = frozenset({"out", "resume", "force", "client", "scheduler", "workers", "timeout", "batch_points", "progress", "on_batch", "models"})
#: Systems a response lists with their candidates, unless ``show`` says otherwise (the CSV holds them all).
DEFAULT_SHOW = 50
ADVICE = "ask for a smaller palette, fewer sizes, a coarser step or a smaller top, or retry when the server is less busy"

#: (pattern in a screen error, the request field it concerns), first match wins.
_FIELD_PATTERNS = (
    (r"^(unknown )?palette\b|^a palette\b|no data to screen", "palette"),
    (r"^system sizes\b|^sizes\b|^no system size\b|^systems of \d", "sizes"),
    (r"^system\b|^no system given\b", "only"),
    *OBJECTIVE_PATTERNS,
    (r"\btargets?\b", "targets"),
    (r"^tolerance\b", "tolerance"),
    (r"^--step\b|^a step of\b", "step"),
    (r"^bounds\b", "bounds"),
    (r"^gfa_threshold_mm\b", "gfa_threshold_mm"),
    (r"^(keep|top|refine_k)\b", None),  # the word itself is the field
)


def screen_field(message: str, objectives: dict[str, Any] | None = None) -> str | None:
    """Which request field a screen error concerns, from its wording (None: the request as a whole);
    a constraint or objective named in the message is looked up in ``objectives`` as design's form does."""
    if re.match(r"unknown (constraint|objective) '", message):
        return objective_field(message, objectives or {})
    text = message.lower()
    for pattern, field in _FIELD_PATTERNS:
        m = re.search(pattern, text)
        if m:
            return field or m.group(1)
    return None


def screen_options() -> dict[str, Any]:
    """screen()'s options a request may set, with their defaults (the library's signature)."""
    from pcids.screen import screen

    params = inspect.signature(screen).parameters
    return {k: p.default for k, p in params.items() if k not in SERVER_SIDE and k != "palette"}


class _DryRun(Exception):
    pass


class _Probe:
    """Stands in for a Dask client: screen() checks all its arguments before it first asks its
    client anything, so running it with a probe that stops it there runs exactly the library's
    checks (with its messages) and no screening."""

    def __getattr__(self, name: str) -> Any:
        raise _DryRun


def check_screen(request: dict[str, Any], limits: Limits) -> dict[str, Any]:
    """The library's checks, then the server's caps; returns screen()'s keyword arguments (and ``show``).

    Raises PcidsError (the CLI's message) or LimitError, each naming its field.
    """
    from pcids.screen import check_palette, check_sizes, screen

    req = dict(request)
    show = req.pop("show", None)
    show = DEFAULT_SHOW if show is None else show
    options = screen_options()
    unknown = [k for k in req if k != "palette" and k not in options]
    if unknown:
        raise LimitError(f"this version of pcids has no screen option {', '.join(unknown)}", unknown[0])
    palette = _tagged(lambda: check_palette(req["palette"]), "palette")
    if len(palette) > limits.max_palette:
        raise LimitError(f"at most {limits.max_palette} palette elements per screen on this server, got {len(palette)}", "palette")
    try:
        screen(**{**req, "palette": palette}, client=_Probe())
    except _DryRun:
        pass
    except PcidsError as exc:
        _tag(exc, screen_field(str(exc), {k: req[k] for k in ("at_least", "at_most", "maximize", "minimize") if req.get(k) is not None}))
        raise
    only = req.get("only")
    if only:  # systems of the sizes they have, one each
        counts = [(len(x.split("-") if isinstance(x, str) else x), 1) for x in only]
    else:
        counts = [(k, math.comb(len(palette), k)) for k in check_sizes(req.get("sizes", options["sizes"]), len(palette))]
    n_systems = sum(n for _, n in counts)
    if n_systems > limits.max_systems:
        raise LimitError(f"a palette of {len(palette)} elements in systems of {_sizes(counts)} elements holds {n_systems:,} systems; "
                         f"this server screens at most {limits.max_systems:,} per request: use fewer elements or sizes", "palette")
    step = float(req.get("step", options["step"]))
    units = int(round(100.0 / step))
    n_points = sum(n * math.comb(units - 1, k - 1) for k, n in counts)  # all > 0 on the lattice, before bounds
    if n_points > limits.max_screen_points:
        raise LimitError(f"{n_systems:,} systems at a step of {step:g} at.% hold {n_points:,} compositions; this server scores "
                         f"at most {limits.max_screen_points:,} per screen: use a coarser step, fewer elements or fewer sizes", "step")
    top = req.get("top", options["top"])
    if top > limits.max_refined:
        raise LimitError(f"top must be at most {limits.max_refined} on this server (each is a full design), got {top}", "top")
    if not isinstance(show, int) or not 1 <= show <= limits.max_systems:
        raise LimitError(f"show must be an integer from 1 to {limits.max_systems:,}, got {show!r}", "show")
    return {**req, "palette": palette, "show": show}


def _sizes(counts: list[tuple[int, int]]) -> str:
    return ", ".join(map(str, sorted({k for k, _ in counts})))


def _tag(exc: BaseException, field: str | None) -> None:
    exc.field = field  # type: ignore[attr-defined]


def _tagged(check: Any, field: str) -> Any:
    try:
        return check()
    except PcidsError as exc:
        _tag(exc, field)
        raise


class Stopped(Exception):
    """The request's time limit passed: the screen stops after its batch in flight."""


def run_screen(kwargs: dict[str, Any], client: Any, cancel: threading.Event) -> dict[str, Any]:
    """screen(**kwargs) on ``client`` -> the response body (its dict, what the CLI prints, the systems CSV)."""
    from pcids.screen import screen
    from pcids.serve.jobs import collect_warnings
    from pcids.serve.table import candidates_table, screen_report

    t0 = time.perf_counter()
    args = dict(kwargs)
    show = args.pop("show")

    def stop_when_cancelled(batch: int, n_finished: int) -> None:
        if cancel.is_set():
            raise Stopped(f"stopped after {n_finished} batches")

    with collect_warnings() as caught:
        result = screen(**args, client=client, on_batch=stop_when_cancelled)
    body = result.to_dict(max_systems=show)
    report = screen_report(result, show)
    body.update(
        report=report, table=candidates_table(report, key="system"), n_systems=len(result.systems),
        csv=result.systems.to_csv(index=False), warnings=list(caught), seconds=round(time.perf_counter() - t0, 3),
    )
    return json.loads(json.dumps(body, allow_nan=False))


class InProcessDask:
    """The server's one Dask cluster for screens: started on the first screen, closed with the app.

    One worker with ``threads`` threads in this process over Dask's in-memory
    transport; its HTTP routes (which Dask always starts) listen on 127.0.0.1.
    """

    def __init__(self, threads: int):
        self.threads = threads
        self._lock = threading.Lock()
        self._cluster: Any = None
        self._client: Any = None
        self._scratch: tempfile.TemporaryDirectory[str] | None = None

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                from distributed import Client, LocalCluster

                self._scratch = tempfile.TemporaryDirectory(prefix="pcids-serve-dask-")
                self._cluster = LocalCluster(
                    n_workers=1, threads_per_worker=self.threads, processes=False, dashboard_address="127.0.0.1:0",
                    worker_dashboard_address="127.0.0.1:0", local_directory=self._scratch.name, silence_logs=logging.ERROR,
                )
                self._client = Client(self._cluster)
            return self._client

    @property
    def started(self) -> bool:
        return self._client is not None

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._cluster.close()
                self._client = self._cluster = None
            if self._scratch is not None:
                self._scratch.cleanup()
                self._scratch = None

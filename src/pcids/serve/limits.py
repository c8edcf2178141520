"""What one request may ask of the server, and the gate that bounds searches running at once.

A design search is CPU-bound and can take seconds, so the server runs it in a
small thread pool (the event loop keeps answering other requests) behind a
gate: ``max_concurrent`` searches run, ``max_queue`` more wait, anything
beyond is refused at once with 429. A search that outlives ``time_limit_s``
is answered with 503; its thread cannot be killed, so it keeps its slot until
it finishes (the caps on elements and candidates bound how long that is), and
the gate's count stays honest. A job that can stop early (a screen, between
batches) is handed an event that is set at the time limit.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """Per-request and per-server caps (defaults sized for a 2-core machine)."""

    max_body_bytes: int = 64 * 1024
    max_elements: int = 12
    max_formulas: int = 1000
    #: Compositions one corrector search may score (also caps the widening boxes).
    max_candidates: int = 2_000_000
    max_top_k: int = 100
    max_iterations: int = 8
    #: Random restarts of the global search.
    max_restarts: int = 256
    #: A screen: palette elements, systems, coarse compositions scored (a 12-element palette in
    #: systems of 3-5 at 5 at.% holds 3.59 million), and systems refined by a full design.
    max_palette: int = 12
    max_systems: int = 2000
    max_screen_points: int = 4_000_000
    max_refined: int = 10
    time_limit_s: float = 60.0
    max_concurrent: int = 2
    max_queue: int = 4

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class LimitError(Exception):
    """A request the server refuses because of a limit (not the library's input checks)."""

    status = 422

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class Busy(LimitError):
    status = 429


class TimedOut(LimitError):
    status = 503


DESIGN_ADVICE = "ask for fewer elements, a coarser step h, bounds or a smaller box E, or retry when the server is less busy"


class SearchGate:
    """At most ``max_concurrent`` searches in the pool, ``max_queue`` waiting; the rest refused."""

    def __init__(self, max_concurrent: int, max_queue: int):
        self.max_concurrent, self.max_queue = max_concurrent, max_queue
        self.running = 0
        self.waiting = 0
        self._slots = asyncio.Semaphore(max_concurrent)
        self._pool = ThreadPoolExecutor(max_concurrent, thread_name_prefix="pcids-search")

    def state(self) -> dict[str, int]:
        return {"running": self.running, "waiting": self.waiting, "max_concurrent": self.max_concurrent, "max_queue": self.max_queue}

    async def run(self, fn: Callable[[], T], timeout: float, cancel: threading.Event | None = None, advice: str = DESIGN_ADVICE) -> T:
        """``fn()`` in the pool once a slot is free; Busy if the queue is full, TimedOut past ``timeout`` s
        (and ``cancel`` set then, so a job that watches it stops and frees its slot early)."""
        if self.running + self.waiting >= self.max_concurrent + self.max_queue:
            raise Busy(
                f"the server is busy: {self.running} searches running and {self.waiting} waiting "
                f"(at most {self.max_concurrent} + {self.max_queue}); retry in a few seconds"
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self.waiting += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout)
        except TimeoutError:
            if cancel is not None:
                cancel.set()
            raise TimedOut(f"no search slot came free within the {timeout:g} s time limit; retry later") from None
        finally:
            self.waiting -= 1
        self.running += 1
        future = loop.run_in_executor(self._pool, fn)

        def release(done: asyncio.Future[Any]) -> None:
            self.running -= 1
            self._slots.release()
            if not done.cancelled():
                done.exception()  # retrieved: a job that fails after its 503 is not logged as unhandled

        future.add_done_callback(release)
        try:
            return await asyncio.wait_for(asyncio.shield(future), max(deadline - loop.time(), 0.0))
        except TimeoutError:
            if cancel is not None:
                cancel.set()
            raise TimedOut(f"the search did not finish within the server's {timeout:g} s time limit; {advice}") from None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def lattice_box_size(n_free: int, E: float, h: float) -> int:
    """Most lattice points one corrector box can hold: offsets d in [-k, k]^n summing to 0, k = E // h.

    A box clipped by 0 or 100 at.% (or by bounds) holds fewer, so this bounds every centre.
    """
    import numpy as np

    k = int(E // h + 1e-9)
    if n_free <= 1 or k <= 0:
        return 1
    poly = np.ones(1, dtype=object)
    for _ in range(n_free):
        poly = np.convolve(poly, np.ones(2 * k + 1, dtype=object))
    return int(poly[n_free * k])


class BodySizeLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets 413 before anything parses it."""

    def __init__(self, app: Any, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._refuse(send)
                return
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Callable[..., Any]) -> None:
        payload = json.dumps(
            {"detail": f"request body too large: at most {self.max_bytes:,} bytes", "field": None, "error": "BodyTooLarge"}
        ).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})

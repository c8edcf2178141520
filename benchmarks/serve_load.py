"""Load on `pcids serve` over 127.0.0.1: concurrent design requests, latency, refusals, responsiveness.

Two runs, each on a fresh `pcids serve` subprocess on a free loopback port:

* **queued**: 20 design requests at once against --max-concurrent 2 with a
  queue that holds them all: every one must answer 200 (none errors);
  p50 / p95 / max latency.
* **over the cap**: 20 at once against --max-concurrent 2 --max-queue 2: the
  four that fit answer 200, the rest must be refused cleanly (429 with a
  message), nothing else.

* **largest screen**: one `POST /api/screen` as large as the server's caps
  allow (a 12-element palette, systems of 3-5, 5 at.%: 1,507 systems,
  3.59 million coarse compositions; top 0) under the default 60 s time
  limit: does it answer within it, and how long does it take.

During all three, /api/health is probed every 100 ms; its latency shows whether the
server stays responsive while the search threads are busy. The loop is bounded
(a fixed number of requests, a 300 s client timeout) and stops by itself.

    nice -n 10 python benchmarks/serve_load.py [--requests 20] [--concurrent 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write  # noqa: E402

SRC = Path(__file__).resolve().parents[1] / "src"
TIMEOUT_S = 300.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(concurrent: int, queue: int, time_limit: float) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    cmd = [
        sys.executable, "-c", "import sys; from pcids.cli import main; sys.argv[0] = 'pcids'; main()",
        "serve", "--port", str(port), "--max-concurrent", str(concurrent), "--max-queue", str(queue), "--time-limit", str(time_limit),
    ]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    import urllib.request

    t0 = time.time()
    while time.time() - t0 < 180:
        try:
            urllib.request.urlopen(base + "/api/health", timeout=1)
            return proc, base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("pcids serve did not start within 180 s")


def _request(i: int) -> dict[str, Any]:
    """The paper's case with a slightly different G each time (nothing is cached anyway)."""
    return {"elements": ["Ti", "Zr", "Be", "Fe"], "targets": {"G": 34.0 + 0.2 * i, "K": 105.0}, "top_k": 5}


#: The largest screen the default caps allow (Limits: 12 palette elements, 2,000 systems, 4 M compositions).
SCREEN = {"palette": "glass-formers:12", "sizes": "3-5", "targets": {"G": 36.0, "K": 105.0}, "top": 0, "show": 10}


async def _load(base: str, n: int, screen: bool = False) -> dict[str, Any]:
    import httpx2

    limits = httpx2.Limits(max_connections=n + 4)
    async with httpx2.AsyncClient(base_url=base, timeout=TIMEOUT_S, limits=limits) as client:
        finished = asyncio.Event()
        probes: list[tuple[float, int, dict[str, Any]]] = []

        async def design(i: int) -> tuple[int, float, dict[str, Any]]:
            t = time.perf_counter()
            r = await (client.post("/api/screen", json=SCREEN) if screen else client.post("/api/design", json=_request(i)))
            return r.status_code, time.perf_counter() - t, r.json()

        async def probe() -> None:
            while not finished.is_set() and len(probes) < 3000:
                t = time.perf_counter()
                r = await client.get("/api/health")
                probes.append((time.perf_counter() - t, r.status_code, r.json().get("searches", {})))
                await asyncio.sleep(0.1)

        prober = asyncio.create_task(probe())
        t0 = time.perf_counter()
        answers = await asyncio.gather(*(design(i) for i in range(n)))
        wall = time.perf_counter() - t0
        finished.set()
        await prober
    codes = [c for c, _, _ in answers]
    ok = [lat for c, lat, _ in answers if c == 200]
    refused = [(c, body) for c, _, body in answers if c in (429, 503)]
    other = [(c, body) for c, _, body in answers if c not in (200, 429, 503)]
    health = [lat for lat, code, _ in probes if code == 200]
    return {
        "requests": n,
        "wall_s": round(wall, 2),
        "status_counts": {str(c): codes.count(c) for c in sorted(set(codes))},
        "ok": len(ok),
        "refused": len(refused),
        "errors": len(other),
        "error_examples": other[:3],
        "refusal_message": refused[0][1]["detail"] if refused else None,
        "latency_s": _stats(ok),
        "health_probes": len(probes),
        "health_ok": len(health),
        "health_latency_s": _stats(health),
        "max_running_seen": max((s.get("running", 0) for _, _, s in probes), default=0),
        "max_waiting_seen": max((s.get("waiting", 0) for _, _, s in probes), default=0),
    }


def _stats(xs: list[float]) -> dict[str, float] | None:
    if not xs:
        return None
    a = np.asarray(xs)
    return {"p50": round(float(np.percentile(a, 50)), 3), "p95": round(float(np.percentile(a, 95)), 3), "max": round(float(a.max()), 3)}


def run(n: int, concurrent: int, queue: int, screen: bool = False, time_limit: float = TIMEOUT_S) -> dict[str, Any]:
    proc, base = _start(concurrent, queue, time_limit=time_limit)
    try:
        asyncio.run(_load(base, 2))  # warm: first-request costs are not load
        out = asyncio.run(_load(base, n, screen))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return {"max_concurrent": concurrent, "max_queue": queue, "time_limit_s": time_limit, **out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--concurrent", type=int, default=2)
    ap.add_argument("--small-queue", type=int, default=2)
    args = ap.parse_args()
    load_before = [round(x, 2) for x in os.getloadavg()]  # the box's own load, before this script adds its searches
    queued = run(args.requests, args.concurrent, args.requests)
    over = run(args.requests, args.concurrent, args.small_queue)
    big = run(1, args.concurrent, args.small_queue, screen=True, time_limit=60.0)
    checks = {
        "queued: every request answered 200": queued["ok"] == args.requests and queued["errors"] == 0,
        "over the cap: only 200 or 429/503, no errors": over["errors"] == 0 and over["ok"] + over["refused"] == args.requests,
        "over the cap: the excess was refused": over["refused"] >= args.requests - args.concurrent - args.small_queue,
        "health answered during both loads": queued["health_ok"] == queued["health_probes"] > 0 and over["health_ok"] == over["health_probes"] > 0,
        "largest screen: answered 200 within the 60 s time limit": big["ok"] == 1,
        "health answered during the screen": big["health_ok"] == big["health_probes"] > 0,
    }

    def row(name: str, r: dict[str, Any]) -> str:
        lat, h = r["latency_s"] or {}, r["health_latency_s"] or {}
        return (
            f"| {name} | {r['requests']} | {r['max_concurrent']} + {r['max_queue']} | {r['status_counts']} | "
            f"{lat.get('p50', '-')} | {lat.get('p95', '-')} | {lat.get('max', '-')} | {r['wall_s']} | "
            f"{r['health_ok']}/{r['health_probes']} | {h.get('p50', '-')} | {h.get('max', '-')} |"
        )

    md = "\n".join(
        [
            "# pcids serve under load (127.0.0.1)",
            "",
            f"{args.requests} concurrent `POST /api/design` (Ti-Zr-Be-Fe, G 34-37.8, K 105, top_k 5) from one asyncio client; "
            f"then one `POST /api/screen` as large as the caps allow ({SCREEN}, 1,507 systems, 3.59 M coarse compositions, "
            "default 60 s time limit); `/api/health` probed every 100 ms during each. Latency in seconds, from sending to the full answer.",
            "",
            "| run | requests | running + queue | status counts | p50 | p95 | max | wall | health answered | health p50 | health max |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
            row("queued", queued),
            row("over the cap", over),
            row("largest screen", big),
            "",
            f"Refusal message: \"{over['refusal_message']}\"",
            "",
            f"Load average (1, 5, 15 min) before the runs: {load_before}; after them (their own searches included): "
            f"{[round(x, 2) for x in os.getloadavg()]}. Two search threads on a 2-core box.",
            "",
            *[f"- {'PASS' if ok else 'FAIL'}: {name}" for name, ok in checks.items()],
            "",
            f"Command: `{'nice -n %d ' % os.nice(0) if os.nice(0) else ''}{' '.join([Path(sys.executable).name, *sys.argv])}`",
        ]
    )
    write("serve_load", {"load_before": load_before, "queued": queued, "over_cap": over, "largest_screen": big, "checks": checks}, md)
    if not all(checks.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()

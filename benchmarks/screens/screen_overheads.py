"""Where a 2-worker screen loses CPU on 2 cores (issue 14): the decisions behind ``pcids.screen.cluster.QUIET``
and the inference's ``Stack.batch_rows``.

1. Inference product size: CPU seconds of one screen batch (52 random 5-element systems of the
   20-element palette, about 200,000 compositions) with ``batch_rows`` 16384 vs 1024, in one process
   alone and in two processes at once (numpy on one BLAS thread).
2. The LocalCluster's pollers: worker and client CPU seconds of a screen of N random 5-element systems
   on 1 and 2 workers, with Dask's defaults vs ``QUIET`` (no worker profiler, 1-2 s pollers). The
   LocalCluster's scheduler and nannies run in the client process, so its CPU is theirs too.

CPU seconds, not wall time: they hold on a busy box (record the load anyway).

    nice -n 10 python benchmarks/screens/screen_overheads.py [--systems 400]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

TARGETS = {"G": 36.0, "K": 105.0}


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def five_element(n: int, seed: int = 0) -> list[tuple[str, ...]]:
    from itertools import combinations

    import numpy as np

    from pcids.screen import named_palette

    s5 = list(combinations(named_palette("glass-formers:20"), 5))
    return [s5[i] for i in sorted(np.random.default_rng(seed).choice(len(s5), n, replace=False))]


def batch_cpu(rows: int, queue) -> None:  # noqa: ANN001 (a multiprocessing queue)
    from threadpoolctl import threadpool_limits

    from pcids.screen.coarse import Spec, models, score_batch

    threadpool_limits(1)
    spec = Spec(TARGETS)
    fwd, _ = models(True)
    systems = five_element(52)
    score_batch(0, systems[:4], spec)
    fwd._stack.batch_rows = rows
    times = []
    for _ in range(4):
        c = time.process_time()
        score_batch(0, systems, spec)
        times.append(time.process_time() - c)
    queue.put(sorted(times)[1])


def inference_rows() -> list[dict]:
    from multiprocessing import get_context

    ctx = get_context("spawn")
    out = []
    for rows in (16384, 1024):
        for n_proc in (1, 2):
            q = ctx.Queue()
            procs = [ctx.Process(target=batch_cpu, args=(rows, q)) for _ in range(n_proc)]
            load = os.getloadavg()[0]
            for p in procs:
                p.start()
            for p in procs:
                p.join()
            out.append({"batch_rows": rows, "processes": n_proc, "cpu_seconds_per_batch": [q.get() for _ in procs], "load": load})
            print(out[-1], flush=True)
    return out


def pollers(n_systems: int) -> list[dict]:
    import dask

    from pcids.screen import cluster, named_palette, screen

    palette = named_palette("glass-formers:20")
    systems = five_element(n_systems)
    out = []
    for variant in ("dask defaults", "QUIET"):
        saved = dict(cluster.QUIET)
        if variant == "dask defaults":  # connect() applies QUIET: hand it Dask's own defaults instead
            cluster.QUIET.clear()
            cluster.QUIET.update({k: dask.config.get(k) for k in saved})
        try:
            for w in (1, 2):
                with cluster.connect(workers=w) as c:
                    cluster.register_models(c, True)
                    screen(palette, targets=TARGETS, only=systems[:4], client=c, top=0)
                    w0, me0, load, t = sum(c.run(cpu_seconds).values()), cpu_seconds(), os.getloadavg()[0], time.perf_counter()
                    screen(palette, targets=TARGETS, only=systems, client=c, top=0)
                    out.append({
                        "variant": variant, "workers": w, "wall_seconds": time.perf_counter() - t,
                        "worker_cpu_seconds": sum(c.run(cpu_seconds).values()) - w0, "client_cpu_seconds": cpu_seconds() - me0,
                        "load_before": load, "load_after": os.getloadavg()[0],
                    })
                    print(out[-1], flush=True)
        finally:
            cluster.QUIET.clear()
            cluster.QUIET.update(saved)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--systems", type=int, default=400)
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from _common import write

    rows = inference_rows()
    polls = pollers(args.systems)
    lines = [
        "# Screen overheads on 2 cores: inference product size and the LocalCluster's pollers", "",
        "## 1. CPU seconds per screen batch (52 five-element systems, ~200,000 compositions), median of 4", "",
        "| batch_rows | processes at once | CPU s per batch (each process) | load |", "|---|---|---|---|",
    ]
    lines += [f"| {r['batch_rows']} | {r['processes']} | {', '.join(f'{x:.3f}' for x in r['cpu_seconds_per_batch'])} | {r['load']:.1f} |" for r in rows]
    lines += ["", f"## 2. A screen of {args.systems} random five-element systems", "",
              "| settings | workers | wall s | worker CPU s | client CPU s | load before -> after |", "|---|---|---|---|---|---|"]
    lines += [f"| {p['variant']} | {p['workers']} | {p['wall_seconds']:.1f} | {p['worker_cpu_seconds']:.1f} | {p['client_cpu_seconds']:.2f} | "
              f"{p['load_before']:.1f} -> {p['load_after']:.1f} |" for p in polls]
    lines += ["", f"Command: `nice -n 10 python benchmarks/screens/screen_overheads.py {' '.join(sys.argv[1:])}`"]
    write("screens/screen_overheads", {"inference_rows": rows, "pollers": polls, "systems": args.systems}, "\n".join(lines))


if __name__ == "__main__":
    main()

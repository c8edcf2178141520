"""A check of screen_scaling.py's on-paper figure (issue 14): the per-system cost measured on the 40-element
palette itself (``all:40``) instead of carried over from the 20-element one.

A random N systems of each size 3, 4, 5 (seed 0) are screened on 2 local workers (G = 36, K = 105, GFA
check), each size its own job as ``pcids screen`` runs it; worker CPU per system, and from it the CPU-hours
of the whole 759,278-system screen on one worker (a small job's tasks are small, so this errs high).

    python benchmarks/screen_cost_40.py [--systems 300]
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import sys
import time
from itertools import combinations
from pathlib import Path

TARGETS = {"G": 36.0, "K": 105.0}
SIZES = (3, 4, 5)


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    import numpy as np

    from pcids.screen import cluster, named_palette, screen

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--systems", type=int, default=300, help="systems per size")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from _common import write

    pal = named_palette("all:40")
    rng = np.random.default_rng(0)
    rows = {}
    load0 = os.getloadavg()[0]
    with cluster.connect(workers=2) as c:
        cluster.register_models(c, True)
        screen(pal, targets=TARGETS, only=[pal[:3]], client=c, top=0)  # warm-up: models and imports
        for s in SIZES:
            every = list(combinations(pal, s))
            chosen = [every[i] for i in sorted(rng.choice(len(every), min(args.systems, len(every)), replace=False))]
            c0, t = sum(c.run(cpu_seconds).values()), time.perf_counter()
            screen(pal, targets=TARGETS, only=chosen, client=c, top=0)
            rows[s] = {"systems": len(chosen), "wall_s": time.perf_counter() - t,
                       "cpu_ms_per_system": 1000 * (sum(c.run(cpu_seconds).values()) - c0) / len(chosen)}
    hours = sum(math.comb(40, s) * rows[s]["cpu_ms_per_system"] / 1000 for s in SIZES) / 3600
    lines = [
        "# pcids screen: the 40-element screen's cost, measured on its own palette", "",
        f"Palette `all:40` ({', '.join(pal)}); G = 36, K = 105 GPa, GFA check; a random {args.systems} systems per size "
        "(seed 0), each size one job on 2 local workers.", "",
        "| size | systems | wall s | worker CPU per system (ms) |", "|---|---|---|---|",
        *[f"| {s} | {r['systems']} | {r['wall_s']:.1f} | {r['cpu_ms_per_system']:.1f} |" for s, r in rows.items()], "",
        f"The whole screen (759,278 systems): **{hours:.2f} CPU-hours** on one worker, from these costs "
        "(screen_scaling.py carries the 20-element palette's costs over instead). "
        f"Load {load0:.1f} -> {os.getloadavg()[0]:.1f}.", "",
        f"Command: `{' '.join(['python benchmarks/screen_cost_40.py', *sys.argv[1:]])}`",
    ]
    write("screen_cost_40", {"palette": pal, "sizes": rows, "cpu_hours_one_worker": hours}, "\n".join(lines))


if __name__ == "__main__":
    main()

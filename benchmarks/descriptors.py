"""Descriptor throughput: compositions per second and peak memory.

Run: python benchmarks/descriptors.py [--sizes 1000000 10000000]

Random 7-element compositions (Dirichlet fractions) over a Zr-Ti-Cu-Ni-Be-Al-Fe
basis; the timed call is ``PaperDescriptors().transform_matrix``. Peak memory
is measured with tracemalloc (numpy reports its buffers to it) around the call,
so it is the extra memory the descriptors need beyond the input matrix.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from _common import write
from pcids.descriptors import PaperDescriptors, RichDescriptors

ELEMENTS = ["Zr", "Ti", "Cu", "Ni", "Be", "Al", "Fe"]


def run(n: int, featurizer, repeats: int = 3) -> dict:
    A = np.random.default_rng(0).dirichlet(np.ones(len(ELEMENTS)), size=n)
    featurizer.transform_matrix(A[:1000], ELEMENTS)  # warm up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        featurizer.transform_matrix(A, ELEMENTS)
        times.append(time.perf_counter() - t)
    tracemalloc.start()
    featurizer.transform_matrix(A, ELEMENTS)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    best = min(times)
    return {
        "featurizer": type(featurizer).__name__,
        "n": n,
        "seconds_best": best,
        "compositions_per_s": n / best,
        "input_MB": A.nbytes / 1e6,
        "peak_extra_MB": peak / 1e6,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    args = ap.parse_args()
    rows = [run(n, PaperDescriptors()) for n in args.sizes]
    rows.append(run(min(args.sizes), RichDescriptors(), repeats=1))
    md = ["| featurizer | compositions | best time (s) | compositions/s | input (MB) | peak extra (MB) |", "|---|---|---|---|---|---|"]
    md += [
        f"| {r['featurizer']} | {r['n']:,} | {r['seconds_best']:.3f} | {r['compositions_per_s']:,.0f} | {r['input_MB']:.0f} | {r['peak_extra_MB']:.0f} |"
        for r in rows
    ]
    write("descriptors", {"results": rows, "target_compositions_per_s": 5_000_000}, "\n".join(md))


if __name__ == "__main__":
    main()

"""GFA scoring speed: compositions per second through the corrector's fast path, and cold load time.

Run: python benchmarks/gfa_speed.py [--n 100000] [--repeats 5]

Random 5-element compositions (Dirichlet fractions) over Zr-Ti-Cu-Ni-Be; the
timed call is ``load_gfa_model().predict_proba_matrix(A, elements)``
(features + 60 classifier trees + calibration, one thread, scored in 8,192-row blocks), and separately
``predict_dmax_matrix`` and ``predict_matrix`` (both from one featurisation,
the call ``pcids.design`` makes); ``features_only`` is one whole-matrix
featurisation (the fast paths featurise block by block). Wall time is reported with the CPU time of the
process, since the machine is shared: CPU time is what an idle machine would
take. Cold load = a fresh interpreter importing pcids and loading the shipped
model (torch import included, as ``pcids design`` pays it anyway); "load
alone" = importing pcids.models.gfa (pandas, scikit-learn) and loading, with
torch already imported.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

from _common import write
from pcids.models.gfa import load_gfa_model, shipped_path

ELEMENTS = ["Zr", "Ti", "Cu", "Ni", "Be"]


def timed(fn, repeats: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return float(np.median(walls)), float(np.median(cpus))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    code = "import time; t=time.perf_counter(); from pcids.models.gfa import load_gfa_model; m=load_gfa_model(); print(time.perf_counter()-t)"
    cold = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout) for _ in range(3)]
    code2 = "import torch, time; from pcids.models.gfa import GFAModel, shipped_path; t=time.perf_counter(); GFAModel.load(shipped_path()); print(time.perf_counter()-t)"
    load_only = [float(subprocess.run([sys.executable, "-c", code2], capture_output=True, text=True, check=True).stdout) for _ in range(3)]
    m = load_gfa_model()
    A = np.random.default_rng(0).dirichlet(np.ones(len(ELEMENTS)), size=a.n)
    m.predict_proba_matrix(A[:1000], ELEMENTS)  # warm up
    wall_p, cpu_p = timed(lambda: m.predict_proba_matrix(A, ELEMENTS), a.repeats)
    wall_d, cpu_d = timed(lambda: m.predict_dmax_matrix(A, ELEMENTS), a.repeats)
    wall_f, cpu_f = timed(lambda: m._features(A, ELEMENTS), a.repeats)
    wall_b, cpu_b = timed(lambda: m.predict_matrix(A, ELEMENTS), a.repeats)
    size = sum(os.path.getsize(shipped_path().with_suffix(s)) for s in (".npz", ".json"))
    res = {
        "n": a.n,
        "predict_proba_matrix": {"wall_s": wall_p, "cpu_s": cpu_p, "per_s_wall": a.n / wall_p, "per_s_cpu": a.n / cpu_p},
        "predict_dmax_matrix": {"wall_s": wall_d, "cpu_s": cpu_d, "per_s_wall": a.n / wall_d, "per_s_cpu": a.n / cpu_d},
        "features_only": {"wall_s": wall_f, "cpu_s": cpu_f},
        "predict_matrix": {"wall_s": wall_b, "cpu_s": cpu_b, "per_s_wall": a.n / wall_b, "per_s_cpu": a.n / cpu_b},
        "cold_import_and_load_s": cold,
        "load_only_s": load_only,
        "shipped_files_bytes": size,
    }
    md = "\n".join(
        [
            f"# GFA scoring speed ({a.n:,} random Zr-Ti-Cu-Ni-Be compositions, median of {a.repeats})",
            "",
            "| call | wall (s) | CPU (s) | compositions/s (wall) | compositions/s (CPU) |",
            "|---|---|---|---|---|",
            *[
                f"| {k} | {res[k]['wall_s']:.3f} | {res[k]['cpu_s']:.3f} | {a.n / res[k]['wall_s']:,.0f} | {a.n / res[k]['cpu_s']:,.0f} |"
                for k in ("predict_proba_matrix", "predict_dmax_matrix", "predict_matrix", "features_only")
            ],
            "",
            f"Cold start (new interpreter, import + load shipped model): {', '.join(f'{x:.2f}' for x in cold)} s; "
            f"load alone (torch already imported): {', '.join(f'{x:.3f}' for x in load_only)} s; shipped files {size / 1e6:.2f} MB.",
        ]
    )
    write("gfa_speed", res, md)


if __name__ == "__main__":
    main()

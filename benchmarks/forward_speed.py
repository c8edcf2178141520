"""Forward-model speed (issue 3): training time and batched G+K inference throughput.

* training one paper-size network (G: 2x450, 2000 epochs; K: 2x600, 2100; one
  and two threads) on
  all alloys, and one shipped-architecture ensemble per target;
* inference through the same code path as ``ElasticModel.predict_descriptors``
  (folded layers, stacked members, float32 batched matmuls) for
  (a) the paper-size G and K networks together (the issue's figure) and
  (b) the shipped G and K ensembles; reported with FLOPs per composition and
  the fraction of the float32 matmul limit (nominal 220 GFLOP/s for this
  machine, and the peak measured in the same run, because the cores are shared).

    python benchmarks/forward_speed.py [--rows 1000000] [--skip-training]

Writes benchmarks/results/forward_speed.json and .md. Report ``uptime`` load with any figure.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from pcids.datasets import load_elastic
from pcids.descriptors import PaperDescriptors
from pcids.models._inference import Stack as _Stack
from pcids.models.ensemble import ForwardEnsemble, load_elastic_model
from pcids.models.forward import ForwardModel

RESULTS = Path(__file__).parent / "results"
NOMINAL_PEAK = 220e9


def flops(stack_layers: list[list[tuple[np.ndarray, np.ndarray]]]) -> float:
    return float(sum(2 * W.shape[0] * W.shape[1] for layers in stack_layers for W, _ in layers))


def throughput(stack: _Stack, X: np.ndarray, repeats: int = 3) -> float:
    stack(X[:20000])  # warm-up
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        stack(X)
        best = min(best, time.perf_counter() - t0)
    return X.shape[0] / best


def matmul_peak() -> float:
    a, b = torch.randn(2048, 1024), torch.randn(1024, 1024)
    with torch.inference_mode():
        a @ b
        t0 = time.perf_counter()
        for _ in range(10):
            a @ b
    return 10 * 2 * 2048 * 1024 * 1024 / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--skip-training", action="store_true")
    args = ap.parse_args()
    out: dict = {"load_before": os.getloadavg(), "torch_threads": torch.get_num_threads()}
    df = load_elastic()
    X = PaperDescriptors().transform(df["formula"])  # the paper-size networks take the paper's four
    X_shipped = load_elastic_model().descriptors().transform(df["formula"])
    paper = {}
    for t in ("G", "K"):
        ok = np.isfinite(df[t].to_numpy())
        for threads in (1, 2):
            torch.set_num_threads(threads)
            t0, c0 = time.perf_counter(), time.process_time()
            paper[t] = ForwardModel.paper(t).fit(X[ok], df[t].to_numpy()[ok])
            out[f"train_paper_{t}_seconds_{threads}thread"] = time.perf_counter() - t0
            # CPU seconds of this process (all its threads): less sensitive to other jobs on the box
            out[f"train_paper_{t}_cpu_seconds_{threads}thread"] = time.process_time() - c0
        torch.set_num_threads(1)
        if not args.skip_training:
            t0 = time.perf_counter()
            ForwardEnsemble(target=t).fit(X_shipped[ok], df[t].to_numpy()[ok])
            out[f"train_shipped_ensemble_{t}_seconds_1thread_incl_calibration"] = time.perf_counter() - t0
    torch.set_num_threads(2)
    out["torch_threads_inference"] = 2
    rng = np.random.default_rng(0)

    def queries(F: np.ndarray) -> np.ndarray:
        return rng.uniform(F.min(axis=0), F.max(axis=0), size=(args.rows, F.shape[1])).astype(np.float32)

    Xq, Xq_shipped = queries(X), queries(X_shipped)
    peak = matmul_peak()
    out["matmul_peak_measured_gflops"] = peak / 1e9
    configs = {
        "paper-size G+K pair": ([paper["G"].folded_layers(), paper["K"].folded_layers()], Xq),
        "shipped G+K ensembles": ([m.folded_layers() for ens in (load_elastic_model().G_, load_elastic_model().K_) for m in ens.members_], Xq_shipped),
    }
    for name, (layers, Xc) in configs.items():
        f = flops(layers)
        rate = throughput(_Stack(layers), Xc)
        out[name] = {
            "compositions_per_second": rate,
            "flop_per_composition": f,
            "limit_nominal_per_second": NOMINAL_PEAK / f,
            "fraction_of_nominal_limit": rate * f / NOMINAL_PEAK,
            "fraction_of_measured_peak": rate * f / peak,
        }
    model = load_elastic_model()
    model.predict_descriptors(Xq_shipped[:20000])
    t0 = time.perf_counter()
    model.predict_descriptors(Xq_shipped)
    out["shipped predict_descriptors (incl. mean/std)"] = {"compositions_per_second": args.rows / (time.perf_counter() - t0)}
    out["load_after"] = os.getloadavg()
    out["command"] = f"python benchmarks/forward_speed.py --rows {args.rows}" + (" --skip-training" if args.skip_training else "")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "forward_speed.json").write_text(json.dumps(out, indent=1) + "\n")
    lines = ["# Forward models: speed", "", f"Load average before/after: {out['load_before']} / {out['load_after']} (2 cores, shared).", ""]
    for k, v in out.items():
        if isinstance(v, dict):
            lines.append(f"- **{k}**: " + ", ".join(f"{kk} = {vv:,.3g}" for kk, vv in v.items()))
        elif "seconds" in k or "gflops" in k:
            lines.append(f"- {k}: {v:.1f}")
    lines += ["", f"Command: `{out['command']}`"]
    (RESULTS / "forward_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Choose the shipped ensemble's architecture: CV accuracy and inference cost together.

For each candidate, a 5-member ForwardEnsemble is cross-validated on all
alloys (5-fold, out of fold; this is the same run that calibrates sigma) for
G and K, and the G+K pair of ensembles is timed through the stacked
inference path. A smaller network that is as accurate is preferred because
the corrector scores tens of millions of candidates.

    python benchmarks/screens/forward_architecture.py --candidates "32,32:0.1:0.01:1000" "64,64:0.1:0.01:1000"

Candidate syntax: hidden:dropout:lr:epochs. Appends to
benchmarks/results/screens/<name>.json and rewrites <name>.md (``--name``, default
forward_architecture); ``--features`` picks the weighted-mean inputs (default
the paper's four, with which the shipped 2 x 64 was chosen).
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
from pcids.descriptors import PAPER_FEATURES, WeightedMeans
from pcids.models._inference import Stack as _Stack
from pcids.models.ensemble import ForwardEnsemble

from _setup import RESULTS


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--candidates", nargs="+", required=True)
    ap.add_argument("--members", type=int, default=5)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--features", default=",".join(PAPER_FEATURES))
    ap.add_argument("--name", default="forward_architecture")
    args = ap.parse_args()
    df = load_elastic()
    X = WeightedMeans(tuple(args.features.split(","))).transform(df["formula"])
    path = RESULTS / f"{args.name}.json"
    rows = json.loads(path.read_text()) if path.exists() else []
    for cand in args.candidates:
        hidden, dropout, lr, epochs = cand.split(":")
        params = dict(
            hidden_layer_sizes=tuple(int(h) for h in hidden.split(",")), dropout=float(dropout),
            learning_rate=float(lr), epochs=int(epochs), n_members=args.members, calibration_folds=args.folds,
        )
        row: dict = {"candidate": cand, "features": args.features, **{k: v for k, v in params.items()}, "load_before": os.getloadavg()[0]}
        layers = []
        for t in ("G", "K"):
            ok = np.isfinite(df[t].to_numpy())
            torch.set_num_threads(1)
            t0 = time.perf_counter()
            ens = ForwardEnsemble(**params, target=t).fit(X[ok], df[t].to_numpy()[ok])
            row[f"{t}_fit_seconds"] = time.perf_counter() - t0
            row[f"{t}_oof"] = ens.oof_metrics_
            layers += [m.folded_layers() for m in ens.members_]
        torch.set_num_threads(2)
        stack = _Stack(layers)
        Xq = np.random.default_rng(0).uniform(X.min(0), X.max(0), (500_000, X.shape[1])).astype(np.float32)
        stack(Xq[:10000])
        t0 = time.perf_counter()
        stack(Xq)
        row["pair_compositions_per_second"] = len(Xq) / (time.perf_counter() - t0)
        row["pair_flop_per_composition"] = float(sum(2 * W.size for ls in layers for W, _ in ls))
        row["load_after"] = os.getloadavg()[0]
        print(json.dumps(row), flush=True)
        rows = [r for r in rows if (r["candidate"], r["n_members"], r.get("features")) != (cand, args.members, args.features)] + [row]
        RESULTS.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows, indent=1) + "\n")
    lines = ["# Shipped-architecture choice: 5-fold OOF ensemble accuracy vs inference cost", "",
             f"Inputs: {args.features} (weighted means).", "",
             "| candidate (hidden:dropout:lr:epochs) | members | G OOF R² | G RMSE | K OOF R² | K RMSE | G+K FLOP/comp. | G+K comp./s (2 threads) | load |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['candidate']} | {r['n_members']} | {r['G_oof']['r2']:.4f} | {r['G_oof']['rmse']:.2f} | {r['K_oof']['r2']:.4f} | "
                     f"{r['K_oof']['rmse']:.2f} | {r['pair_flop_per_composition']:,.0f} | {r['pair_compositions_per_second']:,.0f} | {r['load_before']:.1f} |")
    lines += ["", f"Command: `python benchmarks/screens/forward_architecture.py --features {args.features} --name {args.name} --candidates <hidden:dropout:lr:epochs> ...`"]
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

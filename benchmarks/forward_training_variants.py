"""Training-side variants of the shipped forward ensemble, chosen by CV inside the training part (issue 3).

Only changes that leave inference cost unchanged are compared (same 2x64
architecture, same 5 members): the learning-rate schedule, weight decay,
dropout. Each variant is scored by out-of-fold R² of the whole ensemble in
5-fold CV on the *training part* of the benchmark's paper split (seed 0,
80 %); that split's 20 % test part is never used here. The winner is then
measured on the benchmark's protocols by ``benchmarks/forward_accuracy.py``.

    python benchmarks/forward_training_variants.py --targets G,K --variants base,cosine,cosine_wd

Writes benchmarks/results/forward_training_variants[_<name>].json and .md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from pcids.datasets import data_hash, load_elastic
from pcids.descriptors import PaperDescriptors
from pcids.evaluation import random_splits, regression_metrics, repeated_kfold
from pcids.models.ensemble import ForwardEnsemble

RESULTS = Path(__file__).parent / "results"

VARIANTS: dict[str, dict] = {
    "base": {},
    "cosine": {"lr_schedule": "cosine"},
    "cosine_wd": {"lr_schedule": "cosine", "weight_decay": 1e-4},
    "wd": {"weight_decay": 1e-4},
    "cosine_2000": {"lr_schedule": "cosine", "epochs": 2000},
    "cosine_d02": {"lr_schedule": "cosine", "dropout": 0.2},
}


def run(targets: list[str], variants: list[str], folds: int, seed: int) -> dict:
    df = load_elastic()
    X_all = PaperDescriptors().transform(df["formula"])
    out: dict = {"targets": {}, "settings": {"folds": folds, "seed": seed, "data_hash": data_hash("elastic"),
                                            "variants": {v: VARIANTS[v] for v in variants}}}
    for t in targets:
        ok = np.isfinite(df[t].to_numpy())
        X, y = X_all[ok], df[t].to_numpy()[ok]
        tr, _ = random_splits(len(y), 1, 0.2, seed)[0]  # the paper split; its test part is never touched
        X, y = X[tr], y[tr]
        for v in variants:
            t0 = time.time()
            oof = np.full(len(y), np.nan)
            for a, b in repeated_kfold(len(y), folds, 1, seed=seed):
                ens = ForwardEnsemble(target=t, seed=seed, calibration_folds=0, **VARIANTS[v]).fit(X[a], y[a])
                oof[b] = ens.predict(X[b])
            rec = {**regression_metrics(y, oof), "seconds": time.time() - t0}
            out["targets"].setdefault(t, {})[v] = rec
            print(f"{t} {v}: OOF R² {rec['r2']:.4f} RMSE {rec['rmse']:.3f} ({rec['seconds']:.0f} s)", flush=True)
    return out


def markdown(res: dict) -> str:
    s = res["settings"]
    lines = [
        "# Forward ensemble: training-side variants by CV inside the training part",
        "",
        f"5-member 2x64 ensembles; {s['folds']}-fold out-of-fold R² / RMSE on the training part (80 %) of the "
        f"paper split (seed {s['seed']}); the test part is not used. Variants: "
        + "; ".join(f"`{k}` = {v or 'shipped settings'}" for k, v in s["variants"].items()),
        "",
        "| target | variant | OOF R² | OOF RMSE | seconds |",
        "|---|---|---|---|---|",
    ]
    for t, per in res["targets"].items():
        for v, r in per.items():
            lines.append(f"| {t} | {v} | {r['r2']:.4f} | {r['rmse']:.3f} | {r['seconds']:.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", default="G,K")
    ap.add_argument("--variants", default="base,cosine,cosine_wd")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--name", default="")
    args = ap.parse_args()
    torch.set_num_threads(1)
    res = run(args.targets.split(","), args.variants.split(","), args.folds, args.seed)
    cmd = "python benchmarks/forward_training_variants.py " + " ".join(
        f"--{k} {v}" for k, v in vars(args).items() if v != ""
    )
    res["settings"]["command"] = cmd
    stem = "forward_training_variants" + (f"_{args.name}" if args.name else "")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(res, indent=1) + "\n")
    (RESULTS / f"{stem}.md").write_text(markdown(res) + f"\nCommand: `{cmd}`\n")
    print(markdown(res))


if __name__ == "__main__":
    main()

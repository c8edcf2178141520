"""Training-side variants of the shipped forward ensemble, chosen by CV inside the training part (issue 3).

Only changes that leave inference cost (nearly) unchanged are compared (same
2x64 architecture, same 5 members): the learning-rate schedule, weight decay,
dropout, epochs, other layer shapes of the same cost, and training on log(y) (one exp per member output at
inference; evaluated here without product support, by exponentiating the
members' outputs). Each variant is scored by out-of-fold R² of the whole ensemble in
5-fold CV on the *training part* of the benchmark's paper split (seed 0,
80 %); that split's 20 % test part is never used here. The winner is then
measured on the benchmark's protocols by ``benchmarks/forward_accuracy.py``.

    python benchmarks/screens/forward_training_variants.py --targets G,K --variants base,cosine,cosine_wd

Writes benchmarks/results/screens/forward_training_variants[_<name>].json and .md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from _setup import RESULTS, write
import torch

from pcids.datasets import data_hash, load_elastic
from pcids.descriptors import PaperDescriptors
from pcids.evaluation import random_splits, regression_metrics, repeated_kfold
from pcids.models.ensemble import ForwardEnsemble


VARIANTS: dict[str, dict] = {
    "base": {},
    # the shipped settings with other member seeds (same folds): how much seeds alone move the score
    "base_seeds10": {"seed": 10},
    "base_seeds20": {"seed": 20},
    "cosine": {"lr_schedule": "cosine"},
    "cosine_wd": {"lr_schedule": "cosine", "weight_decay": 1e-4},
    "wd": {"weight_decay": 1e-4},
    "cosine_2000": {"lr_schedule": "cosine", "epochs": 2000},
    "cosine_d02": {"lr_schedule": "cosine", "dropout": 0.2},
    "cosine_wd1e3": {"lr_schedule": "cosine", "weight_decay": 1e-3},
    "cosine_d0": {"lr_schedule": "cosine", "dropout": 0.0},
    # other shapes at the same inference cost as 2x64 (about 4.4 k multiply-adds per member)
    "1x880": {"hidden_layer_sizes": (880,)},
    "3x46": {"hidden_layer_sizes": (46, 46, 46)},
    # members trained on log(y), their exp averaged: errors relative rather than absolute
    "log": {"log_target": True},
    "cosine_log": {"lr_schedule": "cosine", "log_target": True},
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
            params = dict(VARIANTS[v])
            log = params.pop("log_target", False)
            for a, b in repeated_kfold(len(y), folds, 1, seed=seed):
                ens = ForwardEnsemble(**{"target": t, "seed": seed, "calibration_folds": 0, **params})
                if log:
                    ens.fit(X[a], np.log(y[a]))
                    oof[b] = np.exp(ens._stack(X[b]).astype(np.float64)).mean(axis=0)
                else:
                    oof[b] = ens.fit(X[a], y[a]).predict(X[b])
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


def collect() -> str:
    """One table (variant x target) from every forward_training_variants_*.json, with each run's command."""
    rows: dict[str, dict[str, dict]] = {}
    cmds = []
    for f in sorted(RESULTS.glob("forward_training_variants_*.json")):
        res = json.loads(f.read_text())
        cmds.append(res["settings"]["command"])
        for t, per in res["targets"].items():
            for v, r in per.items():
                rows.setdefault(v, {})[t] = r
    lines = [
        "# Forward ensemble: training-side variants by CV inside the training part",
        "",
        "5-member 2x64 ensembles (the shipped architecture); 5-fold out-of-fold R² / RMSE on the training part (80 %) "
        "of the benchmark's paper split (seed 0). The split's test part is not used for this choice.",
        "",
        "| variant | settings | G OOF R² | G OOF RMSE | K OOF R² | K OOF RMSE |",
        "|---|---|---|---|---|---|",
    ]
    for v, per in rows.items():
        cells = []
        for t in ("G", "K"):
            cells += [f"{per[t]['r2']:.4f}", f"{per[t]['rmse']:.3f}"] if t in per else ["-", "-"]
        lines.append(f"| {v} | {VARIANTS[v] or 'shipped (constant lr 0.01, no weight decay, dropout 0.1, 1000 epochs)'} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "All variants lie within about +-0.002 OOF R² of the shipped settings. Member seeds alone (`base`, "
        "`base_seeds10`, `base_seeds20`: same settings and folds) move G by 0.0002 and K by 0.0016, so for K no "
        "variant is distinguishable from seed noise; for G the cosine variants gain about 0.0013-0.0018. "
        "The best over both targets, `cosine`, was run on the benchmark's own splits "
        "(`forward_accuracy_random_cosine.md`, `forward_accuracy_grouped_cosine.md`) and did not improve both the "
        "10-split mean and the grouped CV, so the shipped models were not changed.",
    ]
    lines += ["", "Commands:", ""] + [f"- `{c}`" for c in cmds]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", default="G,K")
    ap.add_argument("--variants", default="base,cosine,cosine_wd")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--name", default="")
    ap.add_argument("--collect", action="store_true", help="only merge the existing results into forward_training_variants.md")
    args = ap.parse_args()
    if args.collect:
        (RESULTS / "forward_training_variants.md").write_text(collect())
        return
    torch.set_num_threads(1)
    res = run(args.targets.split(","), args.variants.split(","), args.folds, args.seed)
    cmd = "python benchmarks/screens/forward_training_variants.py " + " ".join(
        f"--{k} {v}" for k, v in vars(args).items() if v != "" and k != "collect"
    )
    res["settings"]["command"] = cmd
    stem = "forward_training_variants" + (f"_{args.name}" if args.name else "")
    write(stem, res, markdown(res) + f"\nCommand: `{cmd}`\n")


if __name__ == "__main__":
    main()

"""Screen: blend the shipped GFA classifier with issue 5's prototype (selection folds only).

Reads the out-of-fold probabilities that ``gfa_accuracy.py`` wrote for the
shipped classifier (``gfa_selection_seed{S}_hgbw_oof_*``, column ``p_nodglass``:
the shipped settings) and for the prototype (``gfa_selection_seed{S}_quick_oof_*``,
``--models quick``), and scores w * logit(shipped) + (1 - w) * logit(prototype)
by mean per-fold ROC-AUC on the same folds.

    python benchmarks/gfa_accuracy.py --models quick --seed 1 --name screens/gfa_selection_seed1_quick   # and seed 2
    python benchmarks/screens/gfa_blend_selection.py

Writes benchmarks/results/screens/gfa_blend_selection.json and .md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _setup import RESULTS, folds, write
from sklearn.metrics import roc_auc_score

from pcids.datasets import load_gfa

WEIGHTS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def main() -> None:
    df = load_gfa()
    rows = []
    for seed in (1, 2):
        for proto in ("stratified", "grouped"):
            a = pd.read_csv(RESULTS / f"gfa_selection_seed{seed}_hgbw_oof_{proto}.csv.gz")
            b = pd.read_csv(RESULTS / f"gfa_selection_seed{seed}_quick_oof_{proto}.csv.gz")
            if not (a["formula"] == b["formula"]).all():
                raise SystemExit("OOF files are not row-aligned")
            y = a["label"].to_numpy()
            auc = {}
            for w in WEIGHTS:
                s = w * logit(a["p_nodglass"].to_numpy()) + (1 - w) * logit(b["p_quick"].to_numpy())
                per = [roc_auc_score(y[m], s[m]) for _, te in folds(df, proto, seed) for m in [te[np.isfinite(y[te])]]]
                auc[w] = float(np.mean(per))
            rows.append({"seed": seed, "protocol": proto, "roc_auc": auc})
    lines = ["# GFA classifier blended with the prototype (selection folds; mean per-fold ROC-AUC)", "",
             "| seed | protocol | " + " | ".join(f"w = {w}" for w in WEIGHTS) + " |", "|---|---|" + "---|" * len(WEIGHTS)]
    lines += [f"| {r['seed']} | {r['protocol']} | " + " | ".join(f"{r['roc_auc'][w]:.4f}" for w in WEIGHTS) + " |" for r in rows]
    lines += ["", "w = 1 is the shipped classifier alone. Command: `python benchmarks/screens/gfa_blend_selection.py` (after the two `--models quick` runs)."]
    write("gfa_blend_selection", {"rows": [{**r, "roc_auc": {str(k): v for k, v in r["roc_auc"].items()}} for r in rows]}, "\n".join(lines))


if __name__ == "__main__":
    main()

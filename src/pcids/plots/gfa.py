"""GFA figures: reliability diagram of P(Dmax >= threshold), and ROC / precision-recall curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def reliability_table(y: np.ndarray, p: np.ndarray, n_bins: int = 10, strategy: str = "uniform") -> dict[str, Any]:
    """Per-bin mean probability and observed frequency, Brier score and expected calibration error.

    ``strategy`` "uniform" (equal-width bins; most GFA probabilities are near 0,
    so quantile bins would spend most bins there) or "quantile".
    """
    from sklearn.metrics import brier_score_loss

    from pcids.errors import PcidsError

    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    elif strategy == "quantile":
        edges = np.unique(np.quantile(p, np.linspace(0, 1, n_bins + 1)))
    else:
        raise PcidsError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    rows = []
    ece = 0.0
    for b in range(len(edges) - 1):
        sel = idx == b
        if not sel.any():
            continue
        mp, fy = float(p[sel].mean()), float(y[sel].mean())
        rows.append({"p_mean": mp, "observed": fy, "n": int(sel.sum())})
        ece += sel.mean() * abs(mp - fy)
    return {"bins": rows, "brier": float(brier_score_loss(y, p)), "ece": float(ece), "base_rate": float(y.mean())}


def plot_reliability(y: np.ndarray, p: np.ndarray, path: str | Path | None = None, *, n_bins: int = 10, label: str = "GFAModel", ax: Any = None) -> Any:
    """Observed frequency of Dmax >= threshold against the predicted probability (equal-width bins, sized by count)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    table = reliability_table(y, p, n_bins)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfectly calibrated")
    xs = [r["p_mean"] for r in table["bins"]]
    ys = [r["observed"] for r in table["bins"]]
    ns = np.array([r["n"] for r in table["bins"]], dtype=float)
    ax.plot(xs, ys, "-", color="C0", label=f"{label} (Brier {table['brier']:.3f}, ECE {table['ece']:.3f})")
    ax.scatter(xs, ys, s=15 + 200 * np.sqrt(ns / ns.max()), color="C0", zorder=3)
    ax.set_xlabel("predicted P(Dmax >= threshold)")
    ax.set_ylabel("observed fraction")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig


def plot_roc_pr(y: np.ndarray, scores: dict[str, np.ndarray], path: str | Path | None = None) -> Any:
    """ROC and precision-recall curves of several scorers on the same alloys."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from sklearn.metrics import auc, precision_recall_curve, roc_curve

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 4.2))
    for name, s in scores.items():
        fpr, tpr, _ = roc_curve(y, s)
        a1.plot(fpr, tpr, label=f"{name} (AUC {auc(fpr, tpr):.3f})")
        prec, rec, _ = precision_recall_curve(y, s)
        a2.plot(rec, prec, label=name)
    a1.plot([0, 1], [0, 1], color="grey", lw=1, ls="--")
    a1.set_xlabel("false positive rate")
    a1.set_ylabel("true positive rate")
    a2.axhline(float(np.mean(y)), color="grey", lw=1, ls="--", label="base rate")
    a2.set_xlabel("recall")
    a2.set_ylabel("precision")
    for a in (a1, a2):
        a.legend(fontsize=7)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig

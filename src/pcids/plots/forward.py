"""Forward-model figures: parity plots with ensemble error bars (paper Fig. 3), SHAP (Figs. 4-5)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from pcids.evaluation import regression_metrics


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def parity(
    sets: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray | None]],
    target: str,
    path: str | Path | None = None,
) -> Any:
    """Measured vs predicted, one panel per set (e.g. ``{"test": (y, mean, std), "train": ...}``).

    Error bars are +-1 sigma of the ensemble; R² and RMSE are printed in each panel.
    """
    plt = _plt()
    fig, axes = plt.subplots(1, len(sets), figsize=(4.2 * len(sets), 4.0), squeeze=False)
    for ax, (name, (y, mean, std)) in zip(axes[0], sets.items()):
        y, mean = np.asarray(y, float), np.asarray(mean, float)
        ax.errorbar(y, mean, yerr=None if std is None else np.asarray(std, float), fmt="o", ms=3.5, alpha=0.7,
                    elinewidth=0.8, capsize=0, color="tab:blue", ecolor="tab:gray")
        lo, hi = float(min(y.min(), mean.min())), float(max(y.max(), mean.max()))
        pad = 0.05 * (hi - lo)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k--", lw=1)
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
        m = regression_metrics(y, mean)
        ax.text(0.04, 0.95, f"{name}\nR² = {m['r2']:.3f}\nRMSE = {m['rmse']:.2f} GPa\nn = {m['n']}",
                transform=ax.transAxes, va="top", fontsize=9)
        ax.set_xlabel(f"measured {target} (GPa)")
        ax.set_ylabel(f"predicted {target} (GPa)")
        ax.set_aspect("equal")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig


def shap_importance(results: Mapping[str, Any], path: str | Path | None = None) -> Any:
    """Mean |SHAP| per descriptor, one panel per target (paper Fig. 4)."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.2), squeeze=False)
    for ax, (t, res) in zip(axes[0], results.items()):
        imp = res.importance[::-1]
        ax.barh(list(imp.index), imp.to_numpy(), color="tab:red")
        ax.set_xlabel(f"mean |SHAP| on {t} (GPa)")
        ax.set_title(t)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig


def shap_dependence(results: Mapping[str, Any], feature: str = "r", path: str | Path | None = None) -> Any:
    """SHAP value of ``feature`` against its value, with the zero crossing marked (paper Fig. 5)."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.6), squeeze=False)
    for ax, (t, res) in zip(axes[0], results.items()):
        x, s = res.descriptors[feature].to_numpy(), res.values[feature].to_numpy()
        sc = ax.scatter(x, s, c=res.descriptors["Tm"].to_numpy(), s=12, cmap="viridis")
        ax.axhline(0, color="k", lw=0.8)
        x0 = res.sign_change(feature)
        if np.isfinite(x0):
            ax.axvline(x0, color="tab:red", ls="--", lw=1)
            ax.text(x0, ax.get_ylim()[1], f" {x0:.1f}", color="tab:red", va="top", fontsize=9)
        ax.set_xlabel(f"{feature}")
        ax.set_ylabel(f"SHAP value of {feature} on {t} (GPa)")
        fig.colorbar(sc, ax=ax, label="Tm (K)")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig

"""Figures of the inverse models (paper Figs. 10-12).

Inputs are fraction matrices in at.% of shape (n_alloys, 7), zero at padded
slots, as returned by :meth:`pcids.models.inverse.InverseModel.predict`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pcids.errors import PcidsError


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _check(true: np.ndarray, preds: Mapping[str, np.ndarray]) -> np.ndarray:
    true = np.asarray(true, dtype=float)
    if true.ndim != 2:
        raise PcidsError(f"true fractions must be a 2-D matrix (n, 7), got shape {true.shape}")
    if not preds:
        raise PcidsError("give at least one prediction matrix")
    for name, p in preds.items():
        if np.shape(p) != true.shape:
            raise PcidsError(f"prediction {name!r} has shape {np.shape(p)}, expected {true.shape}")
    return true


def _save(fig: Any, path: str | Path | None) -> Any:
    if path is not None:
        fig.savefig(path, dpi=150, bbox_inches="tight")
    return fig


def plot_cloud(true: np.ndarray, preds: Mapping[str, np.ndarray], path: str | Path | None = None) -> Any:
    """Fig. 10: the n x 7 matrices as images on one colour scale (truth first)."""
    plt = _plt()
    true = _check(true, preds)
    mats = {"experimental": true, **{k: np.asarray(v, float) for k, v in preds.items()}}
    vmax = max(float(np.max(m)) for m in mats.values())
    vmin = min(0.0, min(float(np.min(m)) for m in mats.values()))
    fig, axes = plt.subplots(1, len(mats), figsize=(2.4 * len(mats) + 1, 6), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, (name, m) in zip(axes, mats.items()):
        im = ax.imshow(m, aspect="auto", cmap="viridis", vmin=vmin, vmax=vmax, interpolation="bicubic")
        ax.set_title(name, fontsize=9)
        ax.set_xticks(range(m.shape[1]), [str(i + 1) for i in range(m.shape[1])])
        ax.set_xlabel("element slot")
    axes[0].set_ylabel("test alloy")
    fig.colorbar(im, ax=list(axes), label="at.%")
    return _save(fig, path)


def plot_abs_error(true: np.ndarray, preds: Mapping[str, np.ndarray], path: str | Path | None = None) -> Any:
    """Fig. 11: |predicted - true| per alloy and slot, one panel per model, shared scale."""
    plt = _plt()
    true = _check(true, preds)
    errs = {k: np.abs(np.asarray(v, float) - true) for k, v in preds.items()}
    vmax = max(float(np.max(e)) for e in errs.values())
    fig, axes = plt.subplots(1, len(errs), figsize=(2.6 * len(errs) + 1, 6), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, (name, e) in zip(axes, errs.items()):
        im = ax.imshow(e, aspect="auto", cmap="Reds", vmin=0, vmax=vmax, interpolation="nearest")
        ax.set_title(f"{name}\nmean {e[true > 0].mean():.1f} at.% (real slots)", fontsize=9)
        ax.set_xticks(range(e.shape[1]), [str(i + 1) for i in range(e.shape[1])])
        ax.set_xlabel("element slot")
    axes[0].set_ylabel("test alloy")
    fig.colorbar(im, ax=list(axes), label="absolute error (at.%)")
    return _save(fig, path)


def plot_parity_by_n_elements(
    true: np.ndarray, preds: Mapping[str, np.ndarray], n_elements: Sequence[int], path: str | Path | None = None
) -> Any:
    """Fig. 12: predicted vs true at.% of the real elements, one panel per element count and model."""
    from pcids.evaluation import regression_metrics

    plt = _plt()
    true = _check(true, preds)
    n_el = np.asarray(n_elements)
    if len(n_el) != len(true):
        raise PcidsError(f"n_elements has {len(n_el)} entries for {len(true)} alloys")
    counts = sorted(set(n_el.tolist()))
    fig, axes = plt.subplots(len(preds), len(counts), figsize=(2.4 * len(counts), 2.5 * len(preds)), squeeze=False)
    for r, (name, p) in enumerate(preds.items()):
        p = np.asarray(p, float)
        for c, n in enumerate(counts):
            ax = axes[r, c]
            sel = n_el == n
            real = true[sel] > 0
            t, q = true[sel][real], p[sel][real]
            ax.scatter(t, q, s=10, alpha=0.7)
            ax.plot([0, 100], [0, 100], "k--", lw=0.8)
            ax.set_xlim(0, 100)
            ax.set_ylim(min(0, float(q.min(initial=0))), 100)
            r2 = regression_metrics(t, q)["r2"] if len(t) > 1 else float("nan")
            ax.set_title(f"{name}, {n} el. (n={int(sel.sum())})\nR² = {r2:.3f}", fontsize=8)
            if r == len(preds) - 1:
                ax.set_xlabel("true at.%")
            if c == 0:
                ax.set_ylabel("predicted at.%")
    fig.tight_layout()
    return _save(fig, path)

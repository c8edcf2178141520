"""Parallel coordinates of designed compositions, coloured by error (paper Fig. 14)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def plot_parallel_coordinates(
    result: Any,
    path: str | Path | None = None,
    *,
    color_by: str = "error",
    which: str = "explored",
    ax: Any = None,
    cmap: str = "coolwarm",
) -> Any:
    """One line per candidate across the element axes (at.%), blue = small error, red = large.

    ``result`` is a :class:`pcids.design.DesignResult` (``which`` = "explored": every
    candidate evaluated, or "candidates": the top k) or a DataFrame with one
    column per element plus ``color_by``; pass ``elements`` through ``result.attrs``
    or use a DesignResult. The best candidate is drawn in black on top.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    if isinstance(result, pd.DataFrame):
        df, elements = result, list(result.attrs["elements"])
    else:
        df = result.explored if which == "explored" and result.explored is not None else result.candidates
        elements = list(result.elements)
    if color_by not in df.columns:
        raise KeyError(f"no column {color_by!r} to colour by; columns: {list(df.columns)}")
    values = df[color_by].to_numpy(dtype=float)
    if color_by.startswith("error_"):
        values = np.abs(values)
    x = np.arange(len(elements))
    Y = df[elements].to_numpy(dtype=float)
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.6 * len(elements) + 2.5, 4.2))
    else:
        fig = ax.figure
    order = np.argsort(-values)  # best drawn last, on top
    segs = [np.column_stack([x, Y[i]]) for i in order]
    lc = LineCollection(segs, cmap=cmap, linewidths=0.8, alpha=0.7)
    lc.set_array(values[order])
    ax.add_collection(lc)
    best = int(np.argmin(values))
    ax.plot(x, Y[best], color="black", lw=2.2, marker="o", label=f"best: {df['composition'].iloc[best] if 'composition' in df else ''}")
    ax.set_xticks(x, elements)
    ax.set_xlim(-0.2, len(elements) - 0.8)
    pad = 0.05 * max(1.0, float(Y.max() - Y.min()))
    ax.set_ylim(float(Y.min()) - pad, float(Y.max()) + pad)
    ax.set_ylabel("at.%")
    ax.grid(axis="x", color="0.6", lw=0.8)
    label = {"error": "error to targets", "error_G": "|error| in G"}.get(color_by, color_by)
    fig.colorbar(lc, ax=ax, label=label)
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    ax.set_title(f"{len(df)} candidates")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig

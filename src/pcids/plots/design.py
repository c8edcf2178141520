"""Parallel coordinates of a design (paper Fig. 14): the explored band, with the ranked picks marked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: At most this many pool lines are drawn (the best by rank); the rest add ink, not information.
MAX_LINES = 4000


def plot_parallel_coordinates(
    result: Any,
    path: str | Path | None = None,
    *,
    color_by: str = "error",
    which: str = "explored",
    ax: Any = None,
    cmap: str = "coolwarm",
) -> Any:
    """One thin line per explored candidate across the element axes (at.%), coloured by
    ``color_by`` (blue = small error), and the returned candidates drawn on top in the table's
    order: rank 1 in black, labelled, solid where the GFA check passes and dashed where it fails.

    ``result`` is a :class:`pcids.design.DesignResult` (``which="explored"``: the whole pool,
    or ``"candidates"``: the picks only) or a DataFrame with one column per element (in
    ``attrs["elements"]``) plus ``color_by``.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    if isinstance(result, pd.DataFrame):
        band, picks, elements = result, result, list(result.attrs["elements"])
        title, relative = f"{len(result)} candidates", True
    else:
        picks = result.candidates
        band = result.explored if which == "explored" and result.explored is not None else picks
        elements = list(result.elements)
        relative = bool(result.settings.get("relative", True))
        tgt = ", ".join(f"{k} = {v:g}" for k, v in result.targets.items())
        tol = result.settings.get("tolerance")
        tol_s = "" if tol is None else (f", tolerance {100 * tol:g} %" if relative else f", tolerance {tol:g}")
        title = f"{'-'.join(elements)}: {tgt}{' GPa' if any(k != 'nu' for k in result.targets) else ''}{tol_s}"
    if color_by not in band.columns:
        raise KeyError(f"no column {color_by!r} to colour by; columns: {list(band.columns)}")
    band = band.head(MAX_LINES)
    values = band[color_by].to_numpy(dtype=float)
    if color_by.startswith("error"):
        values = np.abs(values)
    x = np.arange(len(elements))
    Y = band[elements].to_numpy(dtype=float)
    Yp = picks[elements].to_numpy(dtype=float)
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.6 * len(elements) + 3.0, 4.6))
    else:
        fig = ax.figure
    order = np.argsort(-values, kind="stable")  # smallest error drawn last, on top
    lc = LineCollection([np.column_stack([x, Y[i]]) for i in order], cmap=cmap, linewidths=0.6, alpha=0.35)
    lc.set_array(values[order])
    ax.add_collection(lc)
    gfa_ok = picks["gfa_pass"].to_numpy(dtype=bool) if "gfa_pass" in picks else np.ones(len(picks), bool)
    ranks = picks["rank"].to_numpy() if "rank" in picks else np.arange(1, len(picks) + 1)
    for j in range(len(picks) - 1, -1, -1):  # rank 1 drawn last, on top
        best = j == 0
        ax.plot(
            x, Yp[j], color="black" if best else "0.25", lw=2.4 if best else 1.2, ls="-" if gfa_ok[j] else "--",
            marker="o" if best else ".", ms=5 if best else 4, zorder=4 if best else 3,
        )
        ax.annotate(str(ranks[j]), (x[-1], Yp[j, -1]), xytext=(4, 0), textcoords="offset points", fontsize=7, va="center", color="black")
    comp = picks["composition"].iloc[0] if "composition" in picks and len(picks) else ""
    ax.plot([], [], color="black", lw=2.4, marker="o", label=f"rank 1: {comp}")
    ax.plot([], [], color="0.25", lw=1.2, label=f"ranks 2-{len(picks)} (as in the table)")
    if not gfa_ok.all():
        ax.plot([], [], color="0.25", lw=1.2, ls="--", label="fails the GFA check")
    ax.set_xticks(x, elements)
    ax.set_xlim(-0.2, len(elements) - 0.6)
    allY = np.vstack([Y, Yp]) if len(Yp) else Y
    pad = 0.05 * max(1.0, float(allY.max() - allY.min()))
    ax.set_ylim(float(allY.min()) - pad, float(allY.max()) + pad)
    ax.set_ylabel("at.%")
    ax.grid(axis="x", color="0.6", lw=0.8)
    kind = "relative" if relative else "absolute"
    label = {"error": f"{kind} error to the targets" + (" (fraction)" if relative else ""), "score": "ranking score (log)"}.get(color_by, color_by)
    fig.colorbar(lc, ax=ax, label=label)
    ax.legend(loc="upper right", fontsize=7, frameon=False)
    ax.set_title(f"{title}\n{len(band):,} explored (thin), {len(picks)} returned (bold, solid = passes the GFA check)", fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig

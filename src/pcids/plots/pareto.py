"""The Pareto figure of a design with several objectives: the explored pool, its Pareto set, the picks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pcids.errors import DesignError

_LABEL = {
    "p_target": "P(targets met)", "error": "error to the targets", "p_gfa": "P(Dmax >= 2 mm)", "dmax_mm": "Dmax (mm, median)",
    "cost": "cost (USD/kg)", "density": "density (g/cm3)",
}


def plot_pareto(result: Any, path: str | Path | None = None, *, ax: Any = None) -> Any:
    """Scatter of the first two objectives (``settings["pareto_objectives"]``) over the explored pool,
    coloured by the third when there is one; the Pareto set (status group of the top candidate) ringed
    and the returned candidates labelled by rank."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    senses = [tuple(s) for s in result.settings.get("pareto_objectives", [])]
    if len(senses) < 2:
        raise DesignError(
            "a Pareto plot needs at least two objectives (the targets count as one): add --maximize / --minimize "
            "(maximize=/minimize=)"
        )
    pool = result.explored if result.explored is not None else result.candidates
    picks = result.candidates
    (cx, sx), (cy, sy) = senses[:2]
    cz = senses[2][0] if len(senses) > 2 else None
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 4.8))
    else:
        fig = ax.figure
    best = pool["status"] == picks["status"].iloc[0] if "status" in pool else np.ones(len(pool), bool)
    rest = pool[~best]
    ax.scatter(rest[cx], rest[cy], s=4, color="0.85", label=f"other status ({len(rest):,})", zorder=1)
    grp = pool[best]
    c = grp[cz].to_numpy(dtype=float) if cz else None
    colour = {"c": c, "cmap": "viridis"} if cz else {"color": "0.55"}
    sc = ax.scatter(grp[cx], grp[cy], s=5, alpha=0.6, zorder=2, label=f"explored, {picks['status'].iloc[0]} ({len(grp):,})", **colour)
    front = grp[grp["pareto"]] if "pareto" in grp else grp.iloc[0:0]
    if len(senses) == 2:  # a 2-D front is a staircase; with more objectives its projection is not
        order = np.argsort(front[cx].to_numpy(dtype=float), kind="stable")
        ax.step(front[cx].to_numpy()[order], front[cy].to_numpy()[order], where="post", color="tab:red", lw=0.8, zorder=3)
    ax.scatter(front[cx], front[cy], s=28, facecolors="none", edgecolors="tab:red", lw=1.0, zorder=4, label=f"Pareto set ({len(front):,})")
    ax.scatter(picks[cx], picks[cy], s=30, color="black", marker="x", zorder=5, label=f"returned ({len(picks)})")
    for _, r in picks.iterrows():
        ax.annotate(str(r["rank"]), (r[cx], r[cy]), xytext=(4, 3), textcoords="offset points", fontsize=7)
    ax.set_xlabel(f"{_LABEL.get(cx, cx)} ({'lower' if sx == 'min' else 'higher'} is better)")
    ax.set_ylabel(f"{_LABEL.get(cy, cy)} ({'lower' if sy == 'min' else 'higher'} is better)")
    if cz:
        fig.colorbar(sc, ax=ax, label=f"{_LABEL.get(cz, cz)} ({'lower' if senses[2][1] == 'min' else 'higher'} is better)")
    st = result.settings
    tgt = ", ".join(
        [f"{k} = {v:g}" for k, v in result.targets.items()]
        + [f"{k} >= {v:g}" for k, v in st.get("at_least", {}).items()] + [f"{k} <= {v:g}" for k, v in st.get("at_most", {}).items()]
    )
    ax.set_title(f"{'-'.join(result.elements)}: {tgt}" + (f"; +{len(senses) - 3} more objective(s) not drawn" if len(senses) > 3 else ""), fontsize=9)
    ax.legend(fontsize=7, frameon=False, loc="best")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig

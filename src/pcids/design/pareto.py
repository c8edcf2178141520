"""The Pareto set of a ranked pool: non-dominated candidates lead, in the ranking's own order.

No well-kept non-dominated-sorting library is installed (pymoo is not), and one front
is all the table needs, so this is the standard sweep: sort lexicographically, and let
each surviving point remove every point it dominates (O(n x front size)).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["non_dominated", "pareto_first"]


def non_dominated(F: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows of ``F`` (n, d; every column minimised) that no other row dominates
    (no worse in every column and better in one). NaN counts as the worst value; equal rows are all kept."""
    F = np.asarray(F, dtype=np.float64)
    if F.ndim != 2:
        raise ValueError(f"F must be 2-D (n, objectives), got shape {F.shape}")
    n = len(F)
    if n == 0:
        return np.zeros(0, bool)
    F = np.where(np.isnan(F), np.inf, F)
    order = np.lexsort(F.T[::-1])
    Fs = F[order]
    alive = np.arange(n)
    i = 0
    while i < len(Fs):
        p = Fs[i]
        keep = np.any(Fs < p, axis=1) | np.all(Fs == p, axis=1)  # not dominated by p (or equal to it)
        alive, Fs = alive[keep], Fs[keep]
        i = int(keep[:i].sum()) + 1
    mask = np.zeros(n, bool)
    mask[order[alive]] = True
    return mask


def pareto_first(ranked: pd.DataFrame, senses: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """With two or more objectives ((column, "min" | "max")), mark each status group's
    non-dominated rows (``pareto``) and move them ahead of the rest of their group, both parts
    keeping the ranking's order. One objective or none: ``ranked`` unchanged."""
    if len(senses) < 2:
        return ranked
    F = np.column_stack([ranked[c].to_numpy(dtype=np.float64) * (1.0 if s == "min" else -1.0) for c, s in senses])
    status = ranked["_s"].to_numpy() if "_s" in ranked else np.zeros(len(ranked), int)
    front = np.zeros(len(ranked), bool)
    for s in np.unique(status):
        rows = np.flatnonzero(status == s)
        front[rows] = non_dominated(F[rows])
    out = ranked.assign(pareto=front)
    order = np.lexsort((np.arange(len(out)), ~front, status))
    return out.iloc[order].reset_index(drop=True)

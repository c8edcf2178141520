"""Rank a pool of lattice compositions by what makes an answer likely right, then pick a diverse top k.

``prefer="likely"`` (default) scores ``log P(targets met) + plausibility_weight *
log density + gfa_weight * log P(GFA) - predictor_weight * L1(x, predictor) / 10``: the
chance the true moduli fall within the tolerance given the calibrated ensemble sigma, a
kernel density of known glass formers of the same or overlapping systems (L1 kernel,
``bandwidth`` at.%), the GFA probability, and closeness to the inverse model's answer;
no hard cut. The top k then alternate between that score and the score without the
predictor term, after a first pick that meets target and GFA check. ``prefer="error"``
is the paper's smallest error, ``"closest"`` the smallest change to the predictor's
composition; these two put the status first (target and GFA met, target only, neither).
The choice and its figures are in docs/decisions.md ("Design ranking").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

from pcids.design.result import STATUS

PREFER = ("likely", "error", "closest")
#: Defaults chosen on the design-recovery selection splits (docs/decisions.md, "Design ranking").
BANDWIDTH = 8.0
PLAUSIBILITY_WEIGHT = 1.0
GFA_WEIGHT = 0.5
#: The predictor's answer as a prior: - PREDICTOR_WEIGHT * L1(x, predictor) / PREDICTOR_SCALE;
#: the picks alternate between the score with it and without it (``diverse_picks(other=)``).
PREDICTOR_WEIGHT = 1.0
PREDICTOR_SCALE = 10.0
#: P(GFA) and P(targets) are floored here before the log (a zero would veto a candidate outright).
_FLOOR = 1e-4


@dataclass
class Plausibility:
    """Kernel density of known glass formers in composition space: ``sum w_i exp(-L1(x, r_i) / b)``
    normalised by ``sum w_i``; ``log_density`` is 0 everywhere when there is no reference."""

    reference: np.ndarray  # (r, m) at.%
    weights: np.ndarray  # (r,)
    bandwidth: float = BANDWIDTH

    def log_density(self, A: np.ndarray, chunk: int = 4096) -> np.ndarray:
        A = np.asarray(A, dtype=np.float64)
        if len(self.reference) == 0:
            return np.zeros(len(A))
        logw = np.log(self.weights) - np.log(self.weights.sum())
        out = np.empty(len(A))
        for s in range(0, len(A), chunk):
            z = logw[None, :] - cdist(A[s : s + chunk], self.reference, "cityblock") / self.bandwidth
            zmax = z.max(axis=1, keepdims=True)
            out[s : s + chunk] = (zmax + np.log(np.exp(z - zmax).sum(axis=1, keepdims=True)))[:, 0]
        return out

    def nearest(self, A: np.ndarray) -> np.ndarray:
        """L1 distance (at.%) to the nearest reference alloy (inf without one)."""
        A = np.asarray(A, dtype=np.float64)
        if len(self.reference) == 0:
            return np.full(len(A), np.inf)
        return cdist(A, self.reference, "cityblock").min(axis=1)


def status_codes(target_met: np.ndarray, gfa_pass: np.ndarray) -> np.ndarray:
    """0: target and GFA met, 1: target only, 2: outside tolerance (indices into STATUS)."""
    t, g = np.asarray(target_met, bool), np.asarray(gfa_pass, bool)
    return np.where(t & g, 0, np.where(t, 1, 2))


def likelihood_score(
    p_target: np.ndarray, log_density: np.ndarray, p_gfa: np.ndarray,
    plausibility_weight: float = PLAUSIBILITY_WEIGHT, gfa_weight: float = GFA_WEIGHT,
    predictor_L1: np.ndarray | None = None, predictor_weight: float = PREDICTOR_WEIGHT,
) -> np.ndarray:
    """log P(targets met) + w_p log density + w_g log P(GFA) - w_a L1(x, predictor) / PREDICTOR_SCALE
    (the GFA term is 0 without a GFA model, the predictor's without a predictor)."""
    s = np.log(np.maximum(np.asarray(p_target, dtype=np.float64), _FLOOR)) + plausibility_weight * np.asarray(log_density, dtype=np.float64)
    pg = np.asarray(p_gfa, dtype=np.float64)
    s = s + gfa_weight * np.where(np.isfinite(pg), np.log(np.maximum(pg, _FLOOR)), 0.0)
    if predictor_L1 is not None:
        s = s - predictor_weight * np.asarray(predictor_L1, dtype=np.float64) / PREDICTOR_SCALE
    return s


def rank(table: pd.DataFrame, prefer: str, tie: float) -> pd.DataFrame:
    """The table sorted best first under ``prefer``; expects ``status`` codes in ``_s``, and
    ``score`` (likely) or ``correction_L1`` (closest). "likely" is the score alone (the chance of
    meeting the targets and the GFA check is in it, not a hard cut); the others put the status
    first. Exact ties fall back to the composition text."""
    t = table.copy()
    t["_e"] = np.where(t["error"] <= tie, 0.0, t["error"])
    t["_neg_score"] = -t["score"] if "score" in t else 0.0
    t["_neg_gfa"] = -t["p_gfa"].fillna(0.0)
    if prefer == "likely":
        keys = ["_neg_score", "error"]
    elif prefer == "closest":
        keys = ["_s", "_e", "correction_L1", "sigma_rel", "_neg_gfa"]
    else:
        keys = ["_s", "_e", "sigma_rel", "_neg_gfa"]
    t = t.sort_values([*keys, "composition"], kind="stable")
    return t.drop(columns=["_e", "_neg_score", "_neg_gfa"]).reset_index(drop=True)


def diverse_picks(
    A: np.ndarray, k: int, min_distance: float, floor: float = 0.0, *, other: np.ndarray | None = None, first: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy picks from rows already ranked best first: each next pick is the best row at least
    ``min_distance`` (L1, at.%) from every pick so far. When the pool cannot give k such rows, the
    distance is halved (never below ``floor``) for the remaining picks, and so on.

    ``other``: a second order of the rows (indices); picks then alternate between the two orders
    (a portfolio: the answers hedge between two views of what is likely). ``first``: a row
    picked before all others.

    Returns (row indices in pick order, the spacing each pick was made at).
    """
    A = np.asarray(A, dtype=np.float64)
    n = len(A)
    orders = [np.arange(n)] if other is None else [np.arange(n), np.asarray(other, dtype=np.int64)]
    picked: list[int] = []
    spacing: list[float] = []
    mind = np.full(n, np.inf)
    taken = np.zeros(n, bool)

    def take(j: int, d: float) -> None:
        picked.append(j)
        spacing.append(d)
        taken[j] = True
        np.minimum(mind, np.abs(A - A[j]).sum(axis=1), out=mind)

    d = float(min_distance)
    if first is not None and n:
        take(int(first), d)
    turn = 0
    while len(picked) < min(k, n):
        for _ in range(len(orders)):
            order = orders[turn % len(orders)]
            turn += 1
            ok = order[~taken[order] & (mind[order] >= d - 1e-9)]
            if len(ok):
                take(int(ok[0]), d)
                break
        else:
            if d <= floor or d <= 0:
                break
            d = d / 2 if d / 2 > max(floor, 0.5) else floor
    return np.array(picked, dtype=np.int64), np.array(spacing)


__all__ = ["PREFER", "STATUS", "Plausibility", "status_codes", "likelihood_score", "rank", "diverse_picks"]

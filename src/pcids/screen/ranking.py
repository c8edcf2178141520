"""How a screen ranks compositions and systems: as ``pcids design`` ranks its pool.

The scoring is design's own (:mod:`pcids.design.ranking`: the status codes, the
likelihood score log P(targets) + w_p log plausibility + w_g log P(GFA), the
plausibility and the weights, read when called, so the two cannot drift apart).
Order: status (targets and GFA met, targets only, neither), then the score
(higher first), then the error. This module adds what a screen needs beyond
one design: keys that compare across systems, the bounds that let the coarse
search skip the plausibility and the GFA model where a composition cannot
reach a system's top, and a plausibility for a system no known glass former
touches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from pcids.design import ranking as design_ranking
from pcids.design.result import STATUS, STATUS_CONSTRAINTS

#: The largest L1 distance between two compositions (at.%).
_MAX_L1 = 200.0


def weights() -> tuple[float, float]:
    """(plausibility weight, GFA weight): design's defaults."""
    return float(design_ranking.PLAUSIBILITY_WEIGHT), float(design_ranking.GFA_WEIGHT)


def bandwidth() -> float:
    return float(design_ranking.BANDWIDTH)


def no_reference_log_density() -> float:
    """log density of a system that no known glass former touches: as if the nearest were 200 at.%
    away (the farthest any composition can be). ``design`` leaves it at 0 there, the highest value,
    which is harmless within one system but would put every such system first in a screen."""
    return -_MAX_L1 / bandwidth()


def score(p_target: np.ndarray, log_density: np.ndarray, p_gfa: np.ndarray, p_constraints: np.ndarray | None = None) -> np.ndarray:
    """design's likelihood score with design's weights; with constraints, plus the log of their joint
    probability (floored as design floors it), as design's score table adds it."""
    w_p, w_g = weights()
    s = design_ranking.likelihood_score(p_target, log_density, p_gfa, w_p, w_g)
    if p_constraints is not None:
        s = s + np.log(np.maximum(np.asarray(p_constraints, dtype=np.float64), design_ranking._FLOOR))
    return s


def status(target_met: np.ndarray, gfa_pass: np.ndarray) -> np.ndarray:
    """design's status codes: 0 targets and GFA met, 1 targets only, 2 outside tolerance."""
    return design_ranking.status_codes(target_met, gfa_pass)


def can_prune() -> bool:
    """The bounds below hold only with non-negative weights (then log density <= 0 and log P(GFA) <= 0 only lower a score)."""
    w_p, w_g = weights()
    return w_p >= 0 and w_g >= 0


def optimistic(p_target: np.ndarray, target_met: np.ndarray, log_density: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The best (status, score) a composition can still reach while its plausibility (``log_density``
    None) or its GFA verdict is unknown: the GFA can only fail it and lower its score."""
    n = len(p_target)
    ld = np.zeros(n) if log_density is None else log_density
    return np.where(np.asarray(target_met, bool), 0, 2), score(p_target, ld, np.ones(n))


def at_least(st: np.ndarray, s: np.ndarray, kst: int, ks: float) -> np.ndarray:
    """Where (status, score) is as good as or better than (kst, ks): lower status, or the same and a score >= ks."""
    return (st < kst) | ((st == kst) & (s >= ks))


def order(st: np.ndarray, s: np.ndarray, error: np.ndarray, front: np.ndarray | None = None) -> np.ndarray:
    """Row indices best first: status, then (with objectives) the Pareto set before the rest, score (NaN
    last), error, position: design's order (``pareto_first`` on its ranking)."""
    lead = np.zeros(len(st), bool) if front is None else ~np.asarray(front, bool)
    return np.lexsort((np.arange(len(st)), np.nan_to_num(error, nan=np.inf), -np.nan_to_num(s, nan=-np.inf), lead, st))


def minimised(table: Mapping[str, np.ndarray], senses: Sequence[tuple[str, str]]) -> np.ndarray:
    """The objectives as columns to minimise (n, d), from a table of columns."""
    return np.column_stack([np.asarray(table[c], dtype=np.float64) * (1.0 if d == "min" else -1.0) for c, d in senses])


def front(st: np.ndarray, F: np.ndarray) -> np.ndarray:
    """Each status group's non-dominated rows (design's ``pareto_first`` marks the same)."""
    from pcids.design.pareto import non_dominated

    out = np.zeros(len(st), bool)
    for code in np.unique(st):
        rows = np.flatnonzero(st == code)
        out[rows] = non_dominated(F[rows])
    return out


def status_text(code: int, gfa_pass: bool, constraints_pass: bool) -> str:
    """design's label of a status code: code 1 with the GFA passed means a constraint failed."""
    return STATUS_CONSTRAINTS if code == 1 and gfa_pass and not constraints_pass else STATUS[code]


def status_code(text: pd.Series) -> np.ndarray:
    """design's status text back to its code (3 for a system with no candidate)."""
    codes = {**{t: i for i, t in enumerate(STATUS)}, STATUS_CONSTRAINTS: 1}
    return text.map(lambda t: codes.get(t, len(STATUS))).to_numpy(dtype=np.int64)


def row_key(row: pd.Series) -> tuple[int, float, float]:
    """One row's (status, -score, error): lower is better, as :func:`sort_table` orders."""
    sc, err = float(row["score"]), float(row["error"])
    return int(status_code(pd.Series([row["status"]]))[0]), -sc if sc == sc else np.inf, err if err == err else np.inf


def sort_table(df: pd.DataFrame, last: str = "system", senses: Sequence[tuple[str, str]] = ()) -> pd.DataFrame:
    """Rows best first by (status, score, error), then ``last``: how systems are ranked by their best.
    With ``senses`` (several objectives), each status group's Pareto set (column ``pareto``) leads it."""
    keys = df.assign(
        _st=status_code(df["status"]), _s=-df["score"].astype(float).fillna(-np.inf), _e=df["error"].astype(float).fillna(np.inf)
    )
    out = keys.sort_values(["_st", "_s", "_e", last], kind="stable").drop(columns=["_st", "_s", "_e"])
    if len(senses) < 2:
        return out
    from pcids.design.pareto import pareto_first

    return pareto_first(out.assign(_s=status_code(out["status"])), senses).drop(columns="_s")

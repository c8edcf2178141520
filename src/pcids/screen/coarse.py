"""The coarse search a screen runs per system, vectorised over a whole batch of systems.

Every composition of a system on a lattice of step ``step`` at.% (all > 0,
summing to 100, inside the bounds) goes through the forward ensemble in one
call per batch; the GFA model then scores each system's compositions from
the most to the least probable to meet the targets, stopping as soon as no
remaining one can enter the system's top ``keep`` (``ranking.upper_bound``),
so the result equals scoring every composition (checked in the tests).
Runs inside a Dask worker: the models are loaded once per process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from pcids.screen import ranking

#: GFA rows scored per system in the first round (doubling in each later one).
_FIRST_ROUND = 32
#: Columns of every part, in this order.
COLUMNS = [
    "batch", "system", "n_elements", "candidate", "composition", "G", "G_std", "K", "K_std", "E", "E_std",
    "nu", "nu_std", "p_targets", "p_gfa", "dmax_mm", "gfa_pass", "score", "n_lattice", "n_gfa_scored",
]


@dataclass(frozen=True)
class Spec:
    """What every system is searched for: the part of a screen that fixes its numbers."""

    targets: dict[str, float]
    tolerance: float = 0.02
    relative: bool = True
    step: float = 5.0
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    gfa_threshold_mm: float | None = 2.0
    keep: int = 3

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["bounds"] = {e: list(b) for e, b in self.bounds.items()}
        return d


@lru_cache(maxsize=None)
def models(with_gfa: bool) -> tuple[Any, Any]:
    """The shipped forward ensemble and GFA model, loaded once per process (the worker's cache)."""
    from pcids.models.ensemble import load_elastic_model
    from pcids.models.gfa import load_gfa_model

    return load_elastic_model(), (load_gfa_model() if with_gfa else None)


@lru_cache(maxsize=None)
def lattice_units(n: int, total: int) -> np.ndarray:
    """Every (k_1..k_n) with k_i >= 1 summing to ``total``, lexicographic (int16, read-only)."""
    from pcids.corrector import Lattice

    lat = Lattice([f"x{i}" for i in range(n)], np.ones(n, int), np.full(n, total), total, 100.0 / total)
    U = np.concatenate(list(lat.iter_chunks())).astype(np.int16)
    U.setflags(write=False)
    return U


def system_lattice(system: Sequence[str], spec: Spec) -> np.ndarray:
    """The system's coarse lattice in at.% (rows in enumeration order), bounds applied."""
    total = int(round(100.0 / spec.step))
    U = lattice_units(len(system), total)
    ok = np.ones(len(U), dtype=bool)
    for j, e in enumerate(system):
        if e in spec.bounds:
            lo, hi = spec.bounds[e]
            ok &= (U[:, j] * spec.step >= lo - 1e-9) & (U[:, j] * spec.step <= hi + 1e-9)
    return U[ok].astype(np.float64) * spec.step


def gfa_verdict(p: np.ndarray, dmax: np.ndarray, gfa: Any, threshold_mm: float) -> np.ndarray:
    """The design's GFA check: P >= the model's operating point at its own threshold, else Dmax >= threshold."""
    if abs(threshold_mm - float(gfa.threshold_mm)) > 1e-9:
        return dmax >= threshold_mm
    return p >= float(gfa.decision_threshold_)


def predictions(fwd: Any, X: np.ndarray, need_derived: bool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{property: (mean, sigma)} for G, K (and E, nu when asked) from descriptor rows."""
    from pcids.elastic import derived_with_uncertainty

    mean, std = fwd.predict_descriptors(X)
    out = {"G": (mean[:, 0], std[:, 0]), "K": (mean[:, 1], std[:, 1])}
    if need_derived:
        d = derived_with_uncertainty(mean[:, 0], mean[:, 1], std[:, 0], std[:, 1])
        out.update(E=(d["E"], d["E_std"]), nu=(d["nu"], d["nu_std"]))
    return out


def _order(score: np.ndarray, p_t: np.ndarray) -> np.ndarray:
    """Best first: score, then P(targets), then enumeration order (NaN last)."""
    idx = np.arange(len(score))
    return np.lexsort((idx, -np.nan_to_num(p_t, nan=-1.0), -np.nan_to_num(score, nan=-1.0)))


def score_batch(batch: int, systems: Sequence[Sequence[str]], spec: Spec | Mapping[str, Any], prune: bool = True) -> pd.DataFrame:
    """The top ``spec.keep`` coarse candidates of each system (a part: :data:`COLUMNS`)."""
    from pcids.composition import Composition

    if not isinstance(spec, Spec):
        spec = Spec(**{**spec, "bounds": {e: tuple(b) for e, b in spec.get("bounds", {}).items()}})
    with_gfa = spec.gfa_threshold_mm is not None
    fwd, gfa = models(with_gfa)
    systems = [tuple(s) for s in systems]
    lats = [system_lattice(s, spec) for s in systems]
    sizes = np.array([len(a) for a in lats])
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    nd = len(fwd.features_)
    X = np.concatenate([a @ fwd.property_matrix(list(s)) / 100.0 if len(a) else np.empty((0, nd)) for s, a in zip(systems, lats)])
    pred = predictions(fwd, X, need_derived=True)
    p_t = ranking.target_probability(pred, spec.targets, spec.tolerance, spec.relative)
    n = len(p_t)
    p_g, dmax = np.full(n, np.nan), np.full(n, np.nan)
    scored = np.zeros(len(systems), dtype=np.int64)
    if with_gfa:
        _score_gfa(gfa, systems, lats, offsets, p_t, p_g, dmax, scored, spec.keep, prune)
        score = ranking.candidate_score(p_t, p_g)
    else:
        score = ranking.candidate_score(p_t, None)
    rows = []
    for i, s in enumerate(systems):
        a, b = offsets[i], offsets[i + 1]
        top = _order(score[a:b], p_t[a:b])[: spec.keep] + a
        if len(top) == 0:  # the bounds leave no composition: one empty row keeps the system accounted for
            rows.append({"batch": batch, "system": "-".join(s), "n_elements": len(s), "candidate": 0, "composition": "", "n_lattice": 0, "n_gfa_scored": 0})
            continue
        for c, r in enumerate(top, start=1):
            comp = Composition(tuple(zip(s, lats[i][r - a])))
            row = {"batch": batch, "system": "-".join(s), "n_elements": len(s), "candidate": c, "composition": comp.formula_as_written}
            for name, (m, sd) in pred.items():
                row[name], row[f"{name}_std"] = float(m[r]), float(sd[r])
            row.update(p_targets=p_t[r], p_gfa=p_g[r], dmax_mm=dmax[r], score=score[r], n_lattice=int(b - a), n_gfa_scored=int(scored[i]))
            row["gfa_pass"] = bool(gfa_verdict(p_g[r : r + 1], dmax[r : r + 1], gfa, spec.gfa_threshold_mm)[0]) if with_gfa else True
            rows.append(row)
    df = pd.DataFrame(rows).reindex(columns=COLUMNS)
    return df.astype({"batch": "int64", "n_elements": "int64", "candidate": "int64", "n_lattice": "int64", "n_gfa_scored": "int64", "gfa_pass": "bool"})


def _score_gfa(
    gfa: Any, systems: list[tuple[str, ...]], lats: list[np.ndarray], offsets: np.ndarray, p_t: np.ndarray,
    p_g: np.ndarray, dmax: np.ndarray, scored: np.ndarray, keep: int, prune: bool,
) -> None:
    """Fill ``p_g``/``dmax`` where needed: rounds over the still-open systems, one GFA call per round."""
    cols = sorted({e for s in systems for e in s})
    col = {e: j for j, e in enumerate(cols)}
    order = [np.lexsort((np.arange(offsets[i + 1] - offsets[i]), -p_t[offsets[i] : offsets[i + 1]])) for i in range(len(systems))]
    chunk = np.full(len(systems), _FIRST_ROUND if prune else np.iinfo(np.int64).max // 4, dtype=np.int64)
    open_ = [i for i in range(len(systems)) if len(order[i])]
    while open_:
        picks = [offsets[i] + order[i][scored[i] : scored[i] + chunk[i]] for i in open_]
        W = np.zeros((sum(len(p) for p in picks), len(cols)))
        at = 0
        for i, p in zip(open_, picks):
            W[at : at + len(p), [col[e] for e in systems[i]]] = lats[i][p - offsets[i]]
            at += len(p)
        pg, dm = gfa.predict_matrix(W / 100.0, cols)
        at = 0
        still = []
        for i, p in zip(open_, picks):
            p_g[p], dmax[p] = pg[at : at + len(p)], dm[at : at + len(p)]
            at += len(p)
            scored[i] += len(p)
            chunk[i] *= 2
            n_i = len(order[i])
            if scored[i] >= n_i:
                continue
            done = order[i][: scored[i]] + offsets[i]
            s = ranking.candidate_score(p_t[done], p_g[done])
            kth = np.sort(s)[::-1][keep - 1] if len(s) >= keep else -np.inf
            bound = ranking.upper_bound(p_t[offsets[i] + order[i][scored[i]]])
            if not (bound < kth or bound == 0.0):
                still.append(i)
        open_ = still

"""The coarse search a screen runs per system, vectorised over a whole batch of systems.

Every composition of a system on a lattice of step ``step`` at.% (all > 0,
summing to 100, inside the bounds) goes through the forward ensemble in one
call per batch and is ranked as ``pcids design`` ranks its pool
(:mod:`pcids.screen.ranking`). The plausibility (a kernel density of known
glass formers) and the GFA model cost most, so each system's compositions get
them best first, in rounds, until none left can enter its top ``keep`` (the
bounds in ``ranking.optimistic``); the result equals scoring every
composition (checked in the tests). Runs inside a Dask worker: the models
are loaded once per process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from pcids.screen import ranking

#: Rows per system given the plausibility / the GFA model in the first round (doubling in each later one).
_FIRST_DENSITY, _FIRST_GFA = 64, 32
#: Columns of every part, in this order.
COLUMNS = [
    "batch", "system", "n_elements", "candidate", "composition", "G", "G_std", "K", "K_std", "E", "E_std",
    "nu", "nu_std", "error", "p_target", "log_density", "p_gfa", "dmax_mm", "dmax_if_glass_mm", "gfa_pass", "status", "score",
    "n_lattice", "n_density", "n_gfa_scored",
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
    at_least: dict[str, float] = field(default_factory=dict)
    at_most: dict[str, float] = field(default_factory=dict)
    confidence: float = 0.5
    maximize: tuple[str, ...] = ()
    minimize: tuple[str, ...] = ()
    #: Key of the caller's property models on the workers (:func:`user_models`), "" for none.
    models: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["bounds"] = {e: list(b) for e, b in self.bounds.items()}
        d["maximize"], d["minimize"] = list(self.maximize), list(self.minimize)
        return d

    def objectives(self) -> Any:
        """design's ObjectiveSpec of these targets, constraints and objectives."""
        from pcids.design.objectives import ObjectiveSpec

        return ObjectiveSpec(dict(self.targets), dict(self.at_least), dict(self.at_most), tuple(self.maximize), tuple(self.minimize),
                             relative=self.relative, confidence=self.confidence)

    def senses(self) -> list[tuple[str, str]]:
        """design's Pareto objectives ((column, "min" | "max")) when there are several, else none."""
        o = self.objectives()
        return o.senses() if o.multi else []


#: The caller's property models on this process, by key: put there by the worker plugin
#: (``cluster.UserModels``) once per worker, so tasks carry only the key.
_USER: dict[str, dict[str, Any]] = {}


def user_models_key(given: Mapping[str, Any]) -> str:
    """A key for a set of user models: their names and metadata (which holds the weights' SHA-256)."""
    import hashlib
    import json

    if not given:
        return ""
    # metadata where the model has it (a user's model: its weights' SHA-256), else its class: never an address,
    # which would change from run to run and refuse every --resume
    text = json.dumps({n: getattr(m, "metadata_", None) or f"{type(m).__module__}.{type(m).__qualname__}" for n, m in sorted(given.items())},
                      sort_keys=True, default=str)
    return "user-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def set_user_models(key: str, given: Mapping[str, Any]) -> None:
    _USER[key] = dict(given)


def user_models(key: str) -> dict[str, Any]:
    """The user models a task's spec names (none for "")."""
    if not key:
        return {}
    try:
        return _USER[key]
    except KeyError:
        from pcids.errors import ScreenError

        raise ScreenError(f"this Dask worker was not given the screen's user models ({key}); they are sent when the screen starts") from None


@lru_cache(maxsize=None)
def models(with_gfa: bool) -> tuple[Any, Any]:
    """The shipped forward ensemble and GFA model, loaded once per process (the worker's cache)."""
    from pcids.models.ensemble import load_elastic_model
    from pcids.models.gfa import load_gfa_model

    return load_elastic_model(), (load_gfa_model() if with_gfa else None)


@lru_cache(maxsize=None)
def _glass_index() -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """design's known glass formers (crystalline rows dropped, as ``glass_reference`` drops them) as
    arrays, once per process: at.% per element (n, e), at.% in all (n,), formulas, column of each element."""
    from pcids.design.known import default_glass_data

    data = default_glass_data()
    data = data[data["gfa_class"].fillna("") != "crystalline"]
    els = list(data.attrs["elements"])
    M = data[els].to_numpy(dtype=float)
    return M, M.sum(axis=1), data["formula"].to_numpy(), {e: j for j, e in enumerate(els)}


def plausibility(system: Sequence[str]) -> Callable[[np.ndarray], np.ndarray]:
    """design's plausibility of a system's compositions (at.% rows -> log density), from the same
    reference ``glass_reference`` gives, built from arrays: a screen builds one per system."""
    from pcids.design.known import reference_from_amounts
    from pcids.design.ranking import Plausibility

    M, total, formulas, col = _glass_index()
    A = np.column_stack([M[:, col[e]] if e in col else np.zeros(len(M)) for e in system])
    rows = np.flatnonzero((A > 0).sum(axis=1) >= 2)  # the only rows glass_reference can keep
    R, w, _ = reference_from_amounts(A[rows], np.maximum(total[rows] - A[rows].sum(axis=1), 0.0), formulas[rows])
    if len(R) == 0:
        floor = ranking.no_reference_log_density()
        return lambda A: np.full(len(A), floor)
    return Plausibility(R, w, ranking.bandwidth()).log_density


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


def _spec(spec: Spec | Mapping[str, Any]) -> Spec:
    if isinstance(spec, Spec):
        return spec
    return Spec(**{**spec, "bounds": {e: tuple(b) for e, b in spec.get("bounds", {}).items()},
                   "maximize": tuple(spec.get("maximize", ())), "minimize": tuple(spec.get("minimize", ()))})


def score_batch(batch: int, systems: Sequence[Sequence[str]], spec: Spec | Mapping[str, Any], prune: bool = True) -> pd.DataFrame:
    """The top ``spec.keep`` coarse candidates of each system, ranked as ``design`` ranks (a part: :data:`COLUMNS`,
    then the columns of the quantities the targets and constraints name, as design's table has them)."""
    from pcids.composition import Composition
    from pcids.design.objectives import Evaluator, objective_columns
    from pcids.design.quantities import QuantityRegistry
    from pcids.design.result import STATUS

    spec = _spec(spec)
    with_gfa = spec.gfa_threshold_mm is not None
    fwd, gfa = models(with_gfa)
    systems = [tuple(s) for s in systems]
    cols = sorted({e for s in systems for e in s})
    col = {e: j for j, e in enumerate(cols)}
    ospec = spec.objectives()
    moduli = ospec.moduli
    # design's evaluator over the batch's elements: its property rows, and its whole table for the rows that need it
    ev = Evaluator(fwd, gfa, moduli, cols, spec.tolerance, spec.gfa_threshold_mm, spec=ospec,
                   registry=QuantityRegistry(cols, fwd, gfa, user_models(spec.models)))
    lats = [system_lattice(s, spec) for s in systems]
    offsets = np.concatenate([[0], np.cumsum([len(a) for a in lats])]).astype(np.int64)
    nd = len(fwd.features_)
    X = np.concatenate([a @ ev.P[[col[e] for e in s]] / 100.0 if len(a) else np.empty((0, nd)) for s, a in zip(systems, lats)])
    mean, std = fwd.predict_descriptors(X)
    G, K, sG, sK = (np.asarray(v, dtype=np.float64) for v in (mean[:, 0], mean[:, 1], std[:, 0], std[:, 1]))
    n = len(G)
    # the moduli's part of the error and of P(targets): every other target can only raise the one and lower the other
    if moduli.targets:
        err_m = moduli.error(G, K)
        p_m = moduli.probability_within(G, K, sG, sK, max(spec.tolerance, 1e-6))
    else:
        err_m, p_m = np.zeros(n), np.ones(n)
    met_m = err_m <= spec.tolerance
    out: dict[str, np.ndarray] = {"log_density": np.full(n, np.nan)}
    table: dict[str, np.ndarray] = {}
    st = np.full(n, len(STATUS), dtype=np.int64)  # final status where known (len(STATUS): not evaluated)
    score = np.full(n, np.nan)

    def evaluate(rows: np.ndarray, W: np.ndarray) -> None:
        """design's table for at.% rows ``W`` (batch columns): status and score as design's score_table has them."""
        t = ev(W)
        for c in t.columns:
            if c not in table:
                table[c] = np.full(n, np.nan) if t[c].dtype.kind == "f" else np.zeros(n, dtype=t[c].dtype)
            table[c][rows] = t[c].to_numpy()
        ok = t["gfa_pass"].to_numpy(bool) & t["constraints_pass"].to_numpy(bool)
        st[rows] = ranking.status(t["target_met"].to_numpy(bool), ok)
        p_c = t["p_constraints"].to_numpy(float) if ospec.constraints else None
        score[rows] = ranking.score(t["p_target"].to_numpy(float), out["log_density"][rows], t["p_gfa"].to_numpy(float), p_c)

    senses = spec.senses()  # objectives: the Pareto set leads, which the score's bounds cannot prune for
    counts = _best_first(systems, lats, offsets, cols, p_m, met_m, out["log_density"], st, score, evaluate, spec.keep,
                         prune and ranking.can_prune() and not senses)
    done = st < len(STATUS)
    err = np.where(done, table["error"], err_m) if "error" in table else err_m
    extras = [c for c in objective_columns(ospec, [*table, "pareto"]) if c not in COLUMNS]
    F = ranking.minimised(table, senses) if senses else None
    front = np.zeros(n, bool)
    rows = []
    for i, s in enumerate(systems):
        a, b = offsets[i], offsets[i + 1]
        if F is not None:
            front[a:b] = ranking.front(st[a:b], F[a:b])
        top = ranking.order(st[a:b], score[a:b], err[a:b], None if F is None else front[a:b])[: spec.keep] + a
        if len(top) == 0:  # the bounds leave no composition: one empty row keeps the system accounted for
            rows.append({"batch": batch, "system": "-".join(s), "n_elements": len(s), "candidate": 0, "composition": "",
                         "n_lattice": 0, "n_density": 0, "n_gfa_scored": 0})
            continue
        for c, r in enumerate(top, start=1):
            comp = Composition(tuple(zip(s, lats[i][r - a])))
            row = {"batch": batch, "system": "-".join(s), "n_elements": len(s), "candidate": c, "composition": comp.formula_as_written}
            row.update({k: table[k][r] for k in COLUMNS[5:] if k in table})
            row.update({k: table[k][r] for k in extras if k in table})
            if F is not None:
                row["pareto"] = bool(front[r])
            row.update(log_density=out["log_density"][r], status=ranking.status_text(int(st[r]), bool(table["gfa_pass"][r]), bool(table["constraints_pass"][r])), score=score[r], n_lattice=int(b - a),
                       n_density=int(counts[0][i]), n_gfa_scored=int(counts[1][i]))
            rows.append(row)
    df = pd.DataFrame(rows).reindex(columns=COLUMNS + extras)
    ints = ["batch", "n_elements", "candidate", "n_lattice", "n_density", "n_gfa_scored"]
    return df.astype({**{c: "int64" for c in ints}, "gfa_pass": "bool", **{c: "float64" for c in COLUMNS[5 : COLUMNS.index("gfa_pass")]}})


def _best_first(
    systems: list[tuple[str, ...]], lats: list[np.ndarray], offsets: np.ndarray, cols: list[str], p_m: np.ndarray, met_m: np.ndarray,
    ld: np.ndarray, st: np.ndarray, score: np.ndarray, evaluate: Callable[[np.ndarray, np.ndarray], None], keep: int, prune: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Fill ``ld`` (log density) and, through ``evaluate(rows, W)``, the final ``st``/``score`` where a row may
    enter its system's top ``keep``.

    Per round and system: the plausibility for the next rows by their optimistic key without it (from the
    moduli's P(targets) ``p_m`` and ``met_m``), then (one evaluation for all systems) design's table for the
    next rows by their optimistic key with it; a row whose optimistic key is below the system's k-th final
    key is never needed, as that k-th only rises. Returns the rows given the plausibility and the table per system."""
    m = len(systems)
    col = {e: j for j, e in enumerate(cols)}
    dens: list[Callable[[np.ndarray], np.ndarray] | None] = [None] * m  # built on first use
    st0, b0 = ranking.optimistic(p_m, met_m)
    order0 = [np.lexsort((np.arange(offsets[i + 1] - offsets[i]), -b0[offsets[i] : offsets[i + 1]], st0[offsets[i] : offsets[i + 1]])) + offsets[i] for i in range(m)]
    n_dens = np.zeros(m, np.int64)  # prefix of order0 given the plausibility
    pending: list[np.ndarray] = [np.empty(0, np.int64) for _ in range(m)]  # plausibility known, table not
    scored: list[list[np.ndarray]] = [[] for _ in range(m)]
    n_eval = np.zeros(m, np.int64)
    chunk_d = np.full(m, _FIRST_DENSITY if prune else np.iinfo(np.int64).max // 4, np.int64)
    chunk_g = np.full(m, _FIRST_GFA if prune else np.iinfo(np.int64).max // 4, np.int64)
    open_ = [i for i in range(m) if len(order0[i])]

    def kth(i: int) -> tuple[int, float] | None:
        """System i's k-th best final (status, score) so far, or None with fewer than ``keep`` rows scored."""
        if not prune or not scored[i]:
            return None
        r = np.concatenate(scored[i])
        if len(r) < keep:
            return None
        j = np.lexsort((-score[r], st[r]))[keep - 1]
        return int(st[r][j]), float(score[r][j])

    while open_:
        eval_rows: list[np.ndarray] = []
        for i in open_:
            k = kth(i)
            if n_dens[i] < len(order0[i]) and (k is None or ranking.at_least(st0[order0[i][n_dens[i]]], b0[order0[i][n_dens[i]]], *k)):
                new = order0[i][n_dens[i] : n_dens[i] + chunk_d[i]]
                if dens[i] is None:
                    dens[i] = plausibility(systems[i])
                ld[new] = dens[i](lats[i][new - offsets[i]])
                n_dens[i] += len(new)
                chunk_d[i] *= 2
                pending[i] = np.concatenate([pending[i], new])
            p = pending[i]
            if len(p):
                stp, bp = ranking.optimistic(p_m[p], met_m[p], ld[p])
                keep_order = np.lexsort((p, -bp, stp))
                p, stp, bp = p[keep_order], stp[keep_order], bp[keep_order]
                if k is not None:
                    p = p[ranking.at_least(stp, bp, *k)]  # the rest can never enter the top
                take, pending[i] = p[: chunk_g[i]], p[chunk_g[i] :]
                chunk_g[i] *= 2
                eval_rows.append(take)
            else:
                eval_rows.append(np.empty(0, np.int64))
        rows = np.concatenate(eval_rows) if eval_rows else np.empty(0, np.int64)
        if len(rows):
            W = np.zeros((len(rows), len(cols)))
            at = 0
            for i, take in zip(open_, eval_rows):
                W[at : at + len(take), [col[e] for e in systems[i]]] = lats[i][take - offsets[i]]
                at += len(take)
            evaluate(rows, W)
        still = []
        for i, take in zip(open_, eval_rows):
            if len(take):
                scored[i].append(take)
                n_eval[i] += len(take)
            if len(pending[i]) or n_dens[i] < len(order0[i]):
                k = kth(i)
                nxt = order0[i][n_dens[i]] if n_dens[i] < len(order0[i]) else None
                more_d = nxt is not None and (k is None or ranking.at_least(st0[nxt], b0[nxt], *k))
                if more_d or len(pending[i]):
                    still.append(i)
        open_ = still
    return n_dens, n_eval

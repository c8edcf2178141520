"""Inverse design of metallic glasses: elements and target moduli in, ranked compositions out.

:func:`design` runs checks -> known alloys -> start points -> search -> rank -> diverse top k ->
:class:`DesignResult`. The search strategies are in :mod:`pcids.design.search` (exhaustive
lattice, global walk + exact polish, the paper's predictor -> corrector), the ranking in
:mod:`pcids.design.ranking`; the decisions and their measurements in docs/decisions.md.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pcids.composition import Composition
from pcids.design.checks import (
    MAX_ELEMENTS,
    TARGETS,
    check_bounds,
    check_design_elements,
    check_number,
    check_target_consistency,
    check_targets,
    warn_gfa_threshold,
    warn_target_range,
)
from pcids.design.known import default_glass_data, glass_reference, known_meeting_targets, nearest_known
from pcids.design.objectives import Evaluator, Objective, ObjectiveSpec, make_scorer, moduli_for_predictor, objective_columns
from pcids.design.pareto import pareto_first
from pcids.design.quantities import MODULI, PropertyPredictor, QuantityRegistry
from pcids.design import ranking as _ranking
from pcids.design.ranking import PREFER, Plausibility, diverse_picks, likelihood_score, rank, status_codes
from pcids.design.result import STATUS, STATUS_CONSTRAINTS, DesignResult
from pcids.design.search import (
    EXHAUSTIVE_UP_TO,
    box_limits,
    exhaustive_pool,
    full_lattice,
    global_pool,
    paper_pool,
    project,
    project_simplex,
    random_starts,
    unique_rows,
)
from pcids.errors import DesignError, ExtrapolationWarning

STRATEGIES = ("auto", "exhaustive", "global", "paper")
#: Slots of the inverse model: with more elements there is no predictor.
N_SLOTS = 7

__all__ = [
    "design", "DesignResult", "Objective", "TARGETS", "STATUS", "STRATEGIES", "PREFER", "MAX_ELEMENTS",
    "check_design_elements", "check_targets", "check_bounds", "make_scorer", "moduli_for_predictor", "project",
    "ObjectiveSpec", "PropertyPredictor", "QuantityRegistry", "check_objective_names",
]


def design(
    elements: Sequence[str],
    targets: Mapping[str, float] | None = None,
    *,
    tolerance: float = 0.02,
    relative: bool = True,
    aggregate: str = "max",
    E: float = 5.0,
    h: float = 1.0,
    top_k: int = 10,
    min_distance: float = 10.0,
    strategy: str = "auto",
    exhaustive: bool = False,
    gfa_threshold_mm: float | None = 2.0,
    gfa_min_probability: float | None = None,
    bounds: Mapping[str, tuple[float | None, float | None]] | None = None,
    fixed: Mapping[str, float] | None = None,
    max_iterations: int = 4,
    max_E: float = 15.0,
    max_widen_candidates: int = 2_000_000,
    tie_resolution: float | None = None,
    prefer: str = "likely",
    bandwidth: float | None = None,
    plausibility_weight: float | None = None,
    gfa_weight: float | None = None,
    predictor_weight: float | None = None,
    n_random: int = 64,
    seed: int = 0,
    progress: bool = False,
    forward: Any = None,
    inverse: Any = None,
    gfa: Any = None,
    data: pd.DataFrame | None = None,
    glass_data: pd.DataFrame | None = None,
    at_least: Mapping[str, float] | None = None,
    at_most: Mapping[str, float] | None = None,
    maximize: Sequence[str] = (),
    minimize: Sequence[str] = (),
    confidence: float = 0.5,
    models: Mapping[str, Any] | Sequence[Any] | None = None,
) -> DesignResult:
    """Compositions of ``elements`` predicted to reach ``targets`` and to cast as bulk glasses.

    Parameters
    ----------
    elements : list of str
        2 to 12 element symbols (more than 7: no predictor, the search starts from
        known alloys and random points).
    targets : {name: value}
        Any predicted quantity (:mod:`pcids.design.quantities`): the moduli G, K, E (GPa)
        and nu (physically inconsistent sets are refused), the shipped property models
        (Tg, Tx, ...), ``models``' names, ``Dmax`` (mm), ``p_gfa``, ``density`` (g/cm3), ``cost`` (USD/kg).
    at_least, at_most : {name: bound}, optional
        Constraints, met when the joint probability of all of them (from sigma; for Dmax the
        GFA mixture) reaches ``confidence`` (0.5: more likely than not); the table shows each.
    maximize, minimize : list of name
        Objectives. With more than one objective (the targets' error counts as one) the
        Pareto set of the candidates leads the table (column ``pareto``), ranked within it
        by ``prefer``.
    models : {name: PropertyPredictor} or list, optional
        Further property models (``predict_matrix(A, elements) -> (mean, std)``), e.g. a user's.
    tolerance : float
        Largest acceptable error (relative fraction by default, GPa if ``relative=False``).
    E, h : float
        The paper corrector's half-width and the lattice step, at.% (paper: 5 and 1).
    top_k, min_distance : int, float
        Candidates returned, picked best first so that every pair is at least
        ``min_distance`` at.% apart (L1); when the pool cannot give that many, the
        remaining picks are made at half the distance, and so on (the trace says so).
    strategy : {"auto", "exhaustive", "global", "paper"}
        "auto": the whole lattice when it holds at most 200,000 points, else the
        global search; "paper": predictor -> corrector (the paper's scheme).
        ``exhaustive=True`` is ``strategy="exhaustive"``.
    gfa_threshold_mm : float or None
        Dmax a candidate must reach; None skips the GFA check.
    bounds, fixed : mappings
        ``{element: (min, max)}`` at.% limits and ``{element: at.%}`` fixed amounts.
    max_iterations, max_E, max_widen_candidates
        The paper strategy's recentring loop (searches, largest half-width, box budget).
    prefer : {"likely", "error", "closest"}
        "likely": P(targets met) x plausibility x P(GFA) x closeness to the predictor's
        answer, no hard cut (docs/decisions.md); "error": the smallest error (the paper's);
        "closest": the smallest change to the predictor's composition. These two put
        candidates meeting the checks first.
    bandwidth, plausibility_weight, gfa_weight, predictor_weight : float, optional
        The "likely" score's kernel width (at.%) and weights (defaults in
        :mod:`pcids.design.ranking`).
    n_random, seed : int
        Random restarts of the global search and their seed.
    forward, inverse, gfa : fitted models, optional
        Defaults: the shipped models.
    data, glass_data : DataFrame, optional
        Measured moduli (known alloys, nearest known) and known glass formers
        (plausibility, start points); defaults: the bundled tables.
    """
    from pcids.datasets import load_elastic

    # -- checks -----------------------------------------------------------------
    elements = check_design_elements(elements)
    targets, other_targets = check_objective_names(targets, at_least, at_most, maximize, minimize, models)
    check_number("tolerance", tolerance)
    check_number("step h", h, strict=True, what=" at.%")
    if not (isinstance(E, (int, float)) and math.isfinite(E)) or E < h:
        raise DesignError(f"correction size E must be at least the step h = {h:g} at.%, got {E!r}")
    check_number("top_k", top_k, minimum=1, integer=True)
    check_number("max_iterations", max_iterations, minimum=1, integer=True)
    check_number("min_distance", min_distance, what=" at.%")
    if gfa_threshold_mm is not None and not (isinstance(gfa_threshold_mm, (int, float)) and math.isfinite(gfa_threshold_mm) and gfa_threshold_mm > 0):
        raise DesignError(f"gfa_threshold_mm must be a positive number of mm (or None), got {gfa_threshold_mm!r}")
    if prefer not in PREFER:
        raise DesignError(f"prefer must be one of {', '.join(map(repr, PREFER))}, got {prefer!r}")
    if strategy not in STRATEGIES:
        raise DesignError(f"strategy must be one of {', '.join(map(repr, STRATEGIES))}, got {strategy!r}")
    if exhaustive:
        if strategy not in ("auto", "exhaustive"):
            raise DesignError(f"exhaustive=True contradicts strategy={strategy!r}")
        strategy = "exhaustive"
    has_predictor = len(elements) <= N_SLOTS
    if not has_predictor and (strategy == "paper" or prefer == "closest"):
        what = "strategy='paper'" if strategy == "paper" else "prefer='closest'"
        raise DesignError(f"{what} needs the inverse model's predictor, which takes 2 to {N_SLOTS} elements; got {len(elements)}")
    bounds_, fixed_ = check_bounds(elements, bounds, fixed)
    objective = Objective(targets, relative=relative, aggregate=aggregate)
    if targets:
        check_target_consistency(targets, objective, tolerance)
    spec = ObjectiveSpec({**targets, **other_targets}, at_least, at_most, tuple(maximize), tuple(minimize), relative, aggregate, confidence)
    if other_targets and strategy == "paper":
        raise DesignError(f"strategy='paper' designs for the moduli only (its corrector bounds the forward ensemble); got targets {', '.join(other_targets)}")
    if not targets and prefer == "closest":
        raise DesignError("prefer='closest' needs a modulus target (G, K, E or nu) for the inverse model's predictor")
    if tie_resolution is None:
        tie = (tolerance if prefer == "closest" else tolerance / 4) if tolerance > 0 else (1e-3 if relative else 1e-2)
    else:
        tie = float(tie_resolution)
    bw = _ranking.BANDWIDTH if bandwidth is None else float(bandwidth)
    w_p = _ranking.PLAUSIBILITY_WEIGHT if plausibility_weight is None else float(plausibility_weight)
    w_g = _ranking.GFA_WEIGHT if gfa_weight is None else float(gfa_weight)
    w_a = _ranking.PREDICTOR_WEIGHT if predictor_weight is None else float(predictor_weight)
    check_number("bandwidth", bw, strict=True, what=" at.%")

    data = load_elastic() if data is None else data
    warn_target_range(targets, data)
    forward, inverse, gfa = _models(forward, inverse, gfa, gfa_threshold_mm, strategy, prefer, has_predictor)
    warn_gfa_threshold(gfa_threshold_mm, float(gfa.threshold_mm) if gfa is not None else None)
    registry = QuantityRegistry(elements, forward, gfa, models)
    spec.check(registry, tolerance)
    evaluate = Evaluator(forward, gfa, objective, elements, tolerance, gfa_threshold_mm, gfa_min_probability, spec, registry)
    R, w, _ = glass_reference(default_glass_data() if glass_data is None else glass_data, elements)
    plaus = Plausibility(R, w, bw)
    lo, hi = box_limits(elements, bounds_, fixed_, h)
    trace: list[dict[str, Any]] = []

    def score_table(A: np.ndarray) -> pd.DataFrame:
        t = evaluate(A)
        t["log_density"] = plaus.log_density(A)
        to_predictor = None if A0 is None else np.abs(np.asarray(A, dtype=np.float64) - A0).sum(axis=1)
        t["score"] = likelihood_score(t["p_target"], t["log_density"], t["p_gfa"], w_p, w_g, to_predictor, w_a)
        t["score_free"] = t["score"] if to_predictor is None else t["score"] + w_a * to_predictor / _ranking.PREDICTOR_SCALE
        if spec.constraints:  # the constraints' joint probability, as P(targets) enters the score
            t["score"] += np.log(np.maximum(t["p_constraints"].to_numpy(), 1e-4))
        t["_s"] = status_codes(t["target_met"], t["gfa_pass"] & t["constraints_pass"])
        return t

    def key(A: np.ndarray) -> np.ndarray:
        """The ranking as one number, lower is better (the polish optimises it exactly)."""
        t = score_table(A)
        if prefer == "likely":
            return -t["score"].to_numpy()
        return 1e3 * t["_s"].to_numpy() + t["error"].to_numpy()

    # -- start point: the predictor (2-7 elements) --------------------------------
    A0 = None
    if has_predictor and inverse is not None and targets:
        G0, K0, how = moduli_for_predictor(targets, float(data["nu"].median()), float(data["G"].median()))
        from pcids.models.inverse import propose

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)  # target ranges are checked above
            raw = propose(elements, G0, K0, step=h, model=inverse)
        start = project(raw, elements, bounds_, fixed_, h)
        A0 = np.array([[start[e] for e in elements]])
        ev0 = evaluate(A0).iloc[0]
        trace.append(
            {
                "step": "predictor", "composition": start.formula_as_written, "inverse_output": raw.formula_as_written,
                "G_K_for_inverse": [G0, K0], "how": how, "error": float(ev0["error"]),
                "target_met": bool(ev0["target_met"]), "gfa_pass": bool(ev0["gfa_pass"]),
            }
        )

    # -- search -------------------------------------------------------------------
    if strategy == "auto":
        strategy = "exhaustive" if full_lattice(elements, bounds_, fixed_, h).size <= EXHAUSTIVE_UP_TO else "global"
    frames: list[tuple[np.ndarray, str]] = [] if A0 is None else [(A0, "predictor")]
    if strategy == "paper":
        scorer = make_scorer(forward, elements, objective, closest_to=A0[0] if prefer == "closest" else None, within=tie)
        found, steps = paper_pool(
            start, evaluate, scorer, elements, E=E, h=h, pool_size=max(5 * top_k, 50), bounds=bounds_, fixed=fixed_,
            max_iterations=max_iterations, max_E=max_E, max_widen_candidates=max_widen_candidates, progress=progress,
            start_ok=bool(ev0["target_met"] and ev0["gfa_pass"]),
        )
        frames += found
        trace += steps
    elif strategy == "exhaustive":
        lattice = full_lattice(elements, bounds_, fixed_, h)
        P = evaluate.P

        def error(A: np.ndarray) -> np.ndarray:
            if other_targets:
                return evaluate.target_error(A)
            mean, _ = forward.predict_descriptors(A @ P / 100.0)
            return objective.error(mean[:, 0].astype(np.float64), mean[:, 1].astype(np.float64))

        pool, entry = exhaustive_pool(lattice, error, tolerance, progress=progress)
        frames.append((pool, "exhaustive lattice"))
        trace.append(entry)
    else:
        starts = _start_points(A0, R, w, lo, hi, evaluate, n_random, seed)
        P = evaluate.P

        def residuals(X: np.ndarray) -> np.ndarray:
            if other_targets:  # X is at.% (P = 100 I below): the walk runs in composition space
                return evaluate.residuals(X)
            mean, _ = forward.predict_descriptors(X)
            per = objective.per_target(mean[:, 0].astype(np.float64), mean[:, 1].astype(np.float64))
            return np.column_stack(list(per.values()))

        if other_targets:
            P = 100.0 * np.eye(len(elements))

        pool, entry = global_pool(starts, residuals, P, key, elements, h, bounds_, fixed_, spread=max(min_distance / 2, 2 * h))
        entry["starts"] = {"predictor": int(A0 is not None), "known glass formers": int(len(starts) - n_random - (A0 is not None)), "random": n_random}
        frames.append((pool, "global search"))
        trace.append(entry)

    # -- rank ---------------------------------------------------------------------
    allA = np.concatenate([f for f, _ in frames])
    steps = np.concatenate([[s] * len(f) for f, s in frames])
    keep = _first_rows(allA, h)
    allA, steps = allA[keep], steps[keep]
    table = pd.concat([pd.DataFrame(allA, columns=elements).assign(step=steps), score_table(allA)], axis=1)
    table.insert(0, "composition", [_formula(elements, r) for r in allA])
    table["status"] = np.asarray(STATUS, dtype=object)[table["_s"].to_numpy()]
    table.loc[(table["_s"] == 1) & table["gfa_pass"] & ~table["constraints_pass"], "status"] = STATUS_CONSTRAINTS
    table["correction_L1"] = np.abs(allA - A0).sum(axis=1) if A0 is not None else np.nan
    ranked = pareto_first(rank(table, prefer, tie), spec.senses(prefer))
    other = first = None
    if prefer == "likely" and "pareto" not in ranked:  # the portfolio of the "likely" order
        if A0 is not None:
            other = np.lexsort((ranked["error"].to_numpy(), -ranked["score_free"].to_numpy()))
        safe = np.flatnonzero(ranked["_s"].to_numpy() == 0)
        first = int(safe[0]) if len(safe) else None
    picks, spacing = diverse_picks(ranked[elements].to_numpy(dtype=float), top_k, min_distance, other=other, first=first)
    explored = ranked.drop(columns=["_s"])
    explored["picked"] = False
    explored.loc[picks, "picked"] = True
    cand = ranked.iloc[picks].reset_index(drop=True)
    trace.append(_diversity_entry(spacing, min_distance, len(ranked), top_k))
    known = known_meeting_targets(data, elements, spec, tolerance, bounds_, fixed_, h)
    candidates = _finish(cand, elements, spec, data, forward, gfa)
    explored.insert(0, "pool_rank", np.arange(1, len(explored) + 1))
    explored.insert(0, "rank", 0)  # rank among the picks; 0: not picked
    explored.loc[picks, "rank"] = np.arange(1, len(picks) + 1)
    settings = {
        "tolerance": tolerance, "relative": relative, "aggregate": aggregate, "E": E, "h": h, "top_k": top_k,
        "min_distance": min_distance, "strategy": strategy, "gfa_threshold_mm": gfa_threshold_mm,
        "gfa_probability_mm": float(gfa.threshold_mm) if gfa is not None else None, "bounds": bounds_, "fixed": fixed_,
        "max_iterations": max_iterations, "max_E": max_E, "max_widen_candidates": max_widen_candidates,
        "tie_resolution": tie, "prefer": prefer, "bandwidth": bw, "plausibility_weight": w_p, "gfa_weight": w_g, "predictor_weight": w_a,
        "n_random": n_random, "seed": seed, "n_reference_alloys": int(len(R)),
        "at_least": dict(spec.at_least), "at_most": dict(spec.at_most), "maximize": list(spec.maximize),
        "minimize": list(spec.minimize), "confidence": confidence, "pareto_objectives": [list(x) for x in spec.senses(prefer)] if spec.multi else [],
        "units": {n: registry.unit(n) for n in [*spec.targets, *spec.names]},
    }
    message = _message(candidates, known, gfa_threshold_mm, trace, strategy, spec, settings)
    success = bool(candidates["status"].iloc[0] == STATUS[0]) if len(candidates) else False
    return DesignResult(elements, dict(spec.targets), candidates, trace, success, message, settings, explored, known)


# ------------------------------------------------------------------------- helpers


def check_objective_names(
    targets: Mapping[str, float] | None, at_least: Mapping[str, float] | None = None, at_most: Mapping[str, float] | None = None,
    maximize: Sequence[str] = (), minimize: Sequence[str] = (), models: Any = None,
) -> tuple[dict[str, float], dict[str, float]]:
    """(the moduli targets, checked as ever; every other target) after refusing an unknown name anywhere
    (no model is loaded for it; values are checked by :meth:`ObjectiveSpec.check`)."""
    if isinstance(maximize, str) or isinstance(minimize, str):
        raise DesignError("maximize and minimize take a list of names, e.g. ['cost'], not a string")
    for what, d in (("at_least", at_least), ("at_most", at_most)):
        if d is not None and not isinstance(d, Mapping):
            raise DesignError(f"{what} takes a mapping of name to bound, e.g. {{'Dmax': 5}}, got {d!r}")
    t, others = _split_targets(targets)
    reg = QuantityRegistry([], models=models)
    for what, names in (("target", others), ("constraint", [*(at_least or {}), *(at_most or {})]), ("objective", [*maximize, *minimize])):
        for n in names:
            reg.check(n, what)
    return t, others


def _split_targets(targets: Mapping[str, float] | None) -> tuple[dict[str, float], dict[str, float]]:
    """(the moduli targets, checked as ever; every other target, checked by ObjectiveSpec)."""
    t = {n: v for n, v in dict(targets or {}).items() if v is not None}
    moduli = {n: v for n, v in t.items() if n in MODULI}
    others = {n: float(v) if isinstance(v, (int, float)) else v for n, v in t.items() if n not in MODULI}
    if not t:
        raise DesignError(
            "no target given: name at least one, e.g. G=36 or Tg=700 (constraints and maximize/minimize "
            "choose among the compositions that meet the targets)"
        )
    return (check_targets(moduli) if moduli else {}), others


def _models(forward: Any, inverse: Any, gfa: Any, gfa_threshold_mm: float | None, strategy: str, prefer: str, has_predictor: bool) -> tuple[Any, Any, Any]:
    """The shipped models where none is given (the predictor only where it is used)."""
    if forward is None:
        from pcids.models.ensemble import load_elastic_model

        forward = load_elastic_model()
    if inverse is None and has_predictor:
        from pcids.models.inverse import load_inverse_model

        inverse = load_inverse_model()
    if gfa is None and gfa_threshold_mm is not None:
        from pcids.models.gfa import load_gfa_model

        gfa = load_gfa_model()
    return forward, inverse, gfa


def _start_points(A0: np.ndarray | None, R: np.ndarray, w: np.ndarray, lo: np.ndarray, hi: np.ndarray, evaluate: Evaluator, n_random: int, seed: int, n_known: int = 96) -> np.ndarray:
    """The predictor, the ``n_known`` known glass formers (projected into the bounds) with the
    smallest predicted error, and ``n_random`` random points."""
    parts = [] if A0 is None else [A0]
    if len(R):
        K = project_simplex(R, lo, hi)
        err = evaluate.objective.error(*evaluate.moduli(K)[0].T)
        parts.append(K[np.argsort(err, kind="stable")[:n_known]])
    if n_random:
        parts.append(random_starts(n_random, lo, hi, seed))
    if not parts:
        parts.append(random_starts(16, lo, hi, seed))
    return np.concatenate(parts)


def _first_rows(A: np.ndarray, h: float) -> np.ndarray:
    key = np.rint(A / h).astype(np.int64)
    _, first = np.unique(key, axis=0, return_index=True)
    return np.sort(first)


def _formula(elements: Sequence[str], row: np.ndarray) -> str:
    return Composition(tuple((e, float(a)) for e, a in zip(elements, row))).formula_as_written


def _diversity_entry(spacing: np.ndarray, min_distance: float, n_pool: int, top_k: int) -> dict[str, Any]:
    full = int((spacing >= min_distance - 1e-9).sum())
    s = f"{len(spacing)} of {top_k} picked from a pool of {n_pool:,}; {full} at least {min_distance:g} at.% apart"
    if full < len(spacing):
        s += f", {len(spacing) - full} more at down to {spacing.min():g} at.% (the band allowed no more)"
    return {"step": "diverse top k", "min_distance": min_distance, "spacing": spacing.tolist(), "summary": s}


def _finish(cand: pd.DataFrame, elements: list[str], spec: ObjectiveSpec, data: pd.DataFrame, forward: Any, gfa: Any) -> pd.DataFrame:
    """Rank numbers, nearest measured alloy, domain flags, column order; warns about extrapolations."""
    A = cand[elements].to_numpy(dtype=float)
    near = nearest_known(A, elements, data)
    comps = [Composition.from_formula(f) for f in cand["composition"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        in_dom = np.asarray(forward.domain_check(comps), dtype=bool) if comps else np.zeros(0, bool)
        gfa_dom = np.asarray(gfa.domain_check(comps), dtype=bool) if gfa is not None and comps else np.ones(len(comps), bool)
    table = pd.concat([cand, near], axis=1)
    table["in_domain"] = in_dom
    table["gfa_in_domain"] = gfa_dom
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    cols = (
        ["rank", "composition", *elements, "G", "G_std", "K", "K_std", "E", "E_std", "nu", "nu_std"]
        + [f"error_{n}" for n in spec.targets]
        + ["error", "p_target", "status", "score", "log_density", "correction_L1", "p_gfa", "dmax_mm", "dmax_if_glass_mm", "gfa_pass"]
        + objective_columns(spec, table.columns)
        + ["density", "cost", "nearest_known", "nearest_G", "nearest_K", "nearest_L1", "in_domain", "gfa_in_domain", "step"]
    )
    cols = list(dict.fromkeys(cols))
    table = table[cols]
    if not in_dom.all():
        out = [c for c, ok in zip(table["composition"], in_dom) if not ok]
        warnings.warn(
            f"{len(out)} of {len(table)} candidates lie outside the forward models' training domain "
            f"(e.g. {out[0]}); their predictions are extrapolations",
            ExtrapolationWarning,
            stacklevel=3,
        )
    return table


def _message(candidates: pd.DataFrame, known: pd.DataFrame, gfa_threshold_mm: float | None, trace: list[dict[str, Any]], strategy: str, spec: ObjectiveSpec, settings: Mapping[str, Any]) -> str:
    best = candidates.iloc[0]
    thr = "" if gfa_threshold_mm is None else f" and P(Dmax >= {gfa_threshold_mm:g} mm) passes"
    if spec.constraints:
        shown = ", ".join(f"{n} {op} {b:g}" for n, op, b in spec.constraints)
        thr += f"{' and' if not thr else ','} {shown} with P >= {spec.confidence:g}"
    if len(known):
        lead = (
            f"{len(known)} known alloy(s) already meet the targets (measured): "
            + ", ".join(known["composition"].head(3)) + (", ..." if len(known) > 3 else "") + ". "
        )
    else:
        lead = ""
    if best["status"] == STATUS[0]:
        n_ok = int((candidates["status"] == STATUS[0]).sum())
        front = f", {int(candidates['pareto'].sum())} on the Pareto front of {', '.join(f'{s} {c}' for c, s in spec.senses(settings['prefer']))}" if spec.multi else ""
        return lead + f"{n_ok} new candidate(s) within tolerance{thr}{front}; rank 1 {best['composition']} (error {best['error']:.3g})"
    why = "none reaches the targets within tolerance" if best["status"] == STATUS[2] else f"none that reaches the targets{thr}"
    searches = sum(1 for t in trace if t["step"].startswith(("corrector", "exhaustive", "global")))
    return lead + (
        f"no composition met both the target and the GFA check after {searches} search(es) ({strategy}): {why}; "
        f"best effort {best['composition']} ({best['status']}, error {best['error']:.3g})"
    )

"""Targets, constraints and objectives -> one scorer: the error to the targets, its sound bound, the
chance of meeting them and the constraints, and the table columns every candidate gets
(:class:`ObjectiveSpec`, :class:`Evaluator`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from pcids.corrector import FeatureScorer, symbolic_bounds
from pcids.design.quantities import COLUMN, MODULI, Prediction, QuantityRegistry
from pcids.elastic import bulk_from_poisson, derived_with_uncertainty
from pcids.errors import DesignError, ExtrapolationWarning

#: Float32 inference vs the float64 bound: widen every bound by this (GPa, relative + absolute).
_BOUND_SLACK = 1e-4


@dataclass(frozen=True)
class Objective:
    """Distance of predicted (G, K) to the targets: per target ``|pred - t| / t`` (or ``|pred - t|``
    with ``relative=False``), combined by their maximum (or sum). E and nu come from G and K (Eq. 1-2)."""

    targets: dict[str, float]
    relative: bool = True
    aggregate: str = "max"

    def __post_init__(self) -> None:
        if self.aggregate not in ("max", "sum"):
            raise DesignError(f"aggregate must be 'max' or 'sum', got {self.aggregate!r}")

    def _scale(self, name: str) -> float:
        return abs(self.targets[name]) if self.relative else 1.0

    def _values(self, G: np.ndarray, K: np.ndarray, G_std: Any = 0.0, K_std: Any = 0.0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        vals = {"G": (G, np.asarray(G_std)), "K": (K, np.asarray(K_std))}
        if "E" in self.targets or "nu" in self.targets:
            d = derived_with_uncertainty(G, K, G_std, K_std)
            vals.update(E=(d["E"], d["E_std"]), nu=(d["nu"], d["nu_std"]))
        return vals

    def per_target(self, G: np.ndarray, K: np.ndarray) -> dict[str, np.ndarray]:
        """Signed error per target (pred - target, relative or absolute)."""
        vals = self._values(G, K)
        return {n: (vals[n][0] - t) / self._scale(n) for n, t in self.targets.items()}

    def error(self, G: np.ndarray, K: np.ndarray) -> np.ndarray:
        errs = np.abs(np.stack(list(self.per_target(G, K).values())))
        return errs.max(axis=0) if self.aggregate == "max" else errs.sum(axis=0)

    def smooth(self, G: np.ndarray, K: np.ndarray) -> np.ndarray:
        """Sum of squared per-target errors: what the continuous search descends (zero on the targets)."""
        return np.sum(np.stack(list(self.per_target(G, K).values())) ** 2, axis=0)

    def probability_within(self, G: np.ndarray, K: np.ndarray, G_std: np.ndarray, K_std: np.ndarray, tolerance: float) -> np.ndarray:
        """P(every target within the tolerance) if the truth is Gaussian around the prediction
        with the ensemble's calibrated sigma, targets independent (E, nu by linearised error
        propagation). With ``aggregate="sum"`` it is the same per-target product (an approximation)."""
        vals = self._values(G, K, G_std, K_std)
        p = np.ones(np.shape(G), dtype=np.float64)
        for n, t in self.targets.items():
            mu, sd = vals[n]
            half = tolerance * self._scale(n)
            sd = np.maximum(np.asarray(sd, dtype=np.float64), 1e-9 * max(1.0, abs(t)))
            p = p * (ndtr((t + half - mu) / sd) - ndtr((t - half - mu) / sd))
        return p

    def lower_bound(self, G_lo: np.ndarray, G_hi: np.ndarray, K_lo: np.ndarray, K_hi: np.ndarray) -> np.ndarray:
        """No larger than :meth:`error` for any G in [G_lo, G_hi], K in [K_lo, K_hi].

        E grows with G and K; nu grows with K and falls with G (for G, K > 0),
        so their ranges over the box are reached at its corners.
        """
        rng = {"G": (G_lo, G_hi), "K": (K_lo, K_hi)}
        if "E" in self.targets or "nu" in self.targets:
            pos = (G_lo > 0) & (K_lo > 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                lo = derived_with_uncertainty(G_lo, K_lo)["E"], derived_with_uncertainty(G_hi, K_lo)["nu"]
                hi = derived_with_uncertainty(G_hi, K_hi)["E"], derived_with_uncertainty(G_lo, K_hi)["nu"]
            rng["E"] = (np.where(pos, lo[0], -np.inf), np.where(pos, hi[0], np.inf))
            rng["nu"] = (np.where(pos, lo[1], -np.inf), np.where(pos, hi[1], np.inf))
        parts = []
        for n, t in self.targets.items():
            a, b = rng[n]
            parts.append(np.maximum(np.maximum(a - t, t - b), 0.0) / self._scale(n))
        parts_arr = np.stack(parts)
        return parts_arr.max(axis=0) if self.aggregate == "max" else parts_arr.sum(axis=0)


def moduli_for_predictor(targets: Mapping[str, float], median_nu: float, median_G: float = 30.0) -> tuple[float, float, str]:
    """(G, K) for the inverse model from any targets (Eq. 1-2), and how they were obtained.

    A lone modulus is paired with the data's median nu; a lone nu with the median G.
    """
    t = dict(targets)
    G, K, E, nu = t.get("G"), t.get("K"), t.get("E"), t.get("nu")
    note = "given"
    if G is not None and K is not None:
        return G, K, note
    if len(t) == 1 and nu is not None:
        G = median_G
        note = f"single target: G taken at the data median {median_G:.3g} GPa"
    elif len(t) == 1:
        nu = median_nu
        note = f"single target: nu taken at the data median {median_nu:.3f}"
    if G is not None and nu is not None:
        K = float(bulk_from_poisson(G, nu))
    elif K is not None and nu is not None:
        G = 3 * K * (1 - 2 * nu) / (2 * (1 + nu))
    elif E is not None and nu is not None:
        G, K = E / (2 * (1 + nu)), E / (3 * (1 - 2 * nu))
    elif G is not None and E is not None:
        if 3 * G <= E or E <= 2 * G:
            raise DesignError(f"targets G = {G:g} and E = {E:g} are inconsistent (need 2G < E < 3G)")
        K = E * G / (3 * (3 * G - E))
    elif K is not None and E is not None:
        if E >= 9 * K:
            raise DesignError(f"targets K = {K:g} and E = {E:g} are inconsistent (need E < 9K)")
        G = 3 * K * E / (9 * K - E)
    if G is None or K is None or G <= 0 or K <= 0:
        raise DesignError(f"targets {t} do not determine positive G and K")
    if note == "given":
        note = "derived from the targets (Eq. 1-2)"
    return float(G), float(K), note


def _member_bounds(members: Sequence[list[tuple[np.ndarray, np.ndarray]]], lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of the ensemble mean: the mean of the members' bounds, widened for float32."""
    los, his = zip(*(symbolic_bounds(layers, lo, hi) for layers in members))
    low = np.mean([x[:, 0] for x in los], axis=0)
    up = np.mean([x[:, 0] for x in his], axis=0)
    return low - _BOUND_SLACK * (1 + np.abs(low)), up + _BOUND_SLACK * (1 + np.abs(up))


def make_scorer(
    forward: Any, elements: Sequence[str], objective: Objective, *, closest_to: np.ndarray | None = None, within: float = 0.0
) -> FeatureScorer:
    """The corrector's scorer: descriptors (linear in the fractions) -> ensemble -> error, with a bound.

    With ``closest_to`` (at.%, in ``elements`` order) the score is lexicographic:
    candidates with error <= ``within`` score ``L1 / 200 - 1`` (in [-1, 0): the
    smallest correction first), the others ``error - within`` (> 0). The
    fractions ride along as extra features so the bound stays exact. The bound
    is symbolic interval propagation through every ensemble member, so the
    corrector skips whole regions and still returns the grid's optimum.
    """
    P = forward.property_matrix(list(elements))
    nd = P.shape[1]
    if closest_to is not None:
        P = np.hstack([P, 100.0 * np.eye(len(elements))])  # features 4.. are the at.% themselves
        ref = np.asarray(closest_to, dtype=np.float64)

    def combine(err: np.ndarray, l1_lo: np.ndarray | None) -> np.ndarray:
        if closest_to is None:
            return err
        return np.where(err <= within, l1_lo / 200.0 - 1.0, err - within)

    def score_features(X: np.ndarray) -> np.ndarray:
        mean, _ = forward.predict_descriptors(X[:, :nd])
        err = objective.error(mean[:, 0].astype(np.float64), mean[:, 1].astype(np.float64))
        l1 = np.abs(X[:, nd:] - ref).sum(axis=1) if closest_to is not None else None
        return combine(err, l1)

    lower = None
    try:
        g_layers = [m.folded_layers() for m in forward.G_.members_]
        k_layers = [m.folded_layers() for m in forward.K_.members_]
    except AttributeError:  # a model without inspectable layers: no pruning
        g_layers = k_layers = None
    if g_layers is not None:

        def lower(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
            gl, gh = _member_bounds(g_layers, lo[:, :nd], hi[:, :nd])
            kl, kh = _member_bounds(k_layers, lo[:, :nd], hi[:, :nd])
            err_lb = objective.lower_bound(gl, gh, kl, kh)
            if closest_to is None:
                return err_lb
            l1_lb = (np.maximum(lo[:, nd:] - ref, 0) + np.maximum(ref - hi[:, nd:], 0)).sum(axis=1)
            # Any point may be within tolerance (then >= l1_lb/200 - 1) or not (then > 0 >= that).
            return np.where(err_lb > within, err_lb - within, l1_lb / 200.0 - 1.0)

    return FeatureScorer(P, score_features, lower, grid_features=nd)


@dataclass(frozen=True)
class ObjectiveSpec:
    """What a design asks for, by quantity name (:mod:`pcids.design.quantities`).

    ``targets`` are met within the tolerance (the moduli's part is :class:`Objective`);
    ``at_least`` / ``at_most`` are constraints, met when the joint probability of all of
    them (a product: independent models) reaches ``confidence``; ``maximize`` /
    ``minimize`` are objectives traded off on the Pareto set (docs/decisions.md,
    "Design objectives").
    """

    targets: Mapping[str, float]
    at_least: Mapping[str, float] = None  # type: ignore[assignment]
    at_most: Mapping[str, float] = None  # type: ignore[assignment]
    maximize: tuple[str, ...] = ()
    minimize: tuple[str, ...] = ()
    relative: bool = True
    aggregate: str = "max"
    confidence: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", dict(self.targets or {}))
        object.__setattr__(self, "at_least", dict(self.at_least or {}))
        object.__setattr__(self, "at_most", dict(self.at_most or {}))
        object.__setattr__(self, "maximize", tuple(self.maximize or ()))
        object.__setattr__(self, "minimize", tuple(self.minimize or ()))

    @property
    def moduli(self) -> Objective:
        return Objective({n: v for n, v in self.targets.items() if n in MODULI}, relative=self.relative, aggregate=self.aggregate)

    @property
    def other_targets(self) -> dict[str, float]:
        return {n: v for n, v in self.targets.items() if n not in MODULI}

    def per_target(self, G: np.ndarray | None, K: np.ndarray | None, others: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Signed error per target, in the targets' order: the moduli's from G and K, the others' from
        ``others`` (predicted or measured values by name)."""
        out = self.moduli.per_target(G, K) if self.moduli.targets else {}
        for n, t in self.other_targets.items():
            out[n] = (np.asarray(others[n], dtype=np.float64) - t) / self._scale(n)
        return {n: out[n] for n in self.targets}

    def combine(self, per: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        """The targets' errors as one number per row (``aggregate``: the largest or the sum)."""
        if not per:
            return np.zeros(n)
        e = np.abs(np.stack(list(per.values())))
        return e.max(axis=0) if self.aggregate == "max" else e.sum(axis=0)

    @property
    def constraints(self) -> list[tuple[str, str, float]]:
        """(name, ">=" or "<=", bound) in the order given."""
        return [(n, ">=", b) for n, b in self.at_least.items()] + [(n, "<=", b) for n, b in self.at_most.items()]

    @property
    def names(self) -> list[str]:
        """Every quantity the spec reads beyond the moduli the table always has."""
        all_ = [*self.other_targets, *self.at_least, *self.at_most, *self.maximize, *self.minimize]
        return [n for n in dict.fromkeys(all_) if n not in MODULI]

    def senses(self, prefer: str = "likely") -> list[tuple[str, str]]:
        """The Pareto objectives as (table column, "min" / "max"): meeting the targets as the ranking
        measures it (P(targets met) for ``prefer="likely"``, else the error), then each objective."""
        out = ([("p_target", "max")] if prefer == "likely" else [("error", "min")]) if self.targets else []
        out += [(column(n), "max") for n in self.maximize] + [(column(n), "min") for n in self.minimize]
        return out

    @property
    def multi(self) -> bool:
        return len(self.senses()) > 1

    def _scale(self, name: str) -> float:
        return abs(self.targets[name]) if self.relative else 1.0

    def check(self, registry: QuantityRegistry, tolerance: float) -> None:
        """One specific DesignError per bad request; ExtrapolationWarning for values beyond the data."""
        import warnings

        from pcids.design.checks import check_finite

        for what, names in (("target", self.targets), ("constraint", [*self.at_least, *self.at_most]), ("objective", [*self.maximize, *self.minimize])):
            for n in names:
                registry.check(n, what)
        if not 0.0 < self.confidence < 1.0:
            raise DesignError(f"confidence must lie in (0, 1), got {self.confidence!r}")
        both = sorted(set(self.maximize) & set(self.minimize))
        if both:
            raise DesignError(f"{', '.join(both)} both maximised and minimised; give one direction")
        for n in [*self.maximize, *self.minimize]:
            if n in self.targets:
                raise DesignError(f"{n} is both a target ({self.targets[n]:g}) and an objective to {'maximise' if n in self.maximize else 'minimise'}; give one")
            if [*self.maximize, *self.minimize].count(n) > 1:
                raise DesignError(f"objective {n} given more than once")
        checked: dict[str, float] = {}
        for kind, vals in (("target", self.other_targets), ("at_least", self.at_least), ("at_most", self.at_most)):
            for n, v in vals.items():
                v = check_finite(f"{kind} {n}", v)
                if n in ("Dmax", "density", "cost") and v <= 0 and kind != "at_most":
                    raise DesignError(f"{kind} {n} must be positive ({registry.unit(n)}), got {v:g}")
                checked[f"{kind}:{n}"] = v
        for n in set(self.at_least) & set(self.at_most):
            lo, hi = float(self.at_least[n]), float(self.at_most[n])
            if lo > hi:
                raise DesignError(f"contradictory constraints on {n}: at least {lo:g} and at most {hi:g} {registry.unit(n)}".rstrip())
        for n, v in self.other_targets.items():
            for kind, b, bad in (("at least", self.at_least.get(n), lambda t, b: t < b), ("at most", self.at_most.get(n), lambda t, b: t > b)):
                if b is not None and bad(float(v), float(b)):
                    raise DesignError(f"target {n} = {v:g} contradicts the constraint {n} {kind} {float(b):g}")
        if "Dmax" in self.at_most:
            t = float(registry.gfa.threshold_mm)
            if float(self.at_most["Dmax"]) < t:
                raise DesignError(
                    f"at_most Dmax = {float(self.at_most['Dmax']):g} mm is below the GFA model's threshold ({t:g} mm), "
                    "below which it does not describe the diameter; bound p_gfa instead"
                )
        if "Dmax" in self.other_targets and float(self.other_targets["Dmax"]) < float(registry.gfa.threshold_mm):
            raise DesignError(
                f"target Dmax = {float(self.other_targets['Dmax']):g} mm is below the GFA model's threshold "
                f"({float(registry.gfa.threshold_mm):g} mm), below which it does not describe the diameter; bound p_gfa instead"
            )
        for key, v in checked.items():
            kind, n = key.split(":")
            reach = registry.achievable(n)
            if reach is not None:
                lo, hi = reach
                unit = f" {registry.unit(n)}" if registry.unit(n) else ""
                impossible = (kind == "target" and not lo <= v <= hi) or (kind == "at_least" and v > hi) or (kind == "at_most" and v < lo)
                if impossible:
                    raise DesignError(
                        f"{kind.replace('_', ' ')} {n} = {v:g}{unit} cannot be met: every composition of {'-'.join(registry.elements)} "
                        f"has {n} between {lo:.4g} and {hi:.4g}{unit}"
                    )
                continue
            rng = registry.data_range(n)
            if rng is not None and not rng[0] <= v <= rng[1] and n not in MODULI:
                warnings.warn(
                    f"{kind.replace('_', ' ')} {n} = {v:g} is outside the range of the data ({rng[0]:.3g} to {rng[1]:.3g}); "
                    "the design is an extrapolation",
                    ExtrapolationWarning,
                    stacklevel=4,
                )


def column(name: str) -> str:
    """The table column of a quantity (``Dmax`` -> ``dmax_mm``; the others by their name)."""
    return COLUMN.get(name, name)


@dataclass
class Evaluator:
    """Everything the table shows for an at.% matrix (rows in ``elements`` order): predictions
    with sigma, errors, P(targets met), the constraints' probabilities, the objectives, the GFA
    verdict. One call per model."""

    forward: Any
    gfa: Any
    objective: Objective
    elements: list[str]
    tolerance: float
    gfa_threshold_mm: float | None
    gfa_min_probability: float | None = None
    spec: ObjectiveSpec | None = None
    registry: QuantityRegistry | None = None

    def __post_init__(self) -> None:
        self.P = self.forward.property_matrix(self.elements)
        if self.registry is None:
            self.registry = QuantityRegistry(self.elements, self.forward, self.gfa)
        if self.spec is None:
            self.spec = ObjectiveSpec(dict(self.objective.targets), relative=self.objective.relative, aggregate=self.objective.aggregate)
        self._extra = self.spec.names
        self._need_gfa = self.gfa is not None or "Dmax" in self._extra or "p_gfa" in self._extra

    def moduli(self, A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ensemble mean and calibrated std (n, 2: G, K) in float64."""
        mean, std = self.forward.predict_descriptors(np.asarray(A, dtype=np.float64) @ self.P / 100.0)
        return mean.astype(np.float64), std.astype(np.float64)

    def _errors(self, G: np.ndarray, K: np.ndarray, preds: Mapping[str, Prediction]) -> dict[str, np.ndarray]:
        return self.spec.per_target(G, K, {n: preds[n].mean for n in self.spec.other_targets})

    def _combine(self, per: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        return self.spec.combine(per, n)

    def residuals(self, A: np.ndarray) -> np.ndarray:
        """Signed per-target errors (n, targets) of at.% rows: what the continuous walk drives to 0."""
        mean, _ = self.moduli(A)
        others = [n for n in self.spec.other_targets]
        preds = self.registry.evaluate(A, others) if others else {}
        return np.column_stack(list(self._errors(mean[:, 0], mean[:, 1], preds).values()))

    def target_error(self, A: np.ndarray) -> np.ndarray:
        """The error to every target (means only): what the exhaustive search scores."""
        return self._combine({n: r for n, r in zip(self.spec.targets, self.residuals(A).T)}, len(A))

    def gfa_columns(self, A: np.ndarray, raw: tuple[np.ndarray, ...] | None = None) -> dict[str, np.ndarray]:
        """P(Dmax >= the classifier's threshold), the consistent Dmax (median of the mixture), the
        regressor's Dmax if glass, and the GFA verdict: P(Dmax >= max(threshold, the classifier's)) reaches
        the operating point (or ``gfa_min_probability``)."""
        n = len(A)
        if raw is None:
            return {"p_gfa": np.full(n, np.nan), "dmax_mm": np.full(n, np.nan), "dmax_if_glass_mm": np.full(n, np.nan), "gfa_pass": np.ones(n, bool)}
        p, dmax, d_glass = (np.asarray(v, dtype=np.float64) for v in raw)
        if self.gfa is None or self.gfa_threshold_mm is None:  # reported, not required
            ok = np.ones(n, bool)
        else:
            cut = float(self.gfa.decision_threshold_) if self.gfa_min_probability is None else float(self.gfa_min_probability)
            t = float(self.gfa.threshold_mm)
            x = float(self.gfa_threshold_mm)
            # below the classifier's threshold, P(Dmax >= t) is a lower bound of P(Dmax >= x)
            ok = (p if x <= t + 1e-9 else self.gfa.dmax_exceedance(p, d_glass, x)) >= cut
        return {"p_gfa": p, "dmax_mm": dmax, "dmax_if_glass_mm": d_glass, "gfa_pass": np.asarray(ok, bool)}

    def __call__(self, A: np.ndarray) -> pd.DataFrame:
        A = np.asarray(A, dtype=np.float64)
        mean, std = self.moduli(A)
        G, K, sG, sK = mean[:, 0], mean[:, 1], std[:, 0], std[:, 1]
        d = derived_with_uncertainty(G, K, sG, sK)
        df = pd.DataFrame(
            {"G": G, "G_std": sG, "K": K, "K_std": sK, "E": d["E"], "E_std": d["E_std"], "nu": d["nu"], "nu_std": d["nu_std"]}
        )
        raw = self.registry.gfa_raw(A) if self._need_gfa and len(A) else None
        preds = self.registry.evaluate(A, self._extra, gfa=raw) if self._extra else {}
        per = self._errors(G, K, preds)
        for n, e in per.items():
            df[f"error_{n}"] = e
        df["error"] = self._combine(per, len(A))
        tol = max(self.tolerance, 1e-6)
        p = self.objective.probability_within(G, K, sG, sK, tol) if self.objective.targets else np.ones(len(A))
        for n, t in self.spec.other_targets.items():
            half = tol * self.spec._scale(n)
            p = p * preds[n].p_within(t - half, t + half)
        df["p_target"] = p
        df["sigma_rel"] = sG / np.abs(G) + sK / np.abs(K)
        for k, v in self.gfa_columns(A, raw).items():
            df[k] = v
        for n, pr in preds.items():
            col = column(n)
            if col not in df:
                df[col] = pr.mean
            if n != "p_gfa":
                df[f"{col}_std" if n != "Dmax" else "dmax_std"] = pr.std
        if "density" not in df:
            df["density"] = self.registry.evaluate(A, ["density"])["density"].mean
        if "cost" not in df:
            df["cost"] = self._cost_or_nan(A)
        pc = np.ones(len(A))
        for n, op, b in self.spec.constraints:
            pn = preds[n].p_at_least(b) if op == ">=" else preds[n].p_at_most(b)
            df[f"p_{'at_least' if op == '>=' else 'at_most'}_{n}"] = pn
            pc = pc * pn
        df["p_constraints"] = pc
        df["constraints_pass"] = pc >= self.spec.confidence if self.spec.constraints else np.ones(len(A), bool)
        df["target_met"] = df["error"] <= self.tolerance
        return df

    def _cost_or_nan(self, A: np.ndarray) -> np.ndarray:
        from pcids.cost import MissingPriceError

        try:
            return self.registry.evaluate(A, ["cost"])["cost"].mean
        except MissingPriceError:
            return np.full(len(A), np.nan)


def objective_columns(spec: ObjectiveSpec, available: Sequence[str]) -> list[str]:
    """The table columns of the spec's quantities (value, sigma, constraint probabilities), ``pareto``."""
    cols: list[str] = []
    for n in spec.names:
        c = column(n)
        cols += [c, "dmax_std" if n == "Dmax" else f"{c}_std"]
    for n, op, _ in spec.constraints:
        cols.append(f"p_{'at_least' if op == '>=' else 'at_most'}_{n}")
    if spec.constraints:
        cols += ["p_constraints", "constraints_pass"]
    if spec.multi:
        cols.append("pareto")
    return [c for c in dict.fromkeys(cols) if c in available]

"""Targets -> one scorer: the error to the targets, its sound bound, the chance of meeting them,
and the table columns every candidate gets (:class:`Evaluator`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from pcids.corrector import FeatureScorer, symbolic_bounds
from pcids.elastic import bulk_from_poisson, derived_with_uncertainty
from pcids.errors import DesignError

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


@dataclass
class Evaluator:
    """Everything the table shows for an at.% matrix (rows in ``elements`` order): predictions
    with sigma, errors, P(targets met), the GFA verdict. One featurisation per call."""

    forward: Any
    gfa: Any
    objective: Objective
    elements: list[str]
    tolerance: float
    gfa_threshold_mm: float | None
    gfa_min_probability: float | None = None

    def __post_init__(self) -> None:
        self.P = self.forward.property_matrix(self.elements)

    def moduli(self, A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ensemble mean and calibrated std (n, 2: G, K) in float64."""
        mean, std = self.forward.predict_descriptors(np.asarray(A, dtype=np.float64) @ self.P / 100.0)
        return mean.astype(np.float64), std.astype(np.float64)

    def gfa_columns(self, A: np.ndarray) -> dict[str, np.ndarray]:
        n = len(A)
        if self.gfa is None:
            return {"p_gfa": np.full(n, np.nan), "dmax_mm": np.full(n, np.nan), "gfa_pass": np.ones(n, bool)}
        p, dmax = self.gfa.predict_matrix(np.asarray(A, dtype=np.float64) / 100.0, self.elements)
        if self.gfa_threshold_mm is None:  # reported, not required
            ok = np.ones(n, bool)
        elif abs(self.gfa_threshold_mm - float(self.gfa.threshold_mm)) > 1e-9:
            ok = dmax >= self.gfa_threshold_mm
        else:
            cut = float(self.gfa.decision_threshold_) if self.gfa_min_probability is None else float(self.gfa_min_probability)
            ok = p >= cut
        return {"p_gfa": np.asarray(p, dtype=np.float64), "dmax_mm": np.asarray(dmax, dtype=np.float64), "gfa_pass": np.asarray(ok, bool)}

    def __call__(self, A: np.ndarray) -> pd.DataFrame:
        mean, std = self.moduli(A)
        G, K, sG, sK = mean[:, 0], mean[:, 1], std[:, 0], std[:, 1]
        d = derived_with_uncertainty(G, K, sG, sK)
        df = pd.DataFrame(
            {"G": G, "G_std": sG, "K": K, "K_std": sK, "E": d["E"], "E_std": d["E_std"], "nu": d["nu"], "nu_std": d["nu_std"]}
        )
        for n, e in self.objective.per_target(G, K).items():
            df[f"error_{n}"] = e
        df["error"] = self.objective.error(G, K)
        df["p_target"] = self.objective.probability_within(G, K, sG, sK, max(self.tolerance, 1e-6))
        df["sigma_rel"] = sG / np.abs(G) + sK / np.abs(K)
        for k, v in self.gfa_columns(A).items():
            df[k] = v
        df["target_met"] = df["error"] <= self.tolerance
        return df

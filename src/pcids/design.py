"""The predictor-corrector inverse design scheme (paper Fig. 13) -> :class:`DesignResult`.

predictor (inverse model, projected onto the lattice and the bounds)
-> forward check against the targets -> corrector (exhaustive lattice search,
:mod:`pcids.corrector`) -> GFA check -> if nothing passes, recentre and widen
the search box, up to ``max_iterations`` -> output, best first.

Decisions
---------
* **Objective.** For each target t the user gives (any of G, K, E, nu), the
  error is ``|pred - t| / t`` (``relative=True``, the default: G ~ 36 GPa
  and K ~ 105 GPa weigh the same per cent) or ``|pred - t|`` (GPa; nu has no
  unit, so mixing nu with moduli in absolute mode is the user's choice). The
  errors are combined by their **maximum** (default): "within tolerance"
  then means *every* target is within it, which is how a designer reads a
  tolerance; ``aggregate="sum"`` is available. E and nu come from the
  predicted G and K (Eq. 1-2). The default tolerance is 2 % (relative).
* **Ranking.** Candidates are ranked by status (target and GFA met, target
  only, neither), then by the error compared at a resolution of
  ``tie_resolution``: errors up to it are "equally close", larger ones are
  compared as they are (default with ``prefer="closest"``: the tolerance
  itself, since the models' own sigma is a few per cent and finer differences
  in predicted error are noise; with ``prefer="error"``: a quarter of it),
  then, with ``prefer="closest"``
  (default), by the L1 distance to the predictor's composition (the smallest
  correction: two moduli pin down only two of the n - 1 free fractions, so
  many compositions reach the targets, and the inverse model's answer is the
  data's prior among them), then by the ensemble's sigma (relative, summed
  over G and K: the model is surer), then by the GFA probability.
  ``prefer="error"`` drops the distance key (the paper's smallest error).
  The corrector optimises the same order exactly (its score is the L1 / 200 - 1
  for candidates within the resolution, else the excess error), so the
  smallest correction is the grid's, not a re-ranked pool's.
  ``benchmarks/design_recovery.py`` compares the rankings on held-out alloys;
  it chose the default resolution: ties within the whole tolerance gave a
  smaller mean L1 to the real alloy than ties within a quarter of it for the
  top candidate (random split 24.1 vs 27.1 at.%, grouped 36.8 vs 37.5) and
  for the best of the top 5 on the random split (21.6 vs 23.5; grouped 33.5
  vs 33.1, a wash). The corrector itself
  returns the true top of the grid by error; the pool it returns
  (``max(5 * top_k, 50)`` per search) is re-ranked this way.
* **GFA check.** Passing means the calibrated P(Dmax >= threshold) reaches
  the GFA model's own operating point (``decision_threshold_``, the rule of
  :meth:`pcids.models.gfa.GFAModel.predict`), unless ``gfa_min_probability``
  is given. The shipped classifier is trained for 2 mm; for another
  ``gfa_threshold_mm`` the verdict is the predicted Dmax >= that threshold
  (the probability column is still the classifier's, at its own threshold).
  ``gfa_threshold_mm=None`` switches the check off (the probability is
  still reported when a GFA model is given).
* **Correcting further.** When no candidate passes both checks, the next
  search is centred on the best candidate that meets the target with the
  highest GFA probability (or, if none meets the target, on the lowest
  error) and the box grows by ``E`` up to ``max_E`` (and while it holds at
  most ``max_widen_candidates``, 2 million: seconds of scoring); it stops after
  ``max_iterations`` searches or when a search brings nothing new. The
  result then says plainly that nothing met both, and returns the best
  effort with ``status`` labelling what each candidate misses.
* **Predictor with fewer than two moduli.** The inverse model needs G and K;
  they are derived from any two targets (Eq. 1-2). With a single modulus the
  other is taken at the data's median Poisson's ratio (with nu alone, G at the
  data's median G), recorded in the trace; the objective still uses only the
  given target.
* **Exactness and speed.** The corrector's scorer reads the forward model's
  inputs (weighted means, :meth:`ElasticModel.property_matrix`), which are
  linear in the fractions, and gives the corrector a sound lower
  bound of the error over boxes of descriptors (symbolic interval
  propagation through every ensemble member, see :func:`_member_bounds`),
  so whole regions of the lattice are skipped while the grid's optimum is
  still returned (checked against unpruned search in the tests).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pcids.composition import PERIODIC_TABLE, Composition
from pcids.corrector import FeatureScorer, correct, symbolic_bounds
from pcids.elastic import bulk_from_poisson, derived_with_uncertainty
from pcids.errors import DesignError, ExtrapolationWarning, PcidsError

TARGETS: tuple[str, ...] = ("G", "K", "E", "nu")
#: Status labels, best first.
STATUS = ("meets target and GFA", "meets target, GFA check failed", "outside tolerance")
#: Float32 inference vs the float64 bound: widen every bound by this (GPa, relative + absolute).
_BOUND_SLACK = 1e-4


# ---------------------------------------------------------------------------
# input checks


def check_design_elements(elements: Sequence[str]) -> list[str]:
    """Elements as a list; unknown, unsupported, repeated or too few/many -> specific errors
    (the inverse model's rule: 2 to 7 elements, its slots)."""
    from pcids.models.inverse import check_element_list

    if not isinstance(elements, str):
        elements = [str(e).strip() for e in elements]
    return check_element_list(elements)


def check_targets(targets: Mapping[str, float] | None) -> dict[str, float]:
    """Targets as {name: value}; names among G, K, E, nu; moduli > 0, -1 < nu < 0.5."""
    if not targets:
        raise DesignError("no target given: name at least one of G, K, E (GPa) or nu")
    out: dict[str, float] = {}
    for name, v in targets.items():
        if v is None:
            continue
        if name not in TARGETS:
            raise DesignError(f"unknown target {name!r}; targets are {', '.join(TARGETS)}")
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise DesignError(f"target {name} must be a number, got {v!r}") from None
        if not math.isfinite(v):
            raise DesignError(f"target {name} must be finite, got {v!r}")
        if name == "nu" and not -1.0 < v < 0.5:
            raise DesignError(f"target nu must lie in (-1, 0.5), got {v}")
        if name != "nu" and v <= 0:
            raise DesignError(f"target {name} must be a positive number of GPa, got {v}")
        out[name] = v
    if not out:
        raise DesignError("no target given: name at least one of G, K, E (GPa) or nu")
    return out


def check_bounds(
    elements: Sequence[str], bounds: Mapping[str, tuple[float | None, float | None]] | None, fixed: Mapping[str, float] | None
) -> tuple[dict[str, tuple[float, float]], dict[str, float]]:
    """Per-element [min, max] (defaults 0, 100) and fixed values; infeasible sets -> DesignError."""
    bounds, fixed = dict(bounds or {}), {k: float(v) for k, v in (fixed or {}).items()}
    for name, what in (("bounds", bounds), ("fixed", fixed)):
        unknown = [e for e in what if e not in elements]
        if unknown:
            raise DesignError(f"{name} given for {', '.join(unknown)}, which is not among the elements {list(elements)}")
    both = sorted(set(bounds) & set(fixed))
    if both:
        raise DesignError(f"{', '.join(both)} both bounded and fixed; give one or the other")
    full: dict[str, tuple[float, float]] = {}
    for e in elements:
        if e in fixed:
            v = fixed[e]
            if not 0 < v < 100:
                raise DesignError(f"fixed {e} must be between 0 and 100 at.% (exclusive), got {v:g}")
            full[e] = (v, v)
            continue
        lo, hi = bounds.get(e, (None, None))
        lo = 0.0 if lo is None else float(lo)
        hi = 100.0 if hi is None else float(hi)
        if not (0 <= lo <= 100 and 0 <= hi <= 100):
            raise DesignError(f"bounds of {e} must lie within 0-100 at.%, got {lo:g}:{hi:g}")
        if lo > hi:
            raise DesignError(f"bounds of {e}: minimum {lo:g} exceeds maximum {hi:g}")
        if hi <= 0:
            raise DesignError(f"bounds of {e}: maximum {hi:g} leaves no room for a positive amount")
        full[e] = (lo, hi)
    mins = sum(lo for lo, _ in full.values())
    maxs = sum(hi for _, hi in full.values())
    if mins > 100 + 1e-9:
        raise DesignError(f"infeasible bounds: the minimums (and fixed amounts) add up to {mins:g} at.% > 100")
    if maxs < 100 - 1e-9:
        raise DesignError(f"infeasible bounds: the maximums (and fixed amounts) add up to {maxs:g} at.% < 100")
    return {e: b for e, b in full.items() if e in bounds}, fixed


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


# ---------------------------------------------------------------------------
# objective


@dataclass(frozen=True)
class Objective:
    """Distance of predicted (G, K) to the targets; see the module docstring."""

    targets: dict[str, float]
    relative: bool = True
    aggregate: str = "max"

    def __post_init__(self) -> None:
        if self.aggregate not in ("max", "sum"):
            raise DesignError(f"aggregate must be 'max' or 'sum', got {self.aggregate!r}")

    def _scale(self, name: str) -> float:
        return abs(self.targets[name]) if self.relative else 1.0

    def per_target(self, G: np.ndarray, K: np.ndarray) -> dict[str, np.ndarray]:
        """Signed error per target (pred - target, relative or absolute)."""
        vals = {"G": G, "K": K}
        if "E" in self.targets or "nu" in self.targets:
            d = derived_with_uncertainty(G, K)
            vals.update(E=d["E"], nu=d["nu"])
        return {n: (vals[n] - t) / self._scale(n) for n, t in self.targets.items()}

    def error(self, G: np.ndarray, K: np.ndarray) -> np.ndarray:
        errs = np.abs(np.stack(list(self.per_target(G, K).values())))
        return errs.max(axis=0) if self.aggregate == "max" else errs.sum(axis=0)

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
    fractions ride along as extra features so the bound stays exact.
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


# ---------------------------------------------------------------------------
# projection of the predictor's output


def project(start: Composition, elements: Sequence[str], bounds: Mapping[str, tuple[float, float]], fixed: Mapping[str, float], h: float) -> Composition:
    """Nearest-ish composition on the h lattice inside the bounds: Euclidean projection
    onto {sum 100, lo <= a <= hi} (bisection on the shift), then rounding to h with
    the remainder given to the largest fractional parts that still have room."""
    x = np.array([start.get(e, 0.0) for e in elements], dtype=float)
    lo = np.array([fixed.get(e, bounds.get(e, (0.0, 100.0))[0]) for e in elements], dtype=float)
    hi = np.array([fixed.get(e, bounds.get(e, (0.0, 100.0))[1]) for e in elements], dtype=float)
    lo = np.maximum(lo, h)  # every element present
    if lo.sum() > 100 + 1e-9 or hi.sum() < 100 - 1e-9 or np.any(lo > hi + 1e-9):
        raise DesignError(f"no composition with every element >= {h:g} at.% fits the bounds")
    a, b = -200.0, 200.0
    for _ in range(200):
        mid = (a + b) / 2
        if np.clip(x + mid, lo, hi).sum() < 100:
            a = mid
        else:
            b = mid
    y = np.clip(x + (a + b) / 2, lo, hi)
    units_lo = np.ceil(lo / h - 1e-9).astype(int)
    units_hi = np.floor(hi / h + 1e-9).astype(int)
    q = np.clip(np.floor(y / h + 1e-9).astype(int), units_lo, units_hi)
    total = int(round(100 / h))
    frac = y / h - q
    while q.sum() < total:
        room = np.where(q < units_hi, frac, -np.inf)
        i = int(np.argmax(room))
        if not np.isfinite(room[i]):
            raise DesignError("cannot place the predictor's composition on the lattice inside the bounds")
        q[i] += 1
        frac[i] -= 1
    while q.sum() > total:
        room = np.where(q > units_lo, -frac, -np.inf)
        i = int(np.argmax(room))
        q[i] -= 1
        frac[i] += 1
    return Composition(tuple((e, float(v * h)) for e, v in zip(elements, q)))


# ---------------------------------------------------------------------------
# result


@dataclass
class DesignResult:
    """Ranked candidates, the steps taken, and a plain verdict."""

    elements: list[str]
    targets: dict[str, float]
    candidates: pd.DataFrame
    trace: list[dict[str, Any]]
    success: bool
    message: str
    settings: dict[str, Any] = field(default_factory=dict)
    explored: pd.DataFrame | None = None  # every candidate evaluated (all pools), ranked

    @property
    def best(self) -> pd.Series:
        return self.candidates.iloc[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "elements": self.elements,
            "targets": self.targets,
            "success": self.success,
            "message": self.message,
            "settings": self.settings,
            "candidates": json.loads(self.candidates.to_json(orient="records")),
            "trace": self.trace,
        }

    def to_json(self, path: str | Path | None = None, overwrite: bool = False) -> str:
        """JSON text (NaN -> null); written to ``path`` if given (never over a file unless asked)."""
        from pcids.cli._common import _default, _nan_to_none

        text = json.dumps(_nan_to_none(self.to_dict()), indent=2, default=_default, allow_nan=False)
        if path is not None:
            _write(Path(path), text, overwrite)
        return text

    def to_csv(self, path: str | Path, overwrite: bool = False) -> Path:
        """The candidates table as CSV; refuses to replace an existing file unless ``overwrite``."""
        path = Path(path)
        _write(path, self.candidates.to_csv(index=False), overwrite)
        return path

    def plot(self, path: str | Path | None = None, **kwargs: Any) -> Any:
        """Parallel coordinates of the candidates' fractions, coloured by error (paper Fig. 14)."""
        from pcids.plots.design import plot_parallel_coordinates

        return plot_parallel_coordinates(self, path=path, **kwargs)

    def __repr__(self) -> str:
        top = self.candidates.head(3)[["rank", "composition", "G", "K", "error", "status"]]
        return f"DesignResult({self.message})\n{top.to_string(index=False)}"


def _write(path: Path, text: str, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise PcidsError(f"{path} exists; pass overwrite=True (--force) to replace it")
    path.write_text(text)


# ---------------------------------------------------------------------------
# the scheme


def _nearest_known(comps: Sequence[Composition], data: pd.DataFrame) -> pd.DataFrame:
    """Nearest alloy in the elastic data by L1 distance (at.%), with its measured G, K."""
    cols = list(data.attrs.get("elements") or [c for c in data.columns if c in PERIODIC_TABLE])
    D = data[cols].to_numpy(dtype=float)
    col = {e: i for i, e in enumerate(cols)}
    rows = []
    for c in comps:
        v = np.zeros(len(cols))
        outside = 0.0
        for e, a in zip(c.elements, c.fractions):
            if e in col:
                v[col[e]] = a
            else:
                outside += a
        dist = np.abs(D - v).sum(axis=1) + outside
        i = int(np.argmin(dist))
        rows.append(
            {
                "nearest_known": data["formula"].iloc[i],
                "nearest_G": float(data["G"].iloc[i]),
                "nearest_K": float(data["K"].iloc[i]),
                "nearest_L1": float(dist[i]),
            }
        )
    return pd.DataFrame(rows)




def _warn_target_range(targets: Mapping[str, float], data: pd.DataFrame) -> None:
    for n, v in targets.items():
        col = data[n].dropna()
        lo, hi = float(col.min()), float(col.max())
        if not lo <= v <= hi:
            warnings.warn(
                f"target {n} = {v:g} is outside the range of the data ({lo:.3g} to {hi:.3g}); the design is an extrapolation",
                ExtrapolationWarning,
                stacklevel=3,
            )


def _widen(
    center: Composition, elements: list[str], size: float, step: float, limit: float, h: float,
    bounds: Mapping[str, tuple[float, float]], fixed: Mapping[str, float], budget: int,
) -> float:
    """The next half-width: ``size + step`` capped at ``limit``, shrunk (in steps of h, never
    below ``size``) until the search box holds at most ``budget`` candidates."""
    from pcids.corrector import lattice_size

    new = min(size + step, limit)
    start = {e: center[e] for e in elements}
    while new > size and lattice_size(start, E=new, h=h, bounds=bounds, fixed=fixed) > budget:
        new = max(size, new - h)
    return new


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
    gfa_threshold_mm: float | None = 2.0,
    gfa_min_probability: float | None = None,
    bounds: Mapping[str, tuple[float | None, float | None]] | None = None,
    fixed: Mapping[str, float] | None = None,
    max_iterations: int = 4,
    max_E: float = 15.0,
    max_widen_candidates: int = 2_000_000,
    tie_resolution: float | None = None,
    prefer: str = "closest",
    progress: bool = False,
    forward: Any = None,
    inverse: Any = None,
    gfa: Any = None,
) -> DesignResult:
    """Compositions of ``elements`` predicted to reach ``targets`` and to cast as bulk glasses.

    Parameters
    ----------
    elements : list of str
        2 to 7 element symbols.
    targets : {"G", "K", "E", "nu": value}
        Any of the moduli (GPa) and Poisson's ratio.
    tolerance : float
        Largest acceptable error (relative fraction by default, GPa if ``relative=False``).
    E, h : float
        Corrector half-width and lattice step, at.% (paper: 5 and 1).
    top_k : int
        Candidates returned.
    gfa_threshold_mm : float or None
        Dmax a candidate must reach; None skips the GFA check.
    bounds, fixed : mappings
        ``{element: (min, max)}`` at.% limits and ``{element: at.%}`` fixed amounts.
    max_iterations, max_E : int, float
        Searches allowed and the largest half-width when correcting further.
    max_widen_candidates : int
        Widening stops short of boxes holding more candidates than this (the
        first search always uses ``E`` as given).
    prefer : {"closest", "error"}
        Among candidates equally close to the targets (within ``tie_resolution``),
        "closest" prefers the smallest change to the predictor's composition
        (L1), "error" the smallest error; then the surer model, then GFA.
    forward, inverse, gfa : fitted models, optional
        Defaults: the shipped models.
    """
    from pcids.datasets import load_elastic

    elements = check_design_elements(elements)
    targets = check_targets(targets)
    if not (isinstance(tolerance, (int, float)) and math.isfinite(tolerance) and tolerance >= 0):
        raise DesignError(f"tolerance must be a number >= 0, got {tolerance!r}")
    if not (isinstance(h, (int, float)) and math.isfinite(h)) or h <= 0:
        raise DesignError(f"step h must be a positive number of at.%, got {h!r}")
    if not (isinstance(E, (int, float)) and math.isfinite(E)) or E < h:
        raise DesignError(f"correction size E must be at least the step h = {h:g} at.%, got {E!r}")
    if not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise DesignError(f"top_k must be a positive integer, got {top_k!r}")
    if not isinstance(max_iterations, (int, np.integer)) or max_iterations < 1:
        raise DesignError(f"max_iterations must be a positive integer, got {max_iterations!r}")
    if gfa_threshold_mm is not None and not (math.isfinite(gfa_threshold_mm) and gfa_threshold_mm > 0):
        raise DesignError(f"gfa_threshold_mm must be a positive number of mm (or None), got {gfa_threshold_mm!r}")
    if prefer not in ("closest", "error"):
        raise DesignError(f"prefer must be 'closest' or 'error', got {prefer!r}")
    bounds_, fixed_ = check_bounds(elements, bounds, fixed)
    objective = Objective(targets, relative=relative, aggregate=aggregate)
    if tie_resolution is None:
        tie = (tolerance if prefer == "closest" else tolerance / 4) if tolerance > 0 else (1e-3 if relative else 1e-2)
    else:
        tie = float(tie_resolution)

    data = load_elastic()
    _warn_target_range(targets, data)
    if forward is None:
        from pcids.models.ensemble import load_elastic_model

        forward = load_elastic_model()
    if inverse is None:
        from pcids.models.inverse import load_inverse_model

        inverse = load_inverse_model()
    if gfa is None and gfa_threshold_mm is not None:
        from pcids.models.gfa import load_gfa_model

        gfa = load_gfa_model()
    P = forward.property_matrix(elements)
    trace: list[dict[str, Any]] = []

    def evaluate(A: np.ndarray) -> pd.DataFrame:
        """Everything the table shows for an at.% matrix (rows in ``elements`` order)."""
        mean, std = forward.predict_descriptors(A @ P / 100.0)
        mean, std = mean.astype(np.float64), std.astype(np.float64)
        d = derived_with_uncertainty(mean[:, 0], mean[:, 1], std[:, 0], std[:, 1])
        df = pd.DataFrame(
            {
                "G": mean[:, 0], "G_std": std[:, 0], "K": mean[:, 1], "K_std": std[:, 1],
                "E": d["E"], "E_std": d["E_std"], "nu": d["nu"], "nu_std": d["nu_std"],
            }
        )
        for n, e in objective.per_target(mean[:, 0], mean[:, 1]).items():
            df[f"error_{n}"] = e
        df["error"] = objective.error(mean[:, 0], mean[:, 1])
        df["sigma_rel"] = std[:, 0] / np.abs(mean[:, 0]) + std[:, 1] / np.abs(mean[:, 1])
        if gfa is not None:
            p, dmax = gfa.predict_matrix(A / 100.0, elements)
            df["p_gfa"], df["dmax_mm"] = p, dmax
            if gfa_threshold_mm is None:  # reported, not required
                df["gfa_pass"] = True
            elif abs(gfa_threshold_mm - float(gfa.threshold_mm)) > 1e-9:
                df["gfa_pass"] = dmax >= gfa_threshold_mm
            else:
                cut = float(gfa.decision_threshold_) if gfa_min_probability is None else float(gfa_min_probability)
                df["gfa_pass"] = p >= cut
        else:
            df["p_gfa"], df["dmax_mm"], df["gfa_pass"] = np.nan, np.nan, True
        df["target_met"] = df["error"] <= tolerance
        return df

    # -- predictor --------------------------------------------------------
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
    pool_size = max(5 * top_k, 50)
    frames = [pd.DataFrame(A0, columns=elements).assign(step="predictor")]
    scorer = make_scorer(
        forward, elements, objective, closest_to=A0[0] if prefer == "closest" else None, within=tie
    )

    # -- corrector loop -------------------------------------------------------
    center, size = start, float(E)
    seen_centres: set[tuple[str, float]] = set()
    success = bool(ev0["target_met"] and ev0["gfa_pass"])
    for it in range(1, max_iterations + 1):
        key = (center.formula, size)
        if key in seen_centres:
            trace.append({"step": "stop", "reason": "the next search would repeat a previous one"})
            break
        seen_centres.add(key)
        res = correct(
            {e: center[e] for e in elements}, scorer, E=size, h=h, top_k=pool_size,
            bounds=bounds_, fixed=fixed_, elements=elements, progress=progress,
        )
        A = res[elements].to_numpy(dtype=float)
        ev = evaluate(A)
        frames.append(pd.DataFrame(A, columns=elements).assign(step=f"corrector {it} (E={size:g})"))
        ok = ev["target_met"] & ev["gfa_pass"]
        trace.append(
            {
                "step": f"corrector {it}", "centre": center.formula_as_written, "E": size, "h": float(h),
                "n_candidates": int(res.attrs["n_candidates"]), "n_scored": int(res.attrs["n_scored"]),
                "best": res["formula"].iloc[0], "best_error": float(ev["error"].iloc[0]),
                "n_meet_target": int(ev["target_met"].sum()), "n_pass_both": int(ok.sum()),
            }
        )
        if ok.any() or success:
            success = True
            break
        if it == max_iterations:
            break
        if ev["target_met"].any():
            i = int(ev.loc[ev["target_met"], "p_gfa"].fillna(0).idxmax())
        else:
            i = int(ev["error"].idxmin())
        center = Composition(tuple((e, float(A[i, j])) for j, e in enumerate(elements)))
        size = _widen(center, elements, size, E, max(max_E, E), h, bounds_, fixed_, max_widen_candidates)
        trace[-1]["next"] = f"recentre on {center.formula_as_written}, E = {size:g}"

    # -- assemble the table ---------------------------------------------------
    allA = pd.concat(frames, ignore_index=True)
    allA["composition"] = [
        Composition(tuple((e, float(r[e])) for e in elements)).formula_as_written for _, r in allA.iterrows()
    ]
    allA = allA.drop_duplicates("composition", keep="first").reset_index(drop=True)
    ev = evaluate(allA[elements].to_numpy(dtype=float))
    table = pd.concat([allA, ev], axis=1)
    table["status"] = np.where(table["target_met"] & table["gfa_pass"], STATUS[0], np.where(table["target_met"], STATUS[1], STATUS[2]))
    table["_s"] = table["status"].map({s: i for i, s in enumerate(STATUS)})
    # Same rule as the corrector's score: within ``tie`` all are equally close, beyond it the error counts.
    table["_e"] = np.where(table["error"] <= tie, 0.0, table["error"])
    table["correction_L1"] = np.abs(table[elements].to_numpy(dtype=float) - A0).sum(axis=1)
    keys = ["_s", "_e", "correction_L1", "sigma_rel", "p_gfa"] if prefer == "closest" else ["_s", "_e", "sigma_rel", "p_gfa"]
    table = table.sort_values(keys, ascending=[True] * (len(keys) - 1) + [False], kind="stable")
    explored = table.drop(columns=["_s", "_e"]).reset_index(drop=True)
    table = table.head(top_k).reset_index(drop=True)
    comps = [Composition.from_formula(f) for f in table["composition"]]
    near = _nearest_known(comps, data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        in_dom = np.asarray(forward.domain_check(comps), dtype=bool)
        gfa_dom = np.asarray(gfa.domain_check(comps), dtype=bool) if gfa is not None else np.ones(len(comps), bool)
    table = pd.concat([table, near], axis=1)
    table["in_domain"] = in_dom
    table["gfa_in_domain"] = gfa_dom
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    cols = (
        ["rank", "composition", *elements, "G", "G_std", "K", "K_std", "E", "E_std", "nu", "nu_std"]
        + [f"error_{n}" for n in targets]
        + ["error", "status", "correction_L1", "p_gfa", "dmax_mm", "gfa_pass", "nearest_known", "nearest_G", "nearest_K", "nearest_L1", "in_domain", "gfa_in_domain", "step"]
    )
    table = table[cols]
    if not in_dom.all():
        out = [c for c, ok in zip(table["composition"], in_dom) if not ok]
        warnings.warn(
            f"{len(out)} of {len(table)} candidates lie outside the forward models' training domain "
            f"(e.g. {out[0]}); their predictions are extrapolations",
            ExtrapolationWarning,
            stacklevel=2,
        )
    best = table.iloc[0]
    thr = "" if gfa_threshold_mm is None else f" and P(Dmax >= {gfa_threshold_mm:g} mm) passes"
    if best["status"] == STATUS[0]:
        n_ok = int((table["status"] == STATUS[0]).sum())
        message = f"{n_ok} candidate(s) within tolerance{thr}; best {best['composition']} (error {best['error']:.3g})"
    else:
        why = "none reaches the targets within tolerance" if best["status"] == STATUS[2] else f"none that reaches the targets{thr}"
        message = (
            f"no composition met both the target and the GFA check after {sum(1 for t in trace if t['step'].startswith('corrector'))} "
            f"search(es): {why}; best effort {best['composition']} ({best['status']}, error {best['error']:.3g})"
        )
    settings = {
        "tolerance": tolerance, "relative": relative, "aggregate": aggregate, "E": E, "h": h, "top_k": top_k,
        "gfa_threshold_mm": gfa_threshold_mm, "bounds": bounds_, "fixed": fixed_, "max_iterations": max_iterations,
        "max_E": max_E, "max_widen_candidates": max_widen_candidates, "tie_resolution": tie, "prefer": prefer,
    }
    return DesignResult(elements, targets, table, trace, bool(best["status"] == STATUS[0]), message, settings, explored)

"""Input checks of a design: elements, targets (and their physical consistency), bounds, numbers.

Every rule lives here once, so the library, the CLI, the web API and
``screen`` refuse the same inputs with the same message.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pcids.composition import PERIODIC_TABLE
from pcids.errors import DesignError, ExtrapolationWarning

TARGETS: tuple[str, ...] = ("G", "K", "E", "nu")
#: Most elements a design accepts (the largest size measured in benchmarks/design_speed.py).
MAX_ELEMENTS = 12


def check_element_list(elements: Sequence[str], max_elements: int, what: str = "a design") -> list[str]:
    """Elements as a list; unknown, unsupported, repeated, fewer than 2 or more than ``max_elements``
    -> specific errors (shared by the design and the inverse model, which has 7 slots)."""
    from pcids.elements import check_elements
    from pcids.errors import UnknownElementError

    if isinstance(elements, str):
        raise DesignError(f"elements must be a sequence of symbols such as ['Ti', 'Zr'], got the string {elements!r}")
    elements = [e.strip() if isinstance(e, str) else e for e in elements]
    for e in elements:
        if not isinstance(e, str) or e not in PERIODIC_TABLE:
            raise UnknownElementError(f"unknown element {e!r}")
    check_elements(elements)
    dup = sorted({e for e in elements if elements.count(e) > 1})
    if dup:
        raise DesignError(f"element(s) {', '.join(dup)} named more than once")
    if not 2 <= len(elements) <= max_elements:
        raise DesignError(f"{what} needs 2 to {max_elements} elements, got {len(elements)}")
    return elements


def check_design_elements(elements: Sequence[str]) -> list[str]:
    """Elements of a design: 2 to 12. More than the inverse model's 7 slots is fine: the search
    then starts from known alloys and random points instead of the predictor."""
    return check_element_list(elements, MAX_ELEMENTS)


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
        v = check_finite(f"target {name}", v)
        if name == "nu" and not -1.0 < v < 0.5:
            raise DesignError(f"target nu must lie in (-1, 0.5), got {v}")
        if name != "nu" and v <= 0:
            raise DesignError(f"target {name} must be a positive number of GPa, got {v}")
        out[name] = v
    if not out:
        raise DesignError("no target given: name at least one of G, K, E (GPa) or nu")
    return out


def check_finite(what: str, v: Any) -> float:
    """``v`` as a finite float, else one DesignError naming ``what``."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise DesignError(f"{what} must be a number, got {v!r}") from None
    if not math.isfinite(f):
        raise DesignError(f"{what} must be finite, got {v!r}")
    return f


def check_target_consistency(targets: Mapping[str, float], objective: Any, tolerance: float) -> None:
    """Refuse targets no isotropic solid with nu > 0 can meet together, with the numbers.

    Two moduli fix the others (Eq. 1-2): G and K give nu = (3K - 2G) / (2(3K + G)),
    which must be positive (no metallic glass is auxetic; the data's nu spans
    about 0.23-0.43). With three or four targets, the closest any (G, K) gets to
    all of them (a log grid, then the objective) must be within the tolerance.
    """
    t = dict(targets)
    if "G" in t and "K" in t:
        G, K = t["G"], t["K"]
        nu = (3 * K - 2 * G) / (2 * (3 * K + G))
        if nu <= 0:
            raise DesignError(
                f"targets G = {G:g} and K = {K:g} GPa imply nu = (3K - 2G) / (2(3K + G)) = {nu:.3f} <= 0; "
                "no metallic glass has that (measured nu lies between about 0.23 and 0.43): raise K or lower G"
            )
    if len(t) < 3:
        return
    g = np.geomspace(1.0, 500.0, 400)
    GG, KK = np.meshgrid(g, g, indexing="ij")
    err = objective.error(GG.ravel(), KK.ravel())
    i = int(np.argmin(err))
    # refine around the best grid point
    fine_G = GG.ravel()[i] * np.geomspace(0.985, 1.015, 121)
    fine_K = KK.ravel()[i] * np.geomspace(0.985, 1.015, 121)
    FG, FK = np.meshgrid(fine_G, fine_K, indexing="ij")
    ferr = objective.error(FG.ravel(), FK.ravel())
    j = int(np.argmin(ferr))
    best = float(ferr[j])
    if best > tolerance + 1e-9:
        from pcids.elastic import derived_with_uncertainty

        Gb, Kb = float(FG.ravel()[j]), float(FK.ravel()[j])
        d = derived_with_uncertainty(Gb, Kb)
        implied = {"G": Gb, "K": Kb, "E": float(d["E"]), "nu": float(d["nu"])}
        shown = ", ".join(f"{n} = {v:g} (closest consistent {implied[n]:.3g})" for n, v in t.items())
        unit = "" if objective.relative else " (absolute)"
        raise DesignError(
            f"the targets contradict each other: {shown}; no G, K meets all of them within the tolerance "
            f"{tolerance:g}{unit} (the best error possible is {best:.3g}). Give fewer targets or consistent values "
            "(E = 9KG / (3K + G), nu = (3K - 2G) / (2(3K + G)))"
        )


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


def check_number(name: str, value: Any, *, minimum: float = 0.0, strict: bool = False, integer: bool = False, what: str = "") -> None:
    """One rule for numeric options: a finite number (an integer if asked) >= or > ``minimum``."""
    ok_type = isinstance(value, (int, np.integer)) if integer else isinstance(value, (int, float, np.integer, np.floating))
    if isinstance(value, bool) or not ok_type or not math.isfinite(value) or (value <= minimum if strict else value < minimum):
        kind = "an integer" if integer else "a number"
        rel = ">" if strict else ">="
        raise DesignError(f"{name} must be {kind} {rel} {minimum:g}{what}, got {value!r}")


def warn_target_range(targets: Mapping[str, float], data: pd.DataFrame) -> None:
    """ExtrapolationWarning for a target outside the range of the measured data."""
    for n, v in targets.items():
        col = data[n].dropna()
        lo, hi = float(col.min()), float(col.max())
        if not lo <= v <= hi:
            warnings.warn(
                f"target {n} = {v:g} is outside the range of the data ({lo:.3g} to {hi:.3g}); the design is an extrapolation",
                ExtrapolationWarning,
                stacklevel=3,
            )


def warn_gfa_threshold(threshold_mm: float | None, classifier_mm: float | None) -> None:
    """Warn when the Dmax threshold lies beyond any measured diameter: the verdict is then the
    regressor's extrapolation, and the classifier's probability is for its own threshold."""
    if threshold_mm is None:
        return
    from pcids.datasets import load_gfa

    largest = float(load_gfa()["dmax_mm"].max())
    if threshold_mm > largest:
        own = f"; the probability column is P(Dmax >= {classifier_mm:g} mm), the classifier's own threshold" if classifier_mm else ""
        warnings.warn(
            f"gfa_threshold_mm = {threshold_mm:g} mm is beyond the largest Dmax measured in the data ({largest:g} mm): "
            f"the GFA verdict (predicted Dmax >= {threshold_mm:g} mm) is an extrapolation and will fail for almost every alloy{own}",
            ExtrapolationWarning,
            stacklevel=3,
        )

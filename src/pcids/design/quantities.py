"""Named quantities a design can target, bound, maximise or minimise (NAME -> predictor).

Every quantity predicts (mean, std) per composition and says how likely a value
is reached (:class:`Prediction`): Gaussian from the calibrated sigma for the
learned properties, the GFA mixture for ``Dmax`` (:mod:`pcids.models.dmax_mixture`),
exactly (std 0) for ``density``, ``cost`` and ``p_gfa``. Built in: G, K, E, nu (the
forward ensemble; E, nu by Eq. 1-2), Dmax, p_gfa (the GFA model), density, cost;
beside them whatever :func:`pcids.models.properties.load_property_models` ships
(Tg, Tx, ...) and the models a caller passes (a user's own, ``models=``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from scipy.special import ndtr

from pcids.errors import DesignError

__all__ = ["PropertyPredictor", "Prediction", "QuantityRegistry", "BUILTIN", "MODULI", "density_matrix"]

MODULI = ("G", "K", "E", "nu")
#: name -> (unit, what it is)
BUILTIN: dict[str, tuple[str, str]] = {
    "G": ("GPa", "shear modulus"),
    "K": ("GPa", "bulk modulus"),
    "E": ("GPa", "Young's modulus"),
    "nu": ("", "Poisson's ratio"),
    "Dmax": ("mm", "critical casting diameter (median of the GFA mixture)"),
    "p_gfa": ("", "P(Dmax >= 2 mm)"),
    "density": ("g/cm3", "density (ideal mixing of the elements' molar volumes)"),
    "cost": ("USD/kg", "raw-material price"),
}
#: Table column of a quantity where it differs from its name.
COLUMN = {"Dmax": "dmax_mm"}


@runtime_checkable
class PropertyPredictor(Protocol):
    """A model of one property: at.% rows of ``elements`` -> (mean, std)."""

    name: str
    unit: str

    def predict_matrix(self, A: np.ndarray, elements: Sequence[str]) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class Prediction:
    """Mean and std per composition, and P(value >= x) (``exceed``; Gaussian from mean, std when None,
    a step where std is 0)."""

    mean: np.ndarray
    std: np.ndarray
    exceed: Callable[[float], np.ndarray] | None = None

    def _z(self, x: float) -> tuple[np.ndarray, np.ndarray]:
        sd = np.asarray(self.std, dtype=np.float64)
        exact = ~(sd > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (np.asarray(self.mean, dtype=np.float64) - x) / np.where(exact, 1.0, sd)
        return z, exact

    def p_at_least(self, x: float) -> np.ndarray:
        if self.exceed is not None:
            return np.asarray(self.exceed(float(x)), dtype=np.float64)
        z, exact = self._z(x)
        return np.where(exact, (np.asarray(self.mean) >= x).astype(float), ndtr(z))

    def p_at_most(self, x: float) -> np.ndarray:
        if self.exceed is not None:
            return 1.0 - self.p_at_least(x)
        z, exact = self._z(x)
        return np.where(exact, (np.asarray(self.mean) <= x).astype(float), ndtr(-z))

    def p_within(self, lo: float, hi: float) -> np.ndarray:
        return np.clip(self.p_at_most(hi) - (1.0 - self.p_at_least(lo)), 0.0, 1.0)


def density_matrix(elements: Sequence[str], A: np.ndarray) -> np.ndarray:
    """g/cm3 of at.% rows: total mass over the sum of the elements' molar volumes M_i / rho_i
    (ideal mixing; docs/decisions.md, "Design objectives: density")."""
    from pcids.elements import property_matrix

    props = property_matrix(list(elements), ("mass", "rho"))
    x = np.atleast_2d(np.asarray(A, dtype=np.float64))
    return (x @ props[:, 0]) / (x @ (props[:, 0] / props[:, 1]))


class QuantityRegistry:
    """NAME -> prediction for at.% matrices of one element list; models load on first use.

    ``forward``/``gfa``: the elastic and GFA models (the shipped ones when None);
    ``models``: extra :class:`PropertyPredictor` by name (a user's, or the shipped
    property models), which win over nothing built in: a clash is refused.
    """

    def __init__(self, elements: Sequence[str], forward: Any = None, gfa: Any = None, models: Mapping[str, Any] | Sequence[Any] | None = None):
        self.elements = list(elements)
        self._forward, self._gfa = forward, gfa
        self._models: dict[str, Any] = {}
        self._P: np.ndarray | None = None
        items = models.items() if isinstance(models, Mapping) else ((getattr(m, "name", None), m) for m in (models or ()))
        for name, m in items:
            if not isinstance(name, str) or not name:
                raise DesignError(f"a property model needs a name, got {name!r}")
            if name in BUILTIN:
                raise DesignError(f"a property model named {name!r} clashes with pcids' own {name} ({BUILTIN[name][1]}); rename it")
            if not callable(getattr(m, "predict_matrix", None)):
                raise DesignError(f"the model for {name!r} has no predict_matrix(A, elements) -> (mean, std)")
            self._models[name] = m
        self._models_given = set(self._models)

    @property
    def given(self) -> dict[str, Any]:
        """The caller's models by name, as checked here (a screen ships them to its workers)."""
        return {n: self._models[n] for n in self._models_given}

    # -- names -----------------------------------------------------------------

    def _shipped(self, names: Sequence[str] | None = None) -> dict[str, Any]:
        """The shipped property models (Tg, Tx, ...), if this pcids has them."""
        try:
            from pcids.models.properties import load_property_models
        except ImportError:
            return {}
        try:
            return dict(load_property_models(names))
        except (KeyError, ValueError, DesignError):
            return {}

    def known_names(self) -> list[str]:
        return [*BUILTIN, *self._models, *(n for n in shipped_names() if n not in self._models)]

    def check(self, name: Any, what: str) -> str:
        """``name`` if it is a quantity this registry can predict, else one DesignError listing those it can."""
        if isinstance(name, str) and (name in BUILTIN or name in self._models):
            return name
        if isinstance(name, str) and name in shipped_names():
            got = self._shipped([name])
            if name in got:
                self._models[name] = got[name]
                return name
        raise DesignError(f"unknown {what} {name!r}; known: {', '.join(self.known_names())}")

    def unit(self, name: str) -> str:
        if name in BUILTIN:
            return BUILTIN[name][0]
        return str(getattr(self._models.get(name), "unit", "") or "")

    def model(self, name: str) -> Any:
        return self._models.get(name)

    # -- models ----------------------------------------------------------------

    @property
    def forward(self) -> Any:
        if self._forward is None:
            from pcids.models.ensemble import load_elastic_model

            self._forward = load_elastic_model()
        return self._forward

    @property
    def gfa(self) -> Any:
        if self._gfa is None:
            from pcids.models.gfa import load_gfa_model

            self._gfa = load_gfa_model()
        return self._gfa

    def moduli(self, A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ensemble mean and calibrated std (n, 2: G, K) in float64."""
        if self._P is None:
            self._P = self.forward.property_matrix(self.elements)
        mean, std = self.forward.predict_descriptors(np.asarray(A, dtype=np.float64) @ self._P / 100.0)
        return mean.astype(np.float64), std.astype(np.float64)

    def gfa_raw(self, A: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(P(Dmax >= threshold), consistent Dmax, Dmax if glass) per at.% row, one featurisation."""
        return self.gfa.predict_gfa_matrix(np.asarray(A, dtype=np.float64) / 100.0, self.elements)

    def _dmax_prediction(self, p: np.ndarray, median: np.ndarray, d: np.ndarray) -> Prediction:
        g = self.gfa
        t = float(g.threshold_mm)
        spread = (g.dmax_from(p, d, 0.84) - g.dmax_from(p, d, 0.16)) / 2.0

        def exceed(x: float) -> np.ndarray:
            # Below the classifier's threshold the mixture has no shape: P(Dmax >= t) is a lower bound.
            return np.asarray(p, dtype=np.float64) if x <= t else g.dmax_exceedance(p, d, x)

        return Prediction(median, spread, exceed)

    def evaluate(self, A: np.ndarray, names: Sequence[str], gfa: tuple[np.ndarray, ...] | None = None) -> dict[str, Prediction]:
        """Predictions of ``names`` for the at.% rows ``A`` (one call per model; ``gfa``: the output of
        :meth:`gfa_raw` when the caller has it)."""
        A = np.asarray(A, dtype=np.float64)
        names = list(dict.fromkeys(names))
        out: dict[str, Prediction] = {}
        zero = np.zeros(len(A))
        if any(n in MODULI for n in names):
            from pcids.elastic import derived_with_uncertainty

            mean, std = self.moduli(A)
            G, K, sG, sK = mean[:, 0], mean[:, 1], std[:, 0], std[:, 1]
            d = derived_with_uncertainty(G, K, sG, sK)
            vals = {"G": (G, sG), "K": (K, sK), "E": (d["E"], d["E_std"]), "nu": (d["nu"], d["nu_std"])}
            out.update({n: Prediction(*vals[n]) for n in names if n in MODULI})
        if "Dmax" in names or "p_gfa" in names:
            p, median, d = self.gfa_raw(A) if gfa is None else gfa
            if "Dmax" in names:
                out["Dmax"] = self._dmax_prediction(p, median, d)
            if "p_gfa" in names:
                out["p_gfa"] = Prediction(np.asarray(p, dtype=np.float64), zero)
        if "density" in names:
            out["density"] = Prediction(density_matrix(self.elements, A), zero)
        if "cost" in names:
            from pcids.cost import price_per_kg_matrix

            out["cost"] = Prediction(price_per_kg_matrix(self.elements, A), zero)
        for n in names:
            if n in out:
                continue
            m = self._models.get(n) or self._models.get(self.check(n, "quantity"))
            mean, std = m.predict_matrix(A, self.elements)
            out[n] = Prediction(np.asarray(mean, dtype=np.float64).reshape(-1), np.asarray(std, dtype=np.float64).reshape(-1))
        return {n: out[n] for n in names}

    # -- ranges ----------------------------------------------------------------

    def achievable(self, name: str) -> tuple[float, float] | None:
        """The exact range of a quantity over every composition of the elements (density, cost), else None."""
        if name == "density":
            v = density_matrix(self.elements, 100.0 * np.eye(len(self.elements)))
        elif name == "cost":
            from pcids.cost import price_per_kg_matrix

            v = np.array([price_per_kg_matrix([e], np.array([[100.0]]))[0] for e in self.elements])
        elif name == "p_gfa":
            return (0.0, 1.0)
        else:
            return None
        return float(v.min()), float(v.max())

    def data_range(self, name: str) -> tuple[float, float] | None:
        """The range of the training data of a learned quantity (for extrapolation warnings), if known."""
        if name in MODULI:
            from pcids.datasets import load_elastic

            col = load_elastic()[name].dropna()
            return float(col.min()), float(col.max())
        if name == "Dmax":
            from pcids.datasets import load_gfa

            col = load_gfa()["dmax_mm"].dropna()
            return float(col.min()), float(col.max())
        if name in ("Tg", "Tx", "Tl", "dTx", "Trg", "gamma") and name not in self._models_given:
            from pcids.datasets import load_temperatures

            col = load_temperatures()[name].dropna()
            return float(col.min()), float(col.max())
        m = self._models.get(name)
        rng = next((getattr(m, a) for a in ("training_range_", "target_range_", "target_range") if getattr(m, a, None) is not None), None)
        if rng is not None and len(rng) == 2:
            return float(rng[0]), float(rng[1])
        return None


def shipped_names() -> tuple[str, ...]:
    """Names of the shipped property models (Tg, Tx, ...) without loading them."""
    try:
        from pcids.models import properties
    except ImportError:
        return ()
    for attr in ("PROPERTIES", "NAMES", "SHIPPED"):
        names = getattr(properties, attr, None)
        if names:
            return tuple(n for n in names if n not in BUILTIN)
    return ()

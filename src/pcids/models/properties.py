"""Every property pcids predicts, behind one interface: G, K, E, nu, Tg, Tx, Tl, dTx, Trg, gamma.

:class:`PropertyModel` is the forward model of one characteristic temperature
(Tg, Tx or Tl, in K): extremely randomised trees on the GFA descriptors
(elemental statistics, Miedema enthalpies, element families, per-element
fractions), with a calibrated sigma from the spread of the trees,
``sigma = sqrt((a * spread)^2 + b^2)``, ``a`` and ``b`` fitted by Gaussian
likelihood on out-of-fold predictions. The trees are kept as node arrays and
walked in numpy (:class:`pcids.models.gfa._Forest`), so predicting needs
neither scikit-learn nor torch. Why this family, against which baselines:
docs/decisions.md, "Characteristic temperatures: ...".

:func:`load_property_models` returns the shipped predictors, each with
``name``, ``unit`` and ``predict_matrix(A, elements) -> (mean, std)`` on at.%
rows (:class:`PropertyPredictor`); dTx = Tx - Tg, Trg = Tg / Tl and
gamma = Tx / (Tg + Tl) propagate sigma with the out-of-fold correlation of the
three models' errors, E and nu come from G and K (Eq. 1-2).
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from pcids.composition import Composition, as_typed
from pcids.errors import DataError, ExtrapolationWarning, ModelFileError, PcidsError
from pcids.models._base import Regressor, check_is_fitted
from pcids.models.io import load_state, save_state

KIND = "pcids.PropertyModel"
#: The shipped temperature models, ``<stem>_<name>`` (.npz + .json) in ``pcids/models/trained``.
SHIPPED_STEM = "property"
TEMPERATURES: tuple[str, ...] = ("Tg", "Tx", "Tl")
ELASTIC: tuple[str, ...] = ("G", "K", "E", "nu")
FAMILIES: tuple[str, ...] = ("extra_trees",)
CALIBRATIONS: tuple[str, ...] = ("random", "grouped", "both")

#: name -> unit, description, kind ("model": a fitted model; "derived": computed from others, with inputs).
PROPERTIES: dict[str, dict[str, Any]] = {
    "G": {"unit": "GPa", "description": "shear modulus", "kind": "model"},
    "K": {"unit": "GPa", "description": "bulk modulus", "kind": "model"},
    "E": {"unit": "GPa", "description": "Young's modulus, 9GK / (3K + G)", "kind": "derived", "inputs": ("G", "K")},
    "nu": {"unit": "", "description": "Poisson's ratio, (3K - 2G) / (2(3K + G))", "kind": "derived", "inputs": ("G", "K")},
    "Tg": {"unit": "K", "description": "glass transition temperature", "kind": "model"},
    "Tx": {"unit": "K", "description": "onset of crystallisation", "kind": "model"},
    "Tl": {"unit": "K", "description": "liquidus temperature", "kind": "model"},
    "dTx": {"unit": "K", "description": "supercooled liquid region, Tx - Tg", "kind": "derived", "inputs": ("Tg", "Tx")},
    "Trg": {"unit": "", "description": "reduced glass transition temperature, Tg / Tl", "kind": "derived", "inputs": ("Tg", "Tl")},
    "gamma": {"unit": "", "description": "Lu-Liu parameter, Tx / (Tg + Tl)", "kind": "derived", "inputs": ("Tg", "Tx", "Tl")},
}

#: The shipped hyperparameters (chosen on seeds 1 / 2: docs/decisions.md, "Characteristic temperatures: ...").
SHIPPED_HYPERPARAMETERS: dict[str, Any] = {"n_estimators": 100, "max_features": 0.5, "min_samples_leaf": 1, "ground_state": True}
SIGMA_FLOOR = 1e-9
#: Least b of sigma = sqrt((a spread)^2 + b^2), as a share of the out-of-fold RMS error.
B_FLOOR = 0.05
Z95 = 1.959963984540054
_OOF_ARRAYS = ("mean", "residual", "std", "split")


@runtime_checkable
class PropertyPredictor(Protocol):
    """What design searches, screens and the CLI need of a property: a name, a unit, fast numpy scoring."""

    name: str
    unit: str

    def predict_matrix(self, A: np.ndarray, elements: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """at.% rows (n, m) over ``elements`` -> mean (n,), std (n,), float64."""
        ...


def check_property_names(names: Iterable[str] | str | None) -> list[str]:
    """The names as a list (all of :data:`PROPERTIES` for None; a comma-separated string is split);
    an unknown one is one PcidsError listing the valid names."""
    if names is None:
        return list(PROPERTIES)
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    names = list(names)
    unknown = [n for n in names if n not in PROPERTIES]
    if unknown:
        raise PcidsError(f"unknown propert{'ies' if len(unknown) > 1 else 'y'} {', '.join(map(repr, unknown))}; valid names: {', '.join(PROPERTIES)}")
    if not names:
        raise PcidsError(f"no property named; valid names: {', '.join(PROPERTIES)}")
    return list(dict.fromkeys(names))


def _fractions(A: np.ndarray, elements: Sequence[str]) -> np.ndarray:
    """Rows (at.% or fractions) as fractions summing to 1; a row without a positive amount is an error."""
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2 or A.shape[1] != len(elements):
        raise DataError(f"A must have shape (n, {len(elements)}) over the elements {list(elements)}, got {A.shape}")
    if not np.all(np.isfinite(A)) or np.any(A < 0):
        raise DataError("A must hold finite, non-negative amounts")
    total = A.sum(axis=1, keepdims=True)
    if np.any(total <= 0):
        raise DataError("a composition row has no positive amount")
    return A / total


class PropertyModel(Regressor):
    """Extremely randomised trees for one property, with a calibrated sigma.

    Parameters
    ----------
    target : str
        Name of the property (``"Tg"``; metadata and ``name``).
    unit : str
        Its unit (``"K"``).
    family : {"extra_trees"}
        The learner.
    n_estimators, max_features, min_samples_leaf
        scikit-learn's ExtraTreesRegressor settings.
    ground_state : bool
        Add the Magpie ground-state statistics to the descriptors.
    calibration_folds : int
        Folds of the out-of-fold run that fits sigma (0: the raw spread of the trees).
    calibration : {"both", "random", "grouped"}
        Those folds shuffled at random, holding out whole alloy systems, or both
        (the default: sigma is fitted on the union, so it answers for alloys near
        known ones and for systems the model has not seen; grouped alone drives
        the floor b to zero and sigma to nothing at near-duplicates).
    seed : int
        Seeds the trees and the calibration folds.
    """

    def __init__(
        self,
        target: str = "Tg",
        unit: str = "K",
        family: str = "extra_trees",
        n_estimators: int = SHIPPED_HYPERPARAMETERS["n_estimators"],
        max_features: float = SHIPPED_HYPERPARAMETERS["max_features"],
        min_samples_leaf: int = SHIPPED_HYPERPARAMETERS["min_samples_leaf"],
        ground_state: bool = SHIPPED_HYPERPARAMETERS["ground_state"],
        calibration_folds: int = 5,
        calibration: str = "both",
        seed: int = 0,
    ):
        self.target = target
        self.unit = unit
        self.family = family
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.ground_state = ground_state
        self.calibration_folds = calibration_folds
        self.calibration = calibration
        self.seed = seed

    @property
    def name(self) -> str:
        return str(self.target)

    # ------------------------------------------------------------------ fit
    def _check_params(self) -> None:
        if self.family not in FAMILIES:
            raise DataError(f"family must be one of {FAMILIES}, got {self.family!r}")
        if not (isinstance(self.n_estimators, (int, np.integer)) and self.n_estimators >= 2):
            raise DataError(f"n_estimators must be an integer >= 2 (a spread needs two trees), got {self.n_estimators!r}")
        if not (self.calibration_folds == 0 or (isinstance(self.calibration_folds, (int, np.integer)) and self.calibration_folds >= 2)):
            raise DataError(f"calibration_folds must be 0 or an integer >= 2, got {self.calibration_folds!r}")
        if self.calibration not in CALIBRATIONS:
            raise DataError(f"calibration must be one of {CALIBRATIONS}, got {self.calibration!r}")

    def _featurizer(self, elements: Sequence[str]) -> Any:
        from pcids.models._gfa_features import GFADescriptors

        return GFADescriptors(element_fractions=list(elements), families=True, ground_state=bool(self.ground_state))

    def _fit_forest(self, X: np.ndarray, y: np.ndarray) -> Any:
        from sklearn.ensemble import ExtraTreesRegressor

        from pcids.models.gfa import _Forest

        est = ExtraTreesRegressor(
            n_estimators=int(self.n_estimators),
            max_features=self.max_features,
            min_samples_leaf=int(self.min_samples_leaf),
            n_jobs=1,
            random_state=int(self.seed),
        ).fit(X, y)
        return _compact(_Forest.from_estimator(est, classifier=False))

    def fit(self, compositions: Iterable[Any], y: Any) -> PropertyModel:
        """Fit on compositions (formulas or Composition) and the measured values (NaN rows are dropped)."""
        from pcids.evaluation import grouped_kfold, regression_metrics, repeated_kfold

        self._check_params()
        comps = [Composition.coerce(c) for c in compositions]
        y = np.asarray(y, dtype=np.float64).ravel()
        if len(y) != len(comps):
            raise DataError(f"{len(comps)} compositions but {len(y)} values")
        ok = np.isfinite(y)
        comps = [c for c, k in zip(comps, ok) if k]
        y = y[ok]
        needed = max(4, 2 * int(self.calibration_folds))
        if len(y) < needed:
            raise DataError(f"PropertyModel needs at least {needed} measured values, got {len(y)}")
        self.elements_ = sorted({e for c in comps for e in c.elements})
        A = _matrix(comps, self.elements_)
        X = self._featurizer(self.elements_).transform_matrix(A, self.elements_)
        self.sigma_params_ = (1.0, 0.0)
        self.oof_ = None
        self.oof_metrics_ = None
        if self.calibration_folds:
            k, seed = int(self.calibration_folds), int(self.seed)
            schemes = CALIBRATIONS[:2] if self.calibration == "both" else (self.calibration,)
            systems = [c.system for c in comps]
            if "grouped" in schemes and len(set(systems)) < k:
                raise DataError(f"calibration={self.calibration!r} needs at least {k} alloy systems, got {len(set(systems))}")
            means, spreads = [], []
            for scheme in schemes:
                mean, spread = np.empty(len(y)), np.empty(len(y))
                folds = repeated_kfold(len(y), k, 1, seed=seed) if scheme == "random" else grouped_kfold(systems, k, seed)
                for tr, te in folds:
                    mean[te], spread[te] = _mean_spread(self._fit_forest(X[tr], y[tr]), X[te])
                means.append(mean)
                spreads.append(spread)
            mean, spread, yy = np.concatenate(means), np.concatenate(spreads), np.tile(y, len(schemes))
            self.sigma_params_ = fit_sigma(yy - mean, spread)
            sigma = self._sigma(spread)
            z = np.abs(yy - mean) / sigma
            split = np.repeat([float(CALIBRATIONS.index(sc)) for sc in schemes], len(y))
            self.oof_ = {"formula": [c.formula for c in comps] * len(schemes), "mean": mean, "residual": yy - mean, "std": sigma, "split": split}
            self.oof_metrics_ = {
                **regression_metrics(yy, mean),
                "coverage_1sigma": float(np.mean(z <= 1.0)),
                "coverage_2sigma": float(np.mean(z <= Z95)),
                **{f"{sc}_{key}": v for sc in schemes for key, v in _coverage(yy[split == CALIBRATIONS.index(sc)], mean[split == CALIBRATIONS.index(sc)], sigma[split == CALIBRATIONS.index(sc)]).items()},
                "sigma_a": self.sigma_params_[0],
                "sigma_b": self.sigma_params_[1],
            }
        self.forest_ = self._fit_forest(X, y)
        self.n_features_in_ = X.shape[1]
        self.feature_names_ = self._featurizer(self.elements_).feature_labels()
        self.training_range_ = (float(y.min()), float(y.max()))
        self.n_train_ = int(len(y))
        return self

    def _sigma(self, spread: np.ndarray) -> np.ndarray:
        a, b = self.sigma_params_
        return np.maximum(np.hypot(a * spread, b), SIGMA_FLOOR)

    # -------------------------------------------------------------- predict
    def predict_matrix(self, A: np.ndarray, elements: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and calibrated std (n,) each, float64, from at.% (or fraction) rows over ``elements``."""
        check_is_fitted(self, "forest_")
        elements = list(elements)
        F = _fractions(A, elements)
        X = self._featurizer(self.elements_).transform_matrix(F, elements)
        mean, spread = _mean_spread(self.forest_, X)
        return mean, self._sigma(spread)

    def predict(self, compositions: Iterable[Any] | str, return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Predicted values (n,) and with ``return_std`` the calibrated std (n,).

        Warns (ExtrapolationWarning) naming compositions with elements the model never saw.
        """
        check_is_fitted(self, "forest_")
        if isinstance(compositions, (str, Composition)):
            compositions = [compositions]
        comps = [Composition.coerce(c) for c in compositions]
        if not comps:
            raise PcidsError("no compositions given")
        self._warn_domain(comps)
        elements = sorted({e for c in comps for e in c.elements})
        mean, std = self.predict_matrix(_matrix(comps, elements), elements)
        return (mean, std) if return_std else mean

    def unseen_elements(self, compositions: Iterable[Any]) -> list[list[str]]:
        """Per composition, its elements the model never saw in training."""
        check_is_fitted(self, "forest_")
        seen = set(self.elements_)
        return [[e for e in Composition.coerce(c).elements if e not in seen] for c in compositions]

    def domain_reasons(self, compositions: Iterable[Any]) -> list[list[str]]:
        """Per composition, why it lies outside what the model saw (empty list: inside)."""
        return [[f"{e} never seen in training {self.name}" for e in u] for u in self.unseen_elements(compositions)]

    def _warn_domain(self, comps: Sequence[Composition]) -> None:
        warn_unseen(comps, {self.name: self.unseen_elements(comps)}, stacklevel=4)


    # ------------------------------------------------------------ save/load
    def save(self, path: str | Path, overwrite: bool = False, **metadata: Any) -> Path:
        """``<path>.npz`` (tree arrays) + ``<path>.json`` (hyperparameters, elements, sigma, extras such as
        data hash, seed and CV metrics); an existing file is kept unless ``overwrite``."""
        check_is_fitted(self, "forest_")
        meta = {
            "kind": KIND,
            "hyperparameters": self.get_params(),
            "elements": list(self.elements_),
            "feature_names": list(self.feature_names_),
            "sigma_params": list(self.sigma_params_),
            "training_range": list(self.training_range_),
            "n_train": self.n_train_,
            "oof_metrics": self.oof_metrics_,
            "oof_formulas": None if self.oof_ is None else list(self.oof_["formula"]),
            **metadata,
        }
        state = self.forest_.state("trees")
        if self.oof_ is not None:
            state.update({f"oof_{k}": np.asarray(self.oof_[k], dtype=np.float64) for k in _OOF_ARRAYS})
        return save_state(path, state, meta, overwrite=overwrite, compress=True)

    @classmethod
    def load(cls, path: str | Path, target: str | None = None) -> PropertyModel:
        """Load a model saved by :meth:`save`; a missing, truncated or edited file is a ModelFileError.

        With ``target``, a file holding another property is refused.
        """
        from pcids.models.gfa import _Forest

        state, meta = load_state(path, kind=KIND)
        try:
            model = cls(**dict(meta["hyperparameters"]))
            model._check_params()
            model.elements_ = [str(e) for e in meta["elements"]]
            model.feature_names_ = [str(f) for f in meta["feature_names"]]
            a, b = (float(v) for v in meta["sigma_params"])
            model.sigma_params_ = (a, b)
            lo, hi = (float(v) for v in meta["training_range"])
            model.training_range_ = (lo, hi)
            model.n_train_ = int(meta["n_train"])
        except (KeyError, TypeError, ValueError, PcidsError) as exc:
            raise ModelFileError(f"{path} does not describe a PropertyModel ({exc})") from None
        if target is not None and model.target != target:
            raise ModelFileError(f"{path} holds a model of {model.target!r}, not {target!r}: restore it or retrain with `pcids train properties`")
        model.forest_ = _Forest.from_state(state, "trees", str(path))
        expected = model._featurizer(model.elements_).feature_labels()
        if model.forest_.n_features != len(expected) or model.feature_names_ != expected:
            raise ModelFileError(f"{path}: its trees read {model.forest_.n_features} features, its metadata describes {len(model.feature_names_)}, the featurizer gives {len(expected)}")
        model.n_features_in_ = model.forest_.n_features
        model.oof_metrics_ = meta.get("oof_metrics")
        model.oof_ = _read_oof(meta.get("oof_formulas"), state, path)
        model.metadata_ = meta
        return model


def warn_unseen(comps: Sequence[Composition], unseen: dict[str, list[list[str]]], stacklevel: int = 2) -> None:
    """One ExtrapolationWarning naming each composition with elements some of the models
    (``unseen``: model name -> unseen elements per composition) never saw."""
    bad = []
    for i, c in enumerate(comps):
        per_el: dict[str, list[str]] = {}
        for name, rows in unseen.items():
            for e in rows[i]:
                per_el.setdefault(e, []).append(name)
        if per_el:
            bad.append(f"{c.formula}: " + "; ".join(f"{e} never seen in training {', '.join(names)}" for e, names in per_el.items()))
    if bad:
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        which = ", ".join(unseen)
        warnings.warn(f"{which} prediction outside the training domain, treat with caution: " + " | ".join(bad[:5]) + more, ExtrapolationWarning, stacklevel=stacklevel)


def _read_oof(formulas: Any, state: dict[str, np.ndarray], path: str | Path) -> dict[str, Any] | None:
    """The out-of-fold record a file keeps (formulas in the JSON, numbers in the arrays), checked."""
    if formulas is None:
        return None
    try:
        out = {"formula": [str(f) for f in formulas], **{k: np.asarray(state[f"oof_{k}"], dtype=np.float64) for k in _OOF_ARRAYS}}
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: its out-of-fold record is incomplete ({exc})") from None
    if len({len(v) for v in out.values()}) != 1:
        raise ModelFileError(f"{path}: its out-of-fold record has columns of different lengths")
    return out


def _compact(forest: Any) -> Any:
    """The forest with small dtypes (int16 / int32 indices, float32 thresholds and values): files
    ~2x smaller, and the model predicts with exactly what it saves."""
    from pcids.models.gfa import _Forest

    a = forest.arrays
    idx = np.int16 if max(int(np.max(np.diff(forest.offsets))), forest.n_features) < np.iinfo(np.int16).max else np.int32
    arrays = {
        "left": a["left"].astype(idx),
        "right": a["right"].astype(idx),
        "feature": a["feature"].astype(np.int16 if forest.n_features < np.iinfo(np.int16).max else np.int32),
        "threshold": a["threshold"].astype(np.float32),
        "value": a["value"].astype(np.float32),
    }
    return _Forest(arrays, forest.offsets, forest.max_depth, forest.n_features, classifier=False)


def _coverage(y: np.ndarray, mean: np.ndarray, sigma: np.ndarray) -> dict[str, float]:
    from pcids.evaluation import regression_metrics

    z = np.abs(y - mean) / sigma
    return {**regression_metrics(y, mean), "coverage_1sigma": float(np.mean(z <= 1.0)), "coverage_2sigma": float(np.mean(z <= Z95))}


def _mean_spread(forest: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, sq = forest.moments(X)
    return mean, np.sqrt(np.maximum(sq - mean * mean, 0.0))


def _matrix(comps: Sequence[Composition], elements: Sequence[str]) -> np.ndarray:
    col = {e: i for i, e in enumerate(elements)}
    A = np.zeros((len(comps), len(elements)))
    for i, c in enumerate(comps):
        for e, x in zip(c.elements, c.fractions):
            A[i, col[e]] = x
    return A


def fit_sigma(residual: np.ndarray, spread: np.ndarray) -> tuple[float, float]:
    """(a, b) of ``sigma = sqrt((a spread)^2 + b^2)`` maximising the Gaussian likelihood of the residuals.

    ``b`` keeps sigma honest where the trees agree by accident (duplicates of a
    training alloy); ``a`` scales the spread, which alone is over- or under-dispersed.
    ``b`` is at least :data:`B_FLOOR` of the RMS residual: a few alloys whose trees all
    agree on exactly their measured value (series reported to the same kelvin) make the
    likelihood unbounded as b -> 0, which gave sigma = 1e-9 K before the floor.
    """
    from scipy.optimize import minimize

    r2 = np.asarray(residual, dtype=np.float64) ** 2
    s2 = np.asarray(spread, dtype=np.float64) ** 2
    scale = float(np.sqrt(np.mean(r2))) or 1.0
    b_min = B_FLOOR * scale  # an alloy whose trees all agree on its exact value would make the likelihood unbounded

    def nll(theta: np.ndarray) -> float:
        var = np.exp(2 * theta[0]) * s2 + (b_min + np.exp(theta[1]) * scale) ** 2
        return float(np.mean(np.log(var) + r2 / var))

    res = minimize(nll, x0=np.array([0.0, np.log(0.3)]), method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 2000})
    return float(np.exp(res.x[0])), float(b_min + np.exp(res.x[1]) * scale)


# ---------------------------------------------------------------------------
# predictors behind one interface


class _LastCall:
    """Remembers the last (A, elements) -> result, so E after G, or dTx after Tg and Tx, costs nothing."""

    def __init__(self, fn: Callable[[np.ndarray, Sequence[str]], Any]):
        self.fn = fn
        self._key: tuple | None = None
        self._value: Any = None

    def __call__(self, A: np.ndarray, elements: Sequence[str]) -> Any:
        A = np.ascontiguousarray(A, dtype=np.float64)
        key = (tuple(elements), A.shape, hashlib.blake2b(A.tobytes(), digest_size=16).digest())
        if key != self._key:
            self._value = self.fn(A, elements)
            self._key = key
        return self._value


class _Predictor:
    """A named property computed by ``fn(A, elements) -> (mean, std)``."""

    def __init__(self, name: str, fn: Callable[[np.ndarray, Sequence[str]], tuple[np.ndarray, np.ndarray]]):
        self.name = name
        self.unit = str(PROPERTIES[name]["unit"])
        self._fn = fn

    def predict_matrix(self, A: np.ndarray, elements: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        mean, std = self._fn(A, elements)
        return np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)

    def __repr__(self) -> str:
        return f"<{self.name} ({self.unit or 'dimensionless'}) predictor>"


def _elastic_predictors() -> dict[str, _Predictor]:
    """G, K from the shipped ensembles, E and nu from them (their sigma propagated)."""
    from pcids.elastic import derived_with_uncertainty
    from pcids.models.ensemble import load_elastic_model

    model = load_elastic_model()

    def moduli(A: np.ndarray, elements: Sequence[str]) -> dict[str, np.ndarray]:
        X = _fractions(A, elements) @ model.property_matrix(list(elements))
        mean, std = model.predict_descriptors(X)
        mean, std = mean.astype(np.float64), std.astype(np.float64)
        out = {"G": mean[:, 0], "G_std": std[:, 0], "K": mean[:, 1], "K_std": std[:, 1]}
        out.update(derived_with_uncertainty(out["G"], out["K"], out["G_std"], out["K_std"]))
        return out

    cached = _LastCall(moduli)
    return {n: _Predictor(n, lambda A, els, n=n: (cached(A, els)[n], cached(A, els)[f"{n}_std"])) for n in ELASTIC}


#: value and gradient (w.r.t. Tg, Tx, Tl) of each derived temperature quantity.
_DERIVED_T: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]] = {
    "dTx": lambda g, x, l: (x - g, np.stack([-np.ones_like(g), np.ones_like(g), np.zeros_like(g)])),
    "Trg": lambda g, x, l: (g / l, np.stack([1 / l, np.zeros_like(g), -g / l**2])),
    "gamma": lambda g, x, l: (x / (g + l), np.stack([-x / (g + l) ** 2, 1 / (g + l), -x / (g + l) ** 2])),
}


def derived_temperatures(
    mean: dict[str, np.ndarray],
    std: dict[str, np.ndarray],
    correlation: np.ndarray | None = None,
    scales: dict[str, float] | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """dTx, Trg, gamma and their sigma (first-order propagation with the errors' correlation
    matrix over (Tg, Tx, Tl), None: independent; times ``scales[name]`` if given) from the three temperatures."""
    R = np.eye(3) if correlation is None else np.asarray(correlation, dtype=np.float64)
    g, x, l = (np.asarray(mean[t], dtype=np.float64) for t in TEMPERATURES)
    s = np.stack([np.asarray(std[t], dtype=np.float64) for t in TEMPERATURES])  # (3, n)
    out = {}
    for name, f in _DERIVED_T.items():
        value, grad = f(g, x, l)
        gs = np.where(grad == 0, 0.0, grad * s)  # (3, n); a temperature the quantity does not use may be NaN
        var = np.einsum("in,ij,jn->n", gs, R, gs)
        out[name] = (value, np.sqrt(np.maximum(var, 0.0)) * (1.0 if scales is None else float(scales.get(name, 1.0))))
    return out


def oof_z(model: PropertyModel) -> dict[str, float]:
    """Canonical formula -> out-of-fold standardised error (residual / sigma) of a fitted or loaded model."""
    oof = getattr(model, "oof_", None)
    if oof is None:
        raise PcidsError(f"the {model.name} model has no out-of-fold predictions (fit it with calibration_folds >= 2)")
    return dict(zip(oof["formula"], (np.asarray(oof["residual"], dtype=np.float64) / np.asarray(oof["std"], dtype=np.float64)).tolist()))


def derived_calibration(
    measured: dict[str, np.ndarray], mean: dict[str, np.ndarray], std: dict[str, np.ndarray]
) -> tuple[np.ndarray, dict[str, float]]:
    """The errors' correlation matrix over (Tg, Tx, Tl) and a sigma scale per derived quantity,
    from aligned out-of-fold arrays (NaN where not measured).

    First-order propagation with that correlation still leaves the derived errors
    heavier-tailed than their sigma says (dTx: 82 % within 1.96 sigma on seed 1),
    so each derived sigma is scaled until 95 % of the out-of-fold alloys lie within
    1.96 of it, the rule the G, K ensembles use (docs/decisions.md).
    """
    z = {t: (measured[t] - mean[t]) / std[t] for t in TEMPERATURES}
    R = np.eye(3)
    for i, a in enumerate(TEMPERATURES):
        for j in range(i + 1, 3):
            b = TEMPERATURES[j]
            both = np.isfinite(z[a]) & np.isfinite(z[b])
            if both.sum() >= 3:
                R[i, j] = R[j, i] = float(np.corrcoef(z[a][both], z[b][both])[0, 1])
    g, x, l = (np.asarray(measured[t], dtype=np.float64) for t in TEMPERATURES)
    propagated = derived_temperatures(mean, std, R)
    scales = {}
    for name, f in _DERIVED_T.items():
        truth = f(g, x, l)[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            zd = np.abs(truth - propagated[name][0]) / propagated[name][1]
        zd = zd[np.isfinite(zd)]
        scales[name] = float(np.quantile(zd, 0.95) / Z95) if zd.size >= 10 else 1.0
    return R, scales


def model_calibration(models: dict[str, PropertyModel]) -> tuple[np.ndarray, dict[str, float]]:
    """:func:`derived_calibration` from the out-of-fold records the three models keep.

    Computed when the models are loaded, so retraining one of them keeps it consistent.
    """
    for t in TEMPERATURES:
        oof_z(models[t])  # a clear error if a model lacks its record
    def keys(oof: dict[str, Any]) -> list[tuple[float, str]]:  # an alloy appears once per calibration scheme
        return list(zip(np.asarray(oof.get("split", np.zeros(len(oof["formula"]))), dtype=np.float64).tolist(), oof["formula"]))

    formulas = sorted({key for t in TEMPERATURES for key in keys(models[t].oof_)})
    row = {f: i for i, f in enumerate(formulas)}
    measured, mean, std = ({t: np.full(len(formulas), np.nan) for t in TEMPERATURES} for _ in range(3))
    for t in TEMPERATURES:
        oof = models[t].oof_
        idx = np.array([row[key] for key in keys(oof)], dtype=np.intp)
        mean[t][idx] = oof["mean"]
        measured[t][idx] = oof["mean"] + oof["residual"]
        std[t][idx] = oof["std"]
    return derived_calibration(measured, mean, std)


def residual_correlation(models: dict[str, PropertyModel]) -> np.ndarray:
    """(3, 3) correlation of the out-of-fold errors of Tg, Tx, Tl over the alloys measured for both of a pair."""
    return model_calibration(models)[0]


@functools.lru_cache(maxsize=4)
def _shipped_calibration(stem: str | None = None) -> tuple[np.ndarray, dict[str, float]]:
    return model_calibration(load_temperature_models(stem))


def shipped_stem() -> Path:
    """Where the shipped temperature models live inside the installed package."""
    return Path(str(resources.files("pcids.models") / "trained")) / SHIPPED_STEM


@functools.lru_cache(maxsize=4)
def load_temperature_models(stem: str | None = None) -> dict[str, PropertyModel]:
    """The shipped Tg, Tx, Tl models (loaded once per process)."""
    base = Path(stem) if stem is not None else shipped_stem()
    return {t: PropertyModel.load(base.parent / f"{base.name}_{t}", target=t) for t in TEMPERATURES}


def _temperature_predictors(stem: str | None = None) -> dict[str, _Predictor]:
    models = load_temperature_models(stem)
    R, scales = _shipped_calibration(stem)

    def all_of(A: np.ndarray, elements: Sequence[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        base = {t: m.predict_matrix(A, elements) for t, m in models.items()}
        derived = derived_temperatures({t: v[0] for t, v in base.items()}, {t: v[1] for t, v in base.items()}, R, scales)
        return {**base, **derived}

    cached = _LastCall(all_of)
    return {n: _Predictor(n, lambda A, els, n=n: cached(A, els)[n]) for n in (*TEMPERATURES, *_DERIVED_T)}


def load_property_models(names: Sequence[str] | str | None = None) -> dict[str, PropertyPredictor]:
    """The shipped predictors, in the order of :data:`PROPERTIES` (all of them for None).

    G, K: the deep ensembles; E, nu: from them; Tg, Tx, Tl: :class:`PropertyModel`;
    dTx, Trg, gamma: from the three with correlated sigma. Unknown names: one PcidsError.
    """
    wanted = check_property_names(names)
    pool: dict[str, _Predictor] = {}
    if any(n in ELASTIC for n in wanted):
        pool.update(_elastic_predictors())
    if any(n in (*TEMPERATURES, *_DERIVED_T) for n in wanted):
        pool.update(_temperature_predictors())
    return {n: pool[n] for n in PROPERTIES if n in wanted}


# ---------------------------------------------------------------------------
# training the shipped models


def train_temperature_models(
    names: Sequence[str] = TEMPERATURES, seed: int = 0, grouped_cv: bool = True, progress: Callable[[str], None] | None = None, **params: Any
) -> dict[str, tuple[PropertyModel, dict[str, Any]]]:
    """Fit each of ``names`` on ``load_temperatures()``; name -> (model, metadata to save with it).

    The metadata holds the data hash, the seed, and the CV figures: the random
    calibration folds' out-of-fold metrics with sigma coverage and, with
    ``grouped_cv``, MAE / RMSE / R² on 5 system-grouped folds (``seed``).
    """
    from sklearn.base import clone

    from pcids.datasets import data_hash, load_temperatures
    from pcids.evaluation import grouped_kfold, regression_metrics

    names = [n for n in check_property_names(names)]
    bad = [n for n in names if n not in TEMPERATURES]
    if bad:
        raise PcidsError(f"only {', '.join(TEMPERATURES)} are trained by this command, not {', '.join(bad)}")
    df = load_temperatures()
    out = {}
    for name in names:
        ok = df[name].notna().to_numpy()
        formulas, y = df["formula"].to_numpy()[ok], df[name].to_numpy()[ok]
        template = PropertyModel(target=name, unit=str(PROPERTIES[name]["unit"]), seed=seed, **params)
        if progress:
            progress(f"{name}: fitting on {len(y)} alloys")
        model = clone(template).fit(formulas, y)
        cal = model.oof_metrics_ or {}
        random_cv = {k[len("random_"):]: v for k, v in cal.items() if k.startswith("random_")} or None
        meta: dict[str, Any] = {"data": "temperatures", "data_hash": data_hash("temperatures"), "seed": seed, "cv_random_5fold": random_cv}
        if grouped_cv:
            pred = np.full(len(y), np.nan)
            with warnings.catch_warnings():  # held-out systems bring unseen elements: that is the point
                warnings.simplefilter("ignore", ExtrapolationWarning)
                for tr, te in grouped_kfold(df["system"].to_numpy()[ok], 5, seed):
                    pred[te] = clone(template).set_params(calibration_folds=0).fit(formulas[tr], y[tr]).predict(formulas[te])
            meta["cv_grouped_5fold"] = regression_metrics(y, pred)
        out[name] = (model, meta)
    return out


# ---------------------------------------------------------------------------
# compositions in, a table out (pcids predict)


def predict_properties(compositions: Iterable[Any] | str, names: Sequence[str] | str | None = None) -> Any:
    """DataFrame indexed by the input as typed: ``formula``, then ``<name>`` and ``<name>_std`` per
    property (in the order given; all of :data:`PROPERTIES`, in its order, for None), and ``in_domain``.

    G, K, E, nu are exactly :meth:`ElasticModel.predict`'s; the temperatures and
    their derived quantities come from the shipped :class:`PropertyModel` files.
    Warns (ExtrapolationWarning) for compositions outside a model's training domain.
    """
    import pandas as pd

    from pcids.models.ensemble import coerce_batch

    wanted = check_property_names(names)
    compositions, comps = coerce_batch(compositions)
    cols: dict[str, Any] = {"formula": [c.formula for c in comps]}
    in_domain = np.ones(len(comps), dtype=bool)
    if any(n in ELASTIC for n in wanted):
        from pcids.models.ensemble import load_elastic_model

        el = load_elastic_model().predict(comps)
        for n in ("G", "K", "E", "nu"):
            if n in wanted:
                cols[n], cols[f"{n}_std"] = el[n].to_numpy(), el[f"{n}_std"].to_numpy()
        in_domain &= el["in_domain"].to_numpy(dtype=bool)
    temps = [n for n in wanted if n in TEMPERATURES or n in _DERIVED_T]
    if temps:
        models = load_temperature_models()
        derived_wanted = any(n in _DERIVED_T for n in temps)
        needed = TEMPERATURES if derived_wanted else [t for t in TEMPERATURES if t in temps]
        unseen = {t: models[t].unseen_elements(comps) for t in needed}
        warn_unseen(comps, unseen, stacklevel=2)
        with warnings.catch_warnings():  # said once above for all three
            warnings.simplefilter("ignore", ExtrapolationWarning)
            values = {t: models[t].predict(comps, return_std=True) for t in needed}
        for t in needed:
            in_domain &= np.array([not u for u in unseen[t]])
        if derived_wanted:
            mean, std = {t: v[0] for t, v in values.items()}, {t: v[1] for t, v in values.items()}
            values.update(derived_temperatures(mean, std, *_shipped_calibration()))
        for n in temps:
            cols[n], cols[f"{n}_std"] = values[n]
    ordered = {"formula": cols["formula"]}
    for n in wanted:
        ordered[n], ordered[f"{n}_std"] = cols[n], cols[f"{n}_std"]
    ordered["in_domain"] = in_domain
    return pd.DataFrame(ordered, index=pd.Index([as_typed(c) for c in compositions], name="input"))

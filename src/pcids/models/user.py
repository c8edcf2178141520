"""A model of one property a user measured (hardness, strength...): the shipped deep ensemble, refitted.

The same :class:`~pcids.models.ensemble.ForwardEnsemble` as the shipped G and K
models (same inputs, architecture and out-of-fold sigma calibration), on the
user's rows. It satisfies the property interface the design engine consumes
(``name``, ``unit``, ``predict_matrix(A, elements) -> (mean, std)``), predicts
in numpy without torch or scikit-learn, and saves as a directory holding
``model.npz`` + ``model.json`` (weights, hyperparameters, the domain, and the
provenance and cross-validation figures :func:`pcids.fit_property_model` adds).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pcids.composition import Composition, as_typed
from pcids.descriptors import WeightedMeans
from pcids.errors import DataError, ModelFileError, PcidsError
from pcids.models._base import Estimator, check_is_fitted
from pcids.models.ensemble import SHIPPED_FEATURES, ForwardEnsemble, _extrapolation_reasons, coerce_batch, warn_outside_domain
from pcids.models.io import model_files

MODEL = "pcids.UserPropertyModel"
#: The files of a saved model inside its directory: ``model.npz`` and ``model.json``.
STEM = "model"
#: Names a user's property may not take besides :data:`pcids.models.properties.PROPERTIES`: what
#: design also scores (GFA, density, cost) and the columns of pcids's tables.
OTHER_RESERVED: tuple[str, ...] = ("Dmax", "Dmax_if_glass", "p_gfa", "density", "cost", "formula", "input", "in_domain", "error")


def reserved_names() -> tuple[str, ...]:
    """Every name a user's property may not take (compared case-insensitively)."""
    from pcids.models.properties import PROPERTIES

    return (*PROPERTIES, *OTHER_RESERVED)


_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
#: Metadata keys the saved files write themselves (never carried over from a loaded model's metadata_).
_FILE_KEYS = frozenset({"format_version", "pcids_version", "numpy_version", "python_version", "weights_sha256", "kind",
                        "hyperparameters", "feature_names", "sigma_scale", "oof_metrics"})


def check_property_name(name: Any) -> str:
    """A user's property name: an identifier (it becomes a column and a ``NAME=VALUE`` key) that is not a shipped one."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise DataError(f"property name {name!r} must start with a letter and hold only letters, digits and _ (e.g. HV, hardness)")
    clash = [r for r in reserved_names() if r.lower() == name.lower()]
    if clash:
        raise DataError(f"property name {name!r} clashes with pcids's own {clash[0]!r}; choose another name, e.g. {name}_measured")
    return name


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text.split("+")[0])[:3])


class UserPropertyModel(Estimator):
    """Compositions -> one property with a calibrated sigma (a deep ensemble on weighted means).

    Parameters
    ----------
    name : str
        The property (a column name: ``hardness``); not one of :func:`reserved_names`.
    unit : str
        Its unit, for tables (``HV``); may be empty.
    ensemble : ForwardEnsemble or None
        Unfitted template (default: the shipped architecture, 5 members, sigma calibrated on 5 folds).
    features : tuple of str
        Weighted means fed to the networks (default: the shipped G, K models' inputs).
    """

    def __init__(self, name: str = "y", unit: str = "", ensemble: ForwardEnsemble | None = None, features: Sequence[str] = SHIPPED_FEATURES):
        self.name = name
        self.unit = unit
        self.ensemble = ensemble
        self.features = features

    def fit(self, compositions: Iterable[Any], y: Any, progress: Any = None) -> UserPropertyModel:
        """``compositions``: formulas or Compositions; ``y``: array-like (n,) of finite values."""
        from sklearn.base import clone

        check_property_name(self.name)
        comps = [Composition.coerce(c) for c in compositions]
        y = np.asarray(y, dtype=float).ravel()
        if len(y) != len(comps):
            raise DataError(f"y has {len(y)} values for {len(comps)} compositions")
        self.features_ = tuple(WeightedMeans(tuple(self.features)).feature_labels())
        X = self.descriptors().transform(comps)
        template = self.ensemble if self.ensemble is not None else ForwardEnsemble()
        self.ensemble_ = clone(template).set_params(target=self.name).fit(X, y, progress=progress)
        self.elements_ = sorted({el for c in comps for el in c.elements})
        ranges = {n: (float(X[:, i].min()), float(X[:, i].max())) for i, n in enumerate(self.features_)}
        ranges[self.name] = (float(y.min()), float(y.max()))
        self.training_ranges_ = ranges
        self.n_train_ = len(y)
        self.metadata_: dict[str, Any] = {}
        self._matrices: dict[tuple[str, ...], np.ndarray] = {}
        return self

    # ------------------------------------------------------------- predict
    def descriptors(self) -> WeightedMeans:
        """The featurizer of the networks' inputs."""
        check_is_fitted(self, "features_")
        return WeightedMeans(self.features_)

    def predict_matrix(self, A: np.ndarray, elements: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and calibrated std (n,) each, float64, of at.% (or fraction) rows ``A`` (n, len(elements)).

        The design engine's fast path: numpy only, no parsing, no warnings.
        """
        check_is_fitted(self, "ensemble_", hint="'fit' (or UserPropertyModel.load)")
        A = np.asarray(A, dtype=np.float64)
        if A.ndim != 2 or A.shape[1] != len(elements):
            raise PcidsError(f"A must have shape (n, {len(elements)}) for elements {list(elements)}, got {A.shape}")
        key = tuple(elements)
        P = self._matrices.get(key)
        if P is None:
            P = self._matrices[key] = self.descriptors().property_matrix(key)
        total = A.sum(axis=1, keepdims=True)
        if np.any(total <= 0):
            raise PcidsError("a composition row has no positive amount")
        mean, std = self.ensemble_.mean_std((A @ P) / total)
        return mean.astype(np.float64), std.astype(np.float64)

    def domain_reasons(self, comps: Sequence[Composition], X: np.ndarray) -> list[list[str]]:
        """Per composition, why it lies outside the training data (unseen element, descriptor out of range)."""
        check_is_fitted(self, "elements_")
        return _extrapolation_reasons(comps, X, frozenset(self.elements_), self.training_ranges_, self.features_)

    def predict(self, compositions: Iterable[Any] | str) -> Any:
        """DataFrame indexed by the input as typed: ``formula``, ``<name>``, ``<name>_std``, ``in_domain``.

        Warns (ExtrapolationWarning) naming each composition outside the training domain and why.
        """
        import pandas as pd

        check_is_fitted(self, "ensemble_", hint="'fit' (or UserPropertyModel.load)")
        compositions, comps = coerce_batch(compositions)
        X = self.descriptors().transform(comps)
        reasons = self.domain_reasons(comps, X)
        warn_outside_domain(comps, reasons, what=f"{self.name} prediction")
        mean, std = self.ensemble_.mean_std(X)
        return pd.DataFrame(
            {
                "formula": [c.formula for c in comps],
                self.name: mean.astype(np.float64),
                f"{self.name}_std": std.astype(np.float64),
                "in_domain": [not r for r in reasons],
            },
            index=pd.Index([as_typed(c) for c in compositions], name="input"),
        )

    # ------------------------------------------------------------ save/load
    def save(self, directory: str | Path, overwrite: bool = False, **metadata: Any) -> Path:
        """Write ``directory/model.npz`` and ``model.json`` (creating the directory); returns the JSON path.

        Keyword ``metadata`` (data hash, CV figures...) is stored too, after :attr:`metadata_`.
        """
        check_is_fitted(self, "ensemble_")
        directory = Path(directory)
        if directory.exists() and not directory.is_dir():
            raise ModelFileError(f"{directory} exists and is not a directory")
        directory.mkdir(parents=True, exist_ok=True)
        own = {
            "model": MODEL,
            "name": self.name,
            "unit": self.unit,
            "feature_names": list(self.features_),
            "elements": self.elements_,
            "training_ranges": self.training_ranges_,
            "n_train": self.n_train_,
        }
        extra = {**own, **{k: v for k, v in {**self.metadata_, **metadata}.items() if k not in own and k not in _FILE_KEYS}}
        return self.ensemble_.save(directory / STEM, overwrite=overwrite, **extra)

    @classmethod
    def load(cls, directory: str | Path) -> UserPropertyModel:
        """Load a model saved by :meth:`save` (a directory, or its model.json); any defect is a ModelFileError."""
        from pcids import __version__

        directory = Path(directory)
        if directory.name in (f"{STEM}.json", f"{STEM}.npz"):
            directory = directory.parent
        if not directory.is_dir():
            raise ModelFileError(f"model directory {directory} not found" if not directory.exists() else f"{directory} is not a model directory")
        _, js = model_files(directory / STEM)
        if not js.is_file():
            raise ModelFileError(f"{directory} holds no {js.name}: not a model saved by `pcids train forward --data`")
        try:
            written_by = str(json.loads(js.read_text()).get("pcids_version", ""))
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            written_by = ""  # load_state says what is wrong with the file
        if written_by and _version(written_by) > _version(__version__):
            raise ModelFileError(f"{directory} was saved by pcids {written_by}, newer than this pcids {__version__}; upgrade pcids to use it")
        ens = ForwardEnsemble.load(directory / STEM)
        meta = ens.metadata_
        if meta.get("model") != MODEL:
            raise ModelFileError(f"{js} holds a {meta.get('kind')!r} without a user property (not saved by `pcids train forward --data`)")
        try:
            model = cls(name=str(meta["name"]), unit=str(meta.get("unit", "")), features=tuple(meta["feature_names"]))
            model.features_ = tuple(WeightedMeans(model.features).feature_labels())
            if ens.n_features_in_ != len(model.features_):
                raise ValueError("the networks' input width does not match feature_names")
            model.elements_ = [str(e) for e in meta["elements"]]
            model.training_ranges_ = {k: (float(v[0]), float(v[1])) for k, v in meta["training_ranges"].items()}
            missing = [n for n in (*model.features_, model.name) if n not in model.training_ranges_]
            if missing:
                raise KeyError(f"training_ranges lacks {missing}")
            model.n_train_ = int(meta["n_train"])
        except (KeyError, TypeError, ValueError, IndexError, PcidsError) as exc:
            raise ModelFileError(f"{js} does not describe a user property model ({exc})") from None
        model.ensemble_ = ens
        model.metadata_ = meta
        model._matrices = {}
        return model


def load_user_model(directory: str | Path) -> UserPropertyModel:
    """A user's model saved by ``pcids train forward --data ... --out DIR`` (or :meth:`UserPropertyModel.save`)."""
    return UserPropertyModel.load(directory)

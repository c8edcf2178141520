"""Deep ensembles of ForwardModels, and the G/K pair every other module trusts.

Members differ only by seed, so their spread estimates how much the fit is
pinned down by the data, and the mean is more accurate than any member. The
spread is calibrated out of fold at fit time (``sigma_scale_``, applied to
every ``std`` returned); inference folds each member into its linear layers
and stacks all members into batched float32 numpy matmuls (the corrector's
inner loop; :class:`pcids.models._inference.Stack`, so predicting needs no
torch). The shipped architecture, training settings and inputs, and why:
docs/decisions.md, "Forward ensemble: ...".
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from pcids.composition import Composition, as_typed
from pcids.descriptors import PAPER_FEATURES, WeightedMeans
from pcids.errors import DataError, ExtrapolationWarning, ModelFileError, PcidsError
from pcids.models._base import Estimator, Regressor, check_is_fitted
from pcids.models._inference import Stack
from pcids.models.forward import ForwardModel, check_min_samples, feature_names, validate
from pcids.models.io import check_target, load_state, save_state

KIND = "pcids.ForwardEnsemble"
LR_SCHEDULES: tuple[str, ...] = ("constant", "cosine")
TARGETS: tuple[str, str] = ("G", "K")
#: The shipped ensembles, ``<stem>_G`` and ``<stem>_K`` (.npz + .json).
SHIPPED_STEM = "forward"

#: Inputs of the shipped networks: the paper's four weighted means plus the weighted
#: mean density (why, and the 2 x 64 architecture and training settings of
#: SHIPPED_HYPERPARAMETERS: docs/decisions.md, "Forward ensemble: ...").
SHIPPED_FEATURES: tuple[str, ...] = (*PAPER_FEATURES, "rho")

SHIPPED_HYPERPARAMETERS: dict[str, Any] = {
    "hidden_layer_sizes": (64, 64),
    "dropout": 0.1,
    "learning_rate": 0.01,
    "epochs": 1000,
}


class ForwardEnsemble(Regressor):
    """``n_members`` ForwardModels differing by seed; mean and calibrated std.

    Parameters
    ----------
    n_members : int
        Number of networks (seeds ``seed, seed + 1, ...``).
    hidden_layer_sizes, dropout, learning_rate, epochs, weight_decay
        Passed to every :class:`~pcids.models.forward.ForwardModel`.
    seed : int
        First member's seed; also seeds the calibration folds.
    target : str
        ``"G"`` or ``"K"`` (metadata only).
    calibration_folds : int
        Folds of the out-of-fold run that fits ``sigma_scale_``; 0 disables
        calibration (``sigma_scale_ = 1``).
    lr_schedule : {"constant", "cosine"}
        Adam step size over the epochs: constant (the paper) or cosine-annealed
        to zero, so the last epochs settle instead of jittering with dropout.
        Training-side only: inference cost is unchanged.
    """

    def __init__(
        self,
        n_members: int = 5,
        hidden_layer_sizes: Sequence[int] = SHIPPED_HYPERPARAMETERS["hidden_layer_sizes"],
        dropout: float = SHIPPED_HYPERPARAMETERS["dropout"],
        learning_rate: float = SHIPPED_HYPERPARAMETERS["learning_rate"],
        epochs: int = SHIPPED_HYPERPARAMETERS["epochs"],
        weight_decay: float = 0.0,
        seed: int = 0,
        target: str = "G",
        calibration_folds: int = 5,
        lr_schedule: str = "constant",
    ):
        self.n_members = n_members
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.weight_decay = weight_decay
        self.seed = seed
        self.target = target
        self.calibration_folds = calibration_folds
        self.lr_schedule = lr_schedule

    @classmethod
    def paper(cls, target: str, n_members: int = 5, seed: int = 0, calibration_folds: int = 5) -> ForwardEnsemble:
        """An ensemble of the paper-size networks (Table 2)."""
        p = ForwardModel.paper(target).get_params()
        return cls(
            n_members=n_members,
            hidden_layer_sizes=p["hidden_layer_sizes"],
            dropout=p["dropout"],
            learning_rate=p["learning_rate"],
            epochs=p["epochs"],
            seed=seed,
            target=target,
            calibration_folds=calibration_folds,
        )

    def _member(self, i: int) -> ForwardModel:
        return ForwardModel(
            hidden_layer_sizes=tuple(int(h) for h in self.hidden_layer_sizes),
            dropout=self.dropout,
            learning_rate=self.learning_rate,
            epochs=self.epochs,
            weight_decay=self.weight_decay,
            seed=int(self.seed) + i,
            target=self.target,
        )

    def fit(self, X: Any, y: Any, progress: Any = None) -> ForwardEnsemble:
        """Train the members, then (if ``calibration_folds``) fit ``sigma_scale_`` out of fold.

        ``progress`` is an optional callable ``progress(n_trained)`` (e.g. a tqdm update).
        Everything is validated before the calibration runs.
        """
        from sklearn.base import clone

        from pcids.evaluation import regression_metrics, repeated_kfold

        if not (isinstance(self.n_members, (int, np.integer)) and self.n_members >= 2):
            raise DataError(f"n_members must be an integer >= 2 (a spread needs two members), got {self.n_members!r}")
        if not (self.calibration_folds == 0 or self.calibration_folds >= 2):
            raise DataError(f"calibration_folds must be 0 or >= 2, got {self.calibration_folds!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise DataError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        self._member(0)._check_params()
        X, y = validate(self, X, y)
        check_min_samples(self, len(y), max(2, 2 * int(self.calibration_folds)), f" for calibration_folds={self.calibration_folds}" if self.calibration_folds else "")
        self.sigma_scale_ = 1.0
        self.oof_ = None
        if self.calibration_folds:
            mean = np.full(len(y), np.nan)
            std = np.full(len(y), np.nan)
            for tr, te in repeated_kfold(len(y), int(self.calibration_folds), 1, seed=int(self.seed)):
                sub = clone(self).set_params(calibration_folds=0).fit(X[tr], y[tr], progress=progress)
                mean[te], std[te] = sub.predict(X[te], return_std=True)
            z = np.abs(y - mean) / np.maximum(std, 1e-12)
            self.sigma_scale_ = float(np.quantile(z, 0.95) / 2.0)
            self.oof_ = {"mean": mean, "raw_std": std}
            self.oof_metrics_ = {
                **regression_metrics(y, mean),
                "raw_coverage_2sigma": float(np.mean(z <= 2.0)),
                "sigma_scale": self.sigma_scale_,
            }
        members = _fit_jointly([self._member(i) for i in range(int(self.n_members))], X, y, int(self.seed), self.lr_schedule)
        if progress is not None:
            progress(len(members))
        self.members_ = members
        self.n_features_in_ = X.shape[1]
        self._stack = Stack([m.folded_layers() for m in members])
        return self

    def predict(self, X: Any, return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Ensemble mean (n,), and with ``return_std`` the calibrated std (n,)."""
        check_is_fitted(self, "members_")
        X = validate(self, X, reset=False)
        out = self._stack(X)  # (n_members, n)
        mean = out.mean(axis=0).astype(np.float64)
        if not return_std:
            return mean
        return mean, out.std(axis=0, ddof=1).astype(np.float64) * self.sigma_scale_

    def mean_std(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and calibrated std (n,) each, float32, from raw descriptors: no validation, no
        scikit-learn (the fast path of design's scorers; :meth:`predict` checks its input)."""
        check_is_fitted(self, "members_")
        mean, std = self._stack.mean_std(np.asarray(X, dtype=np.float32), [slice(None)])
        return mean[:, 0], std[:, 0] * np.float32(self.sigma_scale_)

    # ------------------------------------------------------------ save/load
    def state_dict(self) -> dict[str, np.ndarray]:
        check_is_fitted(self, "members_")
        state = {}
        for i, m in enumerate(self.members_):
            state.update({f"m{i}.{k}": v for k, v in m.state_dict().items()})
        return state

    def save(self, path: str | Path, overwrite: bool = False, **metadata: Any) -> Path:
        """One ``.npz`` with every member's arrays and one ``.json`` (hyperparameters, sigma_scale, extras)."""
        check_is_fitted(self, "members_")
        params = self.get_params()
        params["hidden_layer_sizes"] = [int(h) for h in self.hidden_layer_sizes]
        meta = {
            "kind": KIND,
            "hyperparameters": params,
            "feature_names": feature_names(self.n_features_in_),
            "sigma_scale": self.sigma_scale_,
            "oof_metrics": getattr(self, "oof_metrics_", None),
            **metadata,
        }
        return save_state(path, self.state_dict(), meta, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path, target: str | None = None) -> ForwardEnsemble:
        """Load an ensemble saved by :meth:`save`; any defect is a ModelFileError.

        With ``target``, a file whose metadata records another target is refused.
        """
        state, meta = load_state(path, kind=KIND)
        if target is not None:
            check_target(meta, target, path)
        try:
            params = dict(meta["hyperparameters"])
            params["hidden_layer_sizes"] = tuple(int(h) for h in params["hidden_layer_sizes"])
            ens = cls(**params)
            sigma_scale = float(meta["sigma_scale"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{path} does not describe a ForwardEnsemble ({exc})") from None
        members = []
        for i in range(int(ens.n_members)):
            prefix = f"m{i}."
            sub = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            if not sub:
                raise ModelFileError(f"{path} lacks the weights of member {i} of {ens.n_members}")
            members.append(ForwardModel.from_state(sub, {"hyperparameters": ens._member(i).get_params()}, path))
        ens.members_ = members
        ens.sigma_scale_ = sigma_scale
        ens.n_features_in_ = members[0].n_features_in_
        ens.metadata_ = meta
        ens._stack = Stack([m.folded_layers() for m in members])
        return ens


def _fit_jointly(
    members: list[ForwardModel], X: np.ndarray, y: np.ndarray, seed: int, lr_schedule: str = "constant"
) -> list[ForwardModel]:
    """Train same-shape members at once: their weights stacked, one Adam step per epoch for all.

    The loss is the sum of the members' own MSEs, so each member's gradient
    (and Adam's per-element update) is what it would get alone; members keep
    their own seeded initialisation. Only the dropout masks come from one
    shared generator (seeded with ``seed``), so a member is not bit-identical to
    ``ForwardModel(seed=s).fit`` but the ensemble is deterministic. The point
    is speed: a full-batch step on 250 alloys is dominated by per-call
    overhead, which is paid once instead of ``n_members`` times.
    """
    import torch

    from pcids.models._mlp import FLUSH_EVERY, DropoutMasks, _flush_subnormal_moments, adam, seeded

    Xs, ys = members[0]._prepare(X, y)
    for m in members[1:]:
        m._prepare(X, y)
    modules = [m._build(Xs.shape[1]) for m in members]
    linears = [[layer for layer in mod if isinstance(layer, torch.nn.Linear)] for mod in modules]
    n_layers, n_m = len(linears[0]), len(members)
    Ws = [torch.nn.Parameter(torch.stack([lin[j].weight.detach().T for lin in linears]).contiguous()) for j in range(n_layers)]
    bs = [torch.nn.Parameter(torch.stack([lin[j].bias.detach() for lin in linears])[:, None, :].contiguous()) for j in range(n_layers)]
    p = members[0]
    dropout = float(p.dropout)
    Xt = torch.as_tensor(Xs, dtype=torch.float32).unsqueeze(0).expand(n_m, -1, -1).contiguous()
    yt = torch.as_tensor(ys[:, 0], dtype=torch.float32).unsqueeze(0)
    history = np.empty((int(p.epochs), n_m))
    masks = DropoutMasks(dropout, seed)
    with seeded(seed):
        opt = adam([*Ws, *bs], lr=float(p.learning_rate), weight_decay=float(p.weight_decay))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=int(p.epochs)) if lr_schedule == "cosine" else None
        for epoch in range(int(p.epochs)):
            opt.zero_grad(set_to_none=True)
            h = Xt
            for j in range(n_layers):
                h = torch.baddbmm(bs[j], h, Ws[j])
                if j < n_layers - 1:
                    h = torch.relu(h)
                    h = masks(h)
            per_member = ((h.mean(dim=2) - yt) ** 2).mean(dim=1)
            per_member.sum().backward()
            opt.step()
            if sched is not None:
                sched.step()
            if epoch % FLUSH_EVERY == FLUSH_EVERY - 1:
                _flush_subnormal_moments(opt)
            history[epoch] = per_member.detach().numpy()
    if not np.all(np.isfinite(history[-1])):
        raise PcidsError("training diverged (loss is not finite); lower the learning rate")
    with torch.no_grad():
        for i, (m, mod) in enumerate(zip(members, modules)):
            for j, lin in enumerate(linears[i]):
                lin.weight.copy_(Ws[j][i].T)
                lin.bias.copy_(bs[j][i, 0])
            m.set_weights(mod)
            m.loss_curve_ = history[:, i].tolist()
    return members


def _extrapolation_reasons(
    comps: Sequence[Composition],
    X: np.ndarray,
    elements: frozenset[str],
    ranges: dict[str, tuple[float, float]],
    features: Sequence[str],
) -> list[list[str]]:
    reasons: list[list[str]] = []
    for c, row in zip(comps, X):
        r = [f"{el} never seen in training" for el in c.elements if el not in elements]
        for name, v in zip(features, row):
            lo, hi = ranges[name]
            if not lo <= v <= hi:
                r.append(f"{name} = {v:.4g} outside the training range [{lo:.4g}, {hi:.4g}]")
        reasons.append(r)
    return reasons


def coerce_batch(compositions: Iterable[Any] | str) -> tuple[list[Any], list[Composition]]:
    """The inputs as a list (one formula or Composition is a batch of one) and their Compositions; none is an error."""
    if isinstance(compositions, (str, Composition)):
        compositions = [compositions]
    compositions = list(compositions)
    comps = [Composition.coerce(c) for c in compositions]
    if not comps:
        raise PcidsError("no compositions given")
    return compositions, comps


def warn_outside_domain(comps: Sequence[Composition], reasons: Sequence[Sequence[str]], what: str = "prediction", stacklevel: int = 2) -> None:
    """One ExtrapolationWarning naming (up to five of) the compositions outside the domain and why."""
    bad = [f"{c.formula}: {'; '.join(r)}" for c, r in zip(comps, reasons) if r]
    if bad:
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        warnings.warn(
            f"{what} outside the training domain, treat with caution: " + " | ".join(bad[:5]) + more,
            ExtrapolationWarning,
            stacklevel=stacklevel + 1,
        )


class ElasticModel(Estimator):
    """The G and K ensembles together: compositions in, G, K, E, nu with sigma out.

    Parameters
    ----------
    G, K : ForwardEnsemble or None
        Unfitted templates for the two targets (default: the shipped
        architecture, 5 members each).
    features : tuple of str
        The networks' inputs, weighted means from
        :data:`pcids.descriptors.WEIGHTED_MEANS` (default: the shipped set,
        the paper's four plus the mean density; see :data:`SHIPPED_FEATURES`).
    """

    def __init__(
        self, G: ForwardEnsemble | None = None, K: ForwardEnsemble | None = None, features: Sequence[str] = SHIPPED_FEATURES
    ):
        self.G = G
        self.K = K
        self.features = features

    def fit(self, compositions: Iterable[Any], y: Any, progress: Any = None) -> ElasticModel:
        """``y``: array-like (n, 2) or DataFrame with columns G and K (NaN = not measured)."""
        from sklearn.base import clone

        comps = [Composition.coerce(c) for c in compositions]
        if hasattr(y, "loc"):
            y = np.column_stack([np.asarray(y[t], dtype=float) for t in TARGETS])
        y = np.asarray(y, dtype=float)
        if y.shape != (len(comps), 2):
            raise PcidsError(f"y must have shape ({len(comps)}, 2) for columns G, K; got {y.shape}")
        self.features_ = tuple(WeightedMeans(tuple(self.features)).feature_labels())
        X = self.descriptors().transform(comps)
        models = {}
        for j, t in enumerate(TARGETS):
            template = getattr(self, t) or ForwardEnsemble(target=t)
            ok = np.isfinite(y[:, j])
            models[t] = clone(template).set_params(target=t).fit(X[ok], y[ok, j], progress=progress)
        self.G_, self.K_ = models["G"], models["K"]
        self._set_domain(comps, X, y)
        return self

    def _set_domain(self, comps: Sequence[Composition], X: np.ndarray, y: np.ndarray) -> None:
        self.elements_ = sorted({el for c in comps for el in c.elements})
        ranges = {n: (float(X[:, i].min()), float(X[:, i].max())) for i, n in enumerate(self.features_)}
        for j, t in enumerate(TARGETS):
            ranges[t] = (float(np.nanmin(y[:, j])), float(np.nanmax(y[:, j])))
        self.training_ranges_ = ranges
        self.metadata_ = {"elements": self.elements_, "training_ranges": ranges}
        self._refresh_stack()

    def _refresh_stack(self) -> None:
        self._stack = Stack([m.folded_layers() for m in (*self.G_.members_, *self.K_.members_)])
        self._n_g = len(self.G_.members_)
        self._scales = np.array([self.G_.sigma_scale_, self.K_.sigma_scale_], dtype=np.float32)

    # ------------------------------------------------------------- predict
    def descriptors(self) -> WeightedMeans:
        """The featurizer of the networks' inputs (compositions -> X of :meth:`predict_descriptors`)."""
        check_is_fitted(self, "features_")
        return WeightedMeans(self.features_)

    def property_matrix(self, elements: Sequence[str]) -> np.ndarray:
        """(n_elements, n_features): the inputs of fraction rows ``a`` (summing to 1) are ``a @ P``."""
        return self.descriptors().property_matrix(elements)

    def predict_descriptors(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and calibrated std, each (n, 2) with columns (G, K), from descriptors (n, n_features).

        The corrector's fast path: no parsing, no warnings, no pandas.
        """
        check_is_fitted(self, "G_", hint="'fit' (or load_elastic_model())")
        X = np.asarray(X, dtype=np.float32)
        n_feat = len(self.features_)
        if X.ndim != 2 or X.shape[1] != n_feat:
            raise PcidsError(f"X must have shape (n, {n_feat}) ({', '.join(self.features_)}), got {X.shape}")
        mean, std = self._stack.mean_std(X, [slice(0, self._n_g), slice(self._n_g, None)])
        std *= self._scales
        return mean, std

    def _reasons(self, comps: Sequence[Composition], X: np.ndarray) -> list[list[str]]:
        check_is_fitted(self, "elements_")
        return _extrapolation_reasons(comps, X, frozenset(self.elements_), self.training_ranges_, self.features_)

    def domain_check(self, compositions: Iterable[Any]) -> np.ndarray:
        """True where a composition uses only seen elements and in-range descriptors."""
        comps = [Composition.coerce(c) for c in compositions]
        X = self.descriptors().transform(comps) if comps else np.empty((0, len(self.features_)))
        return np.array([not r for r in self._reasons(comps, X)], dtype=bool)

    def predict(self, compositions: Iterable[Any] | str) -> Any:
        """DataFrame indexed by the input as typed: formula (canonical), G, G_std, K, K_std, E, E_std, nu, nu_std, in_domain (GPa).

        Warns (ExtrapolationWarning) naming each composition outside the training domain and why.
        """
        import pandas as pd

        from pcids.elastic import derived_with_uncertainty

        compositions, comps = coerce_batch(compositions)
        X = self.descriptors().transform(comps)
        reasons = self._reasons(comps, X)
        warn_outside_domain(comps, reasons)
        mean, std = self.predict_descriptors(X)
        mean, std = mean.astype(np.float64), std.astype(np.float64)
        derived = derived_with_uncertainty(mean[:, 0], mean[:, 1], std[:, 0], std[:, 1])
        df = pd.DataFrame(
            {
                "formula": [c.formula for c in comps],
                "G": mean[:, 0],
                "G_std": std[:, 0],
                "K": mean[:, 1],
                "K_std": std[:, 1],
                "E": derived["E"],
                "E_std": derived["E_std"],
                "nu": derived["nu"],
                "nu_std": derived["nu_std"],
                "in_domain": [not r for r in reasons],
            },
            index=pd.Index([as_typed(c) for c in compositions], name="input"),
        )
        return df

    # ------------------------------------------------------------ save/load
    def save(
        self,
        stem: str | Path,
        overwrite: bool = False,
        common: dict[str, Any] | None = None,
        per_target: dict[str, dict[str, Any]] | None = None,
    ) -> list[Path]:
        """Write ``<stem>_G`` and ``<stem>_K`` (.npz + .json); the domain and ``common`` go in both."""
        check_is_fitted(self, "G_")
        stem = Path(stem)
        extra = {
            "elements": self.elements_,
            "training_ranges": self.training_ranges_,
            "feature_names": list(self.features_),
            **(common or {}),
        }
        return [
            getattr(self, f"{t}_").save(
                stem.parent / f"{stem.name}_{t}", overwrite=overwrite, **extra, **(per_target or {}).get(t, {})
            )
            for t in TARGETS
        ]

    @classmethod
    def load(cls, stem: str | Path) -> ElasticModel:
        """Load a pair saved by :meth:`save`; any defect is a ModelFileError."""
        stem = Path(stem)
        model = cls()
        ens = {t: ForwardEnsemble.load(stem.parent / f"{stem.name}_{t}", target=t) for t in TARGETS}
        model.G_, model.K_ = ens["G"], ens["K"]
        meta = ens["G"].metadata_
        try:
            model.features_ = tuple(WeightedMeans(tuple(meta["feature_names"])).feature_labels())
            model.features = model.features_
            if ens["K"].metadata_.get("feature_names") != list(model.features_):
                raise ValueError("the G and K files were fitted on different features")
            if any(e.n_features_in_ != len(model.features_) for e in ens.values()):
                raise ValueError("the networks' input width does not match feature_names")
            model.elements_ = list(meta["elements"])
            model.training_ranges_ = {k: (float(v[0]), float(v[1])) for k, v in meta["training_ranges"].items()}
            missing = [n for n in (*model.features_, *TARGETS) if n not in model.training_ranges_]
            if missing:
                raise KeyError(f"training_ranges lacks {missing}")
        except (KeyError, TypeError, ValueError, IndexError, PcidsError) as exc:
            raise ModelFileError(f"{stem}_G.json / _K.json do not describe a consistent pair ({exc})") from None
        model.metadata_ = {"G": ens["G"].metadata_, "K": ens["K"].metadata_}
        model._refresh_stack()
        return model


def shipped_model_stem() -> Path:
    """Where the shipped ensembles live inside the installed package."""
    return Path(str(resources.files("pcids.models") / "trained")) / SHIPPED_STEM


@functools.lru_cache(maxsize=1)
def load_elastic_model() -> ElasticModel:
    """The shipped G and K ensembles (loaded once per process)."""
    return ElasticModel.load(shipped_model_stem())

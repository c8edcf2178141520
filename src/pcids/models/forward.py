"""The paper's forward network: descriptors -> G or K (section 2.2, Table 2).

The paper feeds it four weighted means; the shipped ensembles add a fifth
(:data:`pcids.models.ensemble.SHIPPED_FEATURES`). The network takes any number.
It keeps the paper's two-unit averaged head (folded into one unit for
inference, :meth:`ForwardModel.folded_layers`), standardises inputs and target
inside the model (a loaded model takes raw descriptors and returns GPa), reads
Table 2's p = 1.0 for G as a keep probability, and trains with full-batch Adam
for fixed epochs. Why, with the measurements: docs/decisions.md,
"Forward network: ...".
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pcids.descriptors import PAPER_FEATURES
from pcids.errors import DataError, DataTypeError, ModelFileError, PcidsError
from pcids.models._base import Regressor, check_is_fitted
from pcids.models._inference import Layers, check_architecture, linear_layers, mlp_forward, sequential_state
from pcids.models.io import check_target, load_state, save_state

KIND = "pcids.ForwardModel"

#: Table 2 of the paper, with p for G read as "no dropout" (see module docstring).
PAPER_HYPERPARAMETERS: dict[str, dict[str, Any]] = {
    "G": {"hidden_layer_sizes": (450, 450), "dropout": 0.0, "learning_rate": 0.007, "epochs": 2000},
    "K": {"hidden_layer_sizes": (600, 600), "dropout": 0.1, "learning_rate": 0.009, "epochs": 2100},
}


def feature_names(n_features: int) -> list[str]:
    """Names recorded for an array input: the paper's four, else x0, x1, ... (callers may override)."""
    return list(PAPER_FEATURES) if n_features == len(PAPER_FEATURES) else [f"x{i}" for i in range(n_features)]


def validate(estimator: Any, X: Any, y: Any = "no_validation", reset: bool = True) -> Any:
    """scikit-learn's ``validate_data`` (2-D, finite, real, dense, as many rows as y,
    ``n_features_in_``), its errors raised as DataError (a ValueError)."""
    from sklearn.utils.validation import validate_data

    kw = {"y_numeric": True} if not isinstance(y, str) else {}
    try:
        return validate_data(estimator, X, y, reset=reset, dtype=np.float64, **kw)
    except TypeError as exc:
        raise DataTypeError(str(exc)) from None
    except ValueError as exc:
        raise DataError(str(exc)) from None


def check_min_samples(estimator: Any, n: int, needed: int = 2, why: str = "") -> None:
    if n < needed:
        raise DataError(f"{type(estimator).__name__} needs at least {needed} samples{why}, got {n} sample{'s' * (n != 1)}")


class ForwardModel(Regressor):
    """Fully connected ReLU network with dropout and a two-unit averaged output.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int
        Width of each hidden layer.
    dropout : float in [0, 1)
        Drop rate after each hidden layer (training only).
    learning_rate : float
        Adam step size.
    epochs : int
        Full-batch Adam steps.
    weight_decay : float
        Adam L2 penalty (0 in the paper).
    seed : int
        Seeds initialisation and dropout; same seed and data -> same weights.
    target : str
        Name of the predicted quantity (``"G"`` or ``"K"``), kept in metadata.
    """

    def __init__(
        self,
        hidden_layer_sizes: Sequence[int] = (450, 450),
        dropout: float = 0.0,
        learning_rate: float = 0.007,
        epochs: int = 2000,
        weight_decay: float = 0.0,
        seed: int = 0,
        target: str = "G",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.weight_decay = weight_decay
        self.seed = seed
        self.target = target

    @classmethod
    def paper(cls, target: str, seed: int = 0) -> ForwardModel:
        """The configuration of the paper's Table 2 for ``"G"`` or ``"K"``."""
        if target not in PAPER_HYPERPARAMETERS:
            raise PcidsError(f"target must be 'G' or 'K', got {target!r}")
        return cls(**PAPER_HYPERPARAMETERS[target], seed=seed, target=target)

    # ------------------------------------------------------------------ fit
    def _check_params(self) -> None:
        if not (isinstance(self.epochs, (int, np.integer)) and self.epochs >= 1):
            raise DataError(f"epochs must be a positive integer, got {self.epochs!r}")
        if not (float(self.learning_rate) > 0):
            raise DataError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if float(self.weight_decay) < 0:
            raise DataError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise DataError(f"dropout must be in [0, 1), got {self.dropout!r}")

    def _hidden(self) -> tuple[int, ...]:
        return tuple(int(h) for h in self.hidden_layer_sizes)

    def _build(self, n_in: int) -> Any:
        """The torch network (training only), initialised from ``seed``."""
        from pcids.models._mlp import build_mlp, seeded

        with seeded(int(self.seed)):
            return build_mlp(n_in, self._hidden(), float(self.dropout), 2)

    def _prepare(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fit the scalers on validated (X, y); return standardised (X, y[:, None])."""
        self._check_params()
        check_min_samples(self, X.shape[0])
        self.x_mean_ = X.mean(axis=0)
        self.x_scale_ = np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        self.y_mean_ = float(y.mean())
        self.y_scale_ = float(y.std()) if y.std() > 0 else 1.0
        self.n_features_in_ = X.shape[1]
        return (X - self.x_mean_) / self.x_scale_, ((y - self.y_mean_) / self.y_scale_)[:, None]

    def fit(self, X: Any, y: Any) -> ForwardModel:
        """Train on descriptors ``X`` (n, n_features) and target ``y`` (n,) in GPa."""
        import torch

        from pcids.models._mlp import train_full_batch

        self._check_params()
        X, y = validate(self, X, y)
        Xs, ys = self._prepare(X, y)
        module = self._build(Xs.shape[1])

        def loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            return torch.mean((out.mean(dim=1, keepdim=True) - target) ** 2)

        self.loss_curve_ = train_full_batch(
            module,
            Xs,
            ys,
            loss,
            lr=float(self.learning_rate),
            epochs=int(self.epochs),
            seed=int(self.seed),
            weight_decay=float(self.weight_decay),
        )
        self.set_weights(module)
        return self

    def set_weights(self, module: Any) -> None:
        """Keep a trained torch network's weights as arrays (``layers_``): inference is numpy."""
        self.layers_ = linear_layers({k: v.detach().cpu().numpy() for k, v in module.state_dict().items()})

    # -------------------------------------------------------------- predict
    def predict(self, X: Any) -> np.ndarray:
        """Predicted target (GPa) of shape (n,)."""
        check_is_fitted(self, "layers_")
        X = validate(self, X, reset=False)
        out = mlp_forward((X - self.x_mean_) / self.x_scale_, self.layers_)
        return out.mean(axis=1).astype(np.float64) * self.y_scale_ + self.y_mean_

    def folded_layers(self) -> Layers:
        """(weight (in, out), bias) per linear layer with the scalers and the
        two-unit average folded in: raw descriptors in, GPa out (float64).

        This is what an ensemble stacks for fast batched inference.
        """
        check_is_fitted(self, "layers_")
        layers = [(W.astype(np.float64), b.astype(np.float64)) for W, b in self.layers_]
        W0, b0 = layers[0]
        # (x - m) / s @ W0 + b0 = x @ (W0 / s[:, None]) + (b0 - (m / s) @ W0)
        layers[0] = (W0 / self.x_scale_[:, None], b0 - (self.x_mean_ / self.x_scale_) @ W0)
        WL, bL = layers[-1]
        wl = WL.mean(axis=1, keepdims=True) * self.y_scale_
        bl = np.array([bL.mean() * self.y_scale_ + self.y_mean_])
        layers[-1] = (wl, bl)
        return layers

    # ------------------------------------------------------------ save/load
    def _hyperparameters(self) -> dict[str, Any]:
        params = self.get_params()
        params["hidden_layer_sizes"] = [int(h) for h in self.hidden_layer_sizes]
        return params

    def state_dict(self) -> dict[str, np.ndarray]:
        """Network weights (named as in the torch ``Sequential``) plus the scalers, as arrays."""
        check_is_fitted(self, "layers_")
        state = sequential_state(self.layers_, float(self.dropout), "net.")
        state["x_mean"] = np.asarray(self.x_mean_, dtype=np.float64)
        state["x_scale"] = np.asarray(self.x_scale_, dtype=np.float64)
        state["y_stats"] = np.array([self.y_mean_, self.y_scale_], dtype=np.float64)
        return state

    def metadata(self, **extra: Any) -> dict[str, Any]:
        return {"kind": KIND, "hyperparameters": self._hyperparameters(), "feature_names": feature_names(self.n_features_in_), **extra}

    def save(self, path: str | Path, overwrite: bool = False, **metadata: Any) -> Path:
        """Write ``<path>.npz`` + ``<path>.json`` (extra keyword metadata: data hash, metrics...)."""
        return save_state(path, self.state_dict(), self.metadata(**metadata), overwrite=overwrite)

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], meta: dict[str, Any], source: str | Path) -> ForwardModel:
        """Rebuild a fitted model from a state dict and its metadata."""
        try:
            params = dict(meta["hyperparameters"])
            params["hidden_layer_sizes"] = tuple(int(h) for h in params["hidden_layer_sizes"])
            model = cls(**params)
            x_mean, x_scale, y_stats = (np.asarray(state[k], dtype=np.float64) for k in ("x_mean", "x_scale", "y_stats"))
            y_mean, y_scale = (float(v) for v in y_stats)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{source} does not describe a ForwardModel ({exc})") from None
        layers = linear_layers({k[4:]: v for k, v in state.items() if k.startswith("net.")})
        check_architecture(layers, x_mean.shape[0], model._hidden(), 2, source)
        if x_scale.shape != x_mean.shape:
            raise ModelFileError(f"{source}: the input scalers have shapes {x_mean.shape} and {x_scale.shape}")
        model.layers_ = layers
        model.x_mean_, model.x_scale_ = x_mean, x_scale
        model.y_mean_, model.y_scale_ = y_mean, y_scale
        model.n_features_in_ = int(x_mean.shape[0])
        model.metadata_ = meta
        return model

    @classmethod
    def load(cls, path: str | Path, target: str | None = None) -> ForwardModel:
        """Load a model saved by :meth:`save`; any defect is a ModelFileError.

        With ``target``, a file whose metadata records another target is refused.
        """
        state, meta = load_state(path, kind=KIND)
        if target is not None:
            check_target(meta, target, path)
        return cls.from_state(state, meta, path)

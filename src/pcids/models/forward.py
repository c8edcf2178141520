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
import torch
from sklearn.base import BaseEstimator, RegressorMixin

from pcids.descriptors import PAPER_FEATURES
from pcids.errors import ModelFileError, PcidsError
from pcids.models._mlp import build_mlp, check_is_fitted, predict_batched, train_full_batch
from pcids.models.io import load_into, load_state, save_state

KIND = "pcids.ForwardModel"

#: Table 2 of the paper, with p for G read as "no dropout" (see module docstring).
PAPER_HYPERPARAMETERS: dict[str, dict[str, Any]] = {
    "G": {"hidden_layer_sizes": (450, 450), "dropout": 0.0, "learning_rate": 0.007, "epochs": 2000},
    "K": {"hidden_layer_sizes": (600, 600), "dropout": 0.1, "learning_rate": 0.009, "epochs": 2100},
}


def feature_names(n_features: int) -> list[str]:
    """Names recorded for an array input: the paper's four, else x0, x1, ... (callers may override)."""
    return list(PAPER_FEATURES) if n_features == len(PAPER_FEATURES) else [f"x{i}" for i in range(n_features)]


def _as_2d(X: Any, n_features: int | None = None) -> np.ndarray:
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise PcidsError(f"X must be a 2-D array of descriptors, got shape {arr.shape}")
    if n_features is not None and arr.shape[1] != n_features:
        raise PcidsError(f"X has {arr.shape[1]} columns; this model was fitted on {n_features} ({', '.join(feature_names(n_features))})")
    if not np.all(np.isfinite(arr)):
        raise PcidsError("X contains NaN or infinite descriptors")
    return arr


class ForwardModel(RegressorMixin, BaseEstimator):
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
            raise PcidsError(f"epochs must be a positive integer, got {self.epochs!r}")
        if not (float(self.learning_rate) > 0):
            raise PcidsError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if float(self.weight_decay) < 0:
            raise PcidsError(f"weight_decay must be >= 0, got {self.weight_decay!r}")

    def _build(self, n_in: int) -> torch.nn.Sequential:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.seed))
            return build_mlp(n_in, tuple(int(h) for h in self.hidden_layer_sizes), float(self.dropout), 2)

    def _prepare(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Validate, fit the scalers, return standardised (X, y[:, None])."""
        self._check_params()
        X = _as_2d(X)
        y = np.asarray(y, dtype=np.float64).ravel()
        if y.shape[0] != X.shape[0]:
            raise PcidsError(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
        if not np.all(np.isfinite(y)):
            raise PcidsError("y contains NaN; drop alloys without a measured value before fitting")
        if X.shape[0] < 2:
            raise PcidsError("need at least 2 alloys to fit")
        self.x_mean_ = X.mean(axis=0)
        self.x_scale_ = np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        self.y_mean_ = float(y.mean())
        self.y_scale_ = float(y.std()) if y.std() > 0 else 1.0
        self.n_features_in_ = X.shape[1]
        return (X - self.x_mean_) / self.x_scale_, ((y - self.y_mean_) / self.y_scale_)[:, None]

    def fit(self, X: Any, y: Any) -> ForwardModel:
        """Train on descriptors ``X`` (n, n_features) and target ``y`` (n,) in GPa."""
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
        self.module_ = module
        return self

    # -------------------------------------------------------------- predict
    def predict(self, X: Any) -> np.ndarray:
        """Predicted target (GPa) of shape (n,)."""
        check_is_fitted(self, "module_")
        X = _as_2d(X, self.n_features_in_)
        out = predict_batched(self.module_, (X - self.x_mean_) / self.x_scale_)
        return out.mean(axis=1).astype(np.float64) * self.y_scale_ + self.y_mean_

    def folded_layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(weight (in, out), bias) per linear layer with the scalers and the
        two-unit average folded in: raw descriptors in, GPa out.

        This is what an ensemble stacks for fast batched inference.
        """
        check_is_fitted(self, "module_")
        linears = [m for m in self.module_ if isinstance(m, torch.nn.Linear)]
        layers = [(lin.weight.detach().numpy().T.astype(np.float64), lin.bias.detach().numpy().astype(np.float64)) for lin in linears]
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

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Network weights plus the scalers, as plain tensors."""
        check_is_fitted(self, "module_")
        state = {f"net.{k}": v for k, v in self.module_.state_dict().items()}
        state["x_mean"] = torch.as_tensor(self.x_mean_)
        state["x_scale"] = torch.as_tensor(self.x_scale_)
        state["y_stats"] = torch.tensor([self.y_mean_, self.y_scale_], dtype=torch.float64)
        return state

    def metadata(self, **extra: Any) -> dict[str, Any]:
        return {"kind": KIND, "hyperparameters": self._hyperparameters(), "feature_names": feature_names(self.n_features_in_), **extra}

    def save(self, path: str | Path, overwrite: bool = False, **metadata: Any) -> Path:
        """Write ``<path>.pt`` + ``<path>.json`` (extra keyword metadata: data hash, metrics...)."""
        return save_state(path, self.state_dict(), self.metadata(**metadata), overwrite=overwrite)

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor], meta: dict[str, Any], source: str | Path) -> ForwardModel:
        """Rebuild a fitted model from a state dict and its metadata."""
        try:
            params = dict(meta["hyperparameters"])
            params["hidden_layer_sizes"] = tuple(int(h) for h in params["hidden_layer_sizes"])
            model = cls(**params)
            x_mean, x_scale, y_stats = state["x_mean"], state["x_scale"], state["y_stats"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{source} does not describe a ForwardModel ({exc})") from None
        module = model._build(int(x_mean.shape[0]))
        load_into(module, {k[4:]: v for k, v in state.items() if k.startswith("net.")}, source)
        module.eval()
        model.module_ = module
        model.x_mean_ = x_mean.numpy().astype(np.float64)
        model.x_scale_ = x_scale.numpy().astype(np.float64)
        model.y_mean_, model.y_scale_ = (float(v) for v in y_stats)
        model.n_features_in_ = int(x_mean.shape[0])
        model.metadata_ = meta
        return model

    @classmethod
    def load(cls, path: str | Path) -> ForwardModel:
        """Load a model saved by :meth:`save`; any defect is a ModelFileError."""
        state, meta = load_state(path, kind=KIND)
        return cls.from_state(state, meta, path)

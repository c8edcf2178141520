"""The torch plumbing shared by the forward and inverse networks.

One fully connected ReLU network with dropout and one full-batch Adam loop
(the data are a few hundred alloys, so a full batch is both the paper's
setting and the fastest). Seeding is local (``torch.random.fork_rng``), so
training a model never disturbs the caller's global random state, and the
same seed and data give bit-identical weights.

Speed (decision, ``benchmarks/forward_speed.py``): at this size a training
step is dominated not by the matrix products but by dropout's random numbers
(torch's CPU ``bernoulli_`` spent ~20 % of a 2x600 step) and Adam's per-tensor
loop. Masks are therefore drawn as 16-bit integers from numpy's PCG64 (one
``bytes`` call per layer, ~6x cheaper), and Adam runs fused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import Iterable, Iterator

import numpy as np
import torch
from torch import nn

from pcids.errors import NotFittedError, PcidsError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class DropoutMasks:
    """Inverted-dropout masks from a seeded numpy PCG64 stream.

    A unit is dropped when a uniform 16-bit integer falls below
    ``round(p * 65536)``, so the drop rate is ``p`` to within 1e-5.
    """

    def __init__(self, p: float, seed: int):
        if not 0.0 <= p < 1.0:
            raise PcidsError(f"dropout must be in [0, 1), got {p!r}")
        self.p = float(p)
        self._threshold = int(round(self.p * 65536))
        self._scale = np.float32(65536.0 / (65536 - self._threshold))
        self._rng = np.random.default_rng(int(seed))

    def __call__(self, h: torch.Tensor) -> torch.Tensor:
        """``h`` with a fresh mask applied (scaled so the expectation is unchanged)."""
        if self._threshold == 0:
            return h
        u = np.frombuffer(self._rng.bytes(2 * h.numel()), dtype=np.uint16).reshape(tuple(h.shape))
        return h * torch.from_numpy((u >= self._threshold).astype(np.float32) * self._scale)


class Dropout(nn.Module):
    """Dropout whose training masks come from a :class:`DropoutMasks` stream.

    Identity in eval mode; in training mode it needs ``masks`` (set by
    :func:`train_full_batch`). Holds no weights, so state dicts are the same
    as with ``nn.Dropout``.
    """

    def __init__(self, p: float):
        super().__init__()
        self.p = float(p)
        self.masks: DropoutMasks | None = None

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return h
        if self.masks is None:
            raise PcidsError("Dropout in training mode needs a mask stream (train through train_full_batch)")
        return self.masks(h)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def build_mlp(n_in: int, hidden: Sequence[int], dropout: float, n_out: int) -> nn.Sequential:
    """Linear-ReLU-Dropout blocks, then a linear output layer of ``n_out`` units."""
    if not 0.0 <= dropout < 1.0:
        raise PcidsError(f"dropout must be in [0, 1), got {dropout!r}")
    if not hidden or any(int(h) < 1 for h in hidden):
        raise PcidsError(f"hidden_layer_sizes must be positive integers, got {tuple(hidden)!r}")
    layers: list[nn.Module] = []
    width = n_in
    for h in hidden:
        layers += [nn.Linear(width, int(h)), nn.ReLU()]
        if dropout > 0:
            layers.append(Dropout(dropout))
        width = int(h)
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block with torch's RNG seeded, restoring the caller's state after."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def adam(params: Iterable[torch.Tensor], lr: float, weight_decay: float = 0.0) -> torch.optim.Adam:
    """Adam as every pcids network trains: fused (one kernel for all tensors)."""
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)


def train_full_batch(
    module: nn.Module,
    X: np.ndarray,
    Y: np.ndarray,
    loss_fn: LossFn,
    *,
    lr: float,
    epochs: int,
    seed: int,
    weight_decay: float = 0.0,
    callback: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Full-batch Adam for ``epochs`` steps; returns the loss per epoch."""
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float32))
    Yt = torch.as_tensor(np.asarray(Y, dtype=np.float32))
    history: list[float] = []
    masks = None
    with seeded(seed):
        for layer in module.modules():
            if isinstance(layer, Dropout):
                masks = masks or DropoutMasks(layer.p, seed)
                layer.masks = masks
        opt = adam(module.parameters(), lr=lr, weight_decay=weight_decay)
        module.train()
        for epoch in range(int(epochs)):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(module(Xt), Yt)
            loss.backward()
            opt.step()
            history.append(float(loss.detach()))
            if callback is not None:
                callback(epoch, history[-1])
    module.eval()
    for layer in module.modules():
        if isinstance(layer, Dropout):
            layer.masks = None
    if not np.isfinite(history[-1]):
        raise PcidsError("training diverged (loss is not finite); lower the learning rate")
    return history


def predict_batched(module: nn.Module, X: np.ndarray, batch_size: int = 65536) -> np.ndarray:
    """Evaluate in inference mode, in batches so memory stays bounded."""
    X = np.asarray(X, dtype=np.float32)
    out = []
    module.eval()
    with torch.inference_mode():
        for start in range(0, X.shape[0], batch_size):
            out.append(module(torch.from_numpy(X[start : start + batch_size])).numpy())
    if not out:
        return np.empty((0, 0), dtype=np.float32)
    return np.concatenate(out)


def check_is_fitted(estimator: object, attribute: str) -> None:
    """Raise NotFittedError naming the class, as scikit-learn does."""
    if getattr(estimator, attribute, None) is None:
        name = type(estimator).__name__
        raise NotFittedError(f"This {name} instance is not fitted yet; call 'fit' (or '{name}.load') first.")

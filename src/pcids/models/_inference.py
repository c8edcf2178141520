"""The networks' forward pass in numpy, from saved weights: inference without torch.

Why: importing torch costs 1.2-2 s, more than a one-formula prediction or the
paper's design case takes to compute. Training stays in torch
(:mod:`pcids.models._mlp`); a fitted network is kept as plain arrays and run
here, in float32 like torch. The two agree to float32 rounding, not bit for
bit (``tests/test_numpy_inference.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from pcids.errors import ModelFileError

Layers = list[tuple[np.ndarray, np.ndarray]]  # per linear layer: weight (in, out), bias (out,)


def linear_layers(state: Mapping[str, np.ndarray], prefix: str = "") -> Layers:
    """The ``<prefix><i>.weight`` / ``<prefix><i>.bias`` pairs of a torch ``Sequential`` state, in layer order.

    Weights come transposed to (in, out), as float32.
    """
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.weight")
    idx = sorted(int(m.group(1)) for m in map(pattern.fullmatch, state) if m)
    try:
        return [
            (
                np.ascontiguousarray(np.asarray(state[f"{prefix}{i}.weight"], dtype=np.float32).T),
                np.asarray(state[f"{prefix}{i}.bias"], dtype=np.float32),
            )
            for i in idx
        ]
    except KeyError as exc:
        raise ModelFileError(f"network weights lack {exc}") from None


def sequential_state(layers: Layers, dropout: float, prefix: str = "") -> dict[str, np.ndarray]:
    """The inverse of :func:`linear_layers` for a :func:`pcids.models._mlp.build_mlp` stack
    (Linear, ReLU and, with dropout, Dropout per hidden layer): torch's names and (out, in) weights."""
    stride = 3 if float(dropout) > 0 else 2
    state: dict[str, np.ndarray] = {}
    for j, (W, b) in enumerate(layers):
        state[f"{prefix}{stride * j}.weight"] = np.ascontiguousarray(W.T)
        state[f"{prefix}{stride * j}.bias"] = b
    return state


def check_architecture(layers: Layers, n_in: int, hidden: Sequence[int], n_out: int, source: object) -> None:
    """A ModelFileError unless ``layers`` are ``n_in -> hidden... -> n_out`` fully connected layers."""
    widths = [int(n_in), *(int(h) for h in hidden), int(n_out)]
    shapes = [(W.shape, b.shape) for W, b in layers]
    expected = [((a, b), (b,)) for a, b in zip(widths[:-1], widths[1:])]
    if shapes != expected:
        got = " -> ".join(str(W.shape) for W, _ in layers) or "no layers"
        raise ModelFileError(
            f"weights in {source} do not match the model described by its metadata: "
            f"expected layers {' -> '.join(map(str, widths))}, found weight shapes {got}"
        )


def mlp_forward(X: np.ndarray, layers: Layers) -> np.ndarray:
    """ReLU network output (n, n_out) in float32 (what torch's ``module.eval()(X)`` gives)."""
    h = np.asarray(X, dtype=np.float32)
    for j, (W, b) in enumerate(layers):
        h = h @ W
        h += b
        if j < len(layers) - 1:
            np.maximum(h, 0.0, out=h)
    return h


class Stack:
    """Folded layers of many networks evaluated as batched matrix products (float32).

    Members with the same layer shapes share one ``np.matmul`` per layer;
    returns (n_members, n) in the members' order.
    """

    #: Rows per product: 1024 rows x 64 units x the members stay in a core's L2 cache; 16384 spilled to
    #: memory and cost 25 % more CPU per screen batch (docs/decisions.md, "Screen: inference batch rows").
    batch_rows = 1024

    def __init__(self, members: Sequence[Layers]):
        groups: dict[tuple, list[int]] = {}
        for i, layers in enumerate(members):
            groups.setdefault(tuple(W.shape for W, _ in layers), []).append(i)
        self.n_members = len(members)
        self.groups = []
        for idx in groups.values():
            n_layers = len(members[idx[0]])
            Ws = [np.stack([members[i][j][0] for i in idx]).astype(np.float32) for j in range(n_layers)]
            bs = [np.stack([members[i][j][1] for i in idx])[:, None, :].astype(np.float32) for j in range(n_layers)]
            self.groups.append((idx, Ws, bs))

    def _batches(self, X: np.ndarray) -> Iterable[tuple[int, np.ndarray]]:
        """(start row, member outputs (n_members, rows)) per batch."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        for start in range(0, X.shape[0], self.batch_rows):
            xb = X[start : start + self.batch_rows]
            out = np.empty((self.n_members, xb.shape[0]), dtype=np.float32)
            for idx, Ws, bs in self.groups:
                h = xb[None]
                for j, (W, b) in enumerate(zip(Ws, bs)):
                    h = np.matmul(h, W)
                    h += b
                    if j < len(Ws) - 1:
                        np.maximum(h, 0.0, out=h)
                out[idx] = h[:, :, 0]
            yield start, out

    def __call__(self, X: np.ndarray) -> np.ndarray:
        out = np.empty((self.n_members, len(X)), dtype=np.float32)
        for start, o in self._batches(X):
            out[:, start : start + o.shape[1]] = o
        return out

    def mean_std(self, X: np.ndarray, parts: Sequence[slice]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and (ddof=1) std over the members of each part, (n, n_parts) each, reduced per batch."""
        n = len(X)
        mean = np.empty((n, len(parts)), dtype=np.float32)
        std = np.empty((n, len(parts)), dtype=np.float32)
        for start, o in self._batches(X):
            for k, part in enumerate(parts):
                rows = slice(start, start + o.shape[1])
                mean[rows, k] = o[part].mean(axis=0)
                std[rows, k] = o[part].std(axis=0, ddof=1)
        return mean, std

"""The torch plumbing shared by the forward and inverse networks.

One fully connected ReLU network with dropout and one full-batch Adam loop
(the data are a few hundred alloys, so a full batch is both the paper's
setting and the fastest). Seeding is local (``torch.random.fork_rng``), so
training a model never disturbs the caller's global random state, and the
same seed and data give the same weights on the same machine. A trained
network is kept as numpy arrays and evaluated by :mod:`pcids.models._inference`
(no torch). The loop is
made fast by flushing near-subnormal Adam moments, a hand-written step
(:class:`_MLPStep`) for :func:`build_mlp` stacks and dropout masks read from
PCG64 directly: docs/decisions.md, "Training loop: ...".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import Iterable, Iterator

import numpy as np
import torch
from torch import nn

from pcids.errors import PcidsError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: Steps between flushes of near-subnormal Adam moments (see :func:`_flush_subnormal_moments`).
FLUSH_EVERY = 16

#: A hidden-to-hidden weight gradient is formed for the live units only when
#: fewer than this fraction of them are on for some alloy (dead ReLUs).
ALIVE_GATHER = 0.75


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
        self._half_word = False  # a 32-bit half of a PCG64 output is buffered by numpy

    def factors(self, shape: tuple[int, ...], out: np.ndarray | None = None) -> np.ndarray:
        """The next mask of ``shape`` as float32 factors: 0 (dropped) or 1 / (1 - p).

        The stream is that of ``rng.bytes(2 * size)`` read as uint16; when the
        byte count is a whole number of 64-bit outputs it is read straight from
        ``random_raw`` (the same bytes, without numpy's three copies).
        """
        size = int(np.prod(shape))
        if size % 4 == 0 and not self._half_word:
            u = self._rng.bit_generator.random_raw(size // 4).view(np.uint16)
        else:
            u = np.frombuffer(self._rng.bytes(2 * size), dtype=np.uint16)
            self._half_word ^= ((size + 1) // 2) % 2 == 1  # bytes() draws ceil(size / 2) 32-bit words
        out = np.empty(shape, dtype=np.float32) if out is None else out
        return np.multiply((u >= self._threshold).reshape(shape), self._scale, out=out)

    def __call__(self, h: torch.Tensor) -> torch.Tensor:
        """``h`` with a fresh mask applied (scaled so the expectation is unchanged)."""
        if self._threshold == 0:
            return h
        return h * torch.from_numpy(self.factors(tuple(h.shape)))


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


class _MLPStep:
    """One training step of a :func:`build_mlp` network, by hand.

    The forward and backward passes are the matrix products autograd would
    run (``addmm`` forward; ``g.t() @ h`` for a weight, ``g @ W`` for the
    layer below, ``g.sum(0)`` for a bias), written into buffers allocated
    once, with ReLU and dropout applied in place; their backward is a multiply
    by 1 / (1 - p) and a ``threshold_backward`` on the layer's output. Only
    the loss, a function of the network's output, goes through autograd, so
    any ``loss_fn`` works. No gradient is formed for the input.

    Dead units: a hidden unit that is off for every alloy has a zero row in
    its incoming weight gradient, so when fewer than :data:`ALIVE_GATHER` of
    a hidden-to-hidden layer's units are live, that gradient is one product
    over the live rows (each row is the same reduction over the alloys, so
    the values are the same). The product for the layer below is kept whole:
    dropping its zero terms changes the summation order, and after 2100
    epochs the weights differ far beyond rounding.

    The weights come out bit-identical to autograd's (checked: paper K and G
    on one and two threads, the shipped-size K ensemble, two inverse models).
    At most the sign of a zero gradient can differ, which no arithmetic
    downstream can see.
    """

    def __init__(self, module: nn.Sequential, X: torch.Tensor):
        self.X = X
        n = X.shape[0]
        self.linears: list[nn.Linear] = []
        self.drops: list[Dropout | None] = []
        self.out: list[torch.Tensor] = []  # each layer's output (hidden: after ReLU and dropout)
        for layer in module:
            if isinstance(layer, nn.Linear):
                self.linears.append(layer)
                self.out.append(torch.empty(n, layer.out_features))
            elif isinstance(layer, nn.ReLU):
                self.drops.append(None)
            else:  # Dropout
                self.drops[-1] = layer if layer.p > 0 else None
        self.back = [torch.empty_like(h) for h in self.out[:-1]]
        self.rows: list[torch.Tensor | None] = [None] * len(self.linears)  # weight-grad rows last written
        self.factors = [np.empty(tuple(h.shape), dtype=np.float32) for h in self.out[:-1]]
        for lin in self.linears:
            lin.weight.grad = torch.empty_like(lin.weight)
            lin.bias.grad = torch.empty_like(lin.bias)

    @staticmethod
    def supports(module: nn.Module, X: torch.Tensor) -> bool:
        """True for the Linear-ReLU(-Dropout)...-Linear float32 stacks :func:`build_mlp` makes."""
        if type(module) is not nn.Sequential or X.dim() != 2:
            return False
        kinds = [type(layer) for layer in module]
        expect: list[type] = []
        i = 0
        while i < len(kinds):
            if kinds[i] is not nn.Linear:
                return False
            expect.append(nn.Linear)
            i += 1
            if i < len(kinds):
                if kinds[i] is not nn.ReLU:
                    return False
                i += 1
                if i < len(kinds) and kinds[i] is Dropout:
                    i += 1
        return all(
            m.bias is not None and m.weight.dtype == torch.float32 for m in module if isinstance(m, nn.Linear)
        )

    def _masks(self, j: int) -> DropoutMasks | None:
        drop = self.drops[j]
        if drop is None or drop.masks is None or drop.masks._threshold == 0:
            return None
        return drop.masks

    def _alive(self, j: int) -> torch.Tensor | None:
        """Units of hidden layer ``j`` on for some alloy, if few enough to be worth gathering."""
        alive = torch.nonzero(torch.sum(self.out[j], dim=0) > 0).squeeze(1)  # a sum of values >= 0
        return alive if alive.numel() < ALIVE_GATHER * self.out[j].shape[1] else None

    def __call__(self, loss_fn: LossFn, Y: torch.Tensor) -> torch.Tensor:
        """Set every parameter's ``.grad`` to d loss / d parameter; return the loss."""
        last = len(self.linears) - 1
        with torch.no_grad():
            h = self.X
            for j, lin in enumerate(self.linears):
                z = torch.addmm(lin.bias, h, lin.weight.t(), out=self.out[j])
                if j < last:
                    z.relu_()
                    masks = self._masks(j)
                    if masks is not None:
                        z.mul_(torch.from_numpy(masks.factors(tuple(z.shape), out=self.factors[j])))
                h = z
        out = self.out[last].detach().requires_grad_(True)
        with torch.enable_grad():
            loss = loss_fn(out, Y)
            (g,) = torch.autograd.grad(loss, out)
        with torch.no_grad():
            for j in range(last, -1, -1):
                lin = self.linears[j]
                h = self.X if j == 0 else self.out[j - 1]
                alive = self._alive(j) if 0 < j < last else None
                if alive is None:
                    torch.mm(g.t(), h, out=lin.weight.grad)
                    self.rows[j] = None
                else:
                    # a unit off for every alloy has a zero gradient row: skip it
                    if self.rows[j] is None:
                        lin.weight.grad.zero_()
                    else:  # only the rows written last step can be non-zero
                        lin.weight.grad.index_fill_(0, self.rows[j], 0.0)
                    lin.weight.grad.index_copy_(0, alive, torch.mm(g.index_select(1, alive).t(), h))
                    self.rows[j] = alive
                torch.sum(g, 0, out=lin.bias.grad)
                if j > 0:
                    g = torch.mm(g, lin.weight, out=self.back[j - 1])
                    if self._masks(j - 1) is not None:
                        g.mul_(self._masks(j - 1)._scale)
                    # zero where the unit was off (ReLU or dropout): its output is 0
                    torch.ops.aten.threshold_backward.grad_input(g, self.out[j - 1], 0.0, grad_input=g)
        return loss.detach()


def _flush_subnormal_moments(opt: torch.optim.Adam) -> None:
    """Zero Adam moments too small to move a weight, before they turn float32 subnormal.

    A unit whose gradient is exactly zero (a dead ReLU) keeps its first moment
    ``exp_avg`` decaying by 0.9 per step into the subnormal range (< 1.2e-38),
    where it sticks (0.9 * k * 2**-149 rounds back to k * 2**-149 for small
    k) and every operation on it is far slower: in the paper's K network 83 %
    of the 600x600 layer's ``exp_avg`` was subnormal by epoch 900 and an epoch
    took 2.3x as long. Called every :data:`FLUSH_EVERY` steps, this zeroes
    ``exp_avg`` below 1e-30 (it would move its weight by < lr * 1e-30 / eps
    ~ 1e-24, below float32 resolution of any weight above 1e-17) and
    ``exp_avg_sq`` below 1e-36 (its square root, < 1e-17, vanishes next to
    eps = 1e-8 in the update's denominator). The weights are bit-identical.
    """
    for state in opt.state.values():
        for key, tiny in (("exp_avg", 1e-30), ("exp_avg_sq", 1e-36)):
            m = state.get(key)
            if m is not None:
                m.masked_fill_(m.abs() < tiny, 0.0)


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
    losses = torch.empty(int(epochs))
    masks = None
    with seeded(seed):
        for layer in module.modules():
            if isinstance(layer, Dropout):
                masks = masks or DropoutMasks(layer.p, seed)
                layer.masks = masks
        opt = adam(module.parameters(), lr=lr, weight_decay=weight_decay)
        module.train()
        step = _MLPStep(module, Xt) if _MLPStep.supports(module, Xt) else None
        for epoch in range(int(epochs)):
            if step is not None:
                loss = step(loss_fn, Yt)
            else:
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(module(Xt), Yt)
                loss.backward()
            opt.step()
            losses[epoch] = loss.detach()
            if epoch % FLUSH_EVERY == FLUSH_EVERY - 1:
                _flush_subnormal_moments(opt)
            if callback is not None:
                callback(epoch, float(losses[epoch]))
    module.eval()
    for layer in module.modules():
        if isinstance(layer, Dropout):
            layer.masks = None
        if isinstance(layer, nn.Linear) and step is not None:
            layer.weight.grad = layer.bias.grad = None
    history = losses.tolist()
    if not np.isfinite(history[-1]):
        raise PcidsError("training diverged (loss is not finite); lower the learning rate")
    return history

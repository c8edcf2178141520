"""Inverse models (the predictor of PCIDS): target G, K and elements -> at.%.

Encoding (paper section 3.2.1, Algorithm 1)
-------------------------------------------
``Y = (G, K, m_1, ..., m_7)``: the two target moduli (GPa) and the atomic
masses of the alloy's elements, zero-padded to 7 slots, standardised column
by column with the training mean and standard deviation (Eq. 10, padded zeros
included, as in the paper). The output ``A`` is 7 atomic fractions in at.%;
outputs at padded slots (mass 0) are forced to 0 in training and prediction.

Options: ``slot_order`` (``"typical"``, the default, orders the elements by
their median at.% in the training data instead of trusting the caller's
order), ``loss`` (``"dkidn"`` / ``"ridn"``), ``head`` (``"linear"`` /
``"softmax"``), ``features`` (``"mass"`` / ``"properties"``), ``n_ensemble``.
The shipped settings and why: docs/decisions.md, "Inverse model: ...".

:func:`propose` projects a raw prediction onto valid compositions: negative
or tiny values are clipped to a floor, the vector is renormalised to 100 and
rounded to the step ``h`` (default 1 at.%) by largest-remainder rounding with
every element getting at least ``h``, so the result is positive, sums to
exactly 100 and lies on the corrector's lattice.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pcids.composition import PERIODIC_TABLE, Composition
from pcids.elements import atomic_masses, check_elements, element_table, property_matrix
from pcids.errors import DesignError, ExtrapolationWarning, ModelFileError, PcidsError
from pcids.models._base import Estimator, check_is_fitted
from pcids.models._inference import check_architecture, linear_layers, mlp_forward, sequential_state

N_SLOTS = 7
KIND = "pcids.InverseModel"
LOSSES = ("dkidn", "ridn")
HEADS = ("linear", "softmax")
FEATURES = ("mass", "properties")
ORDERS = ("canonical", "as_written")
SLOT_ORDERS = ("typical", "mass", "given")
SLOT_PROPERTIES = ("vec", "tm_K", "chi", "r_pm")
SHIPPED_STEM = "inverse_elastic"
#: Hyperparameters of the shipped model (chosen by benchmarks/inverse_accuracy.py, see the module docstring).
SHIPPED_PARAMS: dict[str, Any] = dict(
    loss="dkidn", head="softmax", features="properties", slot_order="typical",
    hidden_layer_sizes=(210, 210, 210), dropout=0.2, lr=0.01, epochs=1000, n_ensemble=3,
)


# ---------------------------------------------------------------------------
# encoding


def canonical_order(elements: Sequence[str]) -> tuple[str, ...]:
    """Elements sorted by descending atomic mass: the order every pcids inverse model sees."""
    elements = list(elements)
    masses = atomic_masses(elements)
    return tuple(elements[i] for i in np.argsort(-masses, kind="stable"))


def encode(G: Sequence[float], K: Sequence[float], element_lists: Sequence[Sequence[str]]) -> np.ndarray:
    """Raw (unstandardised) inputs of shape (n, 9): G, K, masses zero-padded to 7."""
    n = len(element_lists)
    Y = np.zeros((n, 2 + N_SLOTS))
    Y[:, 0] = np.asarray(G, dtype=float)
    Y[:, 1] = np.asarray(K, dtype=float)
    for i, els in enumerate(element_lists):
        check_element_list(els)
        Y[i, 2 : 2 + len(els)] = atomic_masses(list(els))
    return Y


def elastic_training_data(
    df: pd.DataFrame | None = None, order: str = "as_written"
) -> tuple[np.ndarray, np.ndarray, list[tuple[str, ...]], pd.DataFrame]:
    """(Y, A, element lists, rows) from :func:`pcids.datasets.load_elastic`.

    Alloys without K are dropped (they have no complete target). ``order`` is
    ``"canonical"`` (descending mass) or ``"as_written"`` (the paper's).
    """
    if order not in ORDERS:
        raise PcidsError(f"order must be one of {ORDERS}, got {order!r}")
    if df is None:
        from pcids.datasets import load_elastic

        df = load_elastic()
    df = df[np.isfinite(df["G"].to_numpy(float)) & np.isfinite(df["K"].to_numpy(float))].reset_index(drop=True)
    lists: list[tuple[str, ...]] = []
    A = np.zeros((len(df), N_SLOTS))
    for i, text in enumerate(df["formula_as_written"]):
        comp = Composition.from_formula(text)
        els = comp.elements if order == "as_written" else canonical_order(comp.elements)
        lists.append(tuple(els))
        A[i, : len(els)] = [comp[e] for e in els]
    return encode(df["G"], df["K"], lists), A, lists, df


def check_element_list(elements: Sequence[str]) -> list[str]:
    """Elements as a list; unknown, unsupported, repeated, fewer than 2 or more than 7 -> specific errors."""
    from pcids.design.checks import check_element_list as check

    return check(elements, N_SLOTS, "an inverse design (the models' 7 slots)")


@lru_cache(maxsize=1)
def _mass_lookup() -> tuple[np.ndarray, np.ndarray]:
    table = element_table()
    props = table.loc[:, list(SLOT_PROPERTIES)].to_numpy(float)
    return table["mass"].to_numpy(float), props


def _slot_features(Y: np.ndarray, features: str) -> np.ndarray:
    """The network input before standardisation: Y itself, or Y plus per-slot properties."""
    if features == "mass":
        return Y
    masses, props = _mass_lookup()
    m = Y[:, 2:]
    extra = np.zeros((len(Y), N_SLOTS, len(SLOT_PROPERTIES)))
    real = m > 0
    if real.any():
        d = np.abs(m[real][:, None] - masses[None, :])
        idx = d.argmin(axis=1)
        if (d[np.arange(len(idx)), idx] > 1e-3).any():
            raise PcidsError("an input mass matches no element of the table; build Y with pcids.models.inverse.encode")
        extra[real] = props[idx]
    return np.hstack([Y, extra.reshape(len(Y), -1)])


def _system_key(masses: np.ndarray) -> str:
    """Order-free key of an element set from its masses (e.g. '9.012-47.867-55.845-91.224')."""
    return "-".join(f"{m:.3f}" for m in sorted(float(x) for x in masses if x > 0))


def _apply_perm(Y: np.ndarray, A: np.ndarray | None, perm: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    Y = np.hstack([Y[:, :2], np.take_along_axis(Y[:, 2:], perm, axis=1)])
    return Y, (None if A is None else np.take_along_axis(A, perm, axis=1))


# ---------------------------------------------------------------------------
# rounding onto the lattice


def round_to_step(fractions: Sequence[float], step: float = 1.0, floor: float | None = None) -> np.ndarray:
    """Positive at.% on multiples of ``step`` summing to exactly 100 (largest remainder).

    Values are clipped below at ``floor`` (default ``step / 2``), renormalised
    to 100, floored to the lattice with at least one step each, and the
    missing steps go to the largest remainders (ties: earlier position).
    """
    x = np.asarray(fractions, dtype=float)
    if x.ndim != 1 or len(x) == 0 or not np.all(np.isfinite(x)):
        raise DesignError(f"fractions must be a non-empty vector of finite numbers, got {fractions!r}")
    if not (step > 0 and math.isfinite(step)):
        raise DesignError(f"step must be a positive number, got {step!r}")
    units = 100.0 / step
    if abs(units - round(units)) > 1e-9:
        raise DesignError(f"step must divide 100 (e.g. 0.5, 1, 2, 5), got {step!r}")
    units = int(round(units))
    if len(x) > units:
        raise DesignError(f"{len(x)} elements cannot each get at least {step} at.%")
    x = np.clip(x, step / 2 if floor is None else floor, None)
    t = x / x.sum() * units
    q = np.maximum(np.floor(t), 1).astype(int)
    rem = t - q
    while q.sum() < units:
        i = int(np.argmax(np.where(np.isfinite(rem), rem, -np.inf)))
        q[i] += 1
        rem[i] = -np.inf
    while q.sum() > units:  # only when the one-step minimum pushed the total over
        cand = np.where(q > 1, t - q, np.inf)
        i = int(np.argmin(cand))
        q[i] -= 1
    return q * step


# ---------------------------------------------------------------------------
# the estimator


class InverseModel(Estimator):
    """DKIDN / RIDN inverse network in the scikit-learn contract.

    Parameters
    ----------
    loss : {"dkidn", "ridn"}
        MSE plus ``alpha`` times the sum penalty, or plain MSE.
    head : {"linear", "softmax"}
        Paper's raw output, or softmax over real slots x 100.
    features : {"mass", "properties"}
        Paper's per-slot atomic mass, or mass plus VEC, Tm, chi, r.
    hidden_layer_sizes : tuple of int
        Paper's DKIDN: (210, 210, 210); RIDN: (310,) * 4.
    dropout, lr, epochs, alpha, weight_decay :
        Training settings (paper: 0.2, 0.01, 2800, 0.2, 0).
    n_ensemble : int
        Networks averaged, seeded ``seed + i``.
    slot_order : {"typical", "mass", "given"}
        How the model orders an alloy's elements before the network sees
        them (outputs are returned in the order given either way).
        ``"typical"``: by the element's median at.% in the training alloys
        that contain it, descending (ties and unseen elements by mass);
        ``"mass"``: by descending atomic mass; ``"given"``: as given (the
        paper's behaviour: the answer then depends on the order).
    seed : int
        Seed of initialisation and dropout.
    """

    def __init__(
        self,
        loss: str = "dkidn",
        head: str = "linear",
        features: str = "mass",
        hidden_layer_sizes: tuple[int, ...] = (210, 210, 210),
        dropout: float = 0.2,
        lr: float = 0.01,
        epochs: int = 2800,
        alpha: float = 0.2,
        weight_decay: float = 0.0,
        n_ensemble: int = 1,
        slot_order: str = "typical",
        seed: int = 0,
    ):
        self.loss = loss
        self.head = head
        self.features = features
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.lr = lr
        self.epochs = epochs
        self.alpha = alpha
        self.weight_decay = weight_decay
        self.n_ensemble = n_ensemble
        self.slot_order = slot_order
        self.seed = seed

    # -- validation ----------------------------------------------------------
    def _validate_params(self) -> None:
        for name, allowed in (("loss", LOSSES), ("head", HEADS), ("features", FEATURES), ("slot_order", SLOT_ORDERS)):
            if getattr(self, name) not in allowed:
                raise PcidsError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if not (isinstance(self.epochs, (int, np.integer)) and self.epochs >= 1):
            raise PcidsError(f"epochs must be a positive integer, got {self.epochs!r}")
        if not (isinstance(self.n_ensemble, (int, np.integer)) and self.n_ensemble >= 1):
            raise PcidsError(f"n_ensemble must be a positive integer, got {self.n_ensemble!r}")
        if not (self.lr > 0):
            raise PcidsError(f"lr must be positive, got {self.lr!r}")
        if not (self.alpha >= 0):
            raise PcidsError(f"alpha must be >= 0, got {self.alpha!r}")

    @staticmethod
    def _check_Y(Y: Any) -> np.ndarray:
        Y = np.asarray(Y, dtype=float)
        if Y.ndim != 2 or Y.shape[1] != 2 + N_SLOTS:
            raise PcidsError(f"Y must have shape (n_samples, {2 + N_SLOTS}) = (G, K, 7 masses), got {Y.shape}")
        if not np.all(np.isfinite(Y)):
            raise PcidsError("Y contains NaN or infinite values")
        n_real = (Y[:, 2:] > 0).sum(axis=1)
        if np.any(n_real < 1):
            raise PcidsError("every row of Y needs at least one element mass")
        real = Y[:, 2:] > 0
        if np.any(real[:, 1:] & ~real[:, :-1]):
            raise PcidsError("element masses must fill the first slots, padding (0) at the end")
        return Y

    # -- torch ---------------------------------------------------------------
    def _build(self, n_in: int):
        from pcids.models._mlp import build_mlp

        return build_mlp(n_in, tuple(self.hidden_layer_sizes), float(self.dropout), N_SLOTS)

    def _apply_head(self, out, mask):
        """Padded slots to 0: masked product (linear) or masked softmax x 100 (torch, training)."""
        import torch

        if self.head == "softmax":
            out = out.masked_fill(~mask, float("-inf"))
            return 100.0 * torch.softmax(out, dim=1)
        return out * mask

    def _head_numpy(self, out: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """:meth:`_apply_head` in numpy (inference)."""
        if self.head == "softmax":
            z = np.where(mask, out, -np.inf)
            z = np.exp(z - z.max(axis=1, keepdims=True))
            return 100.0 * z / z.sum(axis=1, keepdims=True)
        return out * mask

    def _inputs(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X = (_slot_features(Y, self.features) - self.mean_) / self.scale_
        return X.astype(np.float32), Y[:, 2:] > 0

    # -- public API ------------------------------------------------------------
    def fit(self, Y: Any, A: Any) -> InverseModel:
        """Train on raw inputs Y (n, 9) and at.% targets A (n, 7)."""
        import torch

        self._validate_params()
        Y = self._check_Y(Y)
        A = np.asarray(A, dtype=float)
        if A.shape != (len(Y), N_SLOTS):
            raise PcidsError(f"A must have shape ({len(Y)}, {N_SLOTS}), got {A.shape}")
        if not np.all(np.isfinite(A)):
            raise PcidsError("A contains NaN or infinite values")
        mask = Y[:, 2:] > 0
        if np.any(A[~mask] != 0):
            raise PcidsError("A is non-zero at padded slots (mass 0)")
        self._learn_order(Y, A)
        perm = self._permutation(Y)
        Y, A = _apply_perm(Y, A, perm)
        F = _slot_features(Y, self.features)
        self.mean_ = F.mean(axis=0)
        scale = F.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        X, m = self._inputs(Y)
        mt = torch.as_tensor(m)
        alpha = float(self.alpha) if (self.loss == "dkidn" and self.head == "linear") else 0.0

        def loss_fn(out, target):
            pred = self._apply_head(out, mt)
            mse = torch.mean((pred - target) ** 2)
            if alpha == 0.0:
                return mse
            return mse + alpha * torch.mean((pred.sum(dim=1) - 100.0) ** 2)

        self.layers_ = []
        self.loss_history_ = []
        # A few hundred alloys through a few hundred units: one thread is faster
        # than several (thread sync dominates), and far faster on a shared box.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            self._fit_members(X, A, loss_fn)
        finally:
            torch.set_num_threads(threads)
        self.n_features_in_ = 2 + N_SLOTS
        self.train_G_range_ = (float(Y[:, 0].min()), float(Y[:, 0].max()))
        self.train_K_range_ = (float(Y[:, 1].min()), float(Y[:, 1].max()))
        self.train_masses_ = np.unique(Y[:, 2:][mask])
        self.train_systems_ = sorted({_system_key(row) for row in Y[:, 2:]})
        return self

    def _fit_members(self, X: np.ndarray, A: np.ndarray, loss_fn) -> None:
        from pcids.models._mlp import seeded, train_full_batch

        for k in range(int(self.n_ensemble)):
            with seeded(int(self.seed) + k):
                module = self._build(X.shape[1])
            hist = train_full_batch(
                module, X, A, loss_fn, lr=float(self.lr), epochs=int(self.epochs),
                seed=int(self.seed) + k, weight_decay=float(self.weight_decay),
            )
            self.layers_.append(linear_layers({k: v.detach().numpy() for k, v in module.state_dict().items()}))
            self.loss_history_.append(hist)

    def predict(self, Y: Any) -> np.ndarray:
        """at.% of shape (n, 7), zero at padded slots (ensemble mean)."""
        check_is_fitted(self, "layers_")
        Y = self._check_Y(Y)
        perm = self._permutation(Y)
        Y, _ = _apply_perm(Y, None, perm)
        X, m = self._inputs(Y)
        outs = [self._head_numpy(mlp_forward(X, layers), m).astype(float) for layers in self.layers_]
        P = np.mean(outs, axis=0) * m
        out = np.zeros_like(P)
        np.put_along_axis(out, perm, P, axis=1)  # back to the caller's slot order
        return out

    def _learn_order(self, Y: np.ndarray, A: np.ndarray) -> None:
        """Median at.% of each training element (by mass), the 'typical' slot order."""
        m = Y[:, 2:]
        real = m > 0
        masses = np.unique(m[real])
        med = np.array([np.median(A[:, :][real & (np.abs(m - x) < 1e-6)]) for x in masses])
        self.order_masses_ = masses
        self.order_typical_ = med

    def _permutation(self, Y: np.ndarray) -> np.ndarray:
        """Per row, the slot indices in the model's order (padding stays last)."""
        m = Y[:, 2:]
        n = len(Y)
        if self.slot_order == "given":
            return np.tile(np.arange(N_SLOTS), (n, 1))
        primary = np.zeros_like(m)
        if self.slot_order == "typical":
            fallback = float(np.median(self.order_typical_))
            for x, v in zip(self.order_masses_, self.order_typical_):
                primary[np.abs(m - x) < 1e-6] = v
            unseen = (m > 0) & ~np.isin(np.round(m, 6), np.round(self.order_masses_, 6))
            primary[unseen] = fallback
        # lexsort: the last key is the primary one; padding (mass 0) sorts last
        return np.lexsort(np.stack([-m, -primary, (m <= 0).astype(float)]), axis=-1)

    def predict_elements(self, element_lists: Sequence[Sequence[str]], G: Sequence[float], K: Sequence[float]) -> np.ndarray:
        """Raw predictions for alloys given as element lists, in the order given (no canonicalisation)."""
        return self.predict(encode(G, K, element_lists))

    def fit_elastic(self, df: pd.DataFrame | None = None) -> InverseModel:
        """Fit on the bundled elastic data (formula order as written; see ``slot_order``)."""
        Y, A, _, _ = elastic_training_data(df)
        return self.fit(Y, A)

    def check_extrapolation(self, elements: Sequence[str], G: float, K: float) -> None:
        """Warn (ExtrapolationWarning) when targets or elements lie outside the training data."""
        check_is_fitted(self, "layers_")
        for name, v, (lo, hi) in (("G", G, self.train_G_range_), ("K", K, self.train_K_range_)):
            if not lo <= v <= hi:
                warnings.warn(
                    f"target {name} = {v:g} GPa is outside the training range {lo:g}-{hi:g} GPa",
                    ExtrapolationWarning, stacklevel=3,
                )
        masses = atomic_masses(list(elements))
        unseen = [e for e, mm in zip(elements, masses) if not np.any(np.abs(self.train_masses_ - mm) < 1e-6)]
        if unseen:
            warnings.warn(
                f"element(s) {', '.join(unseen)} never occur in the inverse model's training data",
                ExtrapolationWarning, stacklevel=3,
            )
        elif _system_key(masses) not in set(self.train_systems_):
            warnings.warn(
                f"the element set {'-'.join(sorted(elements))} never occurs in the inverse model's training data; "
                "on unseen element sets its fractions are much less reliable (see benchmarks/results/inverse_accuracy.md, "
                "grouped protocol): let the corrector refine them",
                ExtrapolationWarning, stacklevel=3,
            )

    # -- persistence -----------------------------------------------------------
    def save(self, path: str | Path, overwrite: bool = False, metadata: dict[str, Any] | None = None) -> Path:
        """Weights (.npz) and metadata (.json) via :mod:`pcids.models.io`."""
        from pcids.models.io import save_state

        check_is_fitted(self, "layers_")
        state: dict[str, np.ndarray] = {}
        for k, layers in enumerate(self.layers_):
            state.update(sequential_state(layers, float(self.dropout), f"member{k}."))
        state["mean_"] = np.asarray(self.mean_)
        state["scale_"] = np.asarray(self.scale_)
        state["train_masses_"] = np.asarray(self.train_masses_)
        state["order_masses_"] = np.asarray(self.order_masses_)
        state["order_typical_"] = np.asarray(self.order_typical_)
        params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.get_params().items()}
        meta = {
            "kind": KIND,
            "params": params,
            "inputs": ["G", "K"] + [f"mass_{i + 1}" for i in range(N_SLOTS)],
            "outputs": [f"at%_{i + 1}" for i in range(N_SLOTS)],
            "slot_order": self.slot_order,
            "train_G_range": list(self.train_G_range_),
            "train_K_range": list(self.train_K_range_),
            "train_systems": list(self.train_systems_),
            "final_loss": [h[-1] for h in self.loss_history_],
            **(metadata or {}),
        }
        return save_state(path, state, meta, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path) -> InverseModel:
        """Rebuild a saved model; any damaged or mismatched file is a ModelFileError."""
        from pcids.models.io import load_state

        state, meta = load_state(path, kind=KIND)
        try:
            params = dict(meta["params"])
            params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
            model = cls(**params)
            model._validate_params()
            mean = state.pop("mean_").astype(float)
            scale = state.pop("scale_").astype(float)
            masses = state.pop("train_masses_").astype(float)
            model.order_masses_ = state.pop("order_masses_").astype(float)
            model.order_typical_ = state.pop("order_typical_").astype(float)
        except (KeyError, TypeError, PcidsError) as exc:
            raise ModelFileError(f"{path} does not describe an InverseModel: {exc}") from None
        model.mean_, model.scale_, model.train_masses_ = mean, scale, masses
        model.train_G_range_ = tuple(meta["train_G_range"])
        model.train_K_range_ = tuple(meta["train_K_range"])
        model.train_systems_ = list(meta.get("train_systems", []))
        model.layers_ = []
        for k in range(int(model.n_ensemble)):
            layers = linear_layers(state, f"member{k}.")
            check_architecture(layers, len(mean), model.hidden_layer_sizes, N_SLOTS, path)
            model.layers_.append(layers)
        extra = [n for n in state if not n.startswith("member") or int(n[6:].split(".")[0]) >= model.n_ensemble]
        if extra:
            raise ModelFileError(f"weights in {path} have unexpected tensors: {extra[:3]}")
        model.loss_history_ = [[v] for v in meta.get("final_loss", [])]
        model.n_features_in_ = 2 + N_SLOTS
        model.metadata_ = meta
        return model


# ---------------------------------------------------------------------------
# shipped model and the predictor step


def shipped_model_path() -> Path:
    """Path stem of the shipped inverse model inside the package."""
    return Path(str(resources.files("pcids.models").joinpath("trained", SHIPPED_STEM)))


@lru_cache(maxsize=1)
def load_inverse_model() -> InverseModel:
    """The shipped inverse model (trained on all bundled elastic data), loaded once."""
    return InverseModel.load(shipped_model_path())


def propose(
    elements: Sequence[str], G: float, K: float, step: float = 1.0, model: InverseModel | None = None
) -> Composition:
    """Predictor step of PCIDS: a starting composition for the corrector.

    Elements may come in any order (they are put in canonical order, so the
    answer does not depend on it). The raw prediction is projected with
    :func:`round_to_step`: positive, on multiples of ``step``, summing to
    exactly 100. The returned composition lists elements in the order given.
    """
    check_element_list(elements)
    for name, v in (("G", G), ("K", K)):
        if not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v) or v <= 0:
            raise DesignError(f"target {name} must be a positive number of GPa, got {v!r}")
    model = load_inverse_model() if model is None else model
    model.check_extrapolation(list(elements), float(G), float(K))
    order = canonical_order(elements)
    raw = model.predict(encode([G], [K], [order]))[0, : len(order)]
    at = dict(zip(order, round_to_step(raw, step)))
    return Composition(tuple((e, float(at[e])) for e in elements))

"""How much float rounding moves what the tests compare (issue 11 item 1: tolerances that hold on any CPU).

1. The hand-written training step against autograd (``tests/test_forward.py``):
   the test's three networks trained 60 epochs on inputs perturbed by one
   float32 ulp (what another BLAS's rounding does), against the same networks
   with the weight decay changed by 20 % (a wrong step): largest weight change.
2. The GFA features' spreads ``sqrt(E[x^2] - E[x]^2)``: the largest value they
   take where the exact spread is 0, and how many of the shipped model's
   predictions on its training alloys change when that noise is set to 0.

    python benchmarks/screens/float_noise.py

Writes benchmarks/results/screens/float_noise.json and .md.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import torch
from _setup import write

from pcids import descriptors
from pcids.datasets import load_gfa
from pcids.models import _gfa_features, _mlp
from pcids.models.gfa import load_gfa_model

CASES = [((24, 20), 0.25, 2), ((16, 16, 12), 0.0, 3), ((10,), 0.1, 1)]


def _loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:  # the test's loss
    return torch.mean((out - target) ** 2) + 0.1 * torch.mean(out.sum(dim=1) ** 2)


def training_step() -> list[dict]:
    rows = []
    rng = np.random.default_rng(0)
    for hidden, dropout, n_out in CASES:
        X, Y = rng.normal(size=(37, 5)), rng.normal(size=(37, n_out))
        ulp = (X.astype(np.float32) * (1 + 1.2e-7 * rng.choice([-1, 1], size=X.shape))).astype(np.float64)
        with _mlp.seeded(1):
            base = _mlp.build_mlp(5, hidden, dropout, n_out)
        out = {}
        for name, (x, wd) in {"base": (X, 1e-4), "one_ulp": (ulp, 1e-4), "weight_decay_x1.2": (X, 1.2e-4)}.items():
            m = copy.deepcopy(base)
            losses = _mlp.train_full_batch(m, x, Y, _loss, lr=0.02, epochs=60, seed=5, weight_decay=wd)
            out[name] = (np.array(losses), [p.detach().numpy().copy() for p in m.state_dict().values()])
        row = {"hidden": list(hidden), "dropout": dropout, "n_out": n_out}
        for name in ("one_ulp", "weight_decay_x1.2"):
            row[f"{name}_max_weight_change"] = float(max(np.abs(a - b).max() for a, b in zip(out["base"][1], out[name][1])))
            row[f"{name}_max_loss_rel_change"] = float(np.max(np.abs(out[name][0] - out["base"][0]) / np.abs(out["base"][0])))
        rows.append(row)
    return rows


def _centred(A: np.ndarray, P: np.ndarray, mean: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("ij,ijp->ip", A, (P[None] - mean[:, None, :]) ** 2))


def gfa_spreads() -> dict:
    warnings.simplefilter("ignore")
    df = load_gfa()
    forms = list(df["formula"])
    model = load_gfa_model()
    labels = model.featurizer_.feature_labels()
    F0, p0 = model.featurizer_.transform(forms), model.predict_proba(forms)
    stats, compute = _gfa_features._stats, descriptors.RichDescriptors._compute

    def exact_stats(A: np.ndarray, P: np.ndarray) -> np.ndarray:
        out = stats(A, P)
        k = P.shape[1]
        out[:, k : 2 * k] = _centred(A, P, A @ P)
        return out

    def exact_compute(self: descriptors.RichDescriptors, A: np.ndarray, elements: list[str]) -> np.ndarray:
        out = compute(self, A, elements)
        A = A / A.sum(axis=1, keepdims=True)
        P = descriptors.property_matrix(elements, self._props)
        k = P.shape[1]
        dev = _centred(A, P, A @ P)
        out[:, 3 + k : 3 + 2 * k] = dev
        out[:, 2] = dev[:, self._props.index("chi")]
        return out

    _gfa_features._stats, descriptors.RichDescriptors._compute = exact_stats, exact_compute
    try:
        F1, p1 = model.featurizer_.transform(forms), model.predict_proba(forms)
    finally:
        _gfa_features._stats, descriptors.RichDescriptors._compute = stats, compute
    spread = [j for j, name in enumerate(labels) if name.startswith(("dev_", "d_chi"))]
    zero = np.abs(F1[:, spread]) < 1e-12
    noise = np.where(zero, np.abs(F0[:, spread]), 0.0)
    return {
        "n_alloys": len(forms),
        "largest_spread_where_exact_is_0": {labels[j]: float(noise[:, i].max()) for i, j in enumerate(spread)},
        "predictions_changed": int((p1 != p0).sum()),
        "largest_probability_change": float(np.abs(p1 - p0).max()),
    }


def main() -> None:
    torch.set_num_threads(1)
    res = {"training_step": training_step(), "gfa_spreads": gfa_spreads()}
    lines = ["# Float rounding against what the tests compare", "", "| network | 1-ulp inputs: weights | loss (rel) | weight decay x1.2: weights | loss (rel) |", "|---|---|---|---|---|"]
    for r in res["training_step"]:
        lines.append(
            f"| {r['hidden']}, dropout {r['dropout']}, {r['n_out']} out | {r['one_ulp_max_weight_change']:.2g} | {r['one_ulp_max_loss_rel_change']:.2g} "
            f"| {r['weight_decay_x1.2_max_weight_change']:.2g} | {r['weight_decay_x1.2_max_loss_rel_change']:.2g} |"
        )
    g = res["gfa_spreads"]
    noisy = {k: v for k, v in g["largest_spread_where_exact_is_0"].items() if v > 0}
    lines += [
        "",
        f"GFA features on the {g['n_alloys']:,} training alloys: spreads that are exactly 0 come out as up to "
        + (", ".join(f"{k} {v:.2g}" for k, v in noisy.items()) or "0")
        + f"; with the noise set to 0, {g['predictions_changed']} predictions change (largest change {g['largest_probability_change']:.2g}).",
        "",
        "Command: `python benchmarks/screens/float_noise.py`",
    ]
    write("float_noise", res, "\n".join(lines))


if __name__ == "__main__":
    main()

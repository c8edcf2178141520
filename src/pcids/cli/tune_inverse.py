"""``pcids tune inverse``: the paper's hyperparameter search (section 3.2.2, Figs. 8-9), seeded.

As in the paper: 80/20 split, then 10 % of the training part is the
validation set; hidden layers, then neurons per layer, then alpha are varied
one at a time (each stage keeps the best value of the previous one), scored
by the mean per-sample R² on the validation set. Both R² definitions are
reported; ``--score`` chooses which one decides (default: over the real
elements, the honest one). The test part is never touched.
"""

from __future__ import annotations

from typing import List, Literal

import typer


def search(
    layers: list[int], neurons: list[int], alphas: list[float], *, score: str = "r2_real_mean", seed: int = 0,
    progress: bool = True, **base,
) -> dict:
    """One-factor-at-a-time search; returns every trial and the best parameters."""
    import numpy as np
    from sklearn.model_selection import train_test_split
    from tqdm import tqdm

    from pcids.evaluation import inverse_metrics, random_splits
    from pcids.models.inverse import InverseModel, elastic_training_data

    Y, A, _, _ = elastic_training_data()
    train_part, _test = random_splits(len(Y), 1, 0.2, seed)[0]
    tr, va = train_test_split(train_part, test_size=0.1, random_state=seed)
    trials: list[dict] = []
    best = {"hidden_layer_sizes": (210,) * 3, "alpha": 0.2, **base}

    done: dict[str, float] = {}

    def run(params: dict) -> float:
        key = repr(sorted(params.items()))
        if key in done:  # each stage re-visits the previous stage's best: train it once
            return done[key]
        model = InverseModel(**params, seed=seed).fit(Y[tr], A[tr])
        m = inverse_metrics(A[va], model.predict(Y[va]), Y[va, 2:] > 0)
        hl = params["hidden_layer_sizes"]
        trials.append({"layers": len(hl), "neurons": hl[0], "alpha": params["alpha"],
                       **{k: m[k] for k in ("r2_all7_mean", "r2_real_mean", "rmse_eq12")}})
        done[key] = m[score]
        return m[score]

    total = len(layers) + len(neurons) + len(alphas)
    with tqdm(total=total, desc="trials", disable=not progress) as bar:
        width = best["hidden_layer_sizes"][0]
        scores = {}
        for n_layers in layers:
            scores[n_layers] = run({**best, "hidden_layer_sizes": (width,) * n_layers})
            bar.update()
        n_best = max(scores, key=scores.get)
        scores = {}
        for w in neurons:
            scores[w] = run({**best, "hidden_layer_sizes": (w,) * n_best})
            bar.update()
        best["hidden_layer_sizes"] = (max(scores, key=scores.get),) * n_best
        scores = {}
        for a in alphas:
            scores[a] = run({**best, "alpha": a})
            bar.update()
        best["alpha"] = max(scores, key=scores.get)
    return {"score": score, "n_train": int(len(tr)), "n_validation": int(len(va)), "seed": seed,
            "trials": trials, "best": {**best, "hidden_layer_sizes": list(best["hidden_layer_sizes"])},
            "best_score": float(np.nanmax([t[score] for t in trials]))}


def command(
    layers: List[int] = typer.Option([2, 3, 4, 5], "--layers", help="Numbers of hidden layers to try (Fig. 8a)."),
    neurons: List[int] = typer.Option([110, 210, 310], "--neurons", help="Neurons per layer to try (Fig. 8b)."),
    alphas: List[float] = typer.Option([0.1, 0.2, 0.5], "--alpha", help="Sum-penalty weights to try (Fig. 9)."),
    loss: Literal["dkidn", "ridn"] = typer.Option("dkidn", help="Loss: the paper's DKIDN or RIDN."),
    head: Literal["linear", "softmax"] = typer.Option("linear", help="Output head (linear: the paper's)."),
    features: Literal["mass", "properties"] = typer.Option("mass", help="Per-slot element inputs (mass: the paper's)."),
    slot_order: Literal["typical", "mass", "given"] = typer.Option("typical", help="Order of the element slots (the paper's: given)."),
    epochs: int = typer.Option(1000, help="Epochs per trial (paper: 2800)."),
    score: Literal["r2_real_mean", "r2_all7_mean"] = typer.Option("r2_real_mean", help="Score that picks the best: mean R² over the real elements or over all 7 slots."),
    seed: int = typer.Option(0, help="Seed of the split and the networks."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Search the inverse model's layers, neurons and alpha on a validation split (seeded)."""
    import torch

    from pcids.cli._common import console, print_json
    from pcids.errors import PcidsError

    if not layers or not neurons or not alphas or min(layers) < 1 or min(neurons) < 1 or min(alphas) < 0:
        raise PcidsError("--layers and --neurons need positive integers and --alpha values >= 0")
    torch.set_num_threads(1)
    out = search(list(layers), list(neurons), list(alphas), score=score, seed=seed, progress=not json_out,
                 loss=loss, head=head, features=features, slot_order=slot_order, epochs=epochs, dropout=0.2, lr=0.01)
    if json_out:
        print_json(out)
        return
    from pcids.cli._common import Column, print_table

    rows = [(str(t["layers"]), str(t["neurons"]), f"{t['alpha']:g}", f"{t['r2_all7_mean']:.3f}", f"{t['r2_real_mean']:.3f}",
             f"{t['rmse_eq12']:.2f}") for t in out["trials"]]
    print_table([Column(c) for c in ("layers", "neurons", "alpha", "R² all-7", "R² real", "RMSE Eq.12")], rows,
                title=f"validation ({out['n_validation']} alloys), scored by {score}")
    console.print(f"best: {out['best']}")

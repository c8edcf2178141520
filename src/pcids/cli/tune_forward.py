"""``pcids tune forward``: grid search by k-fold CV on the training part (paper Fig. S1).

Every configuration is scored by out-of-fold R² and RMSE of a single network
(as the paper does) and by its inference cost (FLOPs per composition), so
that a smaller network that is as accurate can be preferred: the corrector
scores tens of millions of candidates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import typer


def _ints(text: str, name: str) -> list[int]:
    from pcids.errors import PcidsError

    try:
        vals = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise PcidsError(f"--{name} must be comma-separated integers, got {text!r}") from None
    if not vals or min(vals) < 1:
        raise PcidsError(f"--{name} must be positive integers, got {text!r}")
    return vals


def _floats(text: str, name: str) -> list[float]:
    from pcids.errors import PcidsError

    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise PcidsError(f"--{name} must be comma-separated numbers, got {text!r}") from None
    if not vals:
        raise PcidsError(f"--{name} is empty")
    return vals


def tune(
    target: str,
    layers: list[int],
    neurons: list[int],
    dropouts: list[float],
    learning_rates: list[float],
    epochs: list[int],
    folds: int = 5,
    test_size: float = 0.2,
    seed: int = 0,
    progress: bool = True,
    features: tuple[str, ...] | None = None,
):
    """DataFrame of configurations sorted by CV R² (one row each), and the held-out test indices.

    ``features``: the networks' weighted-mean inputs (default: the paper's four, as in its Fig. S1).
    """
    import itertools

    import numpy as np
    import pandas as pd
    from tqdm import tqdm

    from pcids.datasets import load_elastic
    from pcids.descriptors import PAPER_FEATURES, WeightedMeans
    from pcids.errors import PcidsError
    from pcids.evaluation import random_splits, regression_metrics, repeated_kfold
    from pcids.models.forward import ForwardModel

    if target not in ("G", "K"):
        raise PcidsError(f"--target must be G or K, got {target!r}")
    if folds < 2:
        raise PcidsError(f"--folds must be at least 2, got {folds}")
    for d in dropouts:
        if not 0 <= d < 1:
            raise PcidsError(f"dropout must be in [0, 1), got {d}")
    df = load_elastic()
    ok = np.isfinite(df[target].to_numpy())
    X = WeightedMeans(tuple(features or PAPER_FEATURES)).transform(df["formula"][ok])
    y = df[target].to_numpy()[ok]
    train, test = random_splits(len(y), 1, test_size, seed)[0] if test_size > 0 else (np.arange(len(y)), np.array([], int))
    cv = repeated_kfold(len(train), folds, 1, seed)
    grid = list(itertools.product(layers, neurons, dropouts, learning_rates, epochs))
    rows = []
    with tqdm(total=len(grid) * folds, desc=f"tuning {target}", disable=not progress) as bar:
        for n_layers, width, dropout, lr, ep in grid:
            pred = np.empty(len(train))
            for tr, va in cv:
                m = ForwardModel((width,) * n_layers, dropout, lr, ep, seed=seed, target=target)
                pred[va] = m.fit(X[train][tr], y[train][tr]).predict(X[train][va])
                bar.update(1)
            met = regression_metrics(y[train], pred)
            flop = 2 * (X.shape[1] * width + (n_layers - 1) * width * width + width * 2)
            rows.append(
                {"hidden_layers": n_layers, "neurons": width, "dropout": dropout, "learning_rate": lr, "epochs": ep,
                 "cv_r2": met["r2"], "cv_rmse": met["rmse"], "flop_per_composition": flop}
            )
    table = pd.DataFrame(rows).sort_values(["cv_r2", "flop_per_composition"], ascending=[False, True]).reset_index(drop=True)
    return table, test


def command(
    target: Literal["G", "K"] = typer.Option("G", help="Target modulus."),
    layers: str = typer.Option("1,2,3", help="Numbers of hidden layers to try."),
    neurons: str = typer.Option("32,64,150,450", help="Neurons per hidden layer to try."),
    dropout: str = typer.Option("0,0.1", help="Drop rates to try."),
    lr: str = typer.Option("0.003,0.01", help="Adam learning rates to try."),
    epochs: str = typer.Option("1000,2000", help="Epoch counts to try."),
    folds: int = typer.Option(5, help="CV folds on the training part."),
    test_size: float = typer.Option(0.2, help="Share held out before tuning (the paper's 80/20; 0 = tune on all data)."),
    seed: int = typer.Option(0, help="Seed of the split, the folds and the networks."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the full table to this CSV.", show_default="no file"),
    force: bool = typer.Option(False, "--force", help="Overwrite --out."),
    json_out: bool = typer.Option(False, "--json", help="Print the table as JSON."),
    features: str = typer.Option("VEC,Tm,chi,r", help="Weighted-mean inputs (the paper's four; the shipped models add rho)."),
) -> None:
    """Grid-search the forward network by k-fold CV (paper Fig. S1), seeded, with a progress bar."""
    import torch

    from pcids.cli._common import check_output_path, print_json

    if out is not None:
        check_output_path(out, force, "--out")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny full-batch nets: threads only add contention
    try:
        table, _ = tune(
            target,
            _ints(layers, "layers"),
            _ints(neurons, "neurons"),
            _floats(dropout, "dropout"),
            _floats(lr, "lr"),
            _ints(epochs, "epochs"),
            folds=folds,
            test_size=test_size,
            seed=seed,
            features=tuple(f.strip() for f in features.split(",") if f.strip()),
        )
    finally:
        torch.set_num_threads(threads)
    if out is not None:
        table.to_csv(out, index=False)
    if json_out:
        print_json(table.to_dict(orient="records"))
        return
    from pcids.cli._common import Column, print_table

    rows = [[f"{v:.4f}" if isinstance(v, float) and k.startswith("cv") else f"{v:g}" for k, v in r.items()] for _, r in table.head(15).iterrows()]
    print_table([Column(c) for c in table.columns], rows, title=f"{target}: {folds}-fold CV on the training part (best first)")

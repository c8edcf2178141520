"""``pcids train inverse``: fit the inverse model on all bundled elastic data (how the shipped model is made)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import typer

#: The shipped model's settings, shown as the defaults (pcids.models.inverse.SHIPPED_PARAMS;
#: kept here so --help needs no torch; a test checks they agree).
SHIPPED = {"loss": "dkidn", "head": "softmax", "features": "properties", "slot_order": "typical",
           "hidden": "210,210,210", "epochs": "1000", "alpha": "0.2", "ensemble": "3"}


def train_shipped_inverse(seed: int = 0, **overrides):
    """Fit the shipped configuration (plus overrides) on ``load_elastic()``; returns (model, metadata)."""
    from pcids.datasets import data_hash
    from pcids.evaluation import inverse_metrics
    from pcids.models.inverse import SHIPPED_PARAMS, InverseModel, elastic_training_data

    Y, A, _, df = elastic_training_data()
    params = {**SHIPPED_PARAMS, **{k: v for k, v in overrides.items() if v is not None}, "seed": seed}
    model = InverseModel(**params).fit(Y, A)
    meta = {
        "data": "elastic",
        "data_hash": data_hash("elastic"),
        "n_train": int(len(Y)),
        "seed": seed,
        "train_metrics": inverse_metrics(A, model.predict(Y), Y[:, 2:] > 0),
        "benchmark": "benchmarks/results/inverse_accuracy.md",
    }
    return model, meta


def command(
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="File stem to write .npz/.json.", show_default="the shipped model in the package"),
    seed: int = typer.Option(0, help="Seed of the first network (ensemble members use seed, seed+1, ...)."),
    loss: Optional[Literal["dkidn", "ridn"]] = typer.Option(None, help="Loss: the paper's DKIDN or RIDN.", show_default=SHIPPED["loss"]),
    head: Optional[Literal["linear", "softmax"]] = typer.Option(None, help="Output head (linear: the paper's).", show_default=SHIPPED["head"]),
    features: Optional[Literal["mass", "properties"]] = typer.Option(None, help="Per-slot element inputs (mass: the paper's).", show_default=SHIPPED["features"]),
    slot_order: Optional[Literal["typical", "mass", "given"]] = typer.Option(None, help="Order of the element slots.", show_default=SHIPPED["slot_order"]),
    hidden: Optional[str] = typer.Option(None, help="Hidden layer sizes, e.g. 210,210,210.", show_default=SHIPPED["hidden"]),
    epochs: Optional[int] = typer.Option(None, help="Training epochs.", show_default=SHIPPED["epochs"]),
    alpha: Optional[float] = typer.Option(None, help="Weight of the sum penalty (dkidn).", show_default=SHIPPED["alpha"]),
    n_ensemble: Optional[int] = typer.Option(None, "--ensemble", help="Networks averaged.", show_default=SHIPPED["ensemble"]),
    force: bool = typer.Option(False, "--force", help="Overwrite existing model files."),
) -> None:
    """Train the inverse model (target G, K + elements -> at.%) on all bundled alloys and save it."""
    import torch

    from pcids.cli._common import check_output_path, print_json
    from pcids.cli.train_forward import _hidden
    from pcids.models.inverse import shipped_model_path

    torch.set_num_threads(1)
    stem = out if out is not None else shipped_model_path()
    for suffix in (".npz", ".json"):
        check_output_path(stem.with_suffix(suffix), force, "--out")
    model, meta = train_shipped_inverse(
        seed=seed, loss=loss, head=head, features=features, slot_order=slot_order,
        hidden_layer_sizes=_hidden(hidden) if hidden else None, epochs=epochs, alpha=alpha, n_ensemble=n_ensemble,
    )
    path = model.save(stem, overwrite=True, metadata=meta)
    print_json({"saved": str(path), "params": model.get_params(), "train_metrics": meta["train_metrics"]})

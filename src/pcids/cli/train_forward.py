"""``pcids train forward``: fit the G and K ensembles on all bundled data (how the shipped models are made),
or, with ``--data``, a model of a property the user measured (:mod:`pcids.cli._train_user`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

#: What --hidden / --epochs default to (the shipped ForwardEnsemble's; a test checks they agree).
SHIPPED_HIDDEN = "64,64"
SHIPPED_EPOCHS = 1000


def _hidden(text: str) -> tuple[int, ...]:
    from pcids.errors import PcidsError

    try:
        sizes = tuple(int(x) for x in text.replace(" ", "").split(",") if x)
    except ValueError:
        raise PcidsError(f"--hidden must be comma-separated integers such as 64,64; got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise PcidsError(f"--hidden must be positive integers such as 64,64; got {text!r}")
    return sizes


def train_shipped_pair(
    members: int = 5,
    seed: int = 0,
    paper: bool = False,
    hidden: tuple[int, ...] | None = None,
    epochs: int | None = None,
    calibration_folds: int = 5,
    progress: bool = True,
):
    """Fit the pair on ``load_elastic()`` and return (model, per-target metadata)."""
    import numpy as np
    from tqdm import tqdm

    from pcids.datasets import data_hash, load_elastic
    from pcids.evaluation import regression_metrics
    from pcids.models.ensemble import TARGETS, ElasticModel, ForwardEnsemble

    df = load_elastic()
    templates = {}
    for t in TARGETS:
        ens = ForwardEnsemble.paper(t) if paper else ForwardEnsemble()
        ens.set_params(n_members=members, seed=seed, target=t, calibration_folds=calibration_folds)
        if hidden is not None:
            ens.set_params(hidden_layer_sizes=hidden)
        if epochs is not None:
            ens.set_params(epochs=epochs)
        templates[t] = ens
    n_fits = 2 * members * (1 + calibration_folds)
    with tqdm(total=n_fits, desc="training networks", disable=not progress) as bar:
        model = ElasticModel(G=templates["G"], K=templates["K"]).fit(df["formula"], df[list(TARGETS)], progress=bar.update)
    X = model.descriptors().transform(df["formula"])
    per_target = {}
    for t in TARGETS:
        ok = np.isfinite(df[t].to_numpy())
        ens = getattr(model, f"{t}_")
        per_target[t] = {
            "train_metrics": regression_metrics(df[t].to_numpy()[ok], ens.predict(X[ok])),
            "n_train": int(ok.sum()),
        }
    common = {"data": "elastic", "data_hash": data_hash("elastic"), "seed": seed, "paper_size": paper}
    return model, common, per_target


def command(
    data: Optional[Path] = typer.Option(None, "--data", help="Your own table (.csv, .xlsx, .parquet) of formulas and a measured property: train a model of it instead of G, K.", show_default="none: the bundled G, K data"),
    target: Optional[str] = typer.Option(None, "--target", help="With --data: the column holding the measurements.", show_default="none; required with --data"),
    name: Optional[str] = typer.Option(None, "--name", help="With --data: the property's name in tables and --model.", show_default="--target"),
    unit: str = typer.Option("", "--unit", "--units", help="With --data: the property's unit, e.g. HV.", show_default="none"),
    formula_column: Optional[str] = typer.Option(None, "--formula-column", help="With --data: the column holding the formulas.", show_default="formula, composition or alloy"),
    duplicate_tolerance: float = typer.Option(0.1, "--duplicate-tolerance", help="With --data: repeats of a composition farther than this fraction of |median| from their median are set aside; the rest become their median (all are set aside when fewer than half agree)."),
    folds: int = typer.Option(5, "--folds", help="With --data: cross-validation folds (random, and system-grouped when there are enough systems)."),
    json_out: bool = typer.Option(False, "--json", help="With --data: print the figures as JSON."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="File stem to write <stem>_G/_K .npz/.json; with --data, the model directory.", show_default="the shipped models in the package; with --data, ./<name>_model"),
    members: int = typer.Option(5, help="Networks per ensemble."),
    seed: int = typer.Option(0, help="Seed of the first member (members use seed, seed+1, ...)."),
    paper: bool = typer.Option(False, "--paper", help="Use the paper-size networks of Table 2 instead of the shipped architecture."),
    hidden: Optional[str] = typer.Option(None, help="Hidden layer sizes, e.g. 64,64.", show_default=f"{SHIPPED_HIDDEN}; --paper: Table 2"),
    epochs: Optional[int] = typer.Option(None, help="Training epochs.", show_default=f"{SHIPPED_EPOCHS}; --paper: Table 2"),
    calibration_folds: int = typer.Option(5, help="Folds of the out-of-fold run that calibrates sigma (0 = none)."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing model files."),
) -> None:
    """Train the G and K ensembles on all bundled alloys and save them with their metadata.

    With --data my.csv --target hardness: train the same deep ensemble (calibrated sigma) on your
    own measurements, report 5-fold cross-validation beside simple baselines, and save the model
    directory for `pcids predict --model hardness=DIR` and `pcids design --model`. Rows that cannot
    be used are reported on stderr by their line; the model is still trained on the others and the
    exit code is then 1.
    """
    import torch

    # Full-batch training of a few hundred alloys gains nothing from intra-op
    # threads and loses a lot when the cores are shared; one thread per process.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if data is not None:
            from pcids.cli._train_user import UserOptions, run_user

            if paper:
                from pcids.errors import PcidsError

                raise PcidsError("--paper is the paper's G, K networks; it does not apply to --data")
            run_user(UserOptions(data, target, name, unit, formula_column, duplicate_tolerance, folds, json_out, out, force,
                                 members, seed, _hidden(hidden) if hidden else None, epochs, calibration_folds))
        else:
            _refuse_data_options(target=target, name=name, unit=unit or None, formula_column=formula_column, json=json_out or None)
            _run(out, members, seed, paper, hidden, epochs, calibration_folds, force)
    finally:
        torch.set_num_threads(threads)


def _refuse_data_options(**given: object) -> None:
    from pcids.errors import PcidsError

    used = [f"--{k.replace('_', '-')}" for k, v in given.items() if v is not None]
    if used:
        raise PcidsError(f"{', '.join(used)} only appl{'ies' if len(used) == 1 else 'y'} with --data (your own table); without it the shipped G, K pair is trained")


def _run(out, members, seed, paper, hidden, epochs, calibration_folds, force) -> None:
    from pcids.cli._common import check_output_path, print_json
    from pcids.errors import PcidsError
    from pcids.models.ensemble import shipped_model_stem

    stem = out if out is not None else shipped_model_stem()
    for t in ("G", "K"):
        for suffix in (".npz", ".json"):
            check_output_path(stem.parent / f"{stem.name}_{t}{suffix}", force, "--out")
    if members < 2:
        raise PcidsError(f"--members must be at least 2 (a spread needs two networks), got {members}")
    model, common, per_target = train_shipped_pair(
        members=members,
        seed=seed,
        paper=paper,
        hidden=_hidden(hidden) if hidden else None,
        epochs=epochs,
        calibration_folds=calibration_folds,
    )
    paths = model.save(stem, overwrite=True, common=common, per_target=per_target)
    summary = {
        t: {
            **per_target[t]["train_metrics"],
            "oof_r2": getattr(model, f"{t}_").oof_metrics_["r2"] if calibration_folds else None,
            "sigma_scale": getattr(model, f"{t}_").sigma_scale_,
        }
        for t in ("G", "K")
    }
    print_json({"saved": [str(p) for p in paths], "metrics": summary})

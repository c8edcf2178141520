"""``pcids train properties``: fit the Tg, Tx, Tl models on all bundled data (how the shipped ones are made)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def command(
    names: str = typer.Option("Tg,Tx,Tl", "--names", help="Comma-separated temperatures to train (Tg, Tx, Tl)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="File stem to write <stem>_<name> .npz/.json.", show_default="the shipped models in the package"),
    seed: int = typer.Option(0, help="Seeds the trees and the calibration folds."),
    trees: Optional[int] = typer.Option(None, "--trees", help="Trees per model.", show_default="the shipped 100"),
    force: bool = typer.Option(False, "--force", help="Overwrite existing model files."),
) -> None:
    """Train the characteristic-temperature models on all bundled alloys and save them with their metadata.

    Each model's metadata records the data hash, the seed and its CV figures
    (random 5-fold out of fold, with sigma coverage; system-grouped 5-fold).
    """
    from threadpoolctl import threadpool_limits

    from pcids.cli._common import check_output_path, err_console, print_json
    from pcids.errors import PcidsError
    from pcids.models.properties import TEMPERATURES, check_property_names, shipped_stem, train_temperature_models

    wanted = check_property_names(names)
    bad = [n for n in wanted if n not in TEMPERATURES]
    if trees is not None and trees < 2:
        raise PcidsError(f"--trees must be at least 2 (a spread needs two trees), got {trees}")
    if bad:
        raise PcidsError(f"--names: only {', '.join(TEMPERATURES)} are trained here, not {', '.join(bad)}")
    stem = out if out is not None else shipped_stem()
    for n in wanted:
        for suffix in (".npz", ".json"):
            check_output_path(stem.parent / f"{stem.name}_{n}{suffix}", force, "--out")
    with threadpool_limits(1):  # a few hundred alloys: threads only fight over shared cores
        params = {} if trees is None else {"n_estimators": trees}
        trained = train_temperature_models(wanted, seed=seed, progress=lambda m: err_console.print(m, style="dim", highlight=False), **params)
    saved, summary = [], {}
    for n, (model, meta) in trained.items():
        saved.append(model.save(stem.parent / f"{stem.name}_{n}", overwrite=True, **meta))
        summary[n] = {"random_5fold": meta["cv_random_5fold"], "grouped_5fold": meta.get("cv_grouped_5fold")}
    print_json({"saved": [str(p) for p in saved], "metrics": summary})

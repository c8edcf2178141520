"""``pcids train gfa``: fit the GFA classifier and Dmax regressor on all bundled data (how the shipped model is made)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def command(
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="File stem to write <stem>.npz/.json (default: the shipped model in the package)."),
    threshold: float = typer.Option(2.0, help="Critical casting diameter (mm) a bulk glass must reach."),
    ambiguous: str = typer.Option("drop", help="Label of a bulk glass without a measured diameter: drop, positive or negative."),
    seed: int = typer.Option(0, help="Seed of the trees and of the internal calibration folds."),
    estimator: str = typer.Option("extra_trees", help="Tree ensemble: extra_trees (shipped) or hgb."),
    n_estimators: Optional[int] = typer.Option(None, help="Override the number of trees (extra_trees)."),
    max_iter: Optional[int] = typer.Option(None, help="Override the number of boosting iterations (hgb)."),
    no_element_fractions: bool = typer.Option(False, "--no-element-fractions", help="Leave the per-element fractions out of the features."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing model files."),
) -> None:
    """Train the GFA model on every labelled alloy of load_gfa() and save it with its metadata."""
    from sklearn.metrics import balanced_accuracy_score, brier_score_loss, roc_auc_score

    from pcids.cli._common import print_json
    from pcids.datasets import data_hash, load_gfa
    from pcids.errors import PcidsError
    from pcids.models.gfa import GFAModel, shipped_path

    stem = out if out is not None else shipped_path()
    stem = stem.with_suffix("") if stem.suffix in {".npz", ".pt", ".json"} else stem
    for suffix in (".npz", ".json"):
        p = stem.with_suffix(suffix)
        if p.exists() and not force:
            raise PcidsError(f"{p} exists; pass --force to overwrite it")
    model = GFAModel(threshold_mm=threshold, ambiguous=ambiguous, seed=seed, element_fractions=not no_element_fractions, estimator=estimator)
    if n_estimators is not None:
        model.set_params(n_estimators=n_estimators)
    if max_iter is not None:
        model.set_params(max_iter=max_iter)
    df = load_gfa()
    model.fit(df)
    yk = model.oof_labels_
    # internal (system-grouped, out-of-fold) figures: an honest summary of what was shipped
    oof = model.oof_proba_
    metrics = {
        "oof_grouped_roc_auc": float(roc_auc_score(yk, oof)),
        "oof_grouped_balanced_accuracy": float(balanced_accuracy_score(yk, oof >= model.decision_threshold_)),
        "oof_grouped_brier": float(brier_score_loss(yk, oof)),
        "residual_quantiles_log10": [float(v) for v in model.residual_quantiles_],
    }
    path = model.save(
        stem,
        overwrite=True,
        metadata={
            "data": "gfa",
            "data_hash": data_hash("gfa"),
            "seed": seed,
            "threshold_mm": threshold,
            "metrics": metrics,
            "note": "metrics are out-of-fold on the internal system-grouped calibration folds; see benchmarks/gfa_accuracy.py",
        },
    )
    print_json({"saved": [str(path), str(path.with_suffix(".npz"))], "n_train": model.n_train_, "n_positive": model.n_positive_,
                "n_dmax_train": model.n_dmax_train_, "decision_threshold": model.decision_threshold_, "metrics": metrics,
                "n_features": len(model.feature_names_), "n_trees": int(len(model.classifier_.offsets) - 1)})

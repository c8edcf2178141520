"""``pcids train gfa``: fit the GFA classifier and Dmax regressor on all bundled data (how the shipped model is made)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import typer

#: GFAModel's defaults for --n-estimators / --max-iter (a test checks they agree).
SHIPPED_TREES = 60
SHIPPED_BOOSTING = 100


def command(
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="File stem to write <stem>.npz/.json.", show_default="the shipped model in the package"),
    threshold: float = typer.Option(2.0, help="Critical casting diameter (mm) a bulk glass must reach."),
    ambiguous: Literal["drop", "positive", "negative"] = typer.Option("drop", help="Label of a bulk glass without a measured diameter."),
    seed: int = typer.Option(0, help="Seed of the trees and of the internal calibration folds."),
    estimator: Literal["extra_trees", "hgb"] = typer.Option("extra_trees", help="Tree ensemble (extra_trees is shipped)."),
    n_estimators: Optional[int] = typer.Option(None, help="Number of trees (extra_trees).", show_default=str(SHIPPED_TREES)),
    max_iter: Optional[int] = typer.Option(None, help="Boosting iterations (hgb).", show_default=str(SHIPPED_BOOSTING)),
    no_element_fractions: bool = typer.Option(False, "--no-element-fractions", help="Leave the per-element fractions out of the features."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing model files."),
) -> None:
    """Train the GFA model on every labelled alloy of load_gfa() and save it with its metadata."""
    from sklearn.metrics import balanced_accuracy_score, brier_score_loss, roc_auc_score

    from pcids.cli._common import check_output_path, print_json
    from pcids.datasets import data_hash, load_gfa
    from pcids.models.gfa import GFAModel, shipped_path

    stem = out if out is not None else shipped_path()
    stem = stem.with_suffix("") if stem.suffix in {".npz", ".pt", ".json"} else stem
    for suffix in (".npz", ".json"):
        check_output_path(stem.with_suffix(suffix), force, "--out")
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

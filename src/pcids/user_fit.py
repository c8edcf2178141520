"""Fit a user's property model, and show by cross-validation whether it is any good.

:func:`fit_property_model` runs 5-fold CV of the deep ensemble on random folds
and, when the data hold enough alloy systems, on system-grouped folds (whole
systems held out: what a new system will see), beside three baselines on the
same folds, then fits the model on every row. The minimum number of rows and
the baselines chosen: docs/decisions.md ("Your own data: ...").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pcids.composition import Composition
from pcids.errors import DataError
from pcids.models.user import UserPropertyModel, check_property_name

#: Fewer usable rows than this is refused: 5-fold CV then tests on 4 alloys per fold.
MIN_ROWS = 20
#: The baselines every CV report shows beside the model.
BASELINES: tuple[str, ...] = ("mean", "knn", "gradient_boosting")
BASELINE_LABELS = {
    "model": "deep ensemble (shipped architecture)",
    "mean": "mean of the training rows",
    "knn": "5 nearest alloys (L1 in at.%, distance-weighted)",
    "gradient_boosting": "gradient boosting on the rich descriptors",
}


def _baseline(kind: str, seed: int) -> Any:
    from sklearn.dummy import DummyRegressor
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.neighbors import KNeighborsRegressor

    if kind == "mean":
        return DummyRegressor(strategy="mean")
    if kind == "knn":
        return KNeighborsRegressor(n_neighbors=5, weights="distance", metric="manhattan")
    return GradientBoostingRegressor(random_state=seed)


def _baseline_inputs(comps: Sequence[Composition]) -> dict[str, np.ndarray]:
    from pcids.descriptors import RichDescriptors, composition_matrix

    A, _ = composition_matrix(comps)
    X_rich = RichDescriptors().transform(comps)
    return {"mean": A, "knn": A * 100.0, "gradient_boosting": X_rich}


def _splits(systems: Sequence[str], folds: int, seed: int) -> dict[str, list[tuple[np.ndarray, np.ndarray]] | str]:
    """Random k-fold always; system-grouped k-fold when there are at least ``folds`` systems, else why not."""
    from pcids.evaluation import grouped_kfold, repeated_kfold

    out: dict[str, Any] = {"random": repeated_kfold(len(systems), folds, 1, seed=seed)}
    n_sys = len(set(systems))
    out["grouped"] = grouped_kfold(systems, folds, seed=seed) if n_sys >= folds else f"only {n_sys} alloy system(s); {folds} are needed"
    return out


def cross_validate_property(
    template: UserPropertyModel,
    compositions: Sequence[Composition | str],
    y: Sequence[float],
    folds: int = 5,
    seed: int = 0,
    progress: Callable[[int], Any] | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Out-of-fold figures of ``template`` and the baselines; and the out-of-fold predictions.

    Returns ``(report, predictions)``: ``report[split]`` (``"random"``, ``"grouped"``) maps
    ``"model"`` and each baseline to MAE, RMSE, R² and n over the pooled folds (the model also
    to the share of rows within 2 sigma), or is ``{"skipped": why}``; ``predictions`` has one row
    per alloy: measured value, and per split the model's mean and sigma and each baseline.
    """
    from sklearn.base import clone

    from pcids.evaluation import regression_metrics

    comps = [Composition.coerce(c) for c in compositions]
    y = np.asarray(y, dtype=float)
    inputs = _baseline_inputs(comps)
    systems = [c.system for c in comps]
    preds = pd.DataFrame({"formula": [c.formula for c in comps], "system": systems, "measured": y})
    report: dict[str, Any] = {"folds": folds, "seed": seed}
    for split, folds_or_why in _splits(systems, folds, seed).items():
        if isinstance(folds_or_why, str):
            report[split] = {"skipped": folds_or_why}
            continue
        mean, std = np.full(len(y), np.nan), np.full(len(y), np.nan)
        base = {b: np.full(len(y), np.nan) for b in BASELINES}
        for tr, te in folds_or_why:
            model = clone(template).fit([comps[i] for i in tr], y[tr], progress=progress)
            X = model.descriptors().transform([comps[i] for i in te])
            m, s = model.ensemble_.mean_std(X)
            mean[te], std[te] = m, s
            for b in BASELINES:
                est = _baseline(b, seed).set_params(**({"n_neighbors": min(5, len(tr))} if b == "knn" else {}))
                base[b][te] = est.fit(inputs[b][tr], y[tr]).predict(inputs[b][te])
        within = np.abs(y - mean) <= 2.0 * std
        report[split] = {
            "model": {**regression_metrics(y, mean), "coverage_2sigma": float(np.mean(within))},
            **{b: regression_metrics(y, base[b]) for b in BASELINES},
        }
        preds[f"{split}_model"], preds[f"{split}_model_std"] = mean, std
        for b in BASELINES:
            preds[f"{split}_{b}"] = base[b]
    return report, preds


def _checked(frame: pd.DataFrame, target: str | None) -> tuple[pd.DataFrame, str]:
    """A frame from read_property_table as is; any other frame is read (and must be clean)."""
    from pcids.user_data import read_property_table

    if target is None:
        target = frame.attrs.get("target_column")
        if target is None:
            raise DataError("name the target column (target=...)")
    if frame.attrs.get("target_column") == target and "formula" in frame.columns:
        return frame, target
    clean, problems = read_property_table(frame, target)
    if len(problems):
        shown = "; ".join(f"{w}: {r}" for w, r in zip(problems["where"][:3], problems["reason"][:3]))
        raise DataError(
            f"{len(problems)} row(s) cannot be used ({shown}); read the table with read_property_table(...) "
            "to see them and fit on the frame it returns"
        )
    return clean, target


def fit_property_model(
    frame: pd.DataFrame,
    target: str | None = None,
    name: str | None = None,
    unit: str = "",
    n_members: int = 5,
    seed: int = 0,
    epochs: int | None = None,
    hidden_layer_sizes: Sequence[int] | None = None,
    calibration_folds: int = 5,
    cv_folds: int = 5,
    min_rows: int = MIN_ROWS,
    progress: Callable[[int], Any] | None = None,
) -> UserPropertyModel:
    """Cross-validate, then fit, a deep ensemble for one measured property; returns the fitted model.

    Parameters
    ----------
    frame : DataFrame
        The ``frame`` of :func:`pcids.user_data.read_property_table` (or any frame with a
        formula column and ``target``; it must then have no bad rows).
    target : str, optional
        The measured column (default: the one the frame was read for).
    name, unit : str
        The property's name (default: ``target``) and unit, as tables and ``--model`` show them.
    n_members, seed, epochs, hidden_layer_sizes, calibration_folds
        The ensemble's settings (default: the shipped G, K models').
    cv_folds : int
        Folds of the cross-validation run before the fit (0: none).
    min_rows : int
        Fewer usable rows are refused (default :data:`MIN_ROWS`).

    The model's ``cv_`` holds the figures (see :func:`cross_validate_property`), ``cv_predictions_``
    the out-of-fold predictions, and ``metadata_`` what :meth:`UserPropertyModel.save` records:
    data file and sha256, columns, unit, seed, rows, the CV figures.
    """
    from pcids.models.ensemble import ForwardEnsemble

    frame, target = _checked(frame, target)
    name = check_property_name(name if name is not None else target)
    n = len(frame)
    if n < max(min_rows, 2 * max(cv_folds, calibration_folds, 1)):
        aside = frame.attrs.get("rows_set_aside", 0)
        raise DataError(
            f"only {n} usable row(s)" + (f" ({aside} set aside)" if aside else "")
            + f"; at least {max(min_rows, 2 * max(cv_folds, calibration_folds, 1))} are needed to cross-validate the model and calibrate its sigma"
        )
    y = frame[target].to_numpy(dtype=float)
    if np.ptp(y) == 0:
        raise DataError(f"every usable value of {target!r} is {y[0]:g}: there is nothing to learn")
    if not (cv_folds == 0 or cv_folds >= 2):
        raise DataError(f"cv_folds must be 0 or >= 2, got {cv_folds!r}")
    ens = ForwardEnsemble(n_members=n_members, seed=seed, calibration_folds=calibration_folds, target=name)
    if epochs is not None:
        ens.set_params(epochs=epochs)
    if hidden_layer_sizes is not None:
        ens.set_params(hidden_layer_sizes=tuple(hidden_layer_sizes))
    template = UserPropertyModel(name=name, unit=unit, ensemble=ens)
    comps = [Composition.from_formula(f) for f in frame["formula"]]
    report, preds = cross_validate_property(template, comps, y, cv_folds, seed, progress) if cv_folds else ({}, None)
    model = template.fit(comps, y, progress=progress)
    attrs = frame.attrs
    model.metadata_ = {
        "data_file": attrs.get("data_file"),
        "data_sha256": attrs.get("data_sha256"),
        "formula_column": attrs.get("formula_column"),
        "target_column": target,
        "rows_read": attrs.get("rows_read", n),
        "rows_set_aside": attrs.get("rows_set_aside", 0),
        "n_rows": n,
        "n_systems": len({c.system for c in comps}),
        "duplicate_rule": (
            f"repeats -> median of those within {attrs.get('duplicate_tolerance', 0.1):g} x |median| of the median (the others set aside); "
            "all set aside when fewer than half agree"
        ),
        "seed": seed,
        "cv": report,
    }
    model.cv_ = report
    model.cv_predictions_ = preds
    return model


def n_progress_steps(n_members: int, calibration_folds: int, cv_folds: int, grouped: bool) -> int:
    """How many networks :func:`fit_property_model` trains (for a progress bar)."""
    per_fit = n_members * (1 + calibration_folds)
    return per_fit * (1 + cv_folds * (2 if grouped else 1))

"""``pcids train forward --data my.csv --target hardness``: a model of the user's own measurements.

A thin layer over :func:`pcids.user_data.read_property_table` and
:func:`pcids.user_fit.fit_property_model`: the output directory is checked
before anything is read, each row set aside is reported on stderr by its line
as ``pcids predict`` reports a batch, the model is trained on the rest, and the
exit code is then 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

#: What a model directory holds besides the model files: the out-of-fold predictions.
CV_FILE = "cv_predictions.csv"


@dataclass(frozen=True)
class UserOptions:
    data: Path
    target: str | None
    name: str | None
    unit: str
    formula_column: str | None
    duplicate_tolerance: float
    folds: int
    json_out: bool
    out: Path | None
    force: bool
    members: int
    seed: int
    hidden: tuple[int, ...] | None
    epochs: int | None
    calibration_folds: int


def output_files(directory: Path) -> list[Path]:
    """The files ``--out DIR`` receives."""
    from pcids.models.io import model_files
    from pcids.models.user import STEM

    return [*model_files(directory / STEM), directory / CV_FILE]


def check_output_directory(directory: Path, force: bool) -> None:
    """Refuse, before any work, a model directory that cannot be written or would overwrite a model without --force."""
    from pcids.cli._common import check_output_path
    from pcids.errors import PcidsError

    if directory.exists() and not directory.is_dir():
        raise PcidsError(f"--out {directory} is a file; give a directory for the model (it is created if missing)")
    if not directory.exists():
        check_output_path(directory, force, "--out")  # the parent must exist and be writable
        return
    for path in output_files(directory):
        check_output_path(path, force, "--out")


#: Reasons many rows can share (a sparse column, an element without data): one message each, the lines listed.
SHARED_REASONS = ("element ", "no value (empty cell)")
#: Line ranges shown in one shared message.
MAX_RANGES = 12


def _span(wheres: list[str]) -> str:
    """``my.csv lines 2-40, 45`` for ``my.csv line 2`` ... (consecutive lines as a range)."""
    if len(wheres) == 1:
        return wheres[0]
    head = wheres[0].rpartition(" ")[0]
    nums = [w.rpartition(" ")[2] for w in wheres]
    parts: list[str] = []
    if all(n.isdigit() for n in nums):
        values = [int(n) for n in nums]
        start = prev = values[0]
        for v in [*values[1:], None]:
            if v is not None and v == prev + 1:
                prev = v
                continue
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            if v is not None:
                start = prev = v
    else:
        parts = nums
    more = f" and {len(parts) - MAX_RANGES} more" if len(parts) > MAX_RANGES else ""
    return f"{head}s {', '.join(parts[:MAX_RANGES])}{more}"


def _bad_rows(problems: Any) -> list[tuple[Any, str]]:
    """(Row, reason) per problem, in input order; rows sharing an element or an empty cell share one message."""
    from pcids.cli._batch import Row

    out: dict[str, tuple[Any, str]] = {}  # a shared message sits where its first row was
    shared: dict[str, list[Row]] = {}
    for i, (where, text, reason) in enumerate(zip(problems["where"], problems["input"], problems["reason"])):
        if reason.startswith(SHARED_REASONS):
            shared.setdefault(reason, []).append(Row(where, text))
            out.setdefault(reason, (None, reason))
        else:
            out[str(i)] = (Row(where, text), reason)
    for reason, rows in shared.items():
        many = len(rows) > 1
        out[reason] = (Row(_span([r.where for r in rows]), ""), f"{reason} ({len(rows)} rows)") if many else (rows[0], reason)
    return list(out.values())


def run_user(o: UserOptions) -> None:
    from tqdm import tqdm

    from pcids.cli._batch import print_bad
    from pcids.cli._common import print_json, warnings_to_stderr
    from pcids.errors import PcidsError
    from pcids.models.user import check_property_name
    from pcids.user_data import read_property_table
    from pcids.user_fit import fit_property_model, n_progress_steps

    if o.target is None:
        raise PcidsError("--data needs --target, the column holding the measurements")
    if o.members < 2:
        raise PcidsError(f"--members must be at least 2 (a spread needs two networks), got {o.members}")
    name = check_property_name(o.name if o.name is not None else o.target)
    directory = o.out if o.out is not None else Path(f"{name}_model")
    check_output_directory(directory, o.force)
    with warnings_to_stderr():
        frame, problems = read_property_table(o.data, o.target, o.formula_column, o.duplicate_tolerance)
    print_bad(_bad_rows(problems))
    grouped = frame["system"].nunique() >= o.folds
    steps = n_progress_steps(o.members, o.calibration_folds, o.folds, grouped)
    with tqdm(total=steps, desc="training networks", disable=None) as bar:
        model = fit_property_model(
            frame, o.target, name=name, unit=o.unit, n_members=o.members, seed=o.seed, epochs=o.epochs,
            hidden_layer_sizes=o.hidden, calibration_folds=o.calibration_folds, cv_folds=o.folds, progress=bar.update,
        )
    model.save(directory, overwrite=True)
    if model.cv_predictions_ is not None:
        model.cv_predictions_.to_csv(directory / CV_FILE, index=False)
    summary = {"saved": str(directory), "name": name, "unit": o.unit, "n_rows": len(frame),
               "rows_read": frame.attrs["rows_read"], "rows_set_aside": len(problems), "cv": model.cv_}
    if o.json_out:
        print_json(summary)
    else:
        _print_cv(model, directory)
    if len(problems):
        typer.echo(
            f"Error: {len(problems)} of {frame.attrs['rows_read']} rows were set aside; the model was trained on the other "
            f"{frame.attrs['rows_read'] - len(problems)} ({len(frame)} compositions)",
            err=True,
        )
        raise typer.Exit(code=1)


#: MAEs closer than this (relative) are a tie: five folds cannot tell them apart.
TIE = 0.02


def _verdict(model_mae: float, baseline_mae: float) -> str:
    if model_mae < (1 - TIE) * baseline_mae:
        return "beats"
    return "does not beat" if model_mae > (1 + TIE) * baseline_mae else f"is level (within {TIE:.0%}) with"


def _print_cv(model: Any, directory: Path) -> None:
    from pcids.cli._common import Column, console, print_table
    from pcids.user_fit import BASELINE_LABELS

    cv = model.cv_
    unit = f" ({model.unit})" if model.unit else ""
    meta = model.metadata_
    typer.echo(f"{model.name}: {meta['n_rows']} compositions ({meta['n_systems']} systems) from {meta['data_file']}")
    if cv:
        splits = [s for s in ("random", "grouped") if "skipped" not in cv[s]]
        columns = [Column("model", "left")]
        for s in splits:
            columns += [Column(f"{s} MAE{unit}"), Column(f"{s} R²")]
        columns.append(Column("within 2 sigma"))
        rows = []
        for key, label in BASELINE_LABELS.items():
            cells = [label]
            for s in splits:
                cells += [f"{cv[s][key]['mae']:.4g}", f"{cv[s][key]['r2']:.3f}"]
            cells.append(", ".join(f"{cv[s][key]['coverage_2sigma']:.0%}" for s in splits) if key == "model" else "")
            rows.append(cells)
        print_table(columns, rows, title=f"{cv['folds']}-fold cross-validation (out of fold, seed {cv['seed']})")
        for s in ("random", "grouped"):
            if "skipped" in cv[s]:
                typer.echo(f"{s} folds not run: {cv[s]['skipped']}")
        for s in splits:
            best = min(("mean", "knn", "gradient_boosting"), key=lambda b: cv[s][b]["mae"])
            typer.echo(f"{s} folds: the model {_verdict(cv[s]['model']['mae'], cv[s][best]['mae'])} the best baseline ({BASELINE_LABELS[best]}) on MAE")
    console.print(f"saved {directory} (use it: pcids predict --model {model.name}={directory} FORMULA)", highlight=False, soft_wrap=True)

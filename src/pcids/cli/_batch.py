"""Many formulas in, the good rows out: one bad formula never loses the batch.

Every row is read with where it came from (``argument 2``, ``alloys.csv line 5``);
a row the model refuses is reported on stderr by that place and the reason, the
others are predicted and printed, and the verb then exits 1.
"""

from __future__ import annotations

import csv
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import typer


@dataclass(frozen=True)
class Row:
    """A formula as typed and where it was typed."""

    where: str
    text: str


def read_rows(formulas: Sequence[str] | None, file: Path | None, column: str) -> list[Row]:
    """The arguments, then the CSV column (each cell with its line number; an empty cell is a bad row)."""
    from pcids.errors import PcidsError

    rows = [Row(f"argument {i}", f) for i, f in enumerate(formulas or [], 1)]
    if file is not None:
        if not file.is_file():
            raise PcidsError(f"file {file} not found")
        try:
            with file.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                if reader.fieldnames is None:
                    raise PcidsError(f"{file} is empty")
                if column not in reader.fieldnames:
                    raise PcidsError(f"{file} has no column {column!r} (columns: {', '.join(reader.fieldnames)}); use --column")
                for record in reader:
                    rows.append(Row(f"{file.name} line {reader.line_num}", (record.get(column) or "").strip()))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise PcidsError(f"cannot read {file} as CSV: {exc}") from None
    if not rows:
        raise PcidsError("give at least one formula, or --file with a 'formula' column")
    return rows


def _reason(exc: Exception) -> str:
    return str(exc).strip() or type(exc).__name__


def _refused(predict: Callable[[list[str]], Any], rows: list[Row], failed: bool = False) -> dict[Row, str]:
    """The rows ``predict`` refuses, each with its reason, found by halving (a few calls per bad row).

    ``failed``: ``rows`` as a whole is already known to fail.
    """
    from pcids.errors import PcidsError

    if not rows:
        return {}
    if not failed:
        try:
            predict([r.text for r in rows])
            return {}
        except PcidsError as exc:
            if len(rows) == 1:
                return {rows[0]: _reason(exc)}
    mid = len(rows) // 2
    return {**_refused(predict, rows[:mid]), **_refused(predict, rows[mid:])}


def predict_rows(rows: list[Row], predict: Callable[[list[str]], Any]) -> tuple[Any | None, list[tuple[Row, str]]]:
    """``predict`` on the good rows (None if there are none) and the bad rows with their reasons, in input order.

    A formula that does not parse is caught row by row first; then the whole batch
    goes to ``predict`` at once, and only if it still refuses one are the culprits
    searched for. Library warnings of the call that succeeds reach stderr once each.
    """
    from pcids.cli._common import err_console, warnings_to_stderr
    from pcids.composition import parse_formula
    from pcids.errors import PcidsError

    bad: dict[Row, str] = {}
    good: list[Row] = []
    for r in rows:
        if not r.text:
            bad[r] = "no formula (empty cell)"
            continue
        try:
            problem = parse_formula(r.text).sum_problem()
        except PcidsError as exc:
            bad[r] = _reason(exc)
            continue
        if problem is not None:  # normalising 91 parts to 100 hides a typo: say so
            err_console.print(f"[yellow]warning:[/] {r.where}: {r.text}: {problem}; normalised to 100 at.%", highlight=False)
        good.append(r)
    result = None
    if good:
        try:
            with warnings_to_stderr():  # prints nothing if predict raises
                result = predict([r.text for r in good])
        except PcidsError as exc:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                bad.update(_refused(predict, good, failed=True) if len(good) > 1 else {good[0]: _reason(exc)})
            good = [r for r in good if r not in bad]
            if good:
                with warnings_to_stderr():
                    result = predict([r.text for r in good])
    return result, [(r, bad[r]) for r in rows if r in bad]


def print_bad(bad: list[tuple[Row, str]]) -> None:
    """Each bad row on stderr by its place and reason (the formula quoted unless the reason shows it)."""
    for row, reason in bad:
        shown = reason if row.text and row.text in reason else f"{row.text!r}: {reason}" if row.text else reason
        typer.echo(f"Error: {row.where}: {shown}", err=True)


def report_bad(bad: list[tuple[Row, str]], n_rows: int) -> None:
    """Each bad row on stderr by its place and reason; exit 1 when there was any."""
    if not bad:
        return
    print_bad(bad)
    good = n_rows - len(bad)
    typer.echo(f"Error: {len(bad)} of {n_rows} rows were bad" + (f"; the other {good} are shown" if good else ""), err=True)
    raise typer.Exit(code=1)

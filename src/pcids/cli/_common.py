"""Helpers shared by the CLI verbs: output, warnings, JSON."""

from __future__ import annotations

import json
import math
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def _default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _nan_to_none(o: Any) -> Any:
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _nan_to_none(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_nan_to_none(v) for v in o]
    return o


def print_json(obj: Any) -> None:
    """Strict JSON on stdout (NaN becomes null) for scripts."""
    typer.echo(json.dumps(_nan_to_none(obj), indent=2, default=_default, allow_nan=False))


@contextmanager
def warnings_to_stderr() -> Iterator[None]:
    """Show library warnings as one clear line each on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    seen = set()
    for w in caught:
        msg = str(w.message)
        if msg not in seen:
            seen.add(msg)
            err_console.print(f"[yellow]warning:[/] {msg}", highlight=False)


def refuse_overwrite(path: Path, force: bool) -> None:
    """Never overwrite a user's file unless asked."""
    from pcids.errors import PcidsError

    if path.exists() and not force:
        raise PcidsError(f"{path} exists; pass --force to overwrite it")


def figure_formats() -> dict[str, str]:
    """File extensions matplotlib can write (``png``: "Portable Network Graphics", ...)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return FigureCanvasBase.get_supported_filetypes()


def check_output_path(path: Path, force: bool, option: str, figure: bool = False) -> None:
    """Refuse, before any computation, an output file that cannot be written.

    A directory, a missing or read-only parent directory, an existing file
    without --force, and (``figure``) an extension matplotlib cannot write are
    each one clear error naming ``option``, instead of a traceback after the work.
    """
    import os

    from pcids.errors import PcidsError

    if path.is_dir():
        raise PcidsError(f"{option} {path} is a directory; give a file name, e.g. {path / ('fig.png' if figure else 'out.csv')}")
    parent = path.parent
    if not parent.is_dir():
        raise PcidsError(f"{option} {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PcidsError(f"{option} {path}: directory {parent} is not writable")
    if figure:
        formats = figure_formats()
        ext = path.suffix.lower().lstrip(".")
        if ext not in formats:
            what = f"unsupported format {ext!r}" if ext else "no file extension"
            raise PcidsError(f"{option} {path}: {what}; matplotlib writes {', '.join(sorted(formats))}")
    refuse_overwrite(path, force)


def gather_formulas(formulas: list[str] | None, file: Path | None, column: str, out: Path | None, force: bool) -> list[str]:
    """Formulas from the arguments and a CSV column; checks --out before any work is done."""
    import pandas as pd

    from pcids.errors import PcidsError

    items = list(formulas or [])
    if file is not None:
        if not file.is_file():
            raise PcidsError(f"file {file} not found")
        try:
            df = pd.read_csv(file)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise PcidsError(f"cannot read {file} as CSV: {exc}") from None
        if column not in df.columns:
            raise PcidsError(f"{file} has no column {column!r} (columns: {', '.join(map(str, df.columns))}); use --column")
        items += [str(f) for f in df[column].dropna()]
    if not items:
        raise PcidsError("give at least one formula, or --file with a 'formula' column")
    if out is not None:
        check_output_path(out, force, "--out")
    from pcids.composition import parse_formula

    for f in items:  # normalising 91 parts to 100 hides a typo: say so
        problem = parse_formula(f).sum_problem()
        if problem is not None:
            err_console.print(f"[yellow]warning:[/] {f}: {problem}; normalised to 100 at.%", highlight=False)
    return items

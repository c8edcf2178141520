"""Helpers shared by the CLI verbs: output (tables, JSON), warnings, output paths, formulas."""

from __future__ import annotations

import json
import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import typer
from rich.console import Console, ConsoleDimensions

#: Width of a file or a pipe: lines are never wrapped or cut there.
WIDE = 100_000


class _Console(Console):
    """A rich console that is full width when it does not write to a terminal.

    Rich takes the width of whatever terminal is attached to stdin or stderr (80
    columns by default), so ``pcids design ... | cat`` used to cut the table with
    "..."; in a file or a pipe every line is now whole.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # rich reads COLUMNS / LINES once, here; read them when printing instead (a console made at
        # import would otherwise keep the width of whichever command first imported this module)
        if kwargs.get("width") is None:
            self._width = None
        if kwargs.get("height") is None:
            self._height = None

    def _size(self) -> ConsoleDimensions:
        dims = Console.size.fget(self)  # type: ignore[attr-defined]
        return dims if self.is_terminal else ConsoleDimensions(WIDE, dims.height)

    size = property(_size, Console.size.fset)  # type: ignore[assignment]


console = _Console()
err_console = _Console(stderr=True)


@dataclass(frozen=True)
class Column:
    """A table column. ``drop``: order in which it is left out to fit a narrow terminal
    (1 first); None for what is never dropped (composition, predicted values, verdict).
    ``wrap``: a cell that may continue on the next line when even the kept columns are
    too wide (prose; a composition, folded whole), so the numbers never have to be cut."""

    name: str
    justify: str = "right"
    drop: int | None = None
    wrap: bool = False


def print_table(columns: Sequence[Column], rows: Sequence[Sequence[str]], title: str | None = None, out: Console | None = None) -> list[str]:
    """Print a table that is readable everywhere; returns the names of the columns left out.

    In a file or a pipe: a plain table at full width, nothing cut. In a terminal
    too narrow for it: the droppable columns go, in their ``drop`` order, until
    it fits, and a footer says which; what remains is never cut with "...": a
    cell too wide for the screen folds onto the next line.
    """
    from rich.table import Table

    out = out or console

    def build(cols: Sequence[Column], titled: bool = False) -> Table:
        # on a console the title is a line of its own: as a table's title rich folds it to the table's width
        t = Table(title=title if titled else None, title_justify="left", box=None, pad_edge=False, header_style="bold")
        for c in cols:
            t.add_column(c.name, justify=c.justify, no_wrap=not c.wrap, overflow="fold")  # type: ignore[arg-type]
        index = [columns.index(c) for c in cols]
        for r in rows:
            t.add_row(*[r[i] for i in index])
        return t

    shown = list(columns)
    dropped: list[str] = []
    if not isinstance(out, Console):  # a stand-in that keeps what is printed (pcids.serve.table)
        out.print(build(shown, titled=True))
        return dropped
    def print_title() -> None:
        if title:
            out.print(title, style="italic", highlight=False, markup=False)

    if out.is_terminal:
        print_title()
        wide = out.options.update_width(WIDE)
        for c in sorted((c for c in columns if c.drop is not None), key=lambda c: c.drop or 0):
            if out.measure(build(shown), options=wide).maximum <= out.width:
                break
            shown.remove(c)
            dropped.append(c.name)
        out.print(build(shown))
        if dropped:
            out.print(
                f"left out to fit {out.width} columns: {', '.join(dropped)}; pipe or --json for all",
                style="dim", highlight=False,
            )
    else:
        with out.capture() as cap:
            print_title()
            out.print(build(shown))
        typer.echo("\n".join(line.rstrip() for line in cap.get().splitlines()), err=out.stderr)
    return dropped


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

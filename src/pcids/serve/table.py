"""What ``pcids design`` (or ``pcids screen``) prints for a result, as plain data for the page: the same tables and lines.

The CLI's own printer is run against a console that keeps what it is given
instead of drawing it, so the page shows exactly the CLI's columns, number
formats and notes (and follows them when the CLI changes) without a second
copy of that formatting. Terminal markup is stripped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class _Keep:
    """Stands in for a rich Console: keeps every renderable printed."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def print(self, *objects: Any, **_: Any) -> None:
        self.items.extend(objects)


def _plain(obj: Any) -> str:
    from rich.text import Text

    if isinstance(obj, Text):
        return obj.plain
    return Text.from_markup(str(obj)).plain


def cli_report(result: Any) -> list[dict[str, Any]]:
    """What ``pcids design`` prints for a DesignResult (see :func:`printed`)."""
    from pcids.cli.design import _print

    return printed(lambda console: _print(result, console, relative=bool(result.settings.get("relative", True))))


def screen_report(result: Any, show: int) -> list[dict[str, Any]]:
    """What ``pcids screen --show SHOW`` prints for a ScreenResult (see :func:`printed`)."""
    from pcids.cli.screen import _print

    return printed(lambda console: _print(result, console, show))


def printed(print_to: Callable[[Any], None]) -> list[dict[str, Any]]:
    """Blocks in print order: ``{"text": line}`` or ``{"title", "columns", "rows"}`` for a table."""
    from rich.table import Table

    keep = _Keep()
    print_to(keep)
    blocks: list[dict[str, Any]] = []
    for item in keep.items:
        if isinstance(item, Table):
            columns = [_plain(c.header) for c in item.columns]
            cells = [[_plain(v) for v in c.cells] for c in item.columns]
            rows = [list(r) for r in zip(*cells)] if cells else []
            blocks.append({"title": _plain(item.title) if item.title else "", "columns": columns, "rows": rows})
        else:
            blocks.append({"text": _plain(item).strip()})
    return blocks


def candidates_table(blocks: list[dict[str, Any]], key: str = "composition") -> dict[str, Any] | None:
    """The ranked rows among the blocks: the last table with a ``key`` column (``system`` for a screen)."""
    tables = [b for b in blocks if "columns" in b and key in b["columns"]]
    return tables[-1] if tables else None

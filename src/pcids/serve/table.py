"""What ``pcids design`` prints for a result, as plain data for the page: the same tables and lines.

The CLI's own printer is run against a console that keeps what it is given
instead of drawing it, so the page shows exactly the CLI's columns, number
formats and notes (and follows them when the CLI changes) without a second
copy of that formatting. Terminal markup is stripped.
"""

from __future__ import annotations

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
    """Blocks in print order: ``{"text": line}`` or ``{"title", "columns", "rows"}`` for a table."""
    from rich.table import Table

    from pcids.cli.design import _print

    keep = _Keep()
    _print(result, keep, relative=bool(result.settings.get("relative", True)))
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


def candidates_table(blocks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The ranked candidates among the blocks: the last table with a composition column."""
    tables = [b for b in blocks if "columns" in b and "composition" in b["columns"]]
    return tables[-1] if tables else None

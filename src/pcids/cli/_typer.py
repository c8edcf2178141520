"""The click classes behind every pcids verb: one place for the CLI's conventions.

* ``-h`` and ``--help`` both show help (set on the root, inherited by every verb);
* a flag renders as ``--json``, not ``--json <bool>`` (typer's rich help
  prints the type of every option, flags included, which invites ``--json true``);
* every verb's help ends with the exit codes;
* a PcidsError raised by a verb is one ``Error: ...`` line on stderr, exit code 1.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

EXIT_CODES = "Exit codes: 0 success; 1 bad input, or some rows of a batch were bad (each reported on stderr); 2 usage error."

CONTEXT = {"help_option_names": ["-h", "--help"]}


class _Conventions:
    """Mixin for commands and groups: plain flags and the exit-code epilog."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        if not getattr(self, "epilog", None):
            self.epilog = EXIT_CODES

    def get_params(self, ctx: typer.Context) -> list:  # type: ignore[type-arg]
        params = super().get_params(ctx)  # type: ignore[misc]
        for p in params:
            if getattr(p, "is_flag", False) and p.metavar is None:
                p.metavar = ""  # rendered as no type at all
        return params


class Command(_Conventions, TyperCommand):
    """A verb."""


class Group(_Conventions, TyperGroup):
    """A verb with sub-commands (``pcids train forward``), or the root.

    The root turns any PcidsError raised by a verb into a clear message on stderr,
    exit code 1: bad input is the user's mistake, not a crash, so it never shows a
    traceback. Sub-groups run inside the root's ``invoke``, so they are covered too.
    """

    def invoke(self, ctx: typer.Context):  # type: ignore[override]
        from pcids.errors import PcidsError

        try:
            return super().invoke(ctx)
        except PcidsError as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(code=1) from None

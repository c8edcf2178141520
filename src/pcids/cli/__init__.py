"""The ``pcids`` command line: a thin typer layer over the library.

Each verb lives in its own module and imports the heavy libraries (torch,
pandas) inside its body, so ``pcids --help`` stays instant.
"""

from __future__ import annotations

import importlib

import typer
from typer.core import TyperGroup


class _Group(TyperGroup):
    """Turns any PcidsError raised by a verb into a clear message on stderr, exit code 1.

    Bad input is the user's mistake, not a crash, so it never shows a traceback.
    Sub-groups run inside this ``invoke``, so they are covered too.
    """

    def invoke(self, ctx: typer.Context):  # type: ignore[override]
        from pcids.errors import PcidsError

        try:
            return super().invoke(ctx)
        except PcidsError as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(code=1) from None


app = typer.Typer(
    cls=_Group,
    name="pcids",
    help="Inverse design of metallic glasses: target G, K and glass-forming ability -> compositions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# (module, attribute) of each verb; a sub-app is added as a group.
_COMMANDS: dict[str, str] = {
    "data": "pcids.cli.data",
    "predict": "pcids.cli.predict",
    "explain": "pcids.cli.explain",
    "train": "pcids.cli.train",
    "tune": "pcids.cli.tune",
    "inverse": "pcids.cli.inverse",
    "gfa": "pcids.cli.gfa",
    "design": "pcids.cli.design",
    "screen": "pcids.cli.screen",
    "reproduce": "pcids.cli.reproduce",
}


def _register() -> None:
    for name, module in _COMMANDS.items():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:  # verb not built yet
            if exc.name == module:
                continue
            raise
        obj = getattr(mod, "app", None)
        if isinstance(obj, typer.Typer):
            app.add_typer(obj, name=name)
        else:
            app.command(name)(mod.command)


_register()


def main() -> None:
    """Console entry point."""
    app()

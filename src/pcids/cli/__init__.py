"""The ``pcids`` command line: a thin typer layer over the library.

Each verb lives in its own module and imports the heavy libraries (torch,
pandas) inside its body, so ``pcids --help`` stays instant.
"""

from __future__ import annotations

import importlib

import typer

from pcids.cli._typer import CONTEXT, EXIT_CODES, Command, Group

app = typer.Typer(
    cls=Group,
    name="pcids",
    help="Inverse design of metallic glasses: target G, K and glass-forming ability -> compositions.",
    epilog=EXIT_CODES,
    context_settings=CONTEXT,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        from pcids import __version__

        typer.echo(f"pcids {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Inverse design of metallic glasses: target G, K and glass-forming ability -> compositions."""


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
    "serve": "pcids.cli.serve",
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
            app.command(name, cls=Command)(mod.command)


_register()


def main() -> None:
    """Console entry point."""
    app()

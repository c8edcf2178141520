"""The ``pcids`` command line: a thin typer layer over the library.

Each verb lives in its own module and imports the heavy libraries (torch,
pandas) inside its body, so ``pcids --help`` stays instant.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
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
    """Console entry point: turn PcidsError into a one-line message and exit 2."""
    from pcids.errors import PcidsError

    try:
        app()
    except PcidsError as exc:
        from rich.console import Console

        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False)
        raise SystemExit(2) from None

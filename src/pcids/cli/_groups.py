"""Verbs with one sub-command per model family (``pcids train forward``...).

Each sub-command lives in its own module, ``pcids.cli.<verb>_<family>``,
defining ``command``; families not built yet are simply absent.
"""

from __future__ import annotations

import importlib

import typer

from pcids.cli._typer import Command, Group

FAMILIES = ("forward", "inverse", "gfa", "properties")


def group(verb: str, help_text: str) -> typer.Typer:
    app = typer.Typer(cls=Group, help=help_text, no_args_is_help=True)
    for family in FAMILIES:
        module = f"pcids.cli.{verb}_{family}"
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue
            raise
        app.command(family, cls=Command)(mod.command)
    return app

"""``pcids predict``: every shipped property (G, K, E, nu, Tg, Tx, Tl, dTx, Trg, gamma) with +- sigma."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

#: Table cell format per property (value and sigma), header unit from PROPERTIES.
_FORMATS = {"G": ".1f", "K": ".1f", "E": ".1f", "nu": ".3f", "Tg": ".0f", "Tx": ".0f", "Tl": ".0f", "dTx": ".0f", "Trg": ".3f", "gamma": ".3f"}
#: Columns left out first when a terminal is too narrow (after "in domain"); the measured and modelled ones stay.
_DROP_ORDER = ("gamma", "Trg", "dTx", "nu", "E")


def command(
    formulas: Optional[List[str]] = typer.Argument(None, help="Alloy formulas, e.g. Zr41.2Ti13.8Cu12.5Ni10Be22.5 (at.%)."),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="CSV file with one formula per row."),
    column: str = typer.Option("formula", help="Column of --file holding the formulas."),
    properties: Optional[str] = typer.Option(
        None, "--properties", "-p", help="Comma-separated properties to report, e.g. Tg,K.", show_default="all: G,K,E,nu,Tg,Tx,Tl,dTx,Trg,gamma"
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON (one record per alloy; keys are the property names) for scripts."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write the predictions to this CSV."),
    force: bool = typer.Option(False, "--force", help="Overwrite --out if it exists."),
    model_specs: Optional[List[str]] = typer.Option(None, "--model", help="NAME=DIR: also predict with your own model (trained by `pcids train forward --data`); repeatable."),
) -> None:
    """Predict the elastic moduli (G, K, E in GPa, nu) and the characteristic temperatures
    (Tg, Tx, Tl in K; dTx = Tx - Tg, Trg = Tg / Tl, gamma = Tx / (Tg + Tl)), each +- 1 sigma.

    G and K come from deep ensembles, Tg, Tx and Tl from extremely randomised
    trees; each sigma is calibrated out of fold, and the derived quantities
    carry it through. Alloys outside a model's training domain are flagged
    (in_domain = false) and explained on stderr. A formula that cannot be read
    is reported on stderr by its place (argument 2, f.csv line 5); the others
    are still predicted, and the exit code is then 1.
    """
    from pcids.cli._batch import predict_rows, read_rows, report_bad
    from pcids.cli._common import check_output_path, print_json
    from pcids.models.properties import check_property_names, predict_properties

    names = check_property_names(properties)
    rows = read_rows(formulas, file, column)
    if out is not None:
        check_output_path(out, force, "--out")

    from pcids.cli._user_models import load_user_models, with_user_models

    user = load_user_models(model_specs)
    df, bad = predict_rows(rows, with_user_models(lambda texts: predict_properties(texts, names), user))
    if df is not None:
        if out is not None:
            df.to_csv(out)
        if json_out:
            print_json([{"input": i, **_record(row)} for i, row in df.iterrows()])
        else:
            _table(df, names, user)
    report_bad(bad, len(rows))


def _table(df, names: list[str], user: list) -> None:  # type: ignore[no-untyped-def]
    from pcids.cli._common import Column, print_table
    from pcids.cli._user_models import column_label, format_value
    from pcids.models.properties import PROPERTIES

    def header(n: str) -> str:
        unit = PROPERTIES[n]["unit"]
        return f"{n} ({unit})" if unit else n

    drop = {n: 2 + k for k, n in enumerate(_DROP_ORDER)}
    columns = [Column("alloy", "left", wrap=True), *(Column(header(n), drop=drop.get(n)) for n in names),
               *(Column(column_label(m)) for m in user), Column("in domain", drop=1)]
    print_table(columns, [
        (i, *(f"{r[n]:{_FORMATS[n]}} ± {r[n + '_std']:{_FORMATS[n]}}" for n in names),
         *(format_value(r[m.name], r[f"{m.name}_std"]) for m in user),
         "yes" if r["in_domain"] and all(r[f"{m.name}_in_domain"] for m in user) else "[red]no[/]")
        for i, r in df.iterrows()
    ], title="Predicted properties (+- 1 sigma)")


def _record(row) -> dict:  # type: ignore[no-untyped-def]
    return {k: (v if k == "formula" else bool(v) if k.endswith("in_domain") else float(v)) for k, v in row.items()}

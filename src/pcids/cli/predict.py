"""``pcids predict``: G, K, E and nu with +- sigma for one or more alloys, from the shipped ensembles."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def command(
    formulas: Optional[List[str]] = typer.Argument(None, help="Alloy formulas, e.g. Zr41.2Ti13.8Cu12.5Ni10Be22.5 (at.%)."),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="CSV file with one formula per row."),
    column: str = typer.Option("formula", help="Column of --file holding the formulas."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON (one record per alloy) for scripts."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write the predictions to this CSV."),
    force: bool = typer.Option(False, "--force", help="Overwrite --out if it exists."),
    model_specs: Optional[List[str]] = typer.Option(None, "--model", help="NAME=DIR: also predict with your own model (trained by `pcids train forward --data`); repeatable."),
) -> None:
    """Predict shear (G), bulk (K), Young's (E) moduli in GPa and Poisson's ratio (nu), each +- 1 sigma.

    Sigma is the deep ensemble's spread, calibrated so that +-2 sigma covers
    about 95 % of held-out alloys. Alloys outside the training domain are
    flagged (in_domain = false) and explained on stderr. A formula that cannot
    be read is reported on stderr by its place (argument 2, f.csv line 5); the
    others are still predicted, and the exit code is then 1.
    """
    from pcids.cli._batch import predict_rows, read_rows, report_bad
    from pcids.cli._common import Column, check_output_path, print_json, print_table

    rows = read_rows(formulas, file, column)
    if out is not None:
        check_output_path(out, force, "--out")

    from pcids.cli._user_models import column_label, format_value, load_user_models, with_user_models
    from pcids.models.ensemble import load_elastic_model

    user = load_user_models(model_specs)
    model = load_elastic_model()
    df, bad = predict_rows(rows, with_user_models(model.predict, user))
    if df is not None:
        if out is not None:
            df.to_csv(out)
        if json_out:
            print_json([{"input": i, **_record(row)} for i, row in df.iterrows()])
        else:
            columns = [Column("alloy", "left", wrap=True), Column("G (GPa)"), Column("K (GPa)"), Column("E (GPa)"), Column("nu"),
                       *[Column(column_label(m)) for m in user], Column("in domain", drop=1)]
            print_table(columns, [
                (i, f"{r.G:.1f} ± {r.G_std:.1f}", f"{r.K:.1f} ± {r.K_std:.1f}", f"{r.E:.1f} ± {r.E_std:.1f}",
                 f"{r.nu:.3f} ± {r.nu_std:.3f}", *[format_value(r[m.name], r[f"{m.name}_std"]) for m in user],
                 "yes" if r.in_domain and all(r[f"{m.name}_in_domain"] for m in user) else "[red]no[/]")
                for i, r in df.iterrows()
            ], title="Predicted elastic properties (+- 1 sigma)")
    report_bad(bad, len(rows))


def _record(row) -> dict:  # type: ignore[no-untyped-def]
    return {k: (v if k == "formula" else bool(v) if k.endswith("in_domain") else float(v)) for k, v in row.items()}

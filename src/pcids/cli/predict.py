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
) -> None:
    """Predict shear (G), bulk (K), Young's (E) moduli in GPa and Poisson's ratio (nu), each +- 1 sigma.

    Sigma is the deep ensemble's spread, calibrated so that +-2 sigma covers
    about 95 % of held-out alloys. Alloys outside the training domain are
    flagged (in_domain = false) and explained on stderr.
    """
    from pcids.cli._common import console, gather_formulas, print_json, warnings_to_stderr

    items = gather_formulas(formulas, file, column, out, force)

    from pcids.models.ensemble import load_elastic_model

    with warnings_to_stderr():
        df = load_elastic_model().predict(items)
    if out is not None:
        df.to_csv(out)
    if json_out:
        records = [{"formula": f, **{k: (bool(v) if k == "in_domain" else float(v)) for k, v in row.items()}} for f, row in df.iterrows()]
        print_json(records)
        return
    from rich.table import Table

    table = Table(title="Predicted elastic properties (+- 1 sigma)")
    for name in ("alloy", "G (GPa)", "K (GPa)", "E (GPa)", "nu", "in domain"):
        table.add_column(name, justify="left" if name == "alloy" else "right")
    for f, r in df.iterrows():
        table.add_row(
            f,
            f"{r.G:.1f} ± {r.G_std:.1f}",
            f"{r.K:.1f} ± {r.K_std:.1f}",
            f"{r.E:.1f} ± {r.E_std:.1f}",
            f"{r.nu:.3f} ± {r.nu_std:.3f}",
            "yes" if r.in_domain else "[red]no[/]",
        )
    console.print(table)

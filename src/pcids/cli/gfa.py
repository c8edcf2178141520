"""``pcids gfa``: will these alloys cast as bulk glasses? P(Dmax >= 2 mm) and the expected Dmax."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def command(
    formulas: Optional[List[str]] = typer.Argument(None, help="Alloy formulas, e.g. Zr41.2Ti13.8Cu12.5Ni10Be22.5 (at.%)."),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="CSV file with one formula per row."),
    column: str = typer.Option("formula", help="Column of --file holding the formulas."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="A GFA model saved by `pcids train gfa --out` (default: the shipped one)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON (one record per alloy) for scripts."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write the predictions to this CSV."),
    force: bool = typer.Option(False, "--force", help="Overwrite --out if it exists."),
) -> None:
    """Probability that each alloy casts as a glass rod of at least the threshold diameter (2 mm),
    and the predicted critical casting diameter Dmax with a ~68 % range.

    The probability is calibrated on alloy systems held out during training;
    "bulk glass?" applies the operating point that maximised balanced accuracy.
    Dmax is one quantity consistent with that probability: the median of the
    mixture "does not reach the threshold" (probability 1 - P) / "a rod of the
    regressor's size" (P), so it reaches the threshold exactly when P >= 0.5
    and is 0 below; "Dmax if glass" is the regressor's diameter should the
    alloy be a glass former. Alloys outside the training domain are flagged
    and explained on stderr.
    """
    from pcids.cli._common import console, gather_formulas, print_json, warnings_to_stderr

    items = gather_formulas(formulas, file, column, out, force)

    from pcids.models.gfa import GFAModel, load_gfa_model

    m = GFAModel.load(model) if model is not None else load_gfa_model()
    with warnings_to_stderr():
        df = m.predict_gfa(items)
    in_domain = m.domain_check(items)
    thr = float(m.threshold_mm)
    df.insert(1, "bulk_glass", df["p_bulk_glass"] >= m.decision_threshold_)
    df["in_domain"] = in_domain
    if out is not None:
        df.to_csv(out)
    if json_out:
        print_json(
            [
                {"formula": f, "threshold_mm": thr, **{k: (bool(v) if k in ("in_domain", "bulk_glass") else float(v)) for k, v in row.items()}}
                for f, row in df.iterrows()
            ]
        )
        return
    from rich.table import Table

    table = Table(title=f"Glass-forming ability (decision at P >= {m.decision_threshold_:.2f})")
    for name in ("alloy", f"P(Dmax >= {thr:g} mm)", f"bulk glass >= {thr:g} mm?", "Dmax (mm)", "~68 % range (mm)", "Dmax if glass (mm)", "in domain"):
        if name == "alloy":
            table.add_column(name, no_wrap=True, min_width=max(len(f) for f in df.index))
        else:
            table.add_column(name, justify="right")
    for f, r in df.iterrows():
        table.add_row(
            f,
            f"{r.p_bulk_glass:.2f}",
            "yes" if r.bulk_glass else "no",
            f"{r.dmax_mm:.2g}",
            f"{r.dmax_low:.2g} - {r.dmax_high:.2g}",
            f"{r.dmax_if_glass_mm:.2g}",
            "yes" if r.in_domain else "[red]no[/]",
        )
    console.print(table)
    console.print(
        f"[dim]Dmax: the median diameter given P (0 = below {thr:g} mm, not a bulk glass); "
        "Dmax if glass: the regressor's diameter should the alloy form a glass.[/]",
        highlight=False,
    )

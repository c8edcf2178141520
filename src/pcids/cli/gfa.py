"""``pcids gfa``: will these alloys cast as bulk glasses? P(Dmax >= 2 mm) and the expected Dmax."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def command(
    formulas: Optional[List[str]] = typer.Argument(None, help="Alloy formulas, e.g. Zr41.2Ti13.8Cu12.5Ni10Be22.5 (at.%)."),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="CSV file with one formula per row."),
    column: str = typer.Option("formula", help="Column of --file holding the formulas."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="A GFA model saved by `pcids train gfa --out`.", show_default="the shipped one"),
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
    and explained on stderr. A formula that cannot be read is reported on
    stderr by its place; the others are still predicted, and the exit code is
    then 1.
    """
    from pcids.cli._batch import predict_rows, read_rows, report_bad
    from pcids.cli._common import Column, check_output_path, console, print_json, print_table

    rows = read_rows(formulas, file, column)
    if out is not None:
        check_output_path(out, force, "--out")

    from pcids.models.gfa import GFAModel, load_gfa_model

    m = GFAModel.load(model) if model is not None else load_gfa_model()

    def predict(items: list[str]):  # type: ignore[no-untyped-def]
        df = m.predict_gfa(items)
        df["in_domain"] = m.domain_check(items)
        return df

    df, bad = predict_rows(rows, predict)
    thr = float(m.threshold_mm)
    if df is not None:
        if out is not None:
            df.to_csv(out)
        if json_out:
            flags = ("in_domain", "bulk_glass")
            print_json([
                {"input": i, "threshold_mm": thr, **{k: (v if k in ("formula", "verdict") else bool(v) if k in flags else float(v)) for k, v in r.items()}}
                for i, r in df.iterrows()
            ])
        else:
            columns = [Column("alloy", "left", wrap=True), Column(f"P(Dmax >= {thr:g} mm)"), Column(f"bulk glass >= {thr:g} mm?"),
                       Column("Dmax (mm)"), Column("~68 % range (mm)", drop=2), Column("Dmax if glass (mm)", drop=3), Column("in domain", drop=1)]
            def mm(v: float) -> str:
                return f"< {thr:g}" if v < thr else f"{v:.2g}"

            print_table(columns, [
                (i, f"{r.p_bulk_glass:.2f}", r.verdict, mm(r.dmax_mm),
                 mm(r.dmax_high) if r.dmax_high < thr else f"{mm(r.dmax_low)} - {mm(r.dmax_high)}", f"{r.dmax_if_glass_mm:.2g}", "yes" if r.in_domain else "[red]no[/]")
                for i, r in df.iterrows()
            ], title="Glass-forming ability")
            console.print(
                f"[dim]bulk glass: yes where P >= 0.5, which is where Dmax reaches {thr:g} mm; possible where P reaches "
                f"{m.decision_threshold_:.2f} (the classifier's operating point, max balanced accuracy); else no. "
                f"Dmax: the median diameter given P (< {thr:g}: more likely than not below {thr:g} mm, not a bulk glass); "
                "Dmax if glass: the regressor's diameter should the alloy form a glass.[/]",
                highlight=False,
            )
    report_bad(bad, len(rows))

"""``pcids inverse``: the predictor step - elements and target G, K in, a starting composition out."""

from __future__ import annotations

from typing import List

import typer


def _forward_check(comp) -> dict | None:
    """G and K of the proposal from the shipped forward models, or None if they are not available."""
    try:
        from pcids.models.ensemble import load_elastic_model
    except ImportError:
        return None
    from pcids.errors import ModelFileError

    try:
        model = load_elastic_model()
    except ModelFileError:
        return None
    row = model.predict([comp]).iloc[0]
    return {k: float(row[k]) for k in ("G", "G_std", "K", "K_std")}


def command(
    elements: List[str] = typer.Argument(..., help="2 to 7 element symbols, in any order, e.g. Ti Zr Be Fe."),
    G: float = typer.Option(..., "--G", help="Target shear modulus (GPa)."),
    K: float = typer.Option(..., "--K", help="Target bulk modulus (GPa)."),
    step: float = typer.Option(1.0, help="Rounding step in at.% (must divide 100); the corrector's lattice."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Propose atomic fractions for ELEMENTS reaching the target G and K (the PCIDS predictor).

    The fractions are positive multiples of --step summing to exactly 100
    (largest-remainder rounding of the inverse network's output); the answer
    does not depend on the order of ELEMENTS. The shipped forward models then
    predict G and K for the proposal, so you see how close it lands.
    """
    from pcids.cli._common import console, print_json, warnings_to_stderr
    from pcids.models.inverse import propose

    with warnings_to_stderr():
        comp = propose(elements, G, K, step=step)
        fwd = _forward_check(comp)
    record = {
        "formula": comp.formula_as_written,
        "fractions": dict(comp),
        "target": {"G": G, "K": K},
        "forward": fwd,
    }
    if json_out:
        print_json(record)
        return
    from pcids.cli._common import Column, print_table

    console.print(f"Proposed composition for G = {G:g} GPa, K = {K:g} GPa (step {step:g} at.%)")
    print_table([Column("element", "left"), Column("at.%")], [(el, f"{a:g}") for el, a in comp.items()])
    console.print(f"formula: [bold]{comp.formula_as_written}[/]")
    if fwd is None:
        console.print("forward models not available: G and K of the proposal not predicted")
    else:
        console.print(
            f"forward models: G = {fwd['G']:.2f} +- {fwd['G_std']:.2f} GPa (target {G:g}), "
            f"K = {fwd['K']:.2f} +- {fwd['K_std']:.2f} GPa (target {K:g})"
        )

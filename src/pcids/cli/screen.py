"""``pcids screen``: rank every system drawn from a palette of elements, on Dask (local by default)."""

from __future__ import annotations

import gc
import warnings
from pathlib import Path
from typing import List, Optional

import typer


def command(
    palette: str = typer.Option(..., "--palette", "-p", help="Elements, e.g. Zr,Cu,Ni,Al,Ti, or a named palette: glass-formers[:N] (well studied), all[:N] (every element a screen accepts)."),
    sizes: str = typer.Option("3-5", "--sizes", help="Elements per system: 3-5, 3,4 or 4 (2 to 12)."),
    G: Optional[float] = typer.Option(None, "--G", help="Target shear modulus (GPa)."),
    K: Optional[float] = typer.Option(None, "--K", help="Target bulk modulus (GPa)."),
    E_target: Optional[float] = typer.Option(None, "--E", help="Target Young's modulus (GPa)."),
    nu: Optional[float] = typer.Option(None, "--nu", help="Target Poisson's ratio."),
    target: List[str] = typer.Option([], "--target", help="NAME=VALUE target of any predicted quantity (repeatable), e.g. Tg=700; as in `pcids design`."),
    at_least: List[str] = typer.Option([], "--at-least", help="NAME=VALUE constraint: at least VALUE with probability >= --confidence (repeatable), e.g. Dmax=5."),
    at_most: List[str] = typer.Option([], "--at-most", help="NAME=VALUE constraint: at most VALUE with probability >= --confidence (repeatable), e.g. cost=20."),
    maximize: List[str] = typer.Option([], "--maximize", help="Quantity to maximise (repeatable): each status group's Pareto set of P(targets) and the objectives leads, per system and across systems; every coarse composition is scored."),
    minimize: List[str] = typer.Option([], "--minimize", help="Quantity to minimise (repeatable), e.g. cost; as --maximize."),
    confidence: float = typer.Option(0.5, "--confidence", help="Probability the constraints must be met with (jointly)."),
    model_specs: List[str] = typer.Option([], "--model", help="NAME=DIR: your own model (trained by `pcids train forward --data`) as a quantity NAME (repeatable), sent to each worker once; as in `pcids design`."),
    tolerance: float = typer.Option(0.02, "--tolerance", "-t", help="Tolerance on each target (relative: 0.02 = 2 %)."),
    absolute: bool = typer.Option(False, "--absolute", help="Tolerance in GPa instead of relative."),
    bounds: List[str] = typer.Option([], "--bounds", "-b", help="ELEMENT=MIN:MAX at.% (repeatable), applied to systems holding it."),
    step: float = typer.Option(5.0, "--step", help="Coarse lattice step (at.%; must divide 100)."),
    gfa_threshold: float = typer.Option(2.0, "--gfa-threshold", help="Dmax (mm) of the GFA check."),
    no_gfa: bool = typer.Option(False, "--no-gfa", help="Rank on the targets alone."),
    top: int = typer.Option(10, "--top", "-n", help="Best systems refined with `pcids design` at 1 at.%."),
    keep: int = typer.Option(3, "--keep", help="Best coarse compositions kept per system."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Local worker processes (default: one per core)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Run on an existing Dask cluster: tcp://HOST:PORT."),
    timeout: float = typer.Option(10.0, "--timeout", help="Seconds to wait for --scheduler to answer."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Directory for the parts and the tables (JSON, CSV, Parquet)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the screen saved in --out."),
    force: bool = typer.Option(False, "--force", help="Replace the screen saved in --out."),
    batch_points: Optional[int] = typer.Option(None, "--batch-points", help="Coarse compositions per task (default 200,000: about a second)."),
    show: int = typer.Option(15, "--show", help="Systems shown in the table."),
    json_out: bool = typer.Option(False, "--json", help="Print the ranked systems as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Rank every system of SIZES elements from PALETTE by its best coarse composition for the targets.

    Each system's compositions on a STEP at.% lattice are ranked as `pcids
    design` ranks (targets and GFA met first, then the chance of meeting the
    targets, the closeness to known glass formers and P(glass)); systems by
    their best; the best TOP systems are refined by `pcids design`. Runs on a
    local Dask cluster (127.0.0.1) or on --scheduler. Example:
    pcids screen --palette glass-formers:12 --sizes 3-4 --G 36 --K 105 --out screen/
    """
    from pcids.cli._common import console, err_console, print_json, warnings_to_stderr
    from pcids.cli._user_models import load_user_models
    from pcids.cli.design import parse_bounds, parse_named, parse_targets
    from pcids.screen import screen

    targets = parse_targets({"G": G, "K": K, "E": E_target, "nu": nu}, target)
    lower, upper = parse_named(at_least, "--at-least"), parse_named(at_most, "--at-most")
    models = load_user_models(model_specs)
    try:
        with warnings_to_stderr(), warnings.catch_warnings():
            # Dask leaves sockets for the garbage collector: its ResourceWarnings say nothing about the screen
            warnings.filterwarnings("ignore", category=ResourceWarning)
            result = screen(
                palette, sizes, targets, at_least=lower, at_most=upper, maximize=maximize, minimize=minimize,
                confidence=confidence, models=models, tolerance=tolerance, relative=not absolute, bounds=parse_bounds(bounds),
                step=step, gfa_threshold_mm=None if no_gfa else gfa_threshold, top=top, keep=keep, out=out,
                resume=resume, force=force, scheduler=scheduler, workers=workers, timeout=timeout,
                batch_points=batch_points, progress=not quiet and not json_out,
            )
            gc.collect()
    except KeyboardInterrupt:
        where = f"; the finished batches are saved in {out}: continue with --resume" if out is not None else " (nothing saved: use --out DIR to keep partial work)"
        err_console.print(f"interrupted{where}", highlight=False)
        raise typer.Exit(code=130) from None
    if json_out:
        print_json(result.to_dict(max_systems=show))
        return
    _print(result, console, show)
    if out is not None:
        console.print(f"wrote {out}/screen.json, systems.csv, candidates.csv, refined.csv and Parquet tables systems/, candidates/", highlight=False)


def _print(result, console, show: int) -> None:  # type: ignore[no-untyped-def]
    from pcids.cli._common import Column, print_table
    from pcids.design.result import STATUS
    from pcids.screen.ranking import weights

    s = result.stats
    sp = result.settings["spec"]
    tgt = ", ".join([f"{k} = {v:g}" for k, v in sp["targets"].items()] + [f"{k} >= {v:g}" for k, v in sp.get("at_least", {}).items()]
                    + [f"{k} <= {v:g}" for k, v in sp.get("at_most", {}).items()]
                    + [f"max {k}" for k in sp.get("maximize", [])] + [f"min {k}" for k in sp.get("minimize", [])])
    from pcids.design.objectives import column

    objectives = [column(n) for n in [*sp.get("maximize", []), *sp.get("minimize", [])]]
    objectives = [c for c in objectives if c in result.systems.columns and c not in ("p_gfa", "dmax_mm", "G", "K")]
    front = "pareto" in result.systems.columns
    console.print(
        f"{s['n_systems']:,} systems screened ({s['batches_run']} batches run, {s['batches_resumed']} resumed) "
        f"on {s['workers']} worker(s) in {s['seconds']:.1f} s; {s['refined_run']} refined",
        highlight=False,
    )
    thr = 2.0  # the shipped GFA classifier's own Dmax: the median below it is shown as "<2", as `pcids design` shows it

    def mm(v: float) -> str:
        return "-" if v != v else (f"<{thr:g}" if v < thr else f"{v:.1f}")

    # in a narrow terminal the evidence columns go first (print_table); system, best composition, G, K stay whole
    columns = [
        Column("#"), Column("system", "left"), Column("best composition", "left", wrap=True), Column("ok", "left"),
        *([Column("Pareto", "left")] if front else []), Column("score", drop=6), Column("P(targets)", drop=4), Column("P(glass)", drop=3),
        Column("G"), Column("K"), Column("Dmax", drop=2), Column("D if glass", drop=1), *[Column(c) for c in objectives], Column("refined", "left", drop=5),
    ]
    rows = [
        (
            str(r["rank"]), r["system"], r["best"], "yes" if r.status == STATUS[0] else "", *(["yes" if r.pareto else ""] if front else []),
            f"{r.score:.2f}", f"{r.p_target:.3f}", "-" if r.p_gfa != r.p_gfa else f"{r.p_gfa:.2f}",
            f"{r.G:.1f}±{r.G_std:.1f}", f"{r.K:.1f}±{r.K_std:.1f}", mm(r.dmax_mm),
            "-" if r.dmax_if_glass_mm != r.dmax_if_glass_mm else f"{r.dmax_if_glass_mm:.1f}", *[f"{r[c]:.4g}" for c in objectives], "yes" if r.refined else "",
        )
        for _, r in result.systems.head(show).iterrows()
    ]
    print_table(columns, rows, title=f"best systems for {tgt}", out=console)
    w_p, w_g = weights()
    console.print(
        "ranked as `pcids design` ranks: ok (targets within tolerance, GFA check and constraints passed) first, then score = "
        f"log P(targets) + {w_p:g} log plausibility + {w_g:g} log P(glass) (+ log P(constraints)); G, K in GPa (+- 1 sigma); Dmax in mm, the median given P(glass) (< 2: more likely below); D if glass: the regressor's diameter should it form a glass; "
        "refined = best of `pcids design` at 1 at.%"
        + ("; Pareto = on the front of P(targets) and the objectives within its status group, which leads it" if front else ""),
        style="dim", highlight=False,
    )

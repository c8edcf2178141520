"""``pcids design``: elements and target moduli in, ranked compositions with evidence out."""

from __future__ import annotations

from pathlib import Path
from typing import List, Literal, Optional

import typer

#: Above this many candidates in one corrector search, say so (count and time) before it starts.
LARGE_SEARCH = 10_000_000
#: Unpruned scoring speed of the shipped forward ensemble on this 2-core machine
#: (benchmarks/results/corrector_speed.md, mode "full": 137,000-193,000 candidates/s).
SCORING_RATE = 190_000


def _keyed(items: list[str], option: str, expected: str | None = None, what: str = "element") -> dict[str, str]:
    """``["Fe=0:10", ...]`` -> {"Fe": "0:10"}; a key given twice is refused, not the last kept."""
    from pcids.errors import DesignError

    if expected is None:
        expected = "ELEMENT=" + ("MIN:MAX, e.g. Fe=0:10" if option == "--bounds" else "AT%, e.g. Be=25")
    out: dict[str, str] = {}
    for item in items:
        el, sep, value = item.partition("=")
        el = el.strip()
        if not sep or not el:
            raise DesignError(f"{option} {item!r}: expected {expected}")
        if el in out:
            raise DesignError(f"{option} given twice for {el} ({el}={out[el]} and {item}); give each {what} once")
        out[el] = value
    return out


def parse_bounds(items: list[str]) -> dict[str, tuple[float | None, float | None]]:
    """``["Fe=0:10", "Ti=30:"]`` -> {"Fe": (0, 10), "Ti": (30, None)}."""
    from pcids.errors import DesignError

    out: dict[str, tuple[float | None, float | None]] = {}
    for el, rng in _keyed(items, "--bounds").items():
        lo, colon, hi = rng.partition(":")
        if not colon:
            raise DesignError(f"--bounds {el}={rng!r}: expected ELEMENT=MIN:MAX, e.g. Fe=0:10 (either side may be empty)")
        try:
            out[el] = (float(lo) if lo.strip() else None, float(hi) if hi.strip() else None)
        except ValueError:
            raise DesignError(f"--bounds {el}={rng}: MIN and MAX must be numbers (at.%)") from None
    return out


def parse_fixed(items: list[str]) -> dict[str, float]:
    """``["Be=25"]`` -> {"Be": 25.0}."""
    from pcids.errors import DesignError

    out: dict[str, float] = {}
    for el, v in _keyed(items, "--fixed").items():
        try:
            out[el] = float(v)
        except ValueError:
            raise DesignError(f"--fixed {el}={v}: expected ELEMENT=AT%, e.g. Be=25") from None
    return out


def parse_named(items: list[str], option: str) -> dict[str, float]:
    """``["Tg=700", "Dmax=5"]`` -> {"Tg": 700.0, "Dmax": 5.0}; a name given twice is refused."""
    from pcids.errors import DesignError

    example = "Tg=700" if option == "--target" else "Dmax=5"
    out: dict[str, float] = {}
    for name, value in _keyed(items, option, f"NAME=VALUE, e.g. {example}", "name").items():
        try:
            out[name] = float(value)
        except ValueError:
            raise DesignError(f"{option} {name}={value}: VALUE must be a number") from None
    return out


def parse_targets(shortcuts: dict[str, float | None], target: list[str]) -> dict[str, float]:
    """The --G/--K/--E/--nu shortcuts given, then every --target NAME=VALUE; a name given both ways is refused."""
    from pcids.errors import DesignError

    targets = {k: v for k, v in shortcuts.items() if v is not None}
    for name, v in parse_named(target, "--target").items():
        if name in targets:
            raise DesignError(f"target {name} given twice (--{name} {targets[name]:g} and --target {name}={v:g}); give it once")
        targets[name] = v
    return targets


def search_size(elements: list[str], E: float, h: float, fixed: dict[str, float]) -> int | None:
    """Most candidates one corrector search of half-width E can hold (around an even start; bounds only shrink it).

    None when the request is invalid: design() then says why.
    """
    from pcids.corrector import lattice_size
    from pcids.errors import PcidsError

    free = [e for e in elements if e not in fixed]
    units = round((100 - sum(fixed.values())) / h) if h > 0 else 0
    if not free or units < len(free):
        return None
    base, extra = divmod(units, len(free))
    start = {e: fixed[e] if e in fixed else (base + (i < extra)) * h for i, e in enumerate(free + list(fixed))}
    try:
        return lattice_size(start, E=E, h=h, fixed=fixed)
    except PcidsError:
        return None


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds / 3600:.1f} hours"


def warn_large_search(elements: list[str], E: float, h: float, fixed: dict[str, float]) -> int | None:
    """Say on stderr, before the search starts, when it will score more than LARGE_SEARCH candidates."""
    from pcids.cli._common import err_console

    n = search_size(elements, E, h, fixed)
    if n is not None and n > LARGE_SEARCH:
        err_console.print(
            f"[yellow]warning:[/] each corrector search will score up to {n:,} candidates "
            f"({len(elements) - len(fixed)} free elements, E = {E:g}, h = {h:g} at.%): up to about "
            f"{_duration(n / SCORING_RATE)} per search at ~{SCORING_RATE:,} candidates/s (pruning often skips most); "
            "a smaller --size, a larger --step or --bounds make it faster",
            highlight=False,
        )
    return n


def command(
    elements: List[str] = typer.Argument(..., help="2 to 12 element symbols, e.g. Ti Zr Be Fe."),
    G: Optional[float] = typer.Option(None, "--G", help="Target shear modulus (GPa)."),
    K: Optional[float] = typer.Option(None, "--K", help="Target bulk modulus (GPa)."),
    E_target: Optional[float] = typer.Option(None, "--E", help="Target Young's modulus (GPa)."),
    nu: Optional[float] = typer.Option(None, "--nu", help="Target Poisson's ratio."),
    tolerance: float = typer.Option(0.02, "--tolerance", "-t", help="Largest acceptable error (relative: 0.02 = 2 %)."),
    absolute: bool = typer.Option(False, "--absolute", help="Errors in GPa instead of relative."),
    aggregate: Literal["max", "sum"] = typer.Option("max", "--aggregate", help="Combine the targets' errors by their max or their sum."),
    prefer: Literal["likely", "error", "closest"] = typer.Option("likely", "--prefer", help="Ranking: likely (P(targets met) x plausibility x P(GFA)), the smallest error (the paper's), or the closest to the predictor."),
    strategy: Literal["auto", "exhaustive", "global", "paper"] = typer.Option("auto", "--strategy", help="Search: auto, exhaustive (whole lattice), global (walk + exact polish), paper (predictor -> corrector, box +-SIZE)."),
    exhaustive: bool = typer.Option(False, "--exhaustive", help="Search the whole lattice (same as --strategy exhaustive)."),
    min_distance: float = typer.Option(10.0, "--min-distance", help="Least L1 distance (at.%) between any two returned candidates."),
    size: float = typer.Option(5.0, "--size", "-s", help="Corrector half-width E (at.%; the paper's E)."),
    step: float = typer.Option(1.0, "--step", "-H", help="Lattice step h (at.%; must divide 100)."),
    top_k: int = typer.Option(10, "--top-k", "-k", help="Candidates to return."),
    gfa_threshold: Optional[float] = typer.Option(2.0, "--gfa-threshold", help="Dmax (mm) a candidate must reach."),
    no_gfa: bool = typer.Option(False, "--no-gfa", help="Skip the glass-forming-ability check."),
    bounds: List[str] = typer.Option([], "--bounds", "-b", help="ELEMENT=MIN:MAX at.% (repeatable), e.g. Fe=0:10."),
    fixed: List[str] = typer.Option([], "--fixed", help="ELEMENT=AT% held fixed (repeatable), e.g. Be=25."),
    max_iterations: int = typer.Option(4, "--max-iterations", help="Corrector searches allowed."),
    json_out: bool = typer.Option(False, "--json", help="Print the whole result as JSON."),
    csv: Optional[Path] = typer.Option(None, "--csv", help="Write the candidates table to this CSV."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write the parallel-coordinates figure (PNG/PDF/SVG)."),
    force: bool = typer.Option(False, "--force", help="Overwrite --csv / --plot files."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    target: List[str] = typer.Option([], "--target", help="NAME=VALUE target of any predicted quantity (repeatable), e.g. Tg=700, Dmax=5, density=6.5; --G/--K/--E/--nu are shortcuts."),
    at_least: List[str] = typer.Option([], "--at-least", help="NAME=VALUE constraint: at least VALUE with probability >= --confidence (repeatable), e.g. Dmax=5."),
    at_most: List[str] = typer.Option([], "--at-most", help="NAME=VALUE constraint: at most VALUE with probability >= --confidence (repeatable), e.g. cost=20."),
    maximize: List[str] = typer.Option([], "--maximize", help="NAME to maximise (repeatable), e.g. p_gfa; with other objectives the Pareto set leads."),
    minimize: List[str] = typer.Option([], "--minimize", help="NAME to minimise (repeatable), e.g. cost."),
    confidence: float = typer.Option(0.5, "--confidence", help="Probability the constraints must be met with (jointly)."),
    pareto_plot: Optional[Path] = typer.Option(None, "--pareto-plot", help="Write the Pareto figure of the objectives (PNG/PDF/SVG)."),
    model_specs: List[str] = typer.Option([], "--model", help="NAME=DIR: your own model (trained by `pcids train forward --data`) as a quantity NAME (repeatable), e.g. hardness=hv_model --at-least hardness=500."),
) -> None:
    """Design compositions of ELEMENTS with the target moduli that should cast as bulk glasses.

    Lists known alloys that already meet the targets, then searches the
    lattice (step STEP) for compositions predicted within tolerance, ranks them
    by the chance of meeting the targets, closeness to known glass formers and
    P(GFA), and returns the best that are at least --min-distance at.% apart.
    --strategy paper runs the paper's predictor-corrector scheme (box +-SIZE).
    NAME (--target, --at-least, --at-most, --maximize, --minimize) is any predicted
    quantity: G, K, E, nu, the shipped property models (Tg, Tx, ...), Dmax (mm),
    p_gfa, density (g/cm3), cost (USD/kg).
    Examples: pcids design Ti Zr Be Fe --G 36 --K 105;
    pcids design Zr Cu Al Ag --target Tg=700 --at-least Dmax=5 --minimize cost
    """
    from pcids.cli._common import check_output_path, console, print_json, warnings_to_stderr

    if csv is not None:
        check_output_path(csv, force, "--csv")
    if plot is not None:
        check_output_path(plot, force, "--plot", figure=True)
    if pareto_plot is not None:
        check_output_path(pareto_plot, force, "--pareto-plot", figure=True)
    bounds_, fixed_ = parse_bounds(bounds), parse_fixed(fixed)
    if strategy == "paper" or exhaustive or strategy == "exhaustive":  # auto/global searches stay small
        warn_large_search(elements, size if strategy == "paper" else 100.0, step, fixed_)
    targets = parse_targets({"G": G, "K": K, "E": E_target, "nu": nu}, target)
    lower, upper = parse_named(at_least, "--at-least"), parse_named(at_most, "--at-most")
    from pcids.cli._user_models import load_user_models
    from pcids.design import design

    models = load_user_models(model_specs)

    with warnings_to_stderr():
        result = design(
            elements,
            targets,
            tolerance=tolerance,
            relative=not absolute,
            aggregate=aggregate,
            prefer=prefer,
            strategy=strategy,
            exhaustive=exhaustive,
            min_distance=min_distance,
            E=size,
            h=step,
            top_k=top_k,
            gfa_threshold_mm=None if no_gfa else gfa_threshold,
            bounds=bounds_,
            fixed=fixed_,
            max_iterations=max_iterations,
            progress=not quiet and not json_out,
            at_least=lower,
            at_most=upper,
            maximize=maximize,
            minimize=minimize,
            confidence=confidence,
            models=models,
        )
    if csv is not None:
        result.to_csv(csv, overwrite=force)
    if plot is not None:
        result.plot(plot, overwrite=force)
    if pareto_plot is not None:
        result.plot_pareto(pareto_plot, overwrite=force)
    if json_out:
        import json

        print_json(json.loads(result.to_json()))
        return
    _print(result, console, relative=not absolute)


_SHORT = {
    "meets target and GFA": "[green]yes[/]", "meets target, GFA check failed": "[yellow]GFA no[/]",
    "meets target, constraint failed": "[yellow]constraint no[/]", "outside tolerance": "[red]no[/]",
}


def _print(result, console, relative: bool) -> None:  # type: ignore[no-untyped-def]
    from pcids.cli._common import Column, print_table

    style = "green" if result.success else "yellow"
    console.print(f"[{style}]{result.message}[/]", highlight=False)
    if len(result.known):
        _print_known(result, console, relative)
    st = result.settings
    tgt = ", ".join(
        [f"{k} = {v:g}" for k, v in result.targets.items()]
        + [f"{k} >= {v:g}" for k, v in st.get("at_least", {}).items()] + [f"{k} <= {v:g}" for k, v in st.get("at_most", {}).items()]
        + [f"max {k}" for k in st.get("maximize", [])] + [f"min {k}" for k in st.get("minimize", [])]
    )
    own = st.get("gfa_probability_mm")  # the classifier's own threshold, whatever --gfa-threshold says
    thr = own or 2.0
    cand = result.candidates
    extra = [n for n in dict.fromkeys([*result.targets, *st.get("at_least", {}), *st.get("at_most", {}), *st.get("maximize", []), *st.get("minimize", [])])
             if n not in ("G", "K", "E", "nu", "Dmax", "p_gfa", "cost")]
    bounds = [(n, ">=", b) for n, b in st.get("at_least", {}).items()] + [(n, "<=", b) for n, b in st.get("at_most", {}).items()]
    multi = "pareto" in cand.columns
    dmax_sigma = "dmax_std" in cand.columns
    show_pt = ["p_target", "max"] in st.get("pareto_objectives", [])  # a Pareto axis: show it
    show_cost = "cost" in [*result.targets, *st.get("minimize", []), *st.get("maximize", []), *st.get("at_most", {}), *st.get("at_least", {})]

    def mm(v: float) -> str:
        return "-" if v != v else (f"<{thr:g}" if v < thr else f"{v:.1f}")

    def num(v: float, s: float | None = None) -> str:
        if v != v:
            return "-"
        text = f"{v:.4g}" if abs(v) < 1e4 else f"{v:.0f}"
        return text if s is None or s != s or s == 0 else f"{text}±{s:.2g}"

    # in a narrow terminal the evidence columns go first; rank, composition, G, K, error and verdict stay
    columns = [
        Column("#"), Column("composition", "left", wrap=True), Column("G"), Column("K"), Column("E", drop=3), Column("nu", drop=4),
        *[Column(n) for n in extra],
        Column("error"), *([Column("P(targets)")] if show_pt else []), Column(f"P(D>={own:g})" if own else "P(GFA)", drop=5), Column("Dmax", drop=2 if "Dmax" not in st.get("at_least", {}) else None),
        Column("D if glass", drop=2),
        *[Column(f"P({n}{op}{b:g})") for n, op, b in bounds],
        *([Column("cost")] if show_cost else []),
        *([Column("pareto", "left")] if multi else []),
        Column("ok", "left"), Column("nearest known, L1", "left", drop=1),
    ]
    rows = [
        (
            str(r["rank"]),
            r.composition + ("" if r.in_domain else "[red]*[/]"),
            f"{r.G:.1f}±{r.G_std:.1f}",
            f"{r.K:.1f}±{r.K_std:.1f}",
            f"{r.E:.1f}",
            f"{r.nu:.3f}",
            *[num(r[n], r.get(f"{n}_std")) for n in extra],
            f"{100 * r.error:.2f}%" if relative else f"{r.error:.3g}",
            *([f"{r.p_target:.2f}"] if show_pt else []),
            "-" if r.p_gfa != r.p_gfa else f"{r.p_gfa:.2f}",
            mm(r.dmax_mm) + (f"±{r.dmax_std:.1f}" if dmax_sigma and r.dmax_mm >= thr else ""),
            "-" if r.dmax_if_glass_mm != r.dmax_if_glass_mm else f"{r.dmax_if_glass_mm:.1f}",
            *[f"{r[_p_column(n, op)]:.2f}" for n, op, b in bounds],
            *(["-" if r.cost != r.cost else f"{r.cost:.1f}"] if show_cost else []),
            *(["yes" if r.pareto else ""] if multi else []),
            _SHORT[r.status],
            f"{r.nearest_known}, {r.nearest_L1:.0f}",
        )
        for _, r in cand.iterrows()
    ]
    print_table(columns, rows, title=f"{'-'.join(result.elements)}: {tgt}", out=console)
    units = st.get("units", {})
    unit_note = "".join(f"; {n} in {units[n]}" for n in extra if units.get(n))
    notes = [
        f"G, K, E in GPa (+- 1 sigma){unit_note}; Dmax in mm, the median given P(D>={thr:g}) (<{thr:g}: more likely below); "
        + ("±: half its 16-84 % range; " if dmax_sigma else "") + "D if glass: the regressor's diameter should it form a glass"
        + ("; cost in USD/kg (exact, from the element prices)" if show_cost else ""),
        "ok = within tolerance and passes the GFA check" + (f" and the constraints (jointly, P >= {st.get('confidence', 0.5):g})" if bounds else ""),
    ]
    if multi:
        notes.append("pareto = no other candidate is better in every objective (" + ", ".join(f"{s} {c}" for c, s in st.get("pareto_objectives", [])) + "); those lead the table")
    if not cand["in_domain"].all():
        notes.append("[red]*[/] outside the training domain (extrapolation)")
    console.print("; ".join(notes), style="dim", highlight=False)
    for t in result.trace:
        console.print("  " + _trace_line(t), highlight=False, style="dim")


def _p_column(name: str, op: str) -> str:
    return f"p_{'at_least' if op == '>=' else 'at_most'}_{name}"


#: Known alloys printed before the candidates (the closest first; --json has them all).
KNOWN_SHOWN = 10


def _print_known(result, console, relative: bool) -> None:  # type: ignore[no-untyped-def]
    """Measured alloys that already meet the targets, before any new composition."""
    from pcids.cli._common import Column, print_table
    from pcids.design.known import MEASURED_MODULI, MEASURED_TEMPERATURES

    known = result.known
    values = [c for c in MEASURED_MODULI if known[c].notna().any()] + [c for c in MEASURED_TEMPERATURES if c in known]
    columns = [Column("composition", "left", wrap=True), *[Column(c) for c in values], Column("error"), Column("source", "left", drop=1)]
    rows = [
        (r.composition, *["-" if r[c] != r[c] else f"{r[c]:.4g}" for c in values],
         f"{100 * r.error:.2f}%" if relative else f"{r.error:.3g}", str(r.source) if r.source == r.source else "")
        for _, r in known.head(KNOWN_SHOWN).iterrows()
    ]
    print_table(columns, rows, title="Known alloys that already meet the targets (measured values)", out=console)
    if len(known) > KNOWN_SHOWN:
        console.print(f"... and {len(known) - KNOWN_SHOWN} more known alloys (all in --json)", style="dim", highlight=False)


def _trace_line(t: dict) -> str:  # type: ignore[type-arg]
    if t["step"] == "predictor":
        return f"predictor: {t['composition']} (error {t['error']:.3g}; G, K for the inverse model {t['how']})"
    if t["step"].startswith("corrector"):
        s = (
            f"{t['step']}: around {t['centre']}, E = {t['E']:g}, h = {t['h']:g}: {t['n_candidates']:,} candidates"
            + (f" ({t['n_scored']:,} scored, the rest provably worse)" if t["n_scored"] < t["n_candidates"] else "")
            + f", best {t['best']} (error {t['best_error']:.3g}), {t['n_pass_both']} pass both checks"
        )
        return s + (f"; {t['next']}" if "next" in t else "")
    return f"{t['step']}: {t.get('summary', t.get('reason', ''))}"

"""Screen whole families of alloy systems: which elements, before which composition.

Every system of ``sizes`` elements drawn from ``palette`` gets a coarse
search (:mod:`pcids.screen.coarse`: every composition on a 5 at.% lattice,
scored by :mod:`pcids.screen.ranking`); the systems are ranked by their best
candidate and the best ``top`` are refined by :func:`pcids.design.design` at
full resolution. The work runs on Dask (:mod:`pcids.screen.cluster`): an
embedded LocalCluster by default, or an existing cluster; results land in
``out`` as they complete (:mod:`pcids.screen.store`), so ``resume=True``
continues a killed run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pcids.errors import ScreenError
from pcids.screen.coarse import COLUMNS as COARSE_COLUMNS
from pcids.screen import ranking
from pcids.screen.coarse import Spec, score_batch
from pcids.screen.palette import batches, check_palette, check_sizes, check_systems, count_systems, named_palette, systems
from pcids.screen.refine import refine_system
from pcids.screen.result import ScreenResult

__all__ = ["screen", "ScreenResult", "Spec", "check_palette", "check_sizes", "named_palette", "systems", "DEFAULT_BATCH_POINTS"]

#: Coarse compositions per task: about 1-2 s of scoring on one core (``benchmarks/screen_scaling.py``).
DEFAULT_BATCH_POINTS = 200_000
#: Largest coarse lattice per system the screen accepts (a finer step belongs in ``pcids design``).
MAX_LATTICE = 2_000_000


def _check_bounds(palette: Sequence[str], bounds: Mapping[str, tuple[float | None, float | None]] | None) -> dict[str, tuple[float, float]]:
    out = {}
    for e, (lo, hi) in dict(bounds or {}).items():
        if e not in palette:
            raise ScreenError(f"bounds given for {e}, which is not in the palette {', '.join(palette)}")
        lo, hi = 0.0 if lo is None else float(lo), 100.0 if hi is None else float(hi)
        if not (0 <= lo <= hi <= 100) or hi <= 0:
            raise ScreenError(f"bounds of {e} must satisfy 0 <= min <= max <= 100 at.% with max > 0, got {lo:g}:{hi:g}")
        out[e] = (lo, hi)
    return out


def _check_objectives(palette: list[str], targets: Any, at_least: Any, at_most: Any, maximize: Any, minimize: Any,
                      confidence: float, tolerance: float, relative: bool, models: Any = None) -> tuple[dict[str, float], dict[str, float], dict[str, float], tuple[str, ...], tuple[str, ...]]:
    """design's own checks of targets, constraints and objectives (any predicted quantity)."""
    from pcids.design import check_objective_names
    from pcids.design.objectives import ObjectiveSpec
    from pcids.design.quantities import QuantityRegistry

    moduli, others = check_objective_names(targets, at_least, at_most, maximize, minimize, models)
    targets = {**moduli, **others}
    at_least, at_most = dict(at_least or {}), dict(at_most or {})
    maximize, minimize = tuple(maximize or ()), tuple(minimize or ())
    ObjectiveSpec(targets, at_least, at_most, maximize, minimize, relative=relative, confidence=confidence).check(QuantityRegistry(palette, models=models), tolerance)
    return targets, {n: float(v) for n, v in at_least.items()}, {n: float(v) for n, v in at_most.items()}, maximize, minimize


def _check_spec(palette: list[str], sizes: list[int], targets: Any, tolerance: float, relative: bool, step: float,
                bounds: Any, gfa_threshold_mm: float | None, keep: int, at_least: Any = None, at_most: Any = None,
                maximize: Any = (), minimize: Any = (), confidence: float = 0.5, models: Any = None) -> Spec:
    from pcids.corrector import _units
    from pcids.screen.coarse import user_models_key

    targets, at_least, at_most, maximize, minimize = _check_objectives(palette, targets, at_least, at_most, maximize, minimize, confidence, tolerance, relative, models)
    if not (isinstance(tolerance, (int, float)) and math.isfinite(tolerance) and tolerance > 0):
        raise ScreenError(f"tolerance must be a number > 0, got {tolerance!r}")
    try:
        units = _units(step)
    except Exception as exc:
        raise ScreenError(f"--step: {exc}") from None
    if max(sizes) > units:
        raise ScreenError(f"a step of {step:g} at.% leaves no composition with {max(sizes)} elements all > 0; use a smaller step")
    if math.comb(units - 1, max(sizes) - 1) > MAX_LATTICE:
        raise ScreenError(f"a step of {step:g} at.% gives {math.comb(units - 1, max(sizes) - 1):,} compositions per {max(sizes)}-element system "
                          f"(limit {MAX_LATTICE:,}); the screen is a coarse search, use a step of 2 at.% or more")
    if gfa_threshold_mm is not None and not (math.isfinite(gfa_threshold_mm) and gfa_threshold_mm > 0):
        raise ScreenError(f"gfa_threshold_mm must be a positive number of mm (or None), got {gfa_threshold_mm!r}")
    if not isinstance(keep, (int, np.integer)) or keep < 1:
        raise ScreenError(f"keep must be a positive integer, got {keep!r}")
    return Spec(targets, float(tolerance), bool(relative), float(step), _check_bounds(palette, bounds),
                None if gfa_threshold_mm is None else float(gfa_threshold_mm), int(keep), at_least, at_most, float(confidence), maximize, minimize, user_models_key(models or {}))


def _models_fingerprint() -> str:
    """Hash of the shipped models' metadata: parts scored by other models must not be mixed in on --resume."""
    import hashlib
    from importlib import resources

    h = hashlib.sha256()
    trained = resources.files("pcids.models") / "trained"
    for name in sorted(p.name for p in trained.iterdir() if p.name.endswith(".json")):
        h.update(name.encode() + (trained / name).read_bytes())
    return h.hexdigest()[:16]


def screen(
    palette: str | Sequence[str],
    sizes: str | int | Sequence[int] = (3, 4, 5),
    targets: Mapping[str, float] | None = None,
    *,
    at_least: Mapping[str, float] | None = None,
    at_most: Mapping[str, float] | None = None,
    maximize: Sequence[str] = (),
    minimize: Sequence[str] = (),
    confidence: float = 0.5,
    models: Mapping[str, Any] | Sequence[Any] | None = None,
    tolerance: float = 0.02,
    relative: bool = True,
    bounds: Mapping[str, tuple[float | None, float | None]] | None = None,
    step: float = 5.0,
    gfa_threshold_mm: float | None = 2.0,
    top: int = 10,
    keep: int = 3,
    refine_k: int = 5,
    out: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    client: Any = None,
    scheduler: str | None = None,
    workers: int | None = None,
    timeout: float = 10.0,
    batch_points: int | None = None,
    only: Sequence[Sequence[str] | str] | None = None,
    progress: bool = False,
    on_batch: Callable[[int, int], None] | None = None,
) -> ScreenResult:
    """Rank every system of ``sizes`` elements from ``palette`` for ``targets``; refine the best ``top``.

    Parameters
    ----------
    palette : "Zr,Cu,Ni,Al", a list of symbols, or a named palette ("glass-formers", "glass-formers:20")
    sizes : "3-5", 4 or (3, 4, 5)
        Elements per system, 2 to 12.
    targets, at_least, at_most, confidence, tolerance, relative, bounds, gfa_threshold_mm
        As in :func:`pcids.design.design` (targets and constraints on any predicted quantity, checked
        by design's checks); bounds apply to the systems holding that element. ``maximize`` /
        ``minimize`` are refused: a Pareto set gives no single best per system.
    step : float
        Coarse lattice step, at.% (every composition with all elements > 0).
    top, keep, refine_k : int
        Systems refined with ``design`` (0: none), coarse candidates kept per system, and
        candidates per refined system.
    out, resume, force
        Output directory (parts as they complete, then the tables); continue its screen, or replace it.
    client, scheduler, workers, timeout
        A dask Client to use, or the address of a scheduler (``tcp://HOST:PORT``, waited for
        ``timeout`` s), or the size of the local cluster (default: one worker per core).
    batch_points : int
        Coarse compositions per task (default :data:`DEFAULT_BATCH_POINTS`; fixes the batches: keep it when resuming).
    only : list of systems, optional
        Screen just these systems of the palette (e.g. ``["Zr-Cu-Al", ("Ti", "Zr", "Be")]``);
        ``sizes`` is then taken from them.
    on_batch : callable(batch_id, n_finished), optional
        Called after each batch is saved; an exception from it stops the screen (saved parts stay).
    """
    from tqdm.auto import tqdm

    from pcids import __version__
    from pcids.screen import cluster
    from pcids.screen.store import Store

    batch_points = DEFAULT_BATCH_POINTS if batch_points is None else batch_points
    pal = check_palette(palette)
    chosen = None if only is None else check_systems(only, pal)
    sz = check_sizes(sizes if chosen is None else sorted({len(c) for c in chosen}), len(pal))
    from pcids.design.quantities import QuantityRegistry

    given = QuantityRegistry([], models=models).given
    spec = _check_spec(pal, sz, targets, tolerance, relative, step, bounds, gfa_threshold_mm, keep, at_least, at_most, maximize, minimize,
                       confidence, given)
    for name, v, low in (("top", top, 0), ("refine_k", refine_k, 1), ("batch_points", batch_points, 1)):
        if not isinstance(v, (int, np.integer)) or v < low:
            raise ScreenError(f"{name} must be an integer >= {low}, got {v!r}")
    if (resume or force) and out is None:
        raise ScreenError("--resume and --force need --out DIR")
    cluster.check_where(client, scheduler, workers)
    n_systems = count_systems(len(pal), sz) if chosen is None else len(chosen)
    manifest = {
        "pcids": __version__, "palette": pal, "sizes": sz, "spec": spec.to_dict(), "batch_points": int(batch_points),
        "only": None if chosen is None else ["-".join(c) for c in chosen],
        "models": _models_fingerprint(), "n_systems": n_systems,
    }
    store, done = Store.open(out, manifest, resume, force) if out is not None else (None, set())
    memory: list[pd.DataFrame] = []
    t0 = time.perf_counter()
    todo = [(b, n, s) for b, n, s in batches(pal, sz, spec.step, batch_points, chosen) if b not in done]
    n_batches = len(todo) + len(done)
    done_systems = n_systems - sum(len(s) for _, _, s in todo)
    finished = 0
    refined_parts: dict[str, pd.DataFrame] = {}
    with cluster.connect(client, scheduler, workers, timeout) as c:
        n_workers = len(c.scheduler_info(n_workers=-1)["workers"])
        cluster.register_models(c, spec.gfa_threshold_mm is not None, spec.models, given)
        bar = tqdm(total=n_systems, initial=done_systems, unit="system", disable=not progress, smoothing=0.05, desc="screen")

        def saved(tag: tuple[int, int, int], part: pd.DataFrame) -> None:
            nonlocal finished
            bid, n, count = tag
            if store is not None:
                store.write_batch(bid, n, part)
            else:
                memory.append(part)
            finished += 1
            bar.update(count)
            if on_batch is not None:
                on_batch(bid, finished)

        try:
            cluster.run_tasks(c, (((b, n, len(s)), score_batch, (b, s, spec)) for b, n, s in todo), saved)
        finally:
            bar.close()
        coarse = store.read_coarse() if store is not None else pd.concat(memory, ignore_index=True)
        ranked = _rank_coarse(coarse, n_systems, spec.senses())
        best_systems = ranked["system"].head(top).tolist()
        if store is not None:
            refined_parts = {s: p for s in best_systems if (p := store.read_refined(s)) is not None}

        def refined(system: str, part: pd.DataFrame) -> None:
            refined_parts[system] = part
            if store is not None:
                store.write_refined(system, part)

        missing = [s for s in best_systems if s not in refined_parts]
        cluster.run_tasks(c, ((s, refine_system, (tuple(s.split("-")), spec, refine_k)) for s in missing), refined)
    refined_df = pd.concat([refined_parts[s] for s in best_systems], ignore_index=True) if best_systems else pd.DataFrame(columns=["system"])
    systems_df = _final_table(ranked, refined_df, spec.senses())
    candidates = coarse[coarse["candidate"] > 0].drop(columns=["batch"]).sort_values(["n_elements", "system", "candidate"], kind="stable").reset_index(drop=True)
    settings = {**manifest, "top": top, "keep": keep, "refine_k": refine_k}
    stats = {
        "n_systems": n_systems, "n_batches": n_batches, "batches_run": finished, "batches_resumed": len(done),
        "refined_run": len(missing), "workers": n_workers, "seconds": round(time.perf_counter() - t0, 3),
    }
    result = ScreenResult(systems_df, candidates, refined_df, settings, stats, None if out is None else Path(out))
    if store is not None:
        tables = {"systems": systems_df, "candidates": candidates, "refined": refined_df}
        store.write_tables(tables, result.to_dict())
    return result


def _rank_coarse(coarse: pd.DataFrame, n_systems: int, senses: Sequence[tuple[str, str]] = ()) -> pd.DataFrame:
    """Each system's best coarse candidate, best system first (as ``design`` ranks); every system exactly once, or an error."""
    if coarse.empty:
        raise ScreenError("the screen produced no results")
    best = coarse[coarse["candidate"] <= 1]
    dup = best["system"][best["system"].duplicated()].unique()
    if len(dup) or len(best) != n_systems:
        raise ScreenError(
            f"the saved parts hold {best['system'].nunique()} of {n_systems} systems"
            + (f" and repeat {len(dup)} (e.g. {dup[0]})" if len(dup) else "") + "; rerun with --force"
        )
    best = ranking.sort_table(best, senses=senses).drop(columns=["candidate", "batch"]).reset_index(drop=True)
    best.insert(0, "coarse_rank", np.arange(1, len(best) + 1))
    return best


#: Columns a system's best candidate carries in the systems table.
_BEST = ["composition", "G", "G_std", "K", "K_std", "E", "E_std", "nu", "nu_std", "error", "p_target", "log_density",
         "p_gfa", "dmax_mm", "dmax_if_glass_mm", "gfa_pass", "status", "score"]


def _final_table(ranked: pd.DataFrame, refined: pd.DataFrame, senses: Sequence[tuple[str, str]] = ()) -> pd.DataFrame:
    """Systems best first: a refined system's best is the better of its coarse and refined bests (design's
    order; with objectives, the Pareto-first best of design's candidates, and the systems' Pareto set leads)."""
    t = ranked.rename(columns={"composition": "best"}).copy()
    t["coarse_best"], t["coarse_score"] = t["best"], t["score"]
    t["refined"] = False
    t["refined_best"], t["refined_score"], t["refined_status"] = None, np.nan, None
    if len(refined):
        ok = refined[refined["candidate"] > 0]
        for system, g in ok.groupby("system", sort=False):
            r = ranking.sort_table(g, last="candidate", senses=senses).iloc[0]
            i = t.index[t["system"] == system][0]
            t.loc[i, ["refined", "refined_best", "refined_score", "refined_status"]] = [True, r["composition"], r["score"], r["status"]]
            if ranking.row_key(r) <= ranking.row_key(t.loc[i]):  # refined first on a tie
                extra = [c for c in r.index if c in t.columns and c not in _BEST and c not in ("system", "candidate")]
                for col in _BEST + extra:
                    t.loc[i, "best" if col == "composition" else col] = r[col]
    t = ranking.sort_table(t, senses=senses)
    t.insert(0, "rank", np.arange(1, len(t) + 1))
    first = ["rank", "system", "n_elements", "best", "status", "score", "p_target", "log_density", "p_gfa", "gfa_pass"]
    return t[first + [c for c in t.columns if c not in first]].reset_index(drop=True)

"""Search strategies behind one call: each returns a pool of lattice compositions (at.%) and its trace.

* ``exhaustive``: every lattice point of the simplex within the bounds (exact; cheap for small systems).
* ``global``: start points (the predictor, known glass formers of the same or overlapping
  systems, random points) -> a damped Gauss-Newton walk through the ensemble to the nearest
  composition meeting the targets (the minimum-norm step in the simplex, so each start lands
  on the band near itself) -> rounding to the lattice -> an exact corrector polish in a small
  box around the most promising points. Scales to 12 elements.
* ``paper``: the paper's predictor -> corrector loop (Fig. 13), recentring and widening.

Measurements behind the choices are in docs/decisions.md ("Design search").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from pcids.composition import Composition
from pcids.corrector import Lattice, correct, lattice_size
from pcids.errors import DesignError

#: ``strategy="auto"`` searches the whole lattice when it holds at most this many points.
EXHAUSTIVE_UP_TO = 200_000
#: Polish box: the largest half-width in POLISH_E whose box holds at most POLISH_BUDGET points.
POLISH_E = (3.0, 2.0, 1.0)
POLISH_BUDGET = 2_000
#: Lattice points kept from the exhaustive search for ranking (lowest error first).
POOL_CAP = 20_000


# ----------------------------------------------------------------- geometry


def box_limits(elements: Sequence[str], bounds: Mapping[str, tuple[float, float]], fixed: Mapping[str, float], h: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-element [lo, hi] at.% (every element at least h), refusing empty boxes."""
    lo = np.array([fixed.get(e, bounds.get(e, (0.0, 100.0))[0]) for e in elements], dtype=float)
    hi = np.array([fixed.get(e, bounds.get(e, (0.0, 100.0))[1]) for e in elements], dtype=float)
    lo = np.maximum(lo, h)
    if lo.sum() > 100 + 1e-9 or hi.sum() < 100 - 1e-9 or np.any(lo > hi + 1e-9):
        raise DesignError(f"no composition with every element >= {h:g} at.% fits the bounds")
    return lo, hi


def project_simplex(X: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row onto {sum 100, lo <= x <= hi} (bisection on the shift)."""
    X = np.atleast_2d(np.asarray(X, dtype=float))
    a = np.full(len(X), -200.0)
    b = np.full(len(X), 200.0)
    for _ in range(60):
        mid = (a + b) / 2
        low = np.clip(X + mid[:, None], lo, hi).sum(axis=1) < 100
        a = np.where(low, mid, a)
        b = np.where(low, b, mid)
    return np.clip(X + ((a + b) / 2)[:, None], lo, hi)


def round_to_lattice(Y: np.ndarray, lo: np.ndarray, hi: np.ndarray, h: float) -> np.ndarray:
    """Rows on the h lattice summing to 100 inside [lo, hi]: floor, then give the missing units to
    the largest fractional parts that still have room (or take them from the smallest)."""
    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    units_lo = np.ceil(lo / h - 1e-9).astype(np.int64)
    units_hi = np.floor(hi / h + 1e-9).astype(np.int64)
    total = int(round(100 / h))
    q = np.clip(np.floor(Y / h + 1e-9).astype(np.int64), units_lo, units_hi)
    frac = Y / h - q
    for r in range(len(q)):
        while q[r].sum() < total:
            room = np.where(q[r] < units_hi, frac[r], -np.inf)
            i = int(np.argmax(room))
            if not np.isfinite(room[i]):
                raise DesignError("cannot place a composition on the lattice inside the bounds")
            q[r, i] += 1
            frac[r, i] -= 1
        while q[r].sum() > total:
            room = np.where(q[r] > units_lo, -frac[r], -np.inf)
            i = int(np.argmax(room))
            if not np.isfinite(room[i]):
                raise DesignError("cannot place a composition on the lattice inside the bounds")
            q[r, i] -= 1
            frac[r, i] += 1
    return q * h


def project(start: Composition, elements: Sequence[str], bounds: Mapping[str, tuple[float, float]], fixed: Mapping[str, float], h: float) -> Composition:
    """Nearest-ish composition on the h lattice inside the bounds (projection, then rounding)."""
    lo, hi = box_limits(elements, bounds, fixed, h)
    x = np.array([start.get(e, 0.0) for e in elements], dtype=float)
    y = round_to_lattice(project_simplex(x, lo, hi), lo, hi, h)[0]
    return Composition(tuple((e, float(v)) for e, v in zip(elements, y)))


def unique_rows(A: np.ndarray, h: float) -> np.ndarray:
    """Rows of a lattice matrix without repeats, first occurrence order kept."""
    if len(A) == 0:
        return A
    key = np.rint(np.asarray(A) / h).astype(np.int64)
    _, first = np.unique(key, axis=0, return_index=True)
    return np.asarray(A)[np.sort(first)]


def full_lattice(elements: Sequence[str], bounds: Mapping[str, tuple[float, float]], fixed: Mapping[str, float], h: float) -> Lattice:
    """Every lattice point of the simplex inside the bounds."""
    centre = {e: 100.0 / len(elements) for e in elements}
    return Lattice.around(centre, E=100.0, h=h, bounds=bounds, fixed=fixed, elements=list(elements))


# ----------------------------------------------------------------- the continuous walk


def walk_to_targets(
    residuals: Callable[[np.ndarray], np.ndarray], P: np.ndarray, A0: np.ndarray, lo: np.ndarray, hi: np.ndarray,
    *, iterations: int = 25, max_step: float = 8.0, damping: float = 1e-6, tol: float = 1e-4,
) -> np.ndarray:
    """Move each start to the nearest composition where the predicted residuals vanish.

    ``residuals(X)`` maps descriptor rows (n, d) to per-target residuals (n, t); the
    descriptors are ``A @ P / 100``, so the Jacobian in composition space is that in
    descriptor space (forward differences, one batched call of n (d + 1) rows) times
    ``P.T / 100``. Each step is the damped minimum-norm Gauss-Newton step inside the
    sum-to-100 plane, capped at ``max_step`` at.% (L2), then projected onto the bounds.
    Fixed elements (lo == hi) do not move.
    """
    A = project_simplex(A0, lo, hi)
    n, m = A.shape
    d = P.shape[1]
    span = P.max(axis=0) - P.min(axis=0)
    eps = 1e-3 * np.where(span > 0, span, 1.0)
    free = (hi - lo) > 1e-9
    # basis of the directions that keep the sum and leave fixed elements alone
    F = np.diag(free.astype(float))
    k = free.sum()
    if k < 2:
        return A
    C = F - np.outer(free, free) / k  # projector onto {sum 0, fixed = 0}
    active = np.ones(n, bool)
    for _ in range(iterations):
        idx = np.flatnonzero(active)
        if len(idx) == 0:
            break
        X = A[idx] @ P / 100.0
        stacked = np.concatenate([X[None], X[None] + np.eye(d)[:, None, :] * eps[:, None, None]], axis=0).reshape(-1, d)
        R = residuals(stacked).reshape(d + 1, len(idx), -1)
        r0 = R[0]  # (b, t)
        JX = (R[1:] - r0[None]) / eps[:, None, None]  # (d, b, t)
        J = np.einsum("dbt,md->btm", JX, P / 100.0) @ C  # (b, t, m), tangent to the constraints
        JJt = J @ np.transpose(J, (0, 2, 1)) + damping * np.eye(J.shape[1])[None]
        step = -np.einsum("btm,bt->bm", J, np.linalg.solve(JJt, r0[..., None])[..., 0])
        norm = np.linalg.norm(step, axis=1)
        step *= np.minimum(1.0, max_step / np.maximum(norm, 1e-12))[:, None]
        A[idx] = project_simplex(A[idx] + step, lo, hi)
        done = (np.abs(r0).max(axis=1) < tol) | (norm < 1e-4)
        active[idx[done]] = False
    return A


# ----------------------------------------------------------------- strategies


def exhaustive_pool(
    lattice: Lattice, error: Callable[[np.ndarray], np.ndarray], tolerance: float, chunk_size: int = 200_000, progress: bool = False
) -> tuple[np.ndarray, dict[str, Any]]:
    """Every lattice point scored by ``error``; keeps those within ``tolerance`` (at most POOL_CAP,
    lowest error first) or, when none is, the POOL_CAP lowest errors. Returns (at.%, trace entry)."""
    keep_A: list[np.ndarray] = []
    keep_e: list[np.ndarray] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=lattice.size, unit="cand", unit_scale=True, desc="lattice", leave=False)
    best = np.inf
    n_within = 0
    for units in lattice.iter_chunks(chunk_size):
        A = lattice.to_percent(units)
        e = np.asarray(error(A), dtype=np.float64)
        e = np.where(np.isnan(e), np.inf, e)
        best = min(best, float(e.min()))
        n_within += int((e <= tolerance).sum())
        take = np.argsort(e, kind="stable")[:POOL_CAP]
        keep_A.append(A[take])
        keep_e.append(e[take])
        if len(keep_A) > 1:  # fold into one running set of the lowest errors
            A_all, e_all = np.concatenate(keep_A), np.concatenate(keep_e)
            take = np.argsort(e_all, kind="stable")[:POOL_CAP]
            keep_A, keep_e = [A_all[take]], [e_all[take]]
        if bar is not None:
            bar.update(len(units))
    if bar is not None:
        bar.close()
    A, e = keep_A[0], keep_e[0]
    if n_within:
        A = A[e <= tolerance]
    entry = {
        "step": "exhaustive lattice", "n_candidates": int(lattice.size), "n_within_tolerance": n_within,
        "best_error": best, "pool": int(len(A)),
        "summary": f"{lattice.size:,} lattice points scored, {n_within:,} within tolerance (best error {best:.3g}); pool {len(A):,}",
    }
    return A, entry


def polish_box(start: np.ndarray, elements: Sequence[str], h: float, bounds: Mapping[str, tuple[float, float]], fixed: Mapping[str, float]) -> float | None:
    """The largest half-width of POLISH_E whose box around ``start`` holds at most POLISH_BUDGET points."""
    s = {e: float(a) for e, a in zip(elements, start)}
    for E in POLISH_E:
        if E < h:
            continue
        try:
            if lattice_size(s, E=E, h=h, bounds=bounds, fixed=fixed) <= POLISH_BUDGET:
                return E
        except DesignError:
            return None
    return None


def polish(
    starts: np.ndarray, key: Callable[[np.ndarray], np.ndarray], elements: Sequence[str], h: float,
    bounds: Mapping[str, tuple[float, float]], fixed: Mapping[str, float], per_start: int, rounds: int = 4,
) -> tuple[np.ndarray, list[float]]:
    """Exact search of the corrector's lattice (every point, one batch; the ranking key, lower is
    better) in a small box around each start, recentred on the box's best until the best is the centre (at most ``rounds`` boxes): a hill
    climb in steps of whole boxes. Returns the best ``per_start`` of every box and the half-widths."""
    out: list[np.ndarray] = []
    sizes: list[float] = []
    for s in starts:
        centre = np.asarray(s, dtype=float)
        for _ in range(rounds):
            E = polish_box(centre, elements, h, bounds, fixed)
            if E is None:
                break
            lat = Lattice.around({e: float(a) for e, a in zip(elements, centre)}, E=E, h=h, bounds=bounds, fixed=fixed, elements=list(elements))
            box = lat.to_percent(np.concatenate(list(lat.iter_chunks())))
            s = np.asarray(key(box), dtype=np.float64)
            A = box[np.lexsort((np.arange(len(s)), s))[:per_start]]  # ties: lattice order
            out.append(A)
            sizes.append(E)
            if np.abs(A[0] - centre).sum() < h / 2:
                break
            centre = A[0]
    return (np.concatenate(out) if out else np.zeros((0, len(elements)))), sizes


def random_starts(n: int, lo: np.ndarray, hi: np.ndarray, seed: int) -> np.ndarray:
    """Dirichlet(1) points of the simplex, projected into the bounds (seeded: deterministic)."""
    rng = np.random.default_rng(seed)
    return project_simplex(100.0 * rng.dirichlet(np.ones(len(lo)), size=n), lo, hi)


def global_pool(
    starts: np.ndarray, residuals: Callable[[np.ndarray], np.ndarray], P: np.ndarray, key: Callable[[np.ndarray], np.ndarray],
    elements: Sequence[str], h: float, bounds: Mapping[str, tuple[float, float]], fixed: Mapping[str, float],
    *, n_polish: int = 10, per_start: int = 40, spread: float = 4.0,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Walk every start to the targets, round to the lattice, polish the best ``n_polish`` rounded
    points that are at least ``spread`` at.% apart; the pool is every rounded and polished point."""
    from pcids.design.ranking import diverse_picks

    lo, hi = box_limits(elements, bounds, fixed, h)
    Y = walk_to_targets(residuals, P, starts, lo, hi)
    L = unique_rows(round_to_lattice(Y, lo, hi, h), h)
    order = np.argsort(key(L), kind="stable")
    picks, _ = diverse_picks(L[order], n_polish, spread, floor=spread)
    polished, sizes = polish(L[order][picks], key, elements, h, bounds, fixed, per_start)
    pool = unique_rows(np.concatenate([L, polished]), h)
    entry = {
        "step": "global search", "n_starts": int(len(starts)), "n_rounded": int(len(L)), "n_polished": int(len(picks)), "n_polish_boxes": len(sizes),
        "polish_E": sorted(set(sizes)), "pool": int(len(pool)),
        "summary": (
            f"{len(starts)} starts walked to the targets through the ensemble, {len(L)} distinct lattice points; "
            f"{len(picks)} polished by the exact corrector ({len(sizes)} boxes E = {', '.join(f'{s:g}' for s in sorted(set(sizes))) or '-'}); pool {len(pool):,}"
        ),
    }
    return pool, entry


def paper_pool(
    start: Composition, evaluate: Callable[[np.ndarray], Any], scorer: Any, elements: list[str], *, E: float, h: float,
    pool_size: int, bounds: Mapping[str, tuple[float, float]], fixed: Mapping[str, float], max_iterations: int,
    max_E: float, max_widen_candidates: int, progress: bool, start_ok: bool,
) -> tuple[list[tuple[np.ndarray, str]], list[dict[str, Any]]]:
    """The paper's loop: corrector around the predictor; if nothing passes both checks, recentre on
    the best candidate meeting the target with the highest GFA probability (or the lowest error)
    and widen the box by E up to ``max_E`` (while it holds at most ``max_widen_candidates``); stop
    after ``max_iterations`` searches or when a search would repeat. Returns ([(at.%, step)], trace)."""
    frames: list[tuple[np.ndarray, str]] = []
    trace: list[dict[str, Any]] = []
    center, size = start, float(E)
    seen: set[tuple[str, float]] = set()
    success = start_ok
    for it in range(1, max_iterations + 1):
        k = (center.formula, size)
        if k in seen:
            trace.append({"step": "stop", "reason": "the next search would repeat a previous one"})
            break
        seen.add(k)
        res = correct(
            {e: center[e] for e in elements}, scorer, E=size, h=h, top_k=pool_size,
            bounds=bounds, fixed=fixed, elements=elements, progress=progress,
        )
        A = res[elements].to_numpy(dtype=float)
        ev = evaluate(A)
        frames.append((A, f"corrector {it} (E={size:g})"))
        ok = ev["target_met"] & ev["gfa_pass"]
        trace.append(
            {
                "step": f"corrector {it}", "centre": center.formula_as_written, "E": size, "h": float(h),
                "n_candidates": int(res.attrs["n_candidates"]), "n_scored": int(res.attrs["n_scored"]),
                "best": res["formula"].iloc[0], "best_error": float(ev["error"].iloc[0]),
                "n_meet_target": int(ev["target_met"].sum()), "n_pass_both": int(ok.sum()),
            }
        )
        if ok.any() or success:
            break
        if it == max_iterations:
            break
        if ev["target_met"].any():
            i = int(ev.loc[ev["target_met"], "p_gfa"].fillna(0).idxmax())
        else:
            i = int(ev["error"].idxmin())
        center = Composition(tuple((e, float(A[i, j])) for j, e in enumerate(elements)))
        size = _widen(center, elements, size, E, max(max_E, E), h, bounds, fixed, max_widen_candidates)
        trace[-1]["next"] = f"recentre on {center.formula_as_written}, E = {size:g}"
    return frames, trace


def _widen(
    center: Composition, elements: list[str], size: float, step: float, limit: float, h: float,
    bounds: Mapping[str, tuple[float, float]], fixed: Mapping[str, float], budget: int,
) -> float:
    """The next half-width: ``size + step`` capped at ``limit``, shrunk (in steps of h, never
    below ``size``) until the search box holds at most ``budget`` candidates."""
    new = min(size + step, limit)
    start = {e: center[e] for e in elements}
    while new > size and lattice_size(start, E=new, h=h, bounds=bounds, fixed=fixed) > budget:
        new = max(size, new - h)
    return new

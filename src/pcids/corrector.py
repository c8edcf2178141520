"""The corrector (paper Algorithm 2): exhaustive lattice search around a composition.

Around a start composition A, every composition with each a_i in
[a_i - E, a_i + E], on a lattice of step h, summing to exactly 100 at.% with
every a_i > 0 (and inside optional per-element bounds, with optional fixed
elements) is scored; the best ``top_k`` are returned. Work is in integer units
of h; only valid points are generated, in chunks of bounded size; the top k
are the same whatever the chunking, pruning or CPU (near-ties in lattice
order). ``score`` is any callable from an (m, n) at.% array to m scores (lower
is better). Why each of these: docs/decisions.md, "Corrector: ...".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from pcids.composition import Composition, parse_formula
from pcids.elements import check_elements
from pcids.errors import DesignError

Scorer = Callable[[np.ndarray], np.ndarray]
Bounds = Mapping[str, tuple[float | None, float | None]]

#: Largest lattice the corrector agrees to search (about an hour of scoring).
MAX_CANDIDATES = 500_000_000
#: Lattice size from which pruning pays (measured in benchmarks/corrector_speed.py).
PRUNE_FROM = 200_000
_EPS = 1e-9
#: Scores within this relative distance of each other are near-ties, ranked by lattice position.
TIE_RTOL = 1e-5
#: Candidates within HOLD_RTOL * |s_k| + HOLD_ATOL above the k-th score s_k are held (and not
#: pruned) until the end, so float noise between batchings cannot push one out of the top k.
HOLD_RTOL, HOLD_ATOL = 1e-4, 1e-6
#: Held candidates beyond the k best (near-ties of the k-th); each is rescored alone at the end.
_EXTRA = 32


def _as_start(start: str | Mapping[str, float] | Composition, elements: Sequence[str] | None) -> dict[str, float]:
    if isinstance(start, str):
        amounts = parse_formula(start).amounts
    elif isinstance(start, Mapping):
        amounts = {str(k): float(v) for k, v in start.items()}
    else:
        raise DesignError(f"start must be a formula, a mapping or a Composition, got {type(start).__name__}")
    if elements is not None:
        extra = [e for e in amounts if e not in elements]
        if extra:
            raise DesignError(f"start contains {', '.join(extra)}, which is not among the elements {list(elements)}")
        amounts = {e: float(amounts.get(e, 0.0)) for e in elements}
    for e, a in amounts.items():
        if not math.isfinite(a) or a < 0:
            raise DesignError(f"start amount of {e} must be a finite number >= 0, got {a!r}")
    return amounts


def _units(h: float) -> int:
    if not (isinstance(h, (int, float)) and math.isfinite(h)) or h <= 0:
        raise DesignError(f"step h must be a positive number, got {h!r}")
    n = 100.0 / h
    if abs(n - round(n)) > 1e-6 * max(1.0, n):
        raise DesignError(f"step h={h} must divide 100 (e.g. 0.1, 0.25, 0.5, 1, 2)")
    return int(round(n))


class Lattice:
    """The admissible lattice: integer bounds per element and the unit total.

    ``lo[i] <= k_i <= hi[i]`` and ``sum(k) == total``, where ``a_i = k_i * h``.
    """

    def __init__(self, elements: Sequence[str], lo: np.ndarray, hi: np.ndarray, total: int, h: float):
        self.elements = list(elements)
        self.lo = np.asarray(lo, dtype=np.int64)
        self.hi = np.asarray(hi, dtype=np.int64)
        self.total = int(total)
        self.h = float(h)
        self._ways = self._count_table()

    @classmethod
    def around(
        cls,
        start: str | Mapping[str, float] | Composition,
        *,
        E: float = 5.0,
        h: float = 1.0,
        bounds: Bounds | None = None,
        fixed: Mapping[str, float] | None = None,
        elements: Sequence[str] | None = None,
    ) -> Lattice:
        """The lattice of Algorithm 2 around ``start`` (see the module docstring)."""
        amounts = _as_start(start, elements)
        els = list(amounts)
        if len(set(els)) != len(els):
            raise DesignError(f"repeated element in {els}")
        check_elements(els)
        total = _units(h)
        if not (isinstance(E, (int, float)) and math.isfinite(E)) or E < h - _EPS:
            raise DesignError(f"correction size E must be at least the step h={h}, got {E!r}")
        bounds = dict(bounds or {})
        fixed = dict(fixed or {})
        for name, what in (("bounds", bounds), ("fixed", fixed)):
            unknown = [e for e in what if e not in els]
            if unknown:
                raise DesignError(f"{name} given for {', '.join(unknown)}, which is not among the elements {els}")
        lo = np.empty(len(els), dtype=np.int64)
        hi = np.empty(len(els), dtype=np.int64)
        for i, e in enumerate(els):
            a = amounts[e]
            if e in fixed:
                v = float(fixed[e])
                k = v / h
                if v <= 0 or v >= 100 or abs(k - round(k)) > 1e-6:
                    raise DesignError(f"fixed amount {e}={v} must be in (0, 100) and a multiple of h={h}")
                lo[i] = hi[i] = int(round(k))
                continue
            lo_f, hi_f = a - E, a + E
            bmin, bmax = bounds.get(e, (None, None))
            if bmin is not None:
                lo_f = max(lo_f, float(bmin))
            if bmax is not None:
                hi_f = min(hi_f, float(bmax))
            lo[i] = max(1, math.ceil(lo_f / h - _EPS))  # every a_i > 0
            hi[i] = min(total, math.floor(hi_f / h + _EPS))
        lat = cls(els, lo, hi, total, h)
        if lat.size == 0:
            raise DesignError(
                f"no composition on the h={h} lattice within +-{E} at.% of the start "
                f"(sum {sum(amounts.values()):g}) sums to 100 inside the bounds; widen E or relax the bounds"
            )
        return lat

    def _count_table(self) -> np.ndarray:
        """ways[j, r]: number of ways elements j.. can sum to r units (float, for overflow checks)."""
        n, N = len(self.lo), self.total
        ways = np.zeros((n + 1, N + 1))
        ways[n, 0] = 1.0
        for j in range(n - 1, -1, -1):
            lo, hi = self.lo[j], self.hi[j]
            if lo > hi:
                return np.zeros_like(ways)
            c = np.concatenate([[0.0], np.cumsum(ways[j + 1])])  # c[r] = sum ways[j+1, :r]
            r = np.arange(N + 1)
            top = np.clip(r - lo + 1, 0, N + 1)
            bot = np.clip(r - hi, 0, N + 1)
            ways[j] = c[top] - c[bot]
        return ways

    @property
    def size(self) -> int:
        """Number of admissible compositions."""
        return int(round(self._ways[0, self.total]))

    def _children(self, prefix: np.ndarray, rem: np.ndarray, j: int) -> tuple[np.ndarray, np.ndarray]:
        """Extend each prefix by every admissible value of element j (an integer interval)."""
        rest_lo = int(self.lo[j + 1 :].sum())
        rest_hi = int(self.hi[j + 1 :].sum())
        vmin = np.maximum(self.lo[j], rem - rest_hi)
        vmax = np.minimum(self.hi[j], rem - rest_lo)
        counts = np.maximum(vmax - vmin + 1, 0)
        m = int(counts.sum())
        starts = np.cumsum(counts) - counts
        owner = np.repeat(np.arange(len(prefix)), counts)
        v = vmin[owner] + (np.arange(m) - starts[owner])
        return np.column_stack([prefix[owner], v]), rem[owner] - v

    def _expand(self, prefix: np.ndarray, rem: np.ndarray, j: int) -> np.ndarray:
        n = len(self.lo)
        while j < n - 1:
            prefix, rem = self._children(prefix, rem, j)
            j += 1
        return np.column_stack([prefix, rem]).astype(np.int64)

    def chunk_level(self, chunk_size: int) -> int:
        """Shallowest level whose prefixes each have at most ``chunk_size`` completions."""
        n = len(self.lo)
        level = next((j for j in range(n + 1) if self._ways[j].max() <= chunk_size), n - 1)
        return min(level, n - 1)

    def prefixes(self, level: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All feasible prefixes (values of the first ``level`` elements), in lexicographic
        order: (prefix (p, level), remaining units (p,), completions per prefix (p,))."""
        prefix = np.zeros((1, 0), dtype=np.int64)
        rem = np.array([self.total], dtype=np.int64)
        for j in range(level):
            prefix, rem = self._children(prefix, rem, j)
        return prefix, rem, np.rint(self._ways[level, rem]).astype(np.int64)

    def iter_chunks(self, chunk_size: int = 500_000) -> Iterator[np.ndarray]:
        """Yield integer unit arrays (m, n), m <= chunk_size unless one prefix has more
        completions, in lexicographic order; together they are the whole lattice."""
        if self.size == 0:
            return
        level = self.chunk_level(chunk_size)
        prefix, rem, desc = self.prefixes(level)
        cum = np.cumsum(desc)
        start = 0
        while start < len(prefix):
            base = cum[start - 1] if start else 0
            stop = max(int(np.searchsorted(cum, base + chunk_size, side="right")), start + 1)
            yield self._expand(prefix[start:stop], rem[start:stop], level)
            start = stop

    def completion_range(self, level: int, Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact min and max of ``sum_{i >= level} k_i Q[i]`` over the completions summing to r.

        Returns two arrays of shape (total + 1, Q.shape[1]) indexed by r (NaN where
        no completion exists). Greedy filling is exact: the bounds and r are integers.
        """
        lo, hi = self.lo[level:], self.hi[level:]
        Qr = np.asarray(Q, dtype=np.float64)[level:]
        r = np.arange(self.total + 1)
        extra = r - lo.sum()
        feasible = (extra >= 0) & (extra <= (hi - lo).sum())
        base = lo @ Qr
        out = []
        for sign in (1.0, -1.0):
            res = np.empty((len(r), Qr.shape[1]))
            for d in range(Qr.shape[1]):
                order = np.argsort(sign * Qr[:, d], kind="stable")
                cap = (hi - lo)[order]
                before = np.cumsum(cap) - cap
                take = np.clip(extra[:, None] - before[None, :], 0, cap[None, :])
                res[:, d] = base[d] + take @ Qr[order, d]
            res[~feasible] = np.nan
            out.append(res)
        return out[0], out[1]

    def to_percent(self, units: np.ndarray) -> np.ndarray:
        return units * self.h


def lattice_size(
    start: str | Mapping[str, float] | Composition,
    *,
    E: float = 5.0,
    h: float = 1.0,
    bounds: Bounds | None = None,
    fixed: Mapping[str, float] | None = None,
) -> int:
    """Number of candidates the corrector would score around ``start``."""
    return Lattice.around(start, E=E, h=h, bounds=bounds, fixed=fixed).size


def _smallest(scores: np.ndarray, k: int, order: np.ndarray | None = None) -> np.ndarray:
    """Indices of the k smallest scores, exact ties by ``order`` (default: index), sorted."""
    if order is None:
        order = np.arange(len(scores))
    if len(scores) > k:
        kth = np.partition(scores, k - 1)[k - 1]
        less = np.flatnonzero(scores < kth)
        eq = np.flatnonzero(scores == kth)
        eq = eq[np.argsort(order[eq], kind="stable")][: k - len(less)]
        idx = np.concatenate([less, eq])
    else:
        idx = np.arange(len(scores))
    return idx[np.lexsort((order[idx], scores[idx]))]


def _margin(s: float) -> float:
    """How far above the k-th score a candidate is still held (float noise of a float32 scorer)."""
    return HOLD_RTOL * abs(s) + HOLD_ATOL if math.isfinite(s) else 0.0


def rank_near_ties(scores: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Indices sorting ``scores`` ascending, with near-ties ordered by ``order``.

    Sorted scores are cut into groups: a group starts at its smallest score s
    and takes every following score <= s + TIE_RTOL * |s|; groups keep their
    score order, members are ordered by ``order`` (the lattice position). So
    two candidates whose scores differ only by float noise come out in the
    same order on any machine.
    """
    scores = np.asarray(scores, dtype=np.float64)
    order = np.asarray(order)
    srt = np.lexsort((order, scores))
    group = np.zeros(len(srt), dtype=np.int64)
    g, anchor = 0, None
    for i, v in enumerate(scores[srt]):
        if anchor is None or (v != anchor and v > anchor + TIE_RTOL * abs(anchor)):
            g, anchor = g + 1, v
        group[i] = g
    return srt[np.lexsort((order[srt], group))]


def correct(
    start: str | Mapping[str, float] | Composition,
    score: Scorer,
    *,
    E: float = 5.0,
    h: float = 1.0,
    top_k: int = 10,
    bounds: Bounds | None = None,
    fixed: Mapping[str, float] | None = None,
    elements: Sequence[str] | None = None,
    chunk_size: int = 500_000,
    progress: bool = False,
    prune: bool | None = None,
) -> pd.DataFrame:
    """Best ``top_k`` lattice compositions around ``start`` under ``score`` (lower is better).

    Parameters
    ----------
    start : formula, mapping {element: at.%} or Composition
        Centre of the search box, used as given (its total need not be 100).
    score : callable
        Maps an array of shape (m, n_elements) of at.% (rows sum to 100, columns
        in ``elements`` order) to an array of shape (m,).
    bounds : {element: (min, max)}, optional
        Inclusive at.% limits; ``None`` for an open side.
    fixed : {element: at.%}, optional
        Elements held at one value (a multiple of h).
    prune : bool or None
        With a :class:`FeatureScorer` that has a ``lower_bound``, skip groups
        of candidates that provably cannot enter the top k (same result).
        None (default): only for lattices of at least ``PRUNE_FROM``
        candidates, below which bounding costs more than scoring everything.

    Returns
    -------
    DataFrame with columns ``formula`` (as written, in element order), one
    at.% column per element and ``score``, sorted best first; ``attrs`` holds
    ``n_candidates`` (lattice size), ``n_scored`` (candidates actually
    scored; smaller than the lattice only with pruning), ``elements``, ``E``, ``h``.
    """
    if not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise DesignError(f"top_k must be a positive integer, got {top_k!r}")
    lat = Lattice.around(start, E=E, h=h, bounds=bounds, fixed=fixed, elements=elements)
    if lat.size > MAX_CANDIDATES:
        raise DesignError(
            f"the search box holds {lat.size:,} candidates (limit {MAX_CANDIDATES:,}); use a smaller E, a coarser h, "
            "fixed elements or bounds"
        )
    if prune is None:
        prune = lat.size >= PRUNE_FROM
    pruning = isinstance(score, FeatureScorer) and score.lower_bound is not None and prune
    top = _TopK(top_k, len(lat.elements))
    n_scored = 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=lat.size, unit="cand", unit_scale=True, desc="corrector", leave=False)
    try:
        if pruning:
            with threadpool_limits(limits=1, user_api="blas"):  # small matmuls: threads only contend
                n_scored = _pruned_search(lat, score, top, chunk_size, bar)  # type: ignore[arg-type]
        else:
            for units in lat.iter_chunks(chunk_size):
                top.push(units, _checked_scores(score, lat.to_percent(units), units.shape[0]))
                n_scored += units.shape[0]
                if bar is not None:
                    bar.update(units.shape[0])
    finally:
        if bar is not None:
            bar.close()
    best_units, best_scores = top.best(lambda units: _checked_scores(score, lat.to_percent(units), units.shape[0]))
    pct = lat.to_percent(best_units)
    out = pd.DataFrame(pct, columns=lat.elements)
    out.insert(0, "formula", [_formula(lat.elements, row) for row in pct])
    out["score"] = best_scores
    out.attrs.update(n_candidates=lat.size, n_scored=n_scored, elements=lat.elements, E=float(E), h=float(h))
    return out


def _formula(elements: Sequence[str], amounts: np.ndarray) -> str:
    return "".join(f"{e}{float(a):.6g}" for e, a in zip(elements, amounts))


class FeatureScorer:
    """A scorer whose model reads features linear in the fractions: ``X = (A / 100) @ P``.

    The paper's four descriptors are of this form (``P`` is
    :func:`pcids.elements.property_matrix` of the elements), so computing them
    costs next to nothing. ``lower_bound(lo, hi)``, if given, must return for
    each feature box (rows of ``lo``/``hi``, shape (c, d)) a number no larger
    than the score of any point in the box (e.g. interval bound propagation
    through a network, minus a float-rounding slack); the corrector then
    skips whole groups of candidates, and still returns the grid's optimum.
    ``grid_features``: how many leading features the pruning grid cuts along
    (default all; features such as the fractions themselves need not be cut).
    """

    def __init__(
        self,
        property_matrix: np.ndarray,
        score_features: Callable[[np.ndarray], np.ndarray],
        lower_bound: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
        grid_features: int | None = None,
    ):
        self.property_matrix = np.asarray(property_matrix, dtype=np.float64)
        self.score_features = score_features
        self.lower_bound = lower_bound
        self.grid_features = grid_features
        self._P = self.property_matrix / 100.0

    def features(self, A: np.ndarray) -> np.ndarray:
        return A @ self._P

    def __call__(self, A: np.ndarray) -> np.ndarray:
        return self.score_features(self.features(A))


def linear_feature_scorer(property_matrix: np.ndarray, features_score: Callable[[np.ndarray], np.ndarray]) -> FeatureScorer:
    """Shortcut for :class:`FeatureScorer` without a bound."""
    return FeatureScorer(property_matrix, features_score)


def _checked_scores(score: Callable[[np.ndarray], np.ndarray], X: np.ndarray, m: int) -> np.ndarray:
    s = np.asarray(score(X), dtype=np.float64).reshape(-1)
    if s.shape[0] != m:
        raise DesignError(f"the scorer returned {s.shape[0]} scores for {m} compositions")
    return np.where(np.isnan(s), np.inf, s)


class _TopK:
    """The k best (score, units) seen so far, plus the near-ties of the k-th.

    Scores of a float32 scorer depend on the batch a candidate was scored in
    (BLAS kernels differ by batch shape and CPU), so the held candidates are
    rescored one at a time at the end (:meth:`best`), where a score depends on
    the candidate alone, and ranked with :func:`rank_near_ties`: the same top
    k whatever the chunking or pruning.
    """

    def __init__(self, k: int, n: int):
        self.k = k
        self.capacity = k + _EXTRA
        self.units = np.zeros((0, n), dtype=np.int64)
        self.scores = np.zeros(0)
        self.order = np.zeros(0, dtype=np.int64)  # tie-break: enumeration position
        self._seen = 0

    @property
    def threshold(self) -> float:
        """Score a candidate must not exceed to be held: inf until k are held."""
        if len(self.scores) < self.k:
            return np.inf
        s = float(self.scores[self.k - 1])
        return s + _margin(s)

    def push(self, units: np.ndarray, scores: np.ndarray, order: np.ndarray | None = None) -> None:
        if order is None:
            order = self._seen + np.arange(len(scores))
            self._seen += len(scores)
        idx = _smallest(scores, self.capacity, order)
        u = np.concatenate([self.units, units[idx]])
        s = np.concatenate([self.scores, scores[idx]])
        o = np.concatenate([self.order, order[idx]])
        keep = np.lexsort((o, s))[: self.capacity]
        self.units, self.scores, self.order = u[keep], s[keep], o[keep]
        keep = self.scores <= self.threshold
        self.units, self.scores, self.order = self.units[keep], self.scores[keep], self.order[keep]

    def best(self, rescore: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The k best (units, scores): held candidates rescored one by one, near-ties by lattice position."""
        if len(self.units) == 0:
            return self.units, self.scores
        s = np.concatenate([rescore(self.units[i : i + 1]) for i in range(len(self.units))])
        idx = rank_near_ties(s, self.order)[: self.k]
        return self.units[idx], s[idx]


#: Cells holding at most this many candidates are scored outright.
_LEAF = 32


def _pruned_search(lat: Lattice, scorer: FeatureScorer, top: _TopK, chunk_size: int, bar: Any) -> int:
    """Branch and bound over the lattice; returns the number of candidates scored.

    Prefixes (the first elements' values) are bounded before anything is
    enumerated: the features of all their completions lie in an exactly
    computed box (:meth:`Lattice.completion_range`). Prefixes are visited
    best bound first, in groups of about ``chunk_size`` candidates; a group
    whose every bound exceeds the current k-th best is never enumerated, the
    others go through :func:`_pruned_chunk`. Ties keep lexicographic order.
    """
    level = lat.chunk_level(chunk_size)
    prefix, rem, desc = lat.prefixes(level)
    offsets = np.cumsum(desc) - desc
    Q = scorer.property_matrix * lat.h / 100.0  # features per unit of each element
    cmin, cmax = lat.completion_range(level, Q)
    fixed = prefix @ Q[:level] if level else np.zeros((len(prefix), Q.shape[1]))
    lb = np.asarray(scorer.lower_bound(fixed + cmin[rem], fixed + cmax[rem]), dtype=np.float64).reshape(-1)  # type: ignore[misc]
    lb = np.where(np.isnan(lb), -np.inf, lb)
    visit = np.argsort(lb, kind="stable")
    scored = 0
    done = 0
    i = 0
    while i < len(visit) and lb[visit[i]] <= top.threshold:
        j, m = i, 0
        while j < len(visit) and (j == i or m + desc[visit[j]] <= chunk_size) and lb[visit[j]] <= top.threshold:
            m += desc[visit[j]]
            j += 1
        g = visit[i:j]
        units = lat._expand(prefix[g], rem[g], level)
        starts = np.cumsum(desc[g]) - desc[g]
        order = np.repeat(offsets[g] - starts, desc[g]) + np.arange(len(units))
        scored += _pruned_chunk(units, lat, scorer, top, order)
        done += len(units)
        if bar is not None:
            bar.update(len(units))
        i = j
    if bar is not None:
        bar.update(lat.size - done)
    return scored


def _pruned_chunk(units: np.ndarray, lat: Lattice, scorer: FeatureScorer, top: _TopK, order: np.ndarray) -> int:
    """Branch and bound on a feature-space grid refined level by level; returns the number scored.

    At level l the chunk's feature range is cut into 2^l cells per feature.
    Each occupied cell is bounded (over the box of its own points); cells
    whose bound exceeds the current k-th best are dropped, one probe point
    per surviving cell is scored (so the threshold tightens early), small
    cells are scored outright, and the rest go to the next level.
    """
    X = scorer.features(lat.to_percent(units))
    d = scorer.grid_features or X.shape[1]
    lo = X[:, :d].min(axis=0)
    span = X[:, :d].max(axis=0) - lo
    span = np.where(span > 0, span, 1.0)
    scored = np.zeros(len(units), dtype=bool)

    def score(rows: np.ndarray) -> None:
        rows = rows[~scored[rows]]
        if len(rows):
            s = _checked_scores(scorer.score_features, X[rows], len(rows))
            top.push(units[rows], s, order[rows])
            scored[rows] = True

    alive = np.arange(len(units))
    max_level = max(1, 62 // d)
    for level in range(1, max_level + 1):
        if len(alive) == 0:
            break
        cells = 2**level
        q = np.minimum(((X[alive, :d] - lo) / span * cells).astype(np.int64), cells - 1)
        key = q[:, 0].copy()
        for j in range(1, d):
            key = key * cells + q[:, j]
        srt = np.argsort(key, kind="stable")
        alive, key = alive[srt], key[srt]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        counts = np.diff(np.r_[starts, len(key)])
        Xs = X[alive]
        glo = np.minimum.reduceat(Xs, starts, axis=0)
        ghi = np.maximum.reduceat(Xs, starts, axis=0)
        lb = np.asarray(scorer.lower_bound(glo, ghi), dtype=np.float64).reshape(-1)  # type: ignore[misc]
        lb = np.where(np.isnan(lb), -np.inf, lb)
        # Probe the most promising cells first, then prune with the tightened threshold.
        promising = np.argsort(lb, kind="stable")
        promising = promising[lb[promising] <= top.threshold]
        score(alive[starts[promising]])
        keep_cell = lb <= top.threshold
        small = keep_cell & (counts <= _LEAF)
        cell_of = np.repeat(np.arange(len(starts)), counts)
        score(alive[small[cell_of]])
        alive = alive[(keep_cell & ~small)[cell_of]]
        alive = alive[~scored[alive]]
    score(alive)
    return int(scored.sum())


def symbolic_bounds(
    layers: Sequence[tuple[np.ndarray, np.ndarray]], lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sound output interval of a ReLU network over input boxes.

    ``layers`` are (weight (in, out), bias) with ReLU between them (e.g.
    :meth:`pcids.models.forward.ForwardModel.folded_layers`); ``lo``/``hi``
    have shape (c, in); returns (lower, upper), each (c, out). Each neuron is
    kept as an affine function of the input plus an interval (symbolic
    interval propagation), which keeps the correlations plain interval
    arithmetic loses and is several times tighter on small boxes; unstable
    ReLUs are relaxed to the constant interval [0, upper].
    """
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    c = (lo + hi) / 2
    r = (hi - lo) / 2
    B, d = c.shape
    W, b = layers[0]
    A = np.broadcast_to(W[None], (B, d, W.shape[1]))
    z = c @ W + b
    elo = np.zeros_like(z)
    ehi = np.zeros_like(z)
    for W, b in layers[1:]:
        rad = np.einsum("bdn,bd->bn", np.abs(A), r)
        low, up = z - rad + elo, z + rad + ehi
        act = low >= 0
        A = A * act[:, None, :]
        ehi = np.where(act, ehi, np.maximum(up, 0.0))
        elo = np.where(act, elo, 0.0)
        z = np.where(act, z, 0.0)
        A = (A.reshape(B * d, -1) @ W).reshape(B, d, -1)
        z = z @ W + b
        Wp, Wn = np.maximum(W, 0.0), np.minimum(W, 0.0)
        elo, ehi = elo @ Wp + ehi @ Wn, ehi @ Wp + elo @ Wn
    rad = np.einsum("bdn,bd->bn", np.abs(A), r)
    return z - rad + elo, z + rad + ehi

"""The corrector (paper Algorithm 2): exhaustive lattice search around a composition.

Around a start composition A, every composition with each a_i in
[a_i - E, a_i + E], on a lattice of step h, summing to exactly 100 at.% with
every a_i > 0 (and inside optional per-element bounds, with optional fixed
elements) is scored; the best ``top_k`` are returned.

Decisions
---------
* **Integer lattice.** Everything is done in integer units of h (a_i = k_i h,
  sum k_i = 100/h), so sums are exact and there is no float drift; h must
  divide 100. The lattice is absolute (multiples of h), not relative to the
  start, and the box ends are snapped inwards: ``[a_i - E, a_i + E]`` is
  taken literally. The start is used as given (not renormalised), so a start
  summing to 101 is still searched around, and every candidate sums to 100
  (the prototype kept the start's total, a bug).
* **Only valid points are generated.** Elements are filled in order; each
  element's admissible values given the prefix form an integer interval
  (the rest must still be able to reach the total), so the generator never
  builds the box and filters it. A counting table (number of completions of
  each prefix) lets the lattice be cut into chunks of at most ``chunk_size``
  points: memory stays bounded and scoring runs in large batches.
* **Running top-k.** Each chunk is reduced with ``np.partition``; ties are
  broken by enumeration order (lexicographic in the given element order), so
  results are deterministic. NaN scores rank last.
* **Any scorer.** ``score`` is any callable mapping an (m, n) array of at.%
  to m scores (lower is better); :func:`linear_feature_scorer` adapts a
  function of linear descriptors (the paper's four are ``A @ P``), which
  makes the descriptor cost negligible next to the network.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from pcids.composition import Composition, parse_formula
from pcids.elements import check_elements
from pcids.errors import DesignError

Scorer = Callable[[np.ndarray], np.ndarray]
Bounds = Mapping[str, tuple[float | None, float | None]]

#: Largest lattice the corrector agrees to search (about an hour of scoring).
MAX_CANDIDATES = 500_000_000
_EPS = 1e-9


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

    def iter_chunks(self, chunk_size: int = 500_000) -> Iterator[np.ndarray]:
        """Yield integer unit arrays (m, n), m <= chunk_size unless one prefix has more
        completions, in lexicographic order; together they are the whole lattice."""
        n = len(self.lo)
        if self.size == 0:
            return
        # Shallowest level whose prefixes each have at most chunk_size completions.
        level = next((j for j in range(n + 1) if self._ways[j].max() <= chunk_size), n - 1)
        level = min(level, n - 1)
        prefix = np.zeros((1, 0), dtype=np.int64)
        rem = np.array([self.total], dtype=np.int64)
        for j in range(level):
            prefix, rem = self._children(prefix, rem, j)
        desc = self._ways[level, rem]
        cum = np.cumsum(desc)
        start = 0
        while start < len(prefix):
            base = cum[start - 1] if start else 0.0
            stop = max(int(np.searchsorted(cum, base + chunk_size, side="right")), start + 1)
            yield self._expand(prefix[start:stop], rem[start:stop], level)
            start = stop

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


def _smallest(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k smallest scores, ties by index, sorted."""
    if len(scores) > k:
        kth = np.partition(scores, k - 1)[k - 1]
        less = np.flatnonzero(scores < kth)
        eq = np.flatnonzero(scores == kth)[: k - len(less)]
        idx = np.concatenate([less, eq])
    else:
        idx = np.arange(len(scores))
    return idx[np.lexsort((idx, scores[idx]))]


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

    Returns
    -------
    DataFrame with columns ``formula`` (as written, in element order), one
    at.% column per element and ``score``, sorted best first; ``attrs`` holds
    ``n_candidates``, ``elements``, ``E`` and ``h``.
    """
    if not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise DesignError(f"top_k must be a positive integer, got {top_k!r}")
    lat = Lattice.around(start, E=E, h=h, bounds=bounds, fixed=fixed, elements=elements)
    if lat.size > MAX_CANDIDATES:
        raise DesignError(
            f"the search box holds {lat.size:,} candidates (limit {MAX_CANDIDATES:,}); use a smaller E, a coarser h, "
            "fixed elements or bounds"
        )
    best_units = np.zeros((0, len(lat.elements)), dtype=np.int64)
    best_scores = np.zeros(0)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=lat.size, unit="cand", unit_scale=True, desc="corrector", leave=False)
    try:
        for units in lat.iter_chunks(chunk_size):
            s = np.asarray(score(lat.to_percent(units)), dtype=np.float64).reshape(-1)
            if s.shape[0] != units.shape[0]:
                raise DesignError(f"the scorer returned {s.shape[0]} scores for {units.shape[0]} compositions")
            s = np.where(np.isnan(s), np.inf, s)
            idx = _smallest(s, top_k)
            # Previous best come first, so ties keep enumeration order.
            cand_u = np.concatenate([best_units, units[idx]])
            cand_s = np.concatenate([best_scores, s[idx]])
            keep = _smallest(cand_s, top_k)
            best_units, best_scores = cand_u[keep], cand_s[keep]
            if bar is not None:
                bar.update(units.shape[0])
    finally:
        if bar is not None:
            bar.close()
    pct = lat.to_percent(best_units)
    out = pd.DataFrame(pct, columns=lat.elements)
    out.insert(0, "formula", [_formula(lat.elements, row) for row in pct])
    out["score"] = best_scores
    out.attrs.update(n_candidates=lat.size, elements=lat.elements, E=float(E), h=float(h))
    return out


def _formula(elements: Sequence[str], amounts: np.ndarray) -> str:
    return "".join(f"{e}{float(a):.6g}" for e, a in zip(elements, amounts))


def linear_feature_scorer(
    property_matrix: np.ndarray, features_score: Callable[[np.ndarray], np.ndarray]
) -> Scorer:
    """A scorer for models whose inputs are linear in the fractions.

    ``features = (A / 100) @ property_matrix``, then ``features_score(features)``;
    the paper's four descriptors are of this form
    (:func:`pcids.elements.property_matrix` of the elements).
    """
    P = np.asarray(property_matrix, dtype=np.float64) / 100.0

    def score(A: np.ndarray) -> np.ndarray:
        return features_score(A @ P)

    return score

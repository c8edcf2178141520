"""The corrector must search exactly the lattice of Algorithm 2 and return its true optimum."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pcids.corrector import FeatureScorer, Lattice, correct, lattice_size, linear_feature_scorer, rank_near_ties
from pcids.elements import property_matrix
from pcids.errors import DesignError, UnsupportedElementError


def brute_force(start: dict[str, float], E: float, h: float, bounds=None, fixed=None) -> np.ndarray:
    """The naive Algorithm 2: the whole box, then filter (small cases only)."""
    bounds, fixed = bounds or {}, fixed or {}
    axes = []
    for el, a in start.items():
        if el in fixed:
            axes.append([fixed[el]])
            continue
        lo, hi = bounds.get(el, (None, None))
        vals = [k * h for k in range(int(round(100 / h)) + 1)]
        vals = [v for v in vals if a - E - 1e-9 <= v <= a + E + 1e-9 and v > 0]
        vals = [v for v in vals if (lo is None or v >= lo - 1e-9) and (hi is None or v <= hi + 1e-9)]
        axes.append(vals)
    pts = [p for p in itertools.product(*axes) if abs(sum(p) - 100) < 1e-6]
    return np.array(pts)


def test_paper_case_has_750_candidates():
    assert lattice_size("Ti44Zr22Be30Fe4", E=5, h=1) == 750
    lat = Lattice.around("Ti44Zr22Be30Fe4", E=5, h=1)
    units = np.concatenate(list(lat.iter_chunks(64)))
    assert units.shape == (750, 4)
    assert len({tuple(r) for r in units}) == 750
    # Fe's range [-1, 9] loses its non-positive values; the rest are full boxes.
    assert units.min(axis=0).tolist() == [39, 17, 25, 1]
    assert units.max(axis=0).tolist() == [49, 27, 35, 9]


@pytest.mark.parametrize(
    "start,E,h",
    [
        ({"Ti": 44, "Zr": 22, "Be": 30, "Fe": 4}, 5, 1),
        ({"Cu": 50, "Zr": 45, "Al": 5}, 3, 0.5),
        ({"Cu": 46.3, "Zr": 44.9, "Al": 8.8}, 2.5, 0.25),
        ({"Zr": 55, "Cu": 30, "Ni": 5, "Al": 10}, 4, 2),
        ({"Pd": 40, "Ni": 40, "P": 20}, 7, 1),
    ],
)
def test_lattice_equals_brute_force(start, E, h):
    expected = brute_force(start, E, h)
    lat = Lattice.around(start, E=E, h=h)
    got = np.concatenate(list(lat.iter_chunks(37))) * h
    assert lat.size == len(expected) == len(got)
    assert sorted(map(tuple, np.round(got, 9))) == sorted(map(tuple, np.round(expected, 9)))


def test_start_not_summing_to_100_still_gives_totals_of_100():
    # Sums to 101 (the prototype enumerated around it and kept 101-sum points).
    start = {"Ti": 44, "Zr": 22, "Be": 30, "Fe": 5}
    res = correct(start, lambda A: A[:, 0], E=5, h=1, top_k=1000)
    assert len(res) == len(brute_force(start, 5, 1)) > 0
    totals = res[["Ti", "Zr", "Be", "Fe"]].sum(axis=1).to_numpy()
    assert np.all(totals == 100.0)
    # Off-lattice and off-total floats (a raw network output) too, at h = 0.5.
    start = {"Ti": 43.7, "Zr": 22.2, "Be": 29.6, "Fe": 4.9}  # sums to 100.4
    res = correct(start, lambda A: A[:, 1], E=3, h=0.5, top_k=5000)
    assert len(res) == len(brute_force(start, 3, 0.5))
    assert np.all(res[["Ti", "Zr", "Be", "Fe"]].sum(axis=1).to_numpy() == 100.0)
    assert np.all(res[["Ti", "Zr", "Be", "Fe"]].to_numpy() > 0)


def _quadratic_scorer(elements, target=(4.5, 1500.0)):
    P = property_matrix(elements)

    def f(X):  # distance of (VEC, Tm) to a target, in descriptor space
        return (X[:, 0] - target[0]) ** 2 + ((X[:, 1] - target[1]) / 300) ** 2

    return linear_feature_scorer(P, f)


@pytest.mark.parametrize("chunk", [7, 100, 10**6])
def test_top_k_is_the_grids_true_optimum(chunk):
    start = {"Ti": 44, "Zr": 22, "Be": 30, "Fe": 4}
    scorer = _quadratic_scorer(list(start))
    res = correct(start, scorer, E=5, h=1, top_k=10, chunk_size=chunk)
    pts = brute_force(start, 5, 1)
    scores = scorer(pts)
    order = np.lexsort((np.arange(len(scores)), scores))[:10]
    np.testing.assert_allclose(res["score"].to_numpy(), scores[order], rtol=1e-12, atol=1e-12)  # float64, other batch shapes
    assert tuple(res.iloc[0][list(start)]) == tuple(pts[order[0]])
    assert res["score"].is_monotonic_increasing
    assert res.attrs["n_candidates"] == 750
    assert res["formula"].is_unique


@settings(max_examples=25, deadline=None)
@given(
    a=st.integers(5, 60),
    b=st.integers(5, 60),
    E=st.sampled_from([1, 2, 3, 4.5]),
    h=st.sampled_from([0.5, 1, 2.5]),
    k=st.integers(1, 20),
    chunk=st.integers(1, 400),
)
def test_optimum_matches_brute_force_property(a, b, E, h, k, chunk):
    c = 100 - a - b
    if c <= 0 or E < h:
        return
    start = {"Cu": a, "Zr": b, "Al": c}
    pts = brute_force(start, E, h)
    if len(pts) == 0:
        with pytest.raises(DesignError):
            correct(start, lambda A: A[:, 0], E=E, h=h)
        return
    w = np.array([0.3, -1.1, 0.7])
    scorer = lambda A: np.abs(A @ w - 3.0)  # noqa: E731
    res = correct(start, scorer, E=E, h=h, top_k=k, chunk_size=chunk)
    expect = np.sort(scorer(pts))[: min(k, len(pts))]
    np.testing.assert_allclose(res["score"].to_numpy(), expect, rtol=1e-12, atol=1e-12)


def test_ties_are_deterministic_and_nan_ranks_last():
    start = {"Ti": 44, "Zr": 22, "Be": 30, "Fe": 4}
    flat = correct(start, lambda A: np.zeros(len(A)), top_k=5, chunk_size=50)
    again = correct(start, lambda A: np.zeros(len(A)), top_k=5, chunk_size=333)
    assert flat["formula"].tolist() == again["formula"].tolist()
    # Ties go to the first in lexicographic order of the given elements.
    assert flat.iloc[0][["Ti", "Zr", "Be", "Fe"]].tolist() == [39, 17, 35, 9]

    def some_nan(A):
        s = A[:, 0].copy()
        s[A[:, 0] < 45] = np.nan
        return s

    res = correct(start, some_nan, top_k=3)
    assert np.all(np.isfinite(res["score"])) and res["Ti"].min() >= 45


def test_bounds_and_fixed():
    start = {"Ti": 44, "Zr": 22, "Be": 30, "Fe": 4}
    bounds = {"Fe": (0, 3), "Ti": (42, None)}
    fixed = {"Be": 28}
    expected = brute_force(start, 5, 1, bounds=bounds, fixed=fixed)
    res = correct(start, lambda A: A[:, 0], top_k=10_000, bounds=bounds, fixed=fixed)
    assert len(res) == len(expected) > 0
    assert res["Fe"].between(1, 3).all() and (res["Be"] == 28).all() and (res["Ti"] >= 42).all()
    with pytest.raises(DesignError, match="multiple of h"):
        correct(start, lambda A: A[:, 0], fixed={"Be": 28.3})
    with pytest.raises(DesignError, match="not among the elements"):
        correct(start, lambda A: A[:, 0], bounds={"Cu": (0, 5)})


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"h": 0}, "positive"),
        ({"h": -1}, "positive"),
        ({"h": 0.3}, "divide 100"),
        ({"E": 0.5, "h": 1}, "at least the step"),
        ({"top_k": 0}, "top_k"),
        ({"bounds": {"Fe": (50, 60)}}, "no composition"),
    ],
)
def test_bad_parameters_raise_design_error(kwargs, match):
    with pytest.raises(DesignError, match=match):
        correct("Ti44Zr22Be30Fe4", lambda A: A[:, 0], **kwargs)


def test_unsupported_element_and_far_start():
    with pytest.raises(UnsupportedElementError):
        correct({"Ti": 50, "Og": 50}, lambda A: A[:, 0])
    with pytest.raises(DesignError, match="sums to 100"):
        correct({"Ti": 80, "Zr": 80}, lambda A: A[:, 0], E=5)


def test_scorer_shape_is_checked():
    with pytest.raises(DesignError, match="scores for"):
        correct("Ti44Zr22Be30Fe4", lambda A: np.zeros(3))


def test_chunks_bound_memory_and_cover_the_lattice():
    lat = Lattice.around("Zr25Cu15Ni10Al15Ti15Be10Nb10", E=5, h=1)
    assert lat.size == 908_755  # the prototype's count for this 7-element box
    sizes = []
    seen = 0
    for units in lat.iter_chunks(50_000):
        sizes.append(len(units))
        assert np.all(units.sum(axis=1) == 100)
        seen += len(units)
    assert seen == lat.size
    assert max(sizes) <= 50_000


@pytest.mark.parametrize("start,E,h", [("Ti44Zr22Be30Fe4", 5, 1), ("Zr45Cu25Ni10Al10Ti10", 3, 1), ("Cu46Zr46Al8", 4, 0.5)])
def test_completion_range_is_exact(start, E, h):
    lat = Lattice.around(start, E=E, h=h)
    els = lat.elements
    Q = property_matrix(els) * h / 100
    units = np.concatenate(list(lat.iter_chunks(10**6)))
    for level in range(len(els)):
        cmin, cmax = lat.completion_range(level, Q)
        rem = lat.total - units[:, :level].sum(axis=1)
        part = units[:, level:] @ Q[level:]
        for r in np.unique(rem):
            sel = rem == r
            np.testing.assert_allclose(part[sel].min(axis=0), cmin[r], rtol=1e-12, atol=1e-9)
            np.testing.assert_allclose(part[sel].max(axis=0), cmax[r], rtol=1e-12, atol=1e-9)


def test_pruning_with_a_sound_bound_is_exact_and_skips_work():
    """A convex quadratic in descriptor space has an exact box bound: pruning must not change the answer."""
    els = ["Zr", "Cu", "Ni", "Al", "Ti"]
    P = property_matrix(els)
    target = np.array([6.5, 1500.0, 1.6, 152.0])
    scale = np.array([0.5, 100.0, 0.05, 3.0])

    def f(X):
        return (((X - target) / scale) ** 2).sum(axis=1)

    def lb(lo, hi):
        nearest = np.clip(target, lo, hi)
        return (((nearest - target) / scale) ** 2).sum(axis=1)

    scorer = FeatureScorer(P, f, lb)
    for chunk in (500, 10**6):
        pruned = correct("Zr45Cu25Ni10Al10Ti10", scorer, E=5, h=1, top_k=7, chunk_size=chunk, prune=True)
        full = correct("Zr45Cu25Ni10Al10Ti10", scorer, E=5, h=1, top_k=7, chunk_size=chunk, prune=False)
        assert pruned["formula"].tolist() == full["formula"].tolist()
        np.testing.assert_allclose(pruned["score"], full["score"], rtol=1e-12)
        assert pruned.attrs["n_scored"] < full.attrs["n_scored"] == 8801


def _batch_noise(values: np.ndarray) -> np.ndarray:
    """What a float32 BLAS does to a score: a relative error of ~1e-7 that depends on
    the batch shape and the row's place in it, not on the candidate."""
    m = len(values)
    return values * (1 + 3e-7 * np.sin(m * 12.9898 + np.arange(m) * 78.233))


def test_top_k_does_not_depend_on_batching_or_pruning_under_float_noise():
    """Same top k, same scores, for any chunk size, with and without pruning, although
    each batch perturbs the scores; exact ties in the noise-free score stay in lattice order."""
    els = ["Zr", "Cu", "Ni", "Al", "Ti"]
    P = property_matrix(els)
    target = np.array([6.5, 1500.0, 1.6, 152.0])
    scale = np.array([0.5, 100.0, 0.05, 3.0])

    def f(X):
        return np.round((((X - target) / scale) ** 2).sum(axis=1), 1) + 1.0  # many exact ties

    def lb(lo, hi):
        nearest = np.clip(target, lo, hi)
        return (((nearest - target) / scale) ** 2).sum(axis=1) + 1.0 - 0.06

    clean = correct("Zr45Cu25Ni10Al10Ti10", FeatureScorer(P, f, lb), E=5, h=1, top_k=12, prune=False)
    assert clean["score"].nunique() < 12  # the case has ties at the k-th place
    noisy = FeatureScorer(P, lambda X: _batch_noise(f(X)), lb)
    for chunk in (97, 1000, 10**6):
        for prune in (True, False):
            res = correct("Zr45Cu25Ni10Al10Ti10", noisy, E=5, h=1, top_k=12, chunk_size=chunk, prune=prune)
            assert res["formula"].tolist() == clean["formula"].tolist(), (chunk, prune)
            np.testing.assert_allclose(res["score"], clean["score"], rtol=1e-6)


def test_near_ties_rank_by_lattice_position():
    s = np.array([2.0, 1.0 + 4e-6, 1.0, 1.0 - 3e-6, 1.5])
    order = np.array([0, 3, 7, 5, 1])
    assert rank_near_ties(s, order).tolist() == [1, 3, 2, 4, 0]
    # A real difference (above TIE_RTOL) is kept: score first, then position.
    assert rank_near_ties(np.array([1.0, 1.001]), np.array([9, 0])).tolist() == [0, 1]
    assert rank_near_ties(np.array([np.inf, 3.0, np.inf]), np.array([2, 1, 0])).tolist() == [1, 2, 0]

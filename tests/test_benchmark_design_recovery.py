"""The design-recovery judge's own logic: folds, leakage guard, baselines (no models trained)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import design_recovery as dr  # noqa: E402


@pytest.fixture(scope="module")
def df():
    return dr.elastic_frame()


def test_grouped_folds_hold_out_whole_systems_and_random_folds_cover_a_fifth(df):
    for tr, te in dr.folds(df, "grouped", seed=1):
        assert not set(df["system"].iloc[tr]) & set(df["system"].iloc[te])
    rnd = dr.folds(df, "random", seed=1)
    assert len(rnd) == 5
    for tr, te in rnd:
        assert not set(tr) & set(te)
        assert abs(len(te) - 0.2 * len(df)) <= 1
    assert not np.array_equal(rnd[0][1], dr.folds(df, "random", seed=2)[0][1])


def test_gfa_training_frame_drops_the_held_out_alloys_and_systems(df):
    from pcids.datasets import load_gfa

    gfa = load_gfa()
    _, te = dr.folds(df, "random", seed=0)[0]
    test = df.iloc[te]
    kept = dr.gfa_training_frame(gfa, test, "random")
    assert 0 < len(kept) < len(gfa)
    assert not set(kept["formula"]) & set(test["formula"])
    _, te = dr.folds(df, "grouped", seed=0)[0]
    kept = dr.gfa_training_frame(gfa, df.iloc[te], "grouped")
    assert not set(kept["system"]) & set(df["system"].iloc[te])


def test_training_data_only_hides_the_held_out_alloys_from_every_pcids_loader(df):
    import pcids.datasets as ds
    from pcids.datasets import load_gfa

    train, gfa = df.iloc[:100], load_gfa().iloc[:50]
    orig = ds.load_elastic
    with dr.training_data_only(train, gfa):
        assert len(ds.load_elastic()) == 100
        assert len(ds.load_gfa()) == 50
        assert ds.load_elastic().attrs.get("elements") == df.attrs.get("elements")
    assert ds.load_elastic is orig
    assert len(ds.load_elastic()) == len(df)


def test_lattice_sample_is_on_the_lattice_and_sums_to_100():
    A = dr.lattice_sample(5, 2000, np.random.default_rng(0))
    assert A.shape == (2000, 5)
    np.testing.assert_allclose(A.sum(axis=1), 100.0)
    assert A.min() >= 1.0
    np.testing.assert_allclose(A, np.round(A))
    np.testing.assert_allclose(A.mean(axis=0), 20.0, atol=1.0)  # uniform on the simplex: equal means


def test_nearest_system_and_knn_baselines_find_a_training_alloy_from_its_own_moduli(df):
    train = df[df["K"].notna()]
    row = train.iloc[10]
    ns = dr.run_nearest_system(train, row["system"], row["G"], row["K"])
    truth = {e: float(row[e]) for e in row["system"].split("-")}
    assert dr._l1(truth, ns[0]) == pytest.approx(0.0, abs=1e-9)
    assert dr.run_nearest_system(train[train["system"] != row["system"]], row["system"], row["G"], row["K"]) == []
    knn = dr.KnnMasses(train)
    got = knn(dr._elements(row["formula_as_written"]), row["G"], row["K"])
    assert dr._l1(truth, got[0]) == pytest.approx(0.0, abs=1e-6)
    assert len(got) == dr.TOP_K


def test_summary_counts_shares_and_fallbacks():
    rows = [
        {"design": {"top1": 4.0, "best5": 4.0, "best10": 2.0, "error": [0.01], "fallback": False, "cpu_s": 1.0}},
        {"design": {"top1": 30.0, "best5": 8.0, "best10": 8.0, "error": [0.05], "fallback": True, "cpu_s": 3.0}},
    ]
    s = dr.summarize(rows, ("design",))["design"]
    assert s["best5"]["median"] == pytest.approx(6.0)
    assert s["share_best5_within_5"] == pytest.approx(0.5)
    assert s["share_best5_within_10"] == pytest.approx(1.0)
    assert s["share_top1_within_tolerance"] == pytest.approx(0.5)
    assert s["n_fallback"] == 1


def test_paired_comparison_matches_rows_by_alloy_and_counts_wins():
    base = {"protocol": "random", "seed": 1, "fold": 0}
    a = [{**base, "alloy": f"x{i}", "design": {"best5": float(i)}} for i in range(6)]
    b = [{**base, "alloy": f"x{i}", "design": {"best5": float(i) + (1.0 if i < 4 else -1.0)}} for i in reversed(range(6))]
    out = dr.paired(a, b)
    assert out["n"] == 6
    assert out["a_better"] == pytest.approx(4 / 6)
    assert out["b_better"] == pytest.approx(2 / 6)
    assert out["median_diff"] == pytest.approx(-1.0)
    assert dr.paired(a, [])["n"] == 0

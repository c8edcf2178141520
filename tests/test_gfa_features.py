"""GFA features (Miedema mixing enthalpy, Omega) and the Dmax >= threshold labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pcids.datasets import load_gfa
from pcids.descriptors import RichDescriptors
from pcids.errors import PcidsError
from pcids.models._gfa_features import ENTHALPY_FEATURES, R_GAS, GFADescriptors, missing_pairs, pair_enthalpy_matrix
from pcids.models.gfa import gfa_labels


def _enthalpy_row(formula: str) -> dict[str, float]:
    g = GFADescriptors()
    return dict(zip(g.feature_labels(), g.transform([formula])[0]))


def test_pair_table_holds_takeuchi_inoue_values():
    H, known = pair_enthalpy_matrix(["Cu", "Zr", "Ni", "Be"])
    # Takeuchi & Inoue 2005, Table: Cu-Zr -23, Ni-Zr -49, Be-Zr -43, Cu-Ni 4 kJ/mol
    assert H[0, 1] == H[1, 0] == -23
    assert H[2, 1] == -49 and H[3, 1] == -43 and H[0, 2] == 4
    assert known.all() and np.all(np.diag(H) == 0)


def test_mixing_enthalpy_is_the_regular_solution_sum():
    row = _enthalpy_row("Cu50Zr50")
    assert row["H_mix"] == pytest.approx(4 * -23 * 0.25)
    assert row["H_pair_min"] == row["H_pair_max"] == -23
    assert row["H_pair_dev"] == pytest.approx(0.0, abs=1e-9)
    # ternary by hand: 4 * sum_{i<j} c_i c_j H_ij
    c = {"Zr": 0.5, "Cu": 0.4, "Al": 0.1}
    H, _ = pair_enthalpy_matrix(list(c))
    v = np.array(list(c.values()))
    expect = 4 * sum(v[i] * v[j] * H[i, j] for i in range(3) for j in range(i + 1, 3))
    row = _enthalpy_row("Zr50Cu40Al10")
    assert row["H_mix"] == pytest.approx(expect)
    assert row["H_pair_min"] == H.min() and row["H_pair_max"] == max(H[0, 1], H[0, 2], H[1, 2])
    s_mix = -(v * np.log(v)).sum()
    tm = RichDescriptors().transform(["Zr50Cu40Al10"])[0][RichDescriptors().feature_labels().index("mean_Tm")]
    assert row["Omega"] == pytest.approx(tm * s_mix * R_GAS / (abs(expect) * 1000))


def test_single_element_has_no_pair_enthalpy_and_finite_features():
    row = _enthalpy_row("Cu")
    assert row["H_mix"] == 0 and row["H_pair_min"] == 0 and row["H_pair_max"] == 0 and row["Omega"] == 0
    assert all(np.isfinite(list(row.values())))


def test_matrix_path_matches_formula_path_and_scales():
    g = GFADescriptors(element_fractions=["Zr", "Cu", "Ni", "Fe"])
    forms = ["Zr41.2Ti13.8Cu12.5Ni10Be22.5", "Cu50Zr50", "Ti50Ni50"]
    X = g.transform(forms)
    els = ["Zr", "Ti", "Cu", "Ni", "Be"]
    A = np.array([[41.2, 13.8, 12.5, 10, 22.5], [50, 0, 50, 0, 0], [0, 50, 0, 50, 0]])
    # atol: spreads computed as E[x^2] - E[x]^2 are rounding noise (~1e-7, BLAS-dependent) where they are 0
    np.testing.assert_allclose(g.transform_matrix(A, els), X, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(g.transform_matrix(A / 100, els), X, rtol=1e-12, atol=1e-6)
    labels = g.feature_labels()
    assert labels[-4:] == ["x_Zr", "x_Cu", "x_Ni", "x_Fe"]
    np.testing.assert_allclose(X[0, -4:], [0.412, 0.125, 0.10, 0.0])
    assert len(labels) == len(RichDescriptors().feature_labels()) + len(ENTHALPY_FEATURES) + 4


def test_missing_pairs_are_reported():
    assert missing_pairs(np.array([[0.5, 0.5, 0.0]]), ["H", "O", "Cu"]) == [["H-O"]]
    assert missing_pairs(np.array([[0.5, 0.0, 0.5]]), ["H", "O", "Cu"]) == [[]]


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "formula": ["A", "B", "C", "D", "E", "F", "G"],
            "dmax_mm": [5.0, 1.5, np.nan, np.nan, np.nan, 3.0, 2.0],
            "gfa_class": ["bulk glass", "bulk glass", "crystalline", "ribbon glass", "bulk glass", "ribbon glass", "bulk glass"],
        }
    )


def test_labels_follow_the_documented_rule():
    y = gfa_labels(_table())
    # measured >= 2 -> 1 (also when the vote said ribbon glass), measured < 2 -> 0,
    # crystalline / ribbon without diameter -> 0, bulk glass without diameter -> ambiguous
    assert y.tolist()[:4] == [1.0, 0.0, 0.0, 0.0]
    assert np.isnan(y.iloc[4])
    assert y.iloc[5] == 1.0 and y.iloc[6] == 1.0
    assert gfa_labels(_table(), ambiguous="positive").iloc[4] == 1.0
    assert gfa_labels(_table(), ambiguous="negative").iloc[4] == 0.0
    y5 = gfa_labels(_table(), threshold_mm=5.0)
    assert y5.tolist()[:2] == [1.0, 0.0] and y5.iloc[5] == 0.0 and y5.iloc[6] == 0.0


def test_label_errors_are_specific():
    with pytest.raises(PcidsError, match="ambiguous"):
        gfa_labels(_table(), ambiguous="maybe")
    with pytest.raises(PcidsError, match="threshold_mm"):
        gfa_labels(_table(), threshold_mm=-1)
    with pytest.raises(PcidsError, match="gfa_class"):
        gfa_labels(_table().drop(columns="gfa_class"))


def test_labels_on_the_bundled_table():
    df = load_gfa()
    y = gfa_labels(df)
    assert int((y == 1).sum()) == int((df["dmax_mm"] >= 2).sum())
    amb = (df["gfa_class"] == "bulk glass") & df["dmax_mm"].isna()
    assert y[amb].isna().all() and y[~amb].notna().all()
    assert 0.08 < y.mean() < 0.2  # about 1 in 8 of the labelled alloys casts at >= 2 mm


def test_family_features_sum_fractions_by_element_class():
    from pcids.elements import supported_elements
    from pcids.models._gfa_features import FAMILIES, FAMILY_FEATURES

    members = [e for v in FAMILIES.values() for e in v]
    assert sorted(members) == sorted(supported_elements())  # every element in exactly one family
    g = GFADescriptors(element_fractions=["Zr", "Cu"], families=True)
    labels = g.feature_labels()
    # family block sits between the enthalpy features and the element fractions
    k = labels.index("frac_alkaline")
    assert labels[k - 1] == "Omega" and labels[k : k + len(FAMILY_FEATURES)] == list(FAMILY_FEATURES) and labels[-2:] == ["x_Zr", "x_Cu"]
    row = dict(zip(labels, g.transform(["Zr41.2Ti13.8Cu12.5Ni10Be22.5"])[0]))
    assert row["frac_etm"] == pytest.approx(0.55) and row["frac_ltm"] == pytest.approx(0.225)
    assert row["frac_alkaline"] == pytest.approx(0.225) and row["frac_metalloid"] == 0 and row["frac_rare_earth"] == 0
    assert row["n_elements"] == 5 and row["frac_max"] == pytest.approx(0.412) and row["x_Cu"] == pytest.approx(0.125)
    row = dict(zip(labels, g.transform(["Fe80B10Si10"])[0]))
    assert row["frac_ltm"] == pytest.approx(0.8) and row["frac_metalloid"] == pytest.approx(0.2) and row["n_elements"] == 3
    # the other columns do not change when the family block is switched on
    plain = GFADescriptors(element_fractions=["Zr", "Cu"])
    X, Y = g.transform(["Cu46Zr46Al8"]), plain.transform(["Cu46Zr46Al8"])
    np.testing.assert_array_equal(np.delete(X, range(k, k + len(FAMILY_FEATURES)), axis=1), Y)
    # matrix path (zeros in some columns) agrees with the formula path
    A = np.array([[0.5, 0.5, 0.0], [0.46, 0.46, 0.08]])
    np.testing.assert_allclose(g.transform_matrix(A, ["Cu", "Zr", "Al"]), g.transform(["Cu50Zr50", "Cu46Zr46Al8"]), rtol=1e-12, atol=1e-6)


def test_ground_state_features_are_magpie_statistics_in_the_last_columns():
    from pcids.elements import supported_elements
    from pcids.models._gfa_features import GROUND_STATE_FEATURES, ground_state_matrix

    G = ground_state_matrix(supported_elements())  # every supported element has all four values
    assert G.shape == (len(supported_elements()), 4) and np.isfinite(G).all()
    fe, ni, zr = ground_state_matrix(["Fe", "Ni", "Zr"])
    assert fe.tolist() == [10.73, 0.0, 2.1106628, 229.0] and zr[3] == 194.0  # Magpie: bcc Fe, hcp Zr
    g = GFADescriptors(element_fractions=["Zr", "Cu"], families=True, ground_state=True)
    plain = GFADescriptors(element_fractions=["Zr", "Cu"], families=True)
    labels = g.feature_labels()
    assert labels[: -len(GROUND_STATE_FEATURES)] == plain.feature_labels() and labels[-16:] == list(GROUND_STATE_FEATURES)
    assert any("Magpie" in c for c in g.citations()) and not any("Magpie" in c for c in plain.citations())
    forms = ["Fe80Ni20", "Cu46Zr46Al8", "Zr"]
    X, Y = g.transform(forms), plain.transform(forms)
    np.testing.assert_array_equal(X[:, :-16], Y)  # the other columns do not move
    row = dict(zip(labels, X[0]))
    assert row["mean_gs_magmom"] == pytest.approx(0.8 * fe[2] + 0.2 * ni[2])
    assert row["dev_gs_volume_pa"] == pytest.approx(np.sqrt(0.8 * 0.2) * abs(fe[0] - ni[0]))
    assert row["min_gs_space_group"] == min(fe[3], ni[3]) and row["max_gs_magmom"] == fe[2]
    assert dict(zip(labels, X[2]))["dev_gs_bandgap"] == 0.0
    A = np.array([[0.46, 0.46, 0.08]])
    np.testing.assert_allclose(g.transform_matrix(A, ["Cu", "Zr", "Al"]), X[1:2], rtol=1e-12, atol=1e-6)

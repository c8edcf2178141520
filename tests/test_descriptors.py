import numpy as np
import pandas as pd
import pytest

from pcids.composition import Composition
from pcids.descriptors import PaperDescriptors, RichDescriptors, composition_matrix, paper_descriptors
from pcids.elements import atomic_masses, element_table, property_matrix, supported_elements
from pcids.errors import PcidsError, UnsupportedElementError

# Hand values from the element table: (VEC, Tm K, chi, r pm)
HAND = {
    "Zr": (4, 2128.0, 1.33, 160.0),
    "Ti": (4, 1941.0, 1.54, 147.0),
    "Cu": (11, 1357.77, 1.90, 128.0),
    "Ni": (10, 1728.0, 1.91, 124.0),
    "Be": (2, 1560.0, 1.57, 112.0),
    "Al": (3, 933.47, 1.61, 143.0),
}


def hand_means(fracs: dict[str, float]) -> np.ndarray:
    total = sum(fracs.values())
    return sum(np.array(HAND[e]) * a / total for e, a in fracs.items())


def test_vit1_matches_hand_calculation():
    got = PaperDescriptors().transform(["Zr41.2Ti13.8Cu12.5Ni10Be22.5"])[0]
    want = hand_means({"Zr": 41.2, "Ti": 13.8, "Cu": 12.5, "Ni": 10, "Be": 22.5})
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # spelled out once, so a wrong table would be caught too
    assert got[0] == pytest.approx(0.412 * 4 + 0.138 * 4 + 0.125 * 11 + 0.10 * 10 + 0.225 * 2)
    assert got[3] == pytest.approx(0.412 * 160 + 0.138 * 147 + 0.125 * 128 + 0.10 * 124 + 0.225 * 112)


def test_bracketed_alloy_matches_hand_calculation():
    got = PaperDescriptors().transform(["(Zr46.75Ti8.25Cu7.5Ni10Be27.5)92Al8"])[0]
    inner = {"Zr": 46.75, "Ti": 8.25, "Cu": 7.5, "Ni": 10, "Be": 27.5}
    fr = {e: a * 0.92 for e, a in inner.items()} | {"Al": 8.0}
    np.testing.assert_allclose(got, hand_means(fr), rtol=1e-12)
    assert got[0] == pytest.approx(4.449, abs=1e-9)


def test_paper_element_values():
    # the paper's radii (pm) and the VEC convention of metallic-glass papers
    t = element_table()
    assert t.loc[["Zr", "Ti", "Cu", "Ni", "Al", "Be"], "r_pm"].tolist() == [160, 147, 128, 124, 143, 112]
    assert t.loc[["Cu", "Ni", "Fe", "Zr", "Al", "Be", "Gd", "Sn"], "vec"].tolist() == [11, 10, 8, 4, 3, 2, 3, 4]
    assert t.drop(columns="g_GPa").notna().all().all()
    assert t.index[t["g_GPa"].isna()].tolist() == ["Cs"]  # the one documented gap


def test_matrix_path_equals_composition_path():
    comps = ["Cu50Zr50", "Zr41.2Ti13.8Cu12.5Ni10Be22.5", "Pd40Ni40P20"]
    A, els = composition_matrix(comps)
    np.testing.assert_allclose(A.sum(axis=1), 1.0)
    f = PaperDescriptors()
    np.testing.assert_allclose(f.transform_matrix(A * 100, els), f.transform(comps))


def test_chunking_gives_same_answer(monkeypatch):
    import pcids.descriptors as d

    rng = np.random.default_rng(0)
    A = rng.dirichlet(np.ones(7), size=1000)
    els = ["Zr", "Ti", "Cu", "Ni", "Be", "Al", "Fe"]
    full = PaperDescriptors().transform_matrix(A, els)
    monkeypatch.setattr(d, "CHUNK_ROWS", 64)
    np.testing.assert_allclose(PaperDescriptors().transform_matrix(A, els), full)
    np.testing.assert_allclose(full, A @ property_matrix(els))


def test_rich_descriptors_binary():
    r = RichDescriptors()
    row = dict(zip(r.feature_labels(), r.transform(["Cu50Zr50"])[0]))
    assert row["S_mix"] == pytest.approx(np.log(2))
    # delta = 100 sqrt(0.5 (1-128/144)^2 + 0.5 (1-160/144)^2) = 100 * 16/144
    assert row["delta"] == pytest.approx(100 * 16 / 144)
    assert row["dev_VEC"] == pytest.approx(3.5)
    assert (row["min_r"], row["max_r"]) == (128, 160)
    assert row["d_chi"] == pytest.approx(abs(1.90 - 1.33) / 2)
    assert len(r.feature_labels()) == 3 + 4 * 5


def test_single_element_has_zero_mismatch():
    row = RichDescriptors().transform(["Fe"])[0]
    assert row[0] == pytest.approx(0) and row[1] == pytest.approx(0, abs=1e-5)


def test_unsupported_element_lists_supported():
    with pytest.raises(UnsupportedElementError, match="no property data for element.*Xe.*supported: H Li"):
        PaperDescriptors().transform(["Xe50Cu50"])
    assert "Zr" in supported_elements() and len(supported_elements()) >= 70


def test_bad_matrix_shape_and_zero_row():
    with pytest.raises(PcidsError, match="shape"):
        PaperDescriptors().transform_matrix(np.ones((3, 2)), ["Cu", "Zr", "Al"])
    with pytest.raises(PcidsError, match="no positive fraction"):
        PaperDescriptors().transform_matrix(np.zeros((1, 2)), ["Cu", "Zr"])


def test_featurize_dataframe_never_overwrites():
    df = pd.DataFrame({"formula": ["Cu50Zr50"], "r": [1.0]})
    with pytest.raises(PcidsError, match="already exist"):
        PaperDescriptors().featurize_dataframe(df)
    out = PaperDescriptors().featurize_dataframe(df, overwrite=True)
    assert out.loc[0, "r"] == pytest.approx(144.0)
    assert df.loc[0, "r"] == 1.0  # input untouched


def test_paper_descriptors_frame_and_masses():
    df = paper_descriptors([Composition.from_formula("Zr50Cu50")])
    assert list(df.columns) == ["VEC", "Tm", "chi", "r"] and df.index[0] == "Cu50Zr50"
    np.testing.assert_allclose(atomic_masses(["Zr", "Al", "Ni", "Cu"]), [91.224, 26.98154, 58.6934, 63.546])


def test_weighted_means_add_density_and_keep_the_paper_four():
    from pcids.descriptors import WEIGHTED_MEANS, WeightedMeans

    f = WeightedMeans(("VEC", "Tm", "chi", "r", "rho"))
    got = f.transform(["Zr41.2Ti13.8Cu12.5Ni10Be22.5"])[0]
    np.testing.assert_allclose(got[:4], PaperDescriptors().transform(["Zr41.2Ti13.8Cu12.5Ni10Be22.5"])[0], rtol=1e-12)
    # g/cm^3 of the solid elements (pymatgen): Zr 6.511, Ti 4.507, Cu 8.92, Ni 8.908, Be 1.848
    assert got[4] == pytest.approx(0.412 * 6.511 + 0.138 * 4.507 + 0.125 * 8.92 + 0.10 * 8.908 + 0.225 * 1.848)
    # linear in the fractions: descriptors = fractions @ property_matrix
    P = f.property_matrix(["Zr", "Ti", "Cu", "Ni", "Be"])
    np.testing.assert_allclose(np.array([0.412, 0.138, 0.125, 0.10, 0.225]) @ P, got, rtol=1e-12)
    assert f.feature_labels() == ["VEC", "Tm", "chi", "r", "rho"] and "Tboil" in WEIGHTED_MEANS
    with pytest.raises(PcidsError, match="unknown weighted-mean feature"):
        WeightedMeans(("VEC", "hardness")).transform(["Cu50Zr50"])


def test_elemental_moduli_rule_of_mixtures_and_gaps():
    from pcids.descriptors import WeightedMeans
    from pcids.errors import UnsupportedElementError

    # shear / bulk moduli of the elements, GPa: Cu 48 / 140 (pymatgen), Zr 33 (pymatgen) / 94.967 (JARVIS-DFT fill)
    got = WeightedMeans(("G_el", "K_el")).transform(["Cu50Zr50"])[0]
    np.testing.assert_allclose(got, [0.5 * 48 + 0.5 * 33, 0.5 * 140 + 0.5 * 94.967], rtol=1e-12)
    # WebElements' 20 GPa for Mo is an erratum; the table carries the handbook 126 GPa
    assert WeightedMeans(("G_el",)).transform(["Mo100"])[0, 0] == pytest.approx(126.0)
    # no source gives Cs a shear modulus: a clear refusal naming the element, not a NaN
    with pytest.raises(UnsupportedElementError, match=r"Cs \(g_GPa\)"):
        WeightedMeans(("VEC", "G_el")).transform(["Cs10Cu90"])
    assert np.isfinite(WeightedMeans(("VEC", "rho")).transform(["Cs10Cu90"])).all()

"""Bundled data: every row parsed or reported, merge rules, derived moduli."""

from __future__ import annotations

import csv
import hashlib
import io
import math
from importlib import resources

import pandas as pd
import pytest

from pcids import datasets
from pcids.composition import Composition
from pcids.errors import FormulaError, PcidsError

FORMULA_COLUMN = {
    "xiong2020_elastic_moduli.csv": "Alloy",
    "xiong2020_dmax.csv": "Alloy Formula",
    "xiong2020_gfa.csv": "Alloy",
    "ward2018_metallic_glasses.csv": "composition",
    "dmref_v5_metallic_glasses.csv": "Composition",
    "xiong2020_characteristic_temperatures.csv": "Alloy",
    "dmref_v5_characteristic_temperatures.csv": "Composition",
}
LOADERS = {"elastic": datasets.load_elastic, "gfa": datasets.load_gfa, "temperatures": datasets.load_temperatures}


def _rows(filename: str) -> list[dict[str, str]]:
    text = resources.files("pcids").joinpath("data", filename).read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.fixture(scope="module")
def elastic() -> pd.DataFrame:
    return datasets.load_elastic()


@pytest.fixture(scope="module")
def gfa() -> pd.DataFrame:
    return datasets.load_gfa()


@pytest.fixture(scope="module")
def gfa_log() -> pd.DataFrame:
    return datasets.merge_log("gfa").set_index("formula")


def by_formula(df: pd.DataFrame, text: str) -> pd.Series:
    key = Composition.from_formula(text).formula
    hit = df[df["formula"] == key]
    assert len(hit) == 1, f"{text} ({key}) not found once"
    return hit.iloc[0]


# ---------------------------------------------------------------------------
# files


def test_bundled_files_and_readme():
    data = resources.files("pcids").joinpath("data")
    for files in datasets.DATASETS.values():
        for f in files:
            assert data.joinpath(f).is_file()
    readme = data.joinpath("README.md").read_text()
    for needle in ("Xiong", "Ward", "DMREF", "GPL-3.0", "MIT", "108378", "Acta Materialia", "CTT.csv"):
        assert needle in readme


def test_data_hash_is_sha256_of_bundled_bytes():
    h = datasets.data_hash("elastic")
    assert len(h) == 64 and int(h, 16) >= 0
    assert h == datasets.data_hash("elastic")
    assert h != datasets.data_hash("gfa")
    raw = resources.files("pcids").joinpath("data", "xiong2020_elastic_moduli.csv").read_bytes()
    expected = hashlib.sha256(b"xiong2020_elastic_moduli.csv\0" + raw).hexdigest()
    assert h == expected


def test_unknown_dataset_is_a_clear_error():
    for fn in (datasets.set_aside, datasets.merge_log, datasets.summary, datasets.data_hash):
        with pytest.raises(PcidsError, match="unknown dataset 'moduli'.*elastic, gfa"):
            fn("moduli")


@pytest.mark.parametrize("name", list(datasets.DATASETS))
def test_every_row_is_used_or_set_aside_with_a_reason(name):
    """Each source row either yields a composition present in the frame or is listed."""
    df = LOADERS[name]()
    aside = datasets.set_aside(name)
    assert list(aside.columns[:4]) == ["source", "row", "raw_formula", "reason"]
    assert aside["reason"].str.len().gt(0).all() and aside["detail"].str.len().gt(0).all()
    assert not aside.duplicated(["source", "row"]).any()
    listed = set(zip(aside["source"], aside["row"]))
    formulas = set(df["formula"])
    seen: dict[str, str] = {}
    for filename in datasets.DATASETS[name]:
        source = filename.removesuffix(".csv")
        for i, row in enumerate(_rows(filename)):
            raw = row[FORMULA_COLUMN[filename]]
            if (source, i) in listed:
                continue
            # not set aside: it parses (zero-amount terms dropped) into an alloy of the frame
            if raw not in seen:
                seen[raw] = Composition.from_formula(raw.strip()).formula
            assert seen[raw] in formulas, (source, i, raw)


@pytest.mark.parametrize("name", list(datasets.DATASETS))
def test_unparseable_rows_carry_the_parser_message(name):
    aside = datasets.set_aside(name)
    bad = aside[aside["reason"] == "unparseable formula"]
    for raw, detail in zip(bad["raw_formula"], bad["detail"]):
        with pytest.raises(FormulaError) as info:
            Composition.from_formula(raw)
        assert detail == str(info.value).splitlines()[0]


def test_known_unparseable_and_impossible_rows_are_reported():
    aside = datasets.set_aside("gfa")
    reasons = dict(zip(aside["raw_formula"], aside["reason"]))
    assert reasons["Al40Cu60T"] == "unparseable formula"
    assert reasons["Mo52Cr14Fel4P12B8"] == "unparseable formula"
    assert reasons["2.556"] == "unparseable formula"
    assert reasons["D13Ni43.5Zr43.5"] == "unparseable formula"  # deuterium is no element symbol here
    assert reasons["Zr53Ti5Cu20Ni12Al15"] == "impossible sum"
    assert reasons["Zr57"] == "impossible sum"
    assert reasons["Al9Y9"] == "impossible sum"
    detail = aside.loc[aside["raw_formula"] == "Zr53Ti5Cu20Ni12Al15", "detail"].iloc[0]
    assert "sum to 105" in detail


def test_fraction_ratio_and_implicit_formulas_are_fine():
    for text in ("Cu0.5NiAlCoCrFe", "SrCaYbMgZn", "(Fe0.75B0.15Si0.10)99Zr1", "Cu33.3Mg33.3Ca33.3"):
        p = datasets._parse(text)
        assert p.composition is not None, text
    assert datasets._parse("Ag0Cu32Fe68").composition == Composition.from_formula("Cu32Fe68")
    assert datasets._parse("Ag0Cu32Fe68").zero_terms_removed
    assert datasets._parse("Fe0.5Co0.5").composition is not None  # 0.5 is not a zero term
    assert datasets._parse("Ti50Ni24Cu20B1Si2Sn2").reason == "impossible sum"  # 99: a term is off
    assert datasets._parse("Zr46.25Ti8.25Cu7.5Ni10Be27.5").composition is not None  # 99.5: rounding


# ---------------------------------------------------------------------------
# elastic


def test_elastic_shape_and_columns(elastic):
    assert 230 <= len(elastic) <= 250  # 246 rows, one set aside
    assert elastic["formula"].is_unique
    for col in ("formula", "formula_as_written", "G", "K", "E", "nu", "n_elements", "system", "source"):
        assert col in elastic.columns
    elements = elastic.attrs["elements"]
    assert {"Zr", "Cu", "Ni", "Al", "Be", "Ti", "Pd", "Mg"} <= set(elements)
    assert elastic[elements].sum(axis=1).to_numpy() == pytest.approx(100)
    assert (elastic[elements] >= 0).all().all()
    assert (elastic["source"] == "xiong2020_elastic_moduli").all()


def test_elastic_written_order_and_canonical(elastic):
    row = by_formula(elastic, "Sr60Li5Mg15Zn20")
    assert row["formula_as_written"] == "Sr60Li5Mg15Zn20"
    assert row["formula"] == "Sr60Zn20Mg15Li5"
    assert row["n_elements"] == 4
    assert row["system"] == "Li-Mg-Sr-Zn"
    assert row["Sr"] == 60 and row["Li"] == 5 and row["Cu"] == 0


def test_e_and_nu_by_hand(elastic):
    # Sr60Li5Mg15Zn20: G = 7, K = 16.1
    row = by_formula(elastic, "Sr60Li5Mg15Zn20")
    g, k = 7.0, 16.1
    assert row["G"] == g and row["K"] == k
    assert row["E"] == pytest.approx(9 * 16.1 * 7 / (3 * 16.1 + 7))  # 1014.3 / 55.3
    assert row["E"] == pytest.approx(18.34177, abs=1e-4)
    assert row["nu"] == pytest.approx((48.3 - 14) / (2 * 55.3))
    assert row["nu"] == pytest.approx(0.310127, abs=1e-5)
    # isotropic consistency: E = 2G(1 + nu) = 3K(1 - 2nu)
    ok = elastic.dropna(subset=["K"])
    assert ok["E"].to_numpy() == pytest.approx((2 * ok["G"] * (1 + ok["nu"])).to_numpy())
    assert ok["E"].to_numpy() == pytest.approx((3 * ok["K"] * (1 - 2 * ok["nu"])).to_numpy())


def test_row_missing_k_is_kept_for_g(elastic):
    missing = elastic[elastic["K"].isna()]
    assert len(missing) == 3
    assert missing["G"].notna().all()
    assert missing["E"].isna().all() and missing["nu"].isna().all()
    row = by_formula(elastic, "Zr65Al10Ni10Cu15")
    assert row["G"] == 30.3 and math.isnan(row["K"])


def test_elastic_105_set_aside_and_flags(elastic):
    aside = datasets.set_aside("elastic")
    assert list(aside["raw_formula"]) == ["Zr53Ti5Cu20Ni12Al15"]
    assert list(aside["reason"]) == ["impossible sum"]
    assert not elastic["formula_as_written"].eq("Zr53Ti5Cu20Ni12Al15").any()
    assert "Pd40Ni40P20" in by_formula(elastic, "Pd40Cu40P20")["note"]
    assert by_formula(elastic, "Mg65Cu25Tb10")["G"] == 19.6
    assert (elastic["note"] != "").sum() == 2


def test_elastic_duplicates_are_averaged(monkeypatch):
    """No duplicates in the bundled copy, so exercise the rule on a small file."""
    text = "Alloy,G,K\nCu50Zr50,30,100\nZr50Cu50,32,\nCu60Zr40,31,110\nZr53Ti5Cu20Ni12Al15,1,2\nCu50Zr50,-1,100\n"
    monkeypatch.setattr(datasets, "_read_rows", lambda f: list(csv.DictReader(io.StringIO(text))))
    datasets._elastic.cache_clear()
    try:
        df = datasets.load_elastic()
        log = datasets.merge_log("elastic")
        aside = datasets.set_aside("elastic")
    finally:
        datasets._elastic.cache_clear()
    assert len(df) == 2
    row = by_formula(df, "Cu50Zr50")
    assert row["G"] == 31 and row["K"] == 100  # G mean of 30 and 32; K only from the first
    assert row["formula_as_written"] == "Cu50Zr50"  # first seen
    assert list(log["formula"]) == ["Cu50Zr50"] and log["n_records"].iloc[0] == 2
    assert sorted(aside["reason"]) == ["implausible value", "impossible sum"]


def test_frames_are_copies(elastic):
    a = datasets.load_elastic()
    a.loc[0, "G"] = -1.0
    a.attrs["elements"].append("Xx")
    b = datasets.load_elastic()
    assert b.loc[0, "G"] != -1.0
    assert "Xx" not in b.attrs["elements"]


# ---------------------------------------------------------------------------
# glass-forming ability


def test_gfa_shape_and_columns(gfa):
    # derived from the bundled files: ~7,100 distinct alloys, ~1,000 with a measured Dmax
    # (the shared README's ~7,700 / ~1,300 count every composition, including DMREF rows
    # that carry no GFA information and are set aside here)
    assert 6_800 <= len(gfa) <= 7_800
    assert 950 <= gfa["dmax_mm"].notna().sum() <= 1_400
    assert gfa["formula"].is_unique
    for col in ("formula", "dmax_mm", "gfa_class", "n_sources", "conflict", "n_dmax", "n_elements", "system"):
        assert col in gfa.columns
    assert set(gfa["gfa_class"]) == {"bulk glass", "ribbon glass", "crystalline"}
    assert gfa["conflict"].dtype == bool
    assert (gfa["n_sources"] >= 1).all()
    assert ((gfa["n_dmax"] > 0) == gfa["dmax_mm"].notna()).all()
    elements = gfa.attrs["elements"]
    assert gfa[elements].sum(axis=1).to_numpy() == pytest.approx(100)
    counts = gfa["gfa_class"].value_counts()
    assert counts["ribbon glass"] > counts["bulk glass"] > 1_000
    assert counts["crystalline"] > 1_000


def test_placeholders_are_not_diameters(gfa):
    # Xiong 0.1 and Ward 0.2 mark ribbons: never a Dmax
    row = by_formula(gfa, "Ag20Al25La55")  # Ward Ribbon 0.2
    assert row["gfa_class"] == "ribbon glass"
    assert math.isnan(row["dmax_mm"]) and row["n_dmax"] == 0
    # no ribbon-only alloy carries a diameter from a placeholder
    ribbons = gfa[(gfa["gfa_class"] == "ribbon glass") & ~gfa["conflict"]]
    assert ribbons["dmax_mm"].isna().all()
    # crystalline (Xiong 0 / Ward empty) never has a Dmax
    assert gfa.loc[gfa["gfa_class"] == "crystalline", "dmax_mm"].isna().all()
    assert by_formula(gfa, "Ag27Cu73")["gfa_class"] == "crystalline"


def test_sub_millimetre_rod_is_a_measured_diameter(gfa):
    # Xiong 0.2, Ward BMG 0.2, DMREF rod 0.2: a real diameter, not a placeholder
    row = by_formula(gfa, "Ti50Cu42.5Ni7.5")
    assert row["dmax_mm"] == pytest.approx(0.2)
    assert row["gfa_class"] == "bulk glass"
    assert row["n_dmax"] >= 3


def test_duplicates_merged_by_median(gfa, gfa_log):
    row = by_formula(gfa, "Cu50Zr43Al7")  # 3, 4 and 10 mm across sources
    assert row["n_sources"] >= 5
    assert row["dmax_mm"] == pytest.approx(4.0)
    assert row["gfa_class"] == "bulk glass"
    assert row["conflict"]  # 10 vs 3 mm: > 1 mm and > 1.5x
    entry = gfa_log.loc[row["formula"]]
    assert entry["n_records"] == row["n_sources"]
    assert "10.0" in entry["values"] and "3.0" in entry["values"]


def test_median_counts_each_value_once_per_source():
    recs = [
        datasets._Record("dmref", 0, "x", Composition.from_formula("Cu50Zr50"), "bulk glass", d)
        for d in (2.0, 2.0, 2.0)
    ] + [datasets._Record("ward", 1, "x", Composition.from_formula("Cu50Zr50"), "bulk glass", 5.0)]
    assert datasets._median_distinct(recs) == pytest.approx(3.5)  # not 2.0
    assert datasets._dmax_conflict([2.0, 5.0])  # 3 mm and 2.5x
    assert not datasets._dmax_conflict([0.5, 1.2])  # 2.4x but only 0.7 mm
    assert not datasets._dmax_conflict([10.0, 12.0])  # 2 mm but only 1.2x
    assert not datasets._dmax_conflict([3.0])


def test_implausible_150mm_is_set_aside(gfa):
    aside = datasets.set_aside("gfa")
    hit = aside[(aside["raw_formula"] == "Cu30Ni7.5P20Pd42.5") & (aside["reason"] == "implausible value")]
    assert len(hit) == 1 and hit["source"].iloc[0] == "dmref_v5_metallic_glasses"
    assert "Dmax 150 mm" in hit["detail"].iloc[0]
    row = by_formula(gfa, "Pd42.5Cu30P20Ni7.5")
    assert row["gfa_class"] == "bulk glass"  # other records keep it
    assert math.isnan(row["dmax_mm"])  # no other diameter was measured
    assert gfa["dmax_mm"].max() <= datasets.MAX_PLAUSIBLE_DMAX_MM
    assert gfa["dmax_mm"].min() >= datasets.MIN_PLAUSIBLE_DMAX_MM


def test_class_conflict_is_flagged(gfa, gfa_log):
    row = by_formula(gfa, "Ni69B28Si3")
    assert row["conflict"]
    assert row["gfa_class"] == "crystalline"  # 3 crystalline votes vs 1 ribbon glass
    assert "crystalline x3" in gfa_log.loc[row["formula"], "values"]
    n = int(gfa["conflict"].sum())
    assert 60 <= n <= 250  # shared README: "about a hundred" class conflicts plus Dmax disagreements


def test_tie_goes_to_the_glassier_class(gfa, gfa_log):
    row = by_formula(gfa, "Cu50Mg50")
    assert "bulk glass x3, crystalline x3" in gfa_log.loc[row["formula"], "values"]
    assert row["gfa_class"] == "bulk glass" and row["conflict"]


def test_dmref_ribbon_is_a_lower_bound(gfa):
    # Zr41.2Ti13.8Cu12.5Ni10Be22.5 (Vit1) is melt-spun too; that must not outvote bulk glass
    row = by_formula(gfa, "Zr41.2Ti13.8Cu12.5Ni10Be22.5")
    assert row["gfa_class"] == "bulk glass"
    assert row["dmax_mm"] >= 10


def test_dmref_evidence_rules():
    ev = datasets._dmref_evidence
    assert ev({"Is_Amorphous?": "AM", "Type": "Rod", "Casting": "Melt Casting", "Dmax_[mm]": "3"})[:2] == ("bulk glass", 3.0)
    assert ev({"Is_Amorphous?": "", "Type": "", "Casting": "", "Dmax_[mm]": "2.5"})[:2] == ("bulk glass", 2.5)
    assert ev({"Is_Amorphous?": "AM", "Type": "Rod", "Casting": "", "Dmax_[mm]": ""})[0] == "bulk glass"
    assert ev({"Is_Amorphous?": "AM", "Type": "Ribbon", "Casting": "Melt Spinning", "Dmax_[mm]": ""})[0] == "glass"
    assert ev({"Is_Amorphous?": "CR", "Type": "Ribbon", "Casting": "Melt Spinning", "Dmax_[mm]": ""})[0] == "crystalline"
    assert ev({"Is_Amorphous?": "AC", "Type": "Ribbon", "Casting": "Melt Spinning", "Dmax_[mm]": ""})[0] == "crystalline"
    assert ev({"Is_Amorphous?": "AM", "Type": "Thin Film", "Casting": "Deposition", "Dmax_[mm]": ""})[2] == "not melt-quenched"
    assert ev({"Is_Amorphous?": "AM", "Type": "Powder", "Casting": "Mechanical", "Dmax_[mm]": ""})[2] == "not melt-quenched"
    assert ev({"Is_Amorphous?": "['AM' 'AC']", "Type": "Ribbon", "Casting": "", "Dmax_[mm]": ""})[2] == "ambiguous label"
    assert ev({"Is_Amorphous?": "AC", "Type": "Rod", "Casting": "Melt Casting", "Dmax_[mm]": ""})[2] == (
        "crystalline cast of unknown size"
    )
    assert ev({"Is_Amorphous?": "", "Type": "", "Casting": "", "Dmax_[mm]": ""})[2] == "no GFA information"


def test_summary_numbers_are_consistent(gfa, elastic):
    s = datasets.summary("gfa")
    aside = datasets.set_aside("gfa")
    assert s["alloys"] == len(gfa)
    assert s["with_measured_dmax"] == gfa["dmax_mm"].notna().sum()
    assert s["conflicts"] == gfa["conflict"].sum()
    assert sum(s["classes"].values()) == len(gfa)
    assert s["set_aside"]["total"] == len(aside) == sum(s["set_aside"]["by_reason"].values())
    used = int(gfa["n_sources"].sum())
    assert used + len(aside) == sum(s["rows_read"].values())  # nothing dropped silently
    assert s["ranges"]["dmax_mm"][1] <= 100
    assert s["data_hash"] == datasets.data_hash("gfa")
    e = datasets.summary("elastic")
    assert e["alloys"] == len(elastic)
    assert e["missing"]["K"] == 3
    assert e["ranges"]["G"][0] == 7.0
    assert 0 < e["ranges"]["nu"][0] < e["ranges"]["nu"][1] < 0.5
    assert e["rows_read"] == e["alloys"] + e["set_aside"]["total"]

"""Characteristic temperatures: decimal-shift fixes, ordering, merge and derived quantities."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pcids import _temperature_data as td
from pcids import datasets
from pcids.composition import Composition


@pytest.fixture(scope="module")
def temps() -> pd.DataFrame:
    return datasets.load_temperatures()


def row(df: pd.DataFrame, text: str) -> pd.Series:
    hit = df[df["formula"] == Composition.from_formula(text).formula]
    assert len(hit) == 1, text
    return hit.iloc[0]


# ---------------------------------------------------------------------------
# the per-record rule


def test_decimal_shift_is_corrected_when_it_makes_the_record_ordered():
    values, fixed, reason, _ = td.decimal_shift({"Tg": 6502.0, "Tx": 747.0, "Tl": 1188.0})
    assert fixed == ["Tg"] and reason == ""
    assert values == pytest.approx({"Tg": 650.2, "Tx": 747.0, "Tl": 1188.0})
    values, fixed, reason, _ = td.decimal_shift({"Tg": 5850.5, "Tx": 7160.5})
    assert fixed == ["Tg", "Tx"] and reason == ""
    assert values == pytest.approx({"Tg": 585.05, "Tx": 716.05})


def test_a_shift_that_does_not_order_the_record_is_not_applied():
    # 7000 / 10 = 700 is below Tx: the record stays as written and goes aside
    values, fixed, reason, detail = td.decimal_shift({"Tg": 600.0, "Tx": 750.0, "Tl": 7000.0})
    assert fixed == [] and values["Tl"] == 7000.0
    assert reason == "implausible value" and "Tl = 7000 K outside [250, 2500] K" in detail


def test_values_out_of_range_without_a_shift_are_implausible():
    assert td.decimal_shift({"Tg": 120.0, "Tx": 300.0})[2] == "implausible value"
    assert td.decimal_shift({"Tl": 40000.0})[2] == "implausible value"  # a tenth is still too hot


@pytest.mark.parametrize(
    "values, where",
    [
        ({"Tg": 461.0, "Tx": 461.0, "Tl": 701.0}, "Tg = 461 K is not below Tx = 461 K"),
        ({"Tg": 673.0, "Tx": 759.0, "Tl": 672.0}, "Tx = 759 K is not below Tl = 672 K"),
        ({"Tg": 700.0, "Tl": 690.0}, "Tg = 700 K is not below Tl = 690 K"),  # Tx not given: Tg < Tl still holds
    ],
)
def test_order_is_checked_on_the_values_given(values, where):
    _, _, reason, detail = td.decimal_shift(values)
    assert reason == "inconsistent temperatures"
    assert where in detail


def test_single_values_and_ordered_records_pass():
    for values in ({"Tl": 900.0}, {"Tg": 400.0}, {"Tg": 400.0, "Tx": 450.0, "Tl": 700.0}):
        assert td.decimal_shift(values) == (values, [], "", "")


# ---------------------------------------------------------------------------
# the bundled data


def test_known_typos_are_corrected_and_listed(temps):
    fixes = datasets.corrections("temperatures")
    got = {(r.raw_formula, r.column): (r.value, r.corrected) for r in fixes.itertuples()}
    assert got[("Al7.5Cu17.5Ni10Zr65", "Tg")] == pytest.approx((6502.0, 650.2))
    assert got[("Cu27Ni10P20Pd43", "Tg")] == pytest.approx((5850.5, 585.05))
    assert got[("Cu27Ni10P20Pd43", "Tx")] == pytest.approx((7160.5, 716.05))
    assert got[("La16.15Mg60Ni23.6Si0.25", "Tl")] == pytest.approx((8263.0, 826.3))
    assert set(fixes["source"]) == {"dmref_v5_characteristic_temperatures"}
    # the corrected values agree with the other records of the same alloy
    r = row(temps, "Zr65Al7.5Cu17.5Ni10")
    assert 645 < r["Tg"] < 660
    assert row(temps, "La16.15Mg60Ni23.6Si0.25")["Tl"] == pytest.approx(826.15, abs=0.2)
    assert row(temps, "Pd43Cu27Ni10P20")["Tg"] == pytest.approx(585.05)
    assert datasets.corrections("elastic").empty and datasets.corrections("gfa").empty


def test_an_alloy_written_in_celsius_is_converted_and_listed(temps):
    """DMREF's Zr48Cu47.5Al4X0.5 series (one paper) gives Tg ~ 416, Tl ~ 920: degrees Celsius. Every temperature
    of such an alloy lies ~273 K below its neighbours' (within 8 at.%); 273.15 K is added and each value listed."""
    import numpy as np
    from scipy.spatial.distance import cdist

    fixes = datasets.corrections("temperatures")
    c = fixes[fixes["detail"].str.contains("degrees Celsius")]
    assert set(c["raw_formula"]) >= {"Al4Cr0.5Cu47.5Zr48", "Al4Cu47.5Fe0.5Zr48", "Al4Cu47.5Ni0.5Zr48", "Al4Cu47.5V0.5Zr48"}
    assert np.allclose(c["corrected"] - c["value"], 273.15) and set(c["column"]) == {"Tg", "Tx", "Tl"}
    els = temps.attrs["elements"]
    A = temps[els].to_numpy(float)
    for raw in sorted(set(c["raw_formula"])):
        r = row(temps, raw)
        i = temps.index.get_loc(r.name)
        d = cdist(A[i : i + 1], A, "cityblock")[0]
        near = (d <= td.CELSIUS_RADIUS) & (d > 0)
        for n in ("Tg", "Tx", "Tl"):  # now where its neighbours are
            assert abs(r[n] - temps.loc[near, n].median()) <= td.CELSIUS_MATCH_K, (raw, n)
        assert r["Trg"] == pytest.approx(r["Tg"] / r["Tl"]) and r["dTx"] == pytest.approx(r["Tx"] - r["Tg"])
    # the rule changes nothing else: every other correction is a shifted decimal point
    assert fixes.loc[~fixes.index.isin(c.index), "detail"].str.contains("decimal point").all()


def test_every_alloy_is_ordered_and_in_range(temps):
    for a, b in (("Tg", "Tx"), ("Tx", "Tl"), ("Tg", "Tl")):
        both = temps[[a, b]].dropna()
        assert len(both) > 1000
        assert (both[a] < both[b]).all()
    for c in td.TEMPERATURES:
        assert temps[c].dropna().between(td.MIN_PLAUSIBLE_T_K, td.MAX_PLAUSIBLE_T_K).all()
    assert temps[list(td.TEMPERATURES)].notna().any(axis=1).all()


def test_derived_quantities_by_hand(temps):
    r = row(temps, "Zr70Al8Cu19Ni3")  # 630, 689, 1200 in both files
    assert (r["Tg"], r["Tx"], r["Tl"]) == (630.0, 689.0, 1200.0)
    assert r["dTx"] == pytest.approx(59.0)
    assert r["Trg"] == pytest.approx(630 / 1200)
    assert r["gamma"] == pytest.approx(689 / (630 + 1200))
    partial = temps[temps["Tl"].isna() & temps["Tg"].notna()].iloc[0]
    assert math.isnan(partial["Trg"]) and math.isnan(partial["gamma"])


def test_unordered_records_are_set_aside_with_the_reason(temps):
    aside = datasets.set_aside("temperatures")
    bad = aside[aside["reason"] == "inconsistent temperatures"]
    assert "Ag15Cu10Gd10Mg65" in set(bad["raw_formula"])  # Tg = Tx = 461 K
    assert "Ag15Cu40Zr45" in set(bad["raw_formula"])  # Tl 671.8 below Tg 672.8
    assert (bad["detail"].str.contains("needs Tg < Tx < Tl") | bad["detail"].str.contains("Tg / Tl")).all()
    # Ag15Cu10Gd10Mg65 had no other record: the alloy is absent
    assert Composition.from_formula("Ag15Cu10Gd10Mg65").formula not in set(temps["formula"])


def test_merge_is_the_median_of_distinct_values_per_source(temps):
    # Cu50Zr50 Tg: DMREF 670 (x6), 673, 682 (x2), 686 (x3); Xiong 686 -> distinct (source, value):
    # dmref 670, 673, 682, 686; xiong 686 -> median 682
    r = row(temps, "Cu50Zr50")
    assert r["Tg"] == 682.0
    assert r["n_records"] == 12
    log = datasets.merge_log("temperatures").set_index("formula")
    assert log.loc[r["formula"], "n_records"] == 12


def test_conflicting_values_set_that_temperature_aside(temps):
    r = row(temps, "Tb36Y20Al24Co20")  # Tx 868 (DMREF) vs 686 (Xiong): span 182 K
    assert math.isnan(r["Tx"]) and r["Tg"] == 619.0 and r["Tl"] == 1021.0
    assert r["conflict"] == "Tx"
    aside = datasets.set_aside("temperatures")
    hits = aside[aside["raw_formula"].isin(["Tb36Y20Al24Co20", "Al24Co20Tb36Y20"])]
    assert len(hits) == 3 and (hits["reason"] == "conflicting values").all()
    assert hits["detail"].str.contains("span 182 K > 50 K").all()
    # a spread within the threshold is merged, not flagged
    assert row(temps, "Cu50Zr50")["conflict"] == ""


def test_summary_reports_corrections_and_counts(temps):
    s = datasets.summary("temperatures")
    assert s["alloys"] == len(temps)
    fixes = datasets.corrections("temperatures")
    assert s["corrected"]["total"] == len(fixes) == (~fixes["detail"].str.contains("Celsius")).sum() + 3 * 7
    assert any("6502" in v for v in s["corrected"]["values"])
    assert s["with_value"]["Tg"] == temps["Tg"].notna().sum()
    assert s["set_aside"]["total"] == len(datasets.set_aside("temperatures"))
    assert s["conflicts_by_temperature"]["Tx"] == (temps["conflict"].str.contains("Tx")).sum()
    assert s["data_hash"] == datasets.data_hash("temperatures") != datasets.data_hash("gfa")


def test_reduced_glass_transition_above_0_8_is_inconsistent(temps):
    _, _, reason, detail = td.decimal_shift({"Tg": 800.6, "Tl": 867.6})
    assert reason == "inconsistent temperatures" and "Tg / Tl" in detail and "0.923" in detail
    assert temps["Trg"].max() <= td.MAX_PLAUSIBLE_TRG
    aside = datasets.set_aside("temperatures")
    bad = aside[aside["detail"].str.contains("Tg / Tl")]
    assert Composition.from_formula("Pr60Fe25Al10Mn5").formula in set(bad["raw_formula"].map(lambda f: Composition.from_formula(f).formula))

"""Alloy price per kg from the bundled element prices."""

from __future__ import annotations

import numpy as np
import pytest

from pcids import cost
from pcids.composition import Composition
from pcids.elements import element_table
from pcids.errors import PcidsError, UnsupportedElementError


def by_hand(amounts: dict[str, float]) -> float:
    """Sum over elements of mass fraction x price, from the two tables."""
    mass = element_table()["mass"]
    prices = cost.element_prices()
    grams = {el: a * mass[el] for el, a in amounts.items()}
    total = sum(grams.values())
    return sum(g / total * prices[el] for el, g in grams.items())


def test_table_is_complete_for_the_data_elements_and_positive():
    prices = cost.element_prices()
    assert len(prices) >= 70 and (prices > 0).all()
    for el in ("Zr", "Cu", "Al", "Ni", "Ti", "Be", "Fe", "Pd", "Pt", "Au", "La", "Mg", "B", "Si", "P", "C"):
        assert el in prices.index
    assert prices["Pt"] > prices["Pd"] > prices["Ag"] > prices["Cu"] > prices["Al"]  # the obvious order


def test_pure_element_is_its_table_price():
    prices = cost.element_prices()
    assert cost.price_per_kg("Cu") == pytest.approx(prices["Cu"], rel=1e-12)
    assert cost.price_per_kg({"Zr": 1}) == pytest.approx(prices["Zr"], rel=1e-12)


@pytest.mark.parametrize("formula", ["Cu50Zr50", "Zr41.2Ti13.8Cu12.5Ni10Be22.5", "Pd40Ni40P20", "Fe48Cr15Mo14C15B6Y2"])
def test_alloy_price_is_mass_weighted(formula):
    comp = Composition.from_formula(formula)
    assert cost.price_per_kg(formula) == pytest.approx(by_hand(dict(comp.items())), rel=1e-9)


def test_mass_not_atomic_fractions():
    # Pd is 1.8x heavier than Ni: by mass Pd40Ni40P20 is ~60 % Pd, by atoms 40 %
    prices = cost.element_prices()
    p = cost.price_per_kg("Pd40Ni40P20")
    assert 0.55 * prices["Pd"] < p < 0.65 * prices["Pd"]
    w = cost.mass_fractions(["Pd", "Ni", "P"], np.array([40.0, 40.0, 20.0]))
    assert w.sum() == pytest.approx(1.0) and w[0, 0] == pytest.approx(4256.8 / 7224.0, abs=0.002)  # 40 x 106.42 of 40 x 106.42 + 40 x 58.69 + 20 x 30.97


def test_notation_and_input_types_agree():
    a = cost.price_per_kg("(Fe50Ni50)83B17")
    assert a == pytest.approx(cost.price_per_kg("Fe41.5Ni41.5B17"), rel=1e-12)
    assert a == pytest.approx(cost.price_per_kg(Composition.from_formula("B17Fe41.5Ni41.5")), rel=1e-12)
    many = cost.price_per_kg(["Cu50Zr50", "Pd40Ni40P20", {"Cu": 1, "Zr": 1}])
    assert isinstance(many, np.ndarray) and many.shape == (3,)
    assert many[0] == pytest.approx(many[2], rel=1e-12)
    assert many[1] == pytest.approx(cost.price_per_kg("Pd40Ni40P20"), rel=1e-12)


def test_matrix_matches_single_alloys_and_ignores_unused_columns():
    elements = ["Zr", "Cu", "Al", "U"]  # U has no price, but no row uses it
    x = np.array([[50.0, 43.0, 7.0, 0.0], [65.0, 27.5, 7.5, 0.0], [100.0, 0.0, 0.0, 0.0]])
    got = cost.price_per_kg_matrix(elements, x)
    expected = [cost.price_per_kg(f) for f in ("Zr50Cu43Al7", "Zr65Cu27.5Al7.5", "Zr")]
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    np.testing.assert_allclose(cost.price_per_kg_matrix(elements, x / 100), got, rtol=1e-12)  # fractions too


def test_element_without_price_is_named():
    with pytest.raises(cost.MissingPriceError, match=r"no price for element\(s\) U ") as info:
        cost.price_per_kg("U10Zr90")
    assert isinstance(info.value, UnsupportedElementError) and isinstance(info.value, PcidsError)
    assert "priced:" in str(info.value) and " Zr " in str(info.value)
    with pytest.raises(cost.MissingPriceError, match="U"):
        cost.price_per_kg_matrix(["Zr", "U"], np.array([[90.0, 10.0]]))

"""Alloy-notation parser and Composition: every notation of the data README,
bad input with its specific message and position, and round-trip properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pcids.composition import PERIODIC_TABLE, Composition, canonical_formula, parse_formula
from pcids.errors import CompositionError, FormulaError, PcidsError, UnknownElementError


def approx_dict(d: dict[str, float], tol: float = 1e-9):
    return pytest.approx(d, abs=tol)


# ---------------------------------------------------------------------------
# notations of the shared data README


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Zr41.2Ti13.8Cu12.5Ni10Be22.5", {"Zr": 41.2, "Ti": 13.8, "Cu": 12.5, "Ni": 10, "Be": 22.5}),
        # a bracketed group with a number: own proportions, scaled to that many parts
        ("(Fe50Ni50)83B17", {"Fe": 41.5, "Ni": 41.5, "B": 17}),
        ("(CuNi)24.9", {"Cu": 50, "Ni": 50}),
        ("La57.6Al17.5(CuNi)24.9", {"La": 57.6, "Al": 17.5, "Cu": 12.45, "Ni": 12.45}),
        ("SrCaYbMgZn", {"Sr": 20, "Ca": 20, "Yb": 20, "Mg": 20, "Zn": 20}),
        ("((Fe0.5Co0.5)0.75B0.2Si0.05)96Nb4", {"Fe": 36, "Co": 36, "B": 19.2, "Si": 4.8, "Nb": 4}),
        ("(Ce0.72Cu0.28)85Al10Fe5", {"Ce": 61.2, "Cu": 23.8, "Al": 10, "Fe": 5}),
        (
            "(Zr46.75Ti8.25Cu7.5Ni10Be27.5)92Al8",
            {"Zr": 43.01, "Ti": 7.59, "Cu": 6.9, "Ni": 9.2, "Be": 25.3, "Al": 8},
        ),
        # square and curly brackets are brackets too
        ("[Fe50Ni50]83B17", {"Fe": 41.5, "Ni": 41.5, "B": 17}),
        ("{Fe50Ni50}83B17", {"Fe": 41.5, "Ni": 41.5, "B": 17}),
        ("{[(Fe0.5Co0.5)0.75B0.2Si0.05]96Nb4}", {"Fe": 36, "Co": 36, "B": 19.2, "Si": 4.8, "Nb": 4}),
        # implicit 1, decimals without a leading digit, fractions, unequal sums
        ("Cu0.5NiAlCoCrFe", {"Cu": 0.5 / 5.5 * 100, **{e: 100 / 5.5 for e in ("Ni", "Al", "Co", "Cr", "Fe")}}),
        ("Fe.8B.2", {"Fe": 80, "B": 20}),
        ("Fe0.8B0.2", {"Fe": 80, "B": 20}),
        ("Cu33.3Mg33.3Ca33.3", {"Cu": 100 / 3, "Mg": 100 / 3, "Ca": 100 / 3}),
        # a group without a number is transparent
        ("SrCaYb(Li0.55Mg0.45)Zn", {"Sr": 20, "Ca": 20, "Yb": 20, "Li": 11, "Mg": 9, "Zn": 20}),
        # repeated element, whitespace
        ("Cu30Zr50Cu20", {"Cu": 50, "Zr": 50}),
        (" Cu50 Zr50 ", {"Cu": 50, "Zr": 50}),
    ],
)
def test_notations(text, expected):
    c = Composition.from_formula(text)
    assert dict(c) == approx_dict({k: float(v) for k, v in expected.items()}, 1e-9)
    assert sum(c.values()) == pytest.approx(100)


def test_group_is_not_chemical_notation():
    # pymatgen reads this as Fe4150Ni4150B17
    assert canonical_formula("(Fe50Ni50)83B17") == "Fe41.5Ni41.5B17"
    assert Composition.from_formula("(CuNi)24.9").formula == "Cu50Ni50"


def test_parsed_formula_raw_total_and_implicit():
    p = parse_formula("Zr53Ti5Cu20Ni12Al15")
    assert p.raw_total == pytest.approx(105)
    assert not p.all_implicit
    p = parse_formula("SrCaYbMgZn")
    assert p.all_implicit and p.raw_total == 5
    assert parse_formula("(Fe50Ni50)83B17").raw_total == pytest.approx(100)
    assert parse_formula("Fe0.8B0.2").raw_total == pytest.approx(1)


def test_views_and_written_order():
    c = Composition.from_formula("Zr41.2Ti13.8Cu12.5Ni10Be22.5")
    assert c.elements == ("Zr", "Ti", "Cu", "Ni", "Be")
    assert c.fractions == pytest.approx((41.2, 13.8, 12.5, 10, 22.5))
    assert c.formula_as_written == "Zr41.2Ti13.8Cu12.5Ni10Be22.5"
    assert c.formula == "Zr41.2Be22.5Ti13.8Cu12.5Ni10"
    assert c.n_elements == 5
    assert c.system == "Be-Cu-Ni-Ti-Zr"
    # nested groups keep first-appearance order
    assert Composition.from_formula("(Ce0.72Cu0.28)85Al10Fe5").elements == ("Ce", "Cu", "Al", "Fe")


def test_equality_ignores_order_and_scale():
    a = Composition.from_formula("Cu50Zr50")
    b = Composition.from_formula("Zr50Cu50")
    c = Composition.from_formula("Zr0.5Cu0.5")
    assert a == b == c
    assert hash(a) == hash(b) == hash(c)
    assert len({a, b, c}) == 1
    assert a != Composition.from_formula("Cu60Zr40")


def test_canonical_string_sums_to_100_exactly():
    # largest-remainder rounding: 33.333 * 3 would lose 0.001
    f = Composition.from_formula("Cu33.3Mg33.3Ca33.3").formula
    total = sum(v for _, v in parse_formula(f).amounts.items())
    assert total == pytest.approx(100, abs=1e-9)


def test_tiny_amount_never_written_as_zero():
    c = Composition.from_dict({"Cu": 1e-6, "Zr": 100})
    # a "Cu0" would parse back without its Cu
    assert "Cu0" not in c.formula_as_written and "Cu0" not in c.formula
    assert Composition.from_formula(c.formula_as_written) == Composition.from_formula(c.formula)


@pytest.mark.parametrize(
    "text, same_as, zeros",
    [
        ("Ag50Cu0Fe50", "Ag50Fe50", ("Cu",)),
        ("Cu46Ti0Zr54", "Cu46Zr54", ("Ti",)),
        ("Cu46Ti0.0Zr54", "Cu46Zr54", ("Ti",)),
        ("Zr41.2Ti13.8Cu12.5Ni10Be22.5Al0", "Zr41.2Ti13.8Cu12.5Ni10Be22.5", ("Al",)),
        ("(Fe50Ni50)83B17Si0", "(Fe50Ni50)83B17", ("Si",)),
        ("(Fe50Co0Ni50)83B17", "(Fe50Ni50)83B17", ("Co",)),
        ("(CuZr)0Al100", "Al100", ("Cu", "Zr")),
    ],
)
def test_explicit_zero_terms_mean_the_element_is_absent(text, same_as, zeros):
    p = parse_formula(text)
    assert p.zero_terms == zeros and p.amounts == approx_dict(parse_formula(same_as).amounts)
    assert p.raw_total == pytest.approx(parse_formula(same_as).raw_total) and p.sum_problem() is None
    c = Composition.from_formula(text)
    assert c == Composition.from_formula(same_as) and not set(zeros) & set(c.elements)
    assert parse_formula(same_as).zero_terms == ()


# ---------------------------------------------------------------------------
# bad input: specific message, token and position


@pytest.mark.parametrize(
    "text, cls, message, position, token",
    [
        ("", FormulaError, "empty formula", 0, ""),
        ("   ", FormulaError, "empty formula", 0, ""),
        ("Xx50Cu50", UnknownElementError, "unknown element 'Xx'", 0, "Xx"),
        ("Cu50Qz50", UnknownElementError, "unknown element 'Qz'", 4, "Qz"),
        ("(CuZr", FormulaError, "unbalanced bracket: '(' is never closed", 0, "("),
        ("Cu50Zr50)3", FormulaError, "unbalanced bracket: ')' has no opening bracket", 8, ")"),
        ("(CuZr]", FormulaError, "mismatched bracket: ']' closes '('", 5, "]"),
        ("[Cu50{Zr50]}", FormulaError, "mismatched bracket: ']' closes '{'", 10, "]"),
        ("Cu0Zr0", FormulaError, "every amount is zero", 2, "0"),
        ("(Cu0.0)0", FormulaError, "every amount is zero", 3, "0.0"),
        ("(Cu0Zr0)50Al50", FormulaError, "bracket group of zero amounts scaled to 50", 0, "("),
        ("Cu-5Zr95", FormulaError, "negative amount", 2, "-"),
        ("Cu46Ti-0Zr54", FormulaError, "negative amount", 6, "-"),
        ("50Cu50", FormulaError, "stray number '50' not attached to an element or group", 0, "50"),
        ("Cu50Zr50.5.5", FormulaError, "stray number '.5'", 10, ".5"),
        ("()Cu", FormulaError, "empty bracket group", 0, "("),
        ("Cu50*Zr50", FormulaError, "unexpected character '*'", 4, "*"),
        ("cu50zr50", FormulaError, "unexpected character 'c'", 0, "c"),
        ("Mo52Cr14Fel4P12B8", FormulaError, "unexpected character 'l'", 10, "l"),
    ],
)
def test_bad_formulas(text, cls, message, position, token):
    with pytest.raises(cls) as info:
        parse_formula(text)
    err = info.value
    assert message in str(err)
    assert err.position == position
    assert err.token == token
    assert isinstance(err, PcidsError) and isinstance(err, ValueError)
    if text.strip():
        assert f"at position {position}" in str(err)
        # the caret points at the token
        assert str(err).splitlines()[-1].index("^") - 4 == position


@pytest.mark.parametrize("value", [None, 5, 3.2, b"Cu50Zr50", ["Cu50Zr50"]])
def test_non_string_formula(value):
    with pytest.raises(FormulaError, match=f"a formula must be a string, got {type(value).__name__}"):
        parse_formula(value)


@pytest.mark.parametrize(
    "amounts, cls, message",
    [
        ({"Cu": -1, "Zr": 5}, CompositionError, "amount of Cu must be a finite number >= 0, got -1.0"),
        ({"Cu": math.nan, "Zr": 50}, CompositionError, "amount of Cu must be a finite number >= 0, got nan"),
        ({"Cu": math.inf}, CompositionError, "must be a finite number"),
        ({"Cu": 0, "Zr": 0.0}, CompositionError, "all amounts are zero"),
        ({"Xx": 5}, UnknownElementError, "unknown element 'Xx'"),
        ({}, CompositionError, "a composition needs at least one element"),
        ({"Cu": "a lot"}, CompositionError, "amount of Cu is not a number"),
    ],
)
def test_bad_dicts(amounts, cls, message):
    with pytest.raises(cls, match=message.replace("(", r"\(").replace(")", r"\)")):
        Composition.from_dict(amounts)


def test_coerce():
    c = Composition.from_formula("Cu50Zr50")
    assert Composition.coerce(c) is c
    assert Composition.coerce("Zr50Cu50") == c
    assert Composition.coerce({"Cu": 1, "Zr": 1}) == c
    with pytest.raises(CompositionError, match="cannot make a composition from int"):
        Composition.coerce(5)


# ---------------------------------------------------------------------------
# properties

_elements = st.lists(st.sampled_from(PERIODIC_TABLE), min_size=1, max_size=7, unique=True)


@st.composite
def compositions(draw) -> Composition:
    els = draw(_elements)
    amounts = draw(
        st.lists(
            st.floats(min_value=0.01, max_value=100, allow_nan=False, allow_infinity=False),
            min_size=len(els),
            max_size=len(els),
        )
    )
    return Composition.from_dict(dict(zip(els, amounts)))


@settings(max_examples=200, deadline=None)
@given(compositions())
def test_round_trip_canonical(c):
    back = Composition.from_formula(c.formula)
    assert set(back) == set(c)
    for el in c:
        assert abs(back[el] - c[el]) <= 1e-3
    assert back == c
    assert back.formula == c.formula


@settings(max_examples=200, deadline=None)
@given(compositions())
def test_round_trip_as_written(c):
    back = Composition.from_formula(c.formula_as_written)
    assert back.elements == c.elements  # written order survives
    for el in c:
        assert abs(back[el] - c[el]) <= 1e-3
    assert back == c


@settings(max_examples=100, deadline=None)
@given(compositions(), st.randoms(use_true_random=False))
def test_equality_ignores_order(c, rnd):
    items = list(c.items())
    rnd.shuffle(items)
    shuffled = Composition.from_dict(dict(items))
    assert shuffled == c
    assert hash(shuffled) == hash(c)
    assert shuffled.formula == c.formula


@settings(max_examples=100, deadline=None)
@given(compositions(), st.floats(min_value=0.01, max_value=1000))
def test_scale_invariance(c, factor):
    scaled = Composition.from_dict({el: a * factor for el, a in c.items()})
    for el in c:
        assert abs(scaled[el] - c[el]) <= 1e-9 * 100
    assert sum(scaled.values()) == pytest.approx(100)


def test_sum_problem_flags_missing_or_mistyped_terms():
    from pcids.composition import parse_formula

    for ok in ("Zr41.2Ti13.8Cu12.5Ni10Be22.5", "(Ce0.72Cu0.28)85Al10Fe5", "SrCaYbMgZn", "Cu0.5NiAlCoCrFe", "Fe0.8B0.2"):
        assert parse_formula(ok).sum_problem() is None, ok
    msg = parse_formula("Zr53Ti5Cu20Ni12Al15").sum_problem()
    assert msg is not None and "sum to 105" in msg and "missing or mistyped" in msg
    # a letter O typed for a zero: Ni1OBe22.5 reads as Ni1 O1 Be22.5, summing to 92
    assert "sum to 92" in parse_formula("Zr41.2Ti13.8Cu12.5Ni1OBe22.5").sum_problem()

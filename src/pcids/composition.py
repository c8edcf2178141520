"""Alloy-notation formulas and an immutable composition value.

Alloy notation is not chemical notation: a bracketed group followed by a
number is normalised to its own proportions and then scaled to that many parts
of the whole, so ``(Fe50Ni50)83B17`` is Fe41.5Ni41.5B17 (pymatgen reads it as
Fe4150Ni4150B17). A group without a trailing number is transparent: its
contents count as written. ``()``, ``[]`` and ``{}`` are all brackets and must
match. Symbols without an amount count 1; the whole formula is normalised to
100 at.%.

An explicit zero (``Cu46Ti0Zr54``, ``(CuZr)0Al5``; about 4 % of glass-forming
records, from composition spreads) means the element is absent: the term is
dropped, as the bundled data loader does, and listed in
:attr:`ParsedFormula.zero_terms`. A formula whose amounts are all zero, or a
bracket group of zeros scaled to a positive amount, is an error, and so is a
negative amount.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from pcids.errors import CompositionError, FormulaError, UnknownElementError

# Every chemical element, so that "unknown element" means the symbol is not
# one, not merely that pcids lacks data for it (that is UnsupportedElementError).
PERIODIC_TABLE: tuple[str, ...] = tuple(
    """H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu
    Zn Ga Ge As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba
    La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi
    Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr Rf Db Sg Bh Hs Mt Ds
    Rg Cn Nh Fl Mc Lv Ts Og""".split()
)
_ELEMENTS = frozenset(PERIODIC_TABLE)
_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = {v: k for k, v in _OPEN.items()}
_NUMBER = re.compile(r"\d+\.?\d*|\.\d+")
_SYMBOL = re.compile(r"[A-Z][a-z]?")

#: Decimal places of the canonical string (0.001 at.%, far below any assay).
CANONICAL_DECIMALS = 3
#: Accepted deviation of an at.% formula's top-level sum from 100.
SUM_TOLERANCE_PERCENT = 0.5
#: Accepted deviation of a fraction-style formula's sum from 1.
SUM_TOLERANCE_FRACTION = 0.01
#: Sums up to this are molar ratios (e.g. Cu0.5NiAlCoCrFe), normalised as is.
MAX_RATIO_SUM = 10.0


@dataclass(frozen=True)
class ParsedFormula:
    """What the parser read, before normalisation to 100."""

    amounts: dict[str, float]
    raw_total: float  # sum of the top-level amounts as written
    all_implicit: bool  # no number anywhere (e.g. SrCaYbMgZn)
    zero_terms: tuple[str, ...] = ()  # elements written with an amount of 0, dropped

    def sum_problem(self) -> str | None:
        """Why the amounts do not describe a whole alloy, or None if they do.

        Accepted: at.% summing to 100 +- 0.5, fractions summing to 1, molar
        ratios summing to at most 10, or no numbers at all. Anything else (91,
        105) means a term is missing or mistyped, even though it normalises.
        """
        t = self.raw_total
        if (
            self.all_implicit
            or abs(t - 100.0) <= SUM_TOLERANCE_PERCENT
            or abs(t - 1.0) <= SUM_TOLERANCE_FRACTION
            or t <= MAX_RATIO_SUM
        ):
            return None
        return (
            f"amounts sum to {t:g}, not 100 (at.%, +/-{SUM_TOLERANCE_PERCENT:g}) nor 1 (fractions) "
            f"nor <= {MAX_RATIO_SUM:g} (molar ratios): a term is missing or mistyped"
        )


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.saw_number = False
        self.zero_terms: list[str] = []
        self.n_zero = 0  # zero terms read so far (with repeats)
        self.first_zero: tuple[int, str] | None = None  # (position, token) of the first zero

    def error(self, cls: type[FormulaError], msg: str, pos: int, token: str) -> FormulaError:
        return cls(msg, self.text, pos, token)

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def number(self) -> tuple[float, int] | None:
        self.skip_ws()
        m = _NUMBER.match(self.text, self.pos)
        if not m:
            return None
        start = self.pos
        self.pos = m.end()
        self.saw_number = True
        return float(m.group()), start  # the grammar has no sign: >= 0

    def sequence(self, closer: str | None, open_pos: int) -> list[tuple[str, float]]:
        """Parse items until ``closer`` (or the end); returns (element, amount) pairs."""
        items: list[tuple[str, float]] = []
        while True:
            self.skip_ws()
            if self.pos >= len(self.text):
                if closer is not None:
                    raise self.error(
                        FormulaError, f"unbalanced bracket: {_CLOSE[closer]!r} is never closed", open_pos, _CLOSE[closer]
                    )
                break
            ch = self.text[self.pos]
            if ch in _CLOSE:
                if closer is None:
                    raise self.error(FormulaError, f"unbalanced bracket: {ch!r} has no opening bracket", self.pos, ch)
                if ch != closer:
                    raise self.error(
                        FormulaError, f"mismatched bracket: {ch!r} closes {_CLOSE[closer]!r}", self.pos, ch
                    )
                self.pos += 1
                break
            if ch in _OPEN:
                start, zeros = self.pos, self.n_zero
                self.pos += 1
                inner = self.sequence(_OPEN[ch], start)
                if not inner and self.n_zero == zeros:
                    raise self.error(FormulaError, "empty bracket group", start, ch)
                num = self.number()
                if num is None:
                    items.extend(inner)  # no trailing number: the group is transparent
                elif num[0] == 0:
                    self._zero([el for el, _ in inner], num[1])
                elif not inner:
                    raise self.error(FormulaError, f"bracket group of zero amounts scaled to {num[0]:g}", start, ch)
                else:
                    total = sum(a for _, a in inner)
                    items.extend((el, a / total * num[0]) for el, a in inner)
                continue
            m = _SYMBOL.match(self.text, self.pos)
            if m:
                sym, start = m.group(), self.pos
                if sym not in _ELEMENTS:
                    raise self.error(UnknownElementError, f"unknown element {sym!r}", start, sym)
                self.pos = m.end()
                num = self.number()
                if num is not None and num[0] == 0:
                    self._zero([sym], num[1])
                else:
                    items.append((sym, 1.0 if num is None else num[0]))
                continue
            if ch.isdigit() or ch == ".":
                m2 = _NUMBER.match(self.text, self.pos)
                tok = m2.group() if m2 else ch
                raise self.error(FormulaError, f"stray number {tok!r} not attached to an element or group", self.pos, tok)
            if ch == "-" and self.pos + 1 < len(self.text) and (self.text[self.pos + 1].isdigit()):
                raise self.error(FormulaError, "negative amount", self.pos, ch)
            raise self.error(FormulaError, f"unexpected character {ch!r}", self.pos, ch)
        return items

    def _zero(self, elements: Iterable[str], pos: int) -> None:
        self.n_zero += 1
        if self.first_zero is None:
            self.first_zero = (pos, _NUMBER.match(self.text, pos).group())  # type: ignore[union-attr]
        self.zero_terms.extend(el for el in elements if el not in self.zero_terms)


def parse_formula(formula: str) -> ParsedFormula:
    """Parse alloy notation into amounts per element (not yet normalised); zero terms are dropped."""
    if not isinstance(formula, str):
        raise FormulaError(f"a formula must be a string, got {type(formula).__name__}")
    if not formula.strip():
        raise FormulaError("empty formula", formula, 0, "")
    p = _Parser(formula)
    items = p.sequence(None, 0)
    if not items:
        if p.first_zero is not None:
            raise FormulaError("every amount is zero (a zero term only says the element is absent)", formula, *p.first_zero)
        raise FormulaError("empty formula", formula, 0, "")
    amounts: dict[str, float] = {}
    for el, a in items:
        amounts[el] = amounts.get(el, 0.0) + a
    return ParsedFormula(amounts, sum(amounts.values()), not p.saw_number, tuple(p.zero_terms))


def _fmt(value: float) -> str:
    s = f"{value:.{CANONICAL_DECIMALS}f}".rstrip("0").rstrip(".")
    return s or "0"


@dataclass(frozen=True, eq=False)
class Composition(Mapping[str, float]):
    """An alloy composition in at.%, summing to 100: immutable and hashable.

    Elements keep the order they were written in (base element first, the
    convention of the data); equality and hashing ignore order and compare
    the canonical string, so ``Cu50Zr50 == Zr50Cu50``.
    """

    _items: tuple[tuple[str, float], ...]
    _key: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_key", _canonical(self._items))

    # construction ---------------------------------------------------------
    @classmethod
    def from_formula(cls, formula: str) -> Composition:
        """Parse alloy notation, e.g. ``"(Zr46.75Ti8.25Cu7.5Ni10Be27.5)92Al8"``."""
        return cls.from_dict(parse_formula(formula).amounts)

    @classmethod
    def from_dict(cls, amounts: Mapping[str, float]) -> Composition:
        """Normalise {element: amount} to at.%; zero amounts are dropped."""
        if not amounts:
            raise CompositionError("a composition needs at least one element")
        clean: dict[str, float] = {}
        for el, a in amounts.items():
            if el not in _ELEMENTS:
                raise UnknownElementError(f"unknown element {el!r}")
            try:
                a = float(a)
            except (TypeError, ValueError):
                raise CompositionError(f"amount of {el} is not a number: {a!r}") from None
            if not math.isfinite(a) or a < 0:
                raise CompositionError(f"amount of {el} must be a finite number >= 0, got {a!r}")
            if a > 0:
                clean[el] = clean.get(el, 0.0) + a
        total = math.fsum(clean.values())  # exactly rounded: the same total in any element order
        if total <= 0:
            raise CompositionError("all amounts are zero")
        return cls(tuple((el, 100.0 * a / total) for el, a in clean.items()))

    @classmethod
    def coerce(cls, value: str | Mapping[str, float] | Composition) -> Composition:
        """Accept a formula, a mapping or a Composition."""
        if isinstance(value, Composition):
            return value
        if isinstance(value, str):
            return cls.from_formula(value)
        if isinstance(value, Mapping):
            return cls.from_dict(value)
        raise CompositionError(f"cannot make a composition from {type(value).__name__}")

    # views ------------------------------------------------------------------
    @property
    def elements(self) -> tuple[str, ...]:
        """Elements in the order written."""
        return tuple(el for el, _ in self._items)

    @property
    def fractions(self) -> tuple[float, ...]:
        """at.% in the order of :attr:`elements`."""
        return tuple(a for _, a in self._items)

    @property
    def formula(self) -> str:
        """Canonical string: descending at.%, ties alphabetical, 3 decimals."""
        return self._key

    @property
    def formula_as_written(self) -> str:
        """Written element order, same rounded amounts as :attr:`formula`."""
        return "".join(f"{el}{_fmt(a)}" for el, a in _rounded(self._items) if a > 0)

    @property
    def n_elements(self) -> int:
        return len(self._items)

    @property
    def system(self) -> str:
        """Alloy system: the sorted element set, e.g. ``"Be-Cu-Ni-Ti-Zr"``."""
        return "-".join(sorted(self.elements))

    def l1_distance(self, other: Composition | str) -> float:
        """Sum of |difference| in at.% over the union of elements."""
        other = Composition.coerce(other)
        return float(sum(abs(self.get(e, 0.0) - other.get(e, 0.0)) for e in set(self) | set(other)))

    # Mapping protocol -------------------------------------------------------
    def __getitem__(self, element: str) -> float:
        for el, a in self._items:
            if el == element:
                return a
        raise KeyError(element)

    def __iter__(self) -> Iterator[str]:
        return iter(self.elements)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Composition):
            return self._key == other._key
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return f"Composition({self._key!r})"

    def __str__(self) -> str:
        return self._key


def _rounded(items: Iterable[tuple[str, float]]) -> list[tuple[str, float]]:
    """Round to CANONICAL_DECIMALS by largest remainder, so the rounded
    amounts keep the exact total (100): plain rounding may drift by up to
    0.0005 per element, and re-parsing renormalises that drift onto every
    element (errors of 0.002 at.% and more on the base element)."""
    items = list(items)
    scale = 10**CANONICAL_DECIMALS
    units = [a * scale for _, a in items]
    floors = [math.floor(u) for u in units]
    residual = round(math.fsum(units)) - sum(floors)
    # remainders equal up to float noise (1/3, 1/3, ...) are ties, broken by symbol, never by input order
    order = sorted(range(len(items)), key=lambda i: (round(floors[i] - units[i], 6), items[i][0]))
    for i in order[: max(residual, 0)]:
        floors[i] += 1
    return [(el, f / scale) for (el, _), f in zip(items, floors)]


def _canonical(items: Iterable[tuple[str, float]]) -> str:
    rounded = _rounded(items)
    rounded.sort(key=lambda t: (-t[1], t[0]))
    return "".join(f"{el}{_fmt(a)}" for el, a in rounded if a > 0)


def canonical_formula(formula: str) -> str:
    """Shortcut: the canonical string of a formula."""
    return Composition.from_formula(formula).formula


def as_typed(value: str | Mapping[str, float] | Composition) -> str:
    """How the caller wrote a composition, to label predictions with: a string as typed,
    a Composition in its written order, a mapping by its canonical formula."""
    if isinstance(value, str):
        return value
    if isinstance(value, Composition):
        return value.formula_as_written
    return Composition.coerce(value).formula

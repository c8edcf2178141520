"""Raw-material price of an alloy, USD per kg, from the bundled element prices.

The price of an alloy is the mass-fraction-weighted sum of its elements'
prices (``data/element_costs.csv``, built by ``scripts/build_costs.py`` from
pymatgen's element cost database; see ``data/README.md``): what the pure
elements to melt one kilogram cost, not the price of a finished part.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from pcids.composition import Composition
from pcids.elements import property_matrix
from pcids.errors import UnsupportedElementError

__all__ = ["MissingPriceError", "element_prices", "mass_fractions", "price_per_kg", "price_per_kg_matrix"]


class MissingPriceError(UnsupportedElementError):
    """An element of the alloy has no price in the bundled table."""


@lru_cache(maxsize=1)
def _prices() -> pd.Series:
    with resources.files("pcids.data").joinpath("element_costs.csv").open() as fh:
        return pd.read_csv(fh, comment="#").set_index("symbol")["usd_per_kg"]


def element_prices() -> pd.Series:
    """Price per kg (USD) of each element that has one, indexed by symbol."""
    return _prices().copy()


def _price_vector(elements: Sequence[str]) -> np.ndarray:
    prices = _prices()
    missing = [el for el in elements if el not in prices.index]
    if missing:
        raise MissingPriceError(
            f"no price for element(s) {', '.join(missing)} in pcids' cost table (pymatgen's element cost "
            f"database); priced: {' '.join(prices.index)}"
        )
    return prices.loc[list(elements)].to_numpy(dtype=np.float64)


def mass_fractions(elements: Sequence[str], atomic: np.ndarray) -> np.ndarray:
    """Mass fractions (rows sum to 1) from atomic fractions or at.% of ``elements``."""
    x = np.atleast_2d(np.asarray(atomic, dtype=np.float64))
    mass = property_matrix(list(elements), ("mass",))[:, 0]
    w = x * mass
    return w / w.sum(axis=1, keepdims=True)


def price_per_kg_matrix(elements: Sequence[str], atomic: np.ndarray) -> np.ndarray:
    """USD per kg of each row of an (n, k) matrix of at.% (or fractions) of ``elements``.

    Columns whose amount is zero in every row do not need a price, so a
    design space may name an element that no candidate uses.
    """
    x = np.atleast_2d(np.asarray(atomic, dtype=np.float64))
    used = [i for i in range(x.shape[1]) if np.any(x[:, i] != 0)]
    names = [elements[i] for i in used]
    if not names:
        return np.full(x.shape[0], np.nan)
    return mass_fractions(names, x[:, used]) @ _price_vector(names)


def price_per_kg(alloys: str | Composition | Mapping[str, float] | Iterable[str | Composition | Mapping[str, float]]) -> float | np.ndarray:
    """USD per kg of one alloy (a float) or of several (an array).

    An alloy is a formula in pcids' alloy notation, a :class:`Composition`
    or a mapping of element to amount. An element without a price raises
    :class:`MissingPriceError` naming it.
    """
    single = isinstance(alloys, (str, Mapping))
    comps = [Composition.coerce(a) for a in ([alloys] if single else list(alloys))]
    elements = sorted({el for c in comps for el in c.elements})
    matrix = np.array([[c.get(el, 0.0) for el in elements] for c in comps], dtype=np.float64).reshape(len(comps), -1)
    out = price_per_kg_matrix(elements, matrix)
    return float(out[0]) if single else out


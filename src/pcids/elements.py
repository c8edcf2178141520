"""Elemental property table (bundled CSV, built by scripts/build_elements.py).

Sources per column are in that script's docstring: pymatgen for melting
point, Pauling electronegativity, atomic mass and (mostly) the 12-fold
metallic radius; the metallic-glass VEC convention by group.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from pcids.errors import UnsupportedElementError

#: Property columns of the table, in the order the paper lists the descriptors.
PROPERTIES: tuple[str, ...] = ("vec", "tm_K", "chi", "r_pm")


@lru_cache(maxsize=1)
def _table() -> pd.DataFrame:
    with resources.files("pcids.data").joinpath("elements.csv").open() as fh:
        return pd.read_csv(fh, comment="#").set_index("symbol")


def element_table() -> pd.DataFrame:
    """A copy of the property table, indexed by symbol."""
    return _table().copy()


def supported_elements() -> tuple[str, ...]:
    """Symbols pcids has property data for, by atomic number."""
    return tuple(_table().index)


def check_elements(symbols: Sequence[str]) -> None:
    """Raise UnsupportedElementError naming the first symbol without data."""
    known = _table().index
    missing = [s for s in symbols if s not in known]
    if missing:
        raise UnsupportedElementError(
            f"no property data for element(s) {', '.join(missing)}; supported: {' '.join(supported_elements())}"
        )


def property_matrix(symbols: Sequence[str], columns: Sequence[str] = PROPERTIES) -> np.ndarray:
    """Array of shape (len(symbols), len(columns)) of elemental properties.

    A few columns have gaps (no source gives Cs a shear modulus): asking for
    one raises UnsupportedElementError naming the element and the column,
    rather than letting a NaN reach a model.
    """
    check_elements(symbols)
    block = _table().loc[list(symbols), list(columns)]
    values = block.to_numpy(dtype=np.float64)
    if np.isnan(values).any():
        gaps = [f"{sym} ({col})" for sym, row in block.iterrows() for col in block.columns if pd.isna(row[col])]
        raise UnsupportedElementError(f"no data for {', '.join(gaps)}; a model using these properties cannot score these elements")
    return values


def atomic_masses(symbols: Sequence[str]) -> np.ndarray:
    """Standard atomic weights, the inverse models' element encoding."""
    return property_matrix(symbols, ["mass"])[:, 0]

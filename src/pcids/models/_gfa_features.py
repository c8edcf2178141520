"""Composition-only features for glass-forming ability (GFA).

A designed alloy has no measured Tg, Tx or Tl, so the GFA model sees only
what the composition implies:

* the foundation's :class:`~pcids.descriptors.RichDescriptors` (the paper's
  four means, plus mixing entropy, atomic-size mismatch delta,
  electronegativity difference, and deviation / min / max of elemental
  properties);
* Miedema-type mixing enthalpy, the third of Inoue's empirical rules
  (large negative heat of mixing among the main elements):
  ``H_mix = sum_{i<j} 4 dH_ij c_i c_j`` in kJ/mol (Takeuchi & Inoue 2005's
  regular-solution form, as in matminer's Yang / Wen featurizers), the most
  negative and the most positive pair enthalpy among the elements present,
  and the concentration-weighted spread of pair enthalpies;
* Yang & Zhang's ``Omega = Tm S_mix / |H_mix|`` (solid-solution tendency:
  large Omega favours crystalline solid solutions over glass);
* optionally (``families=True``) the summed fraction of each element
  *family* of Inoue's empirical BMG classification (alkali / alkaline-earth,
  simple metals, metalloids, other non-metals, early and late transition
  metals, rare earths: :data:`FAMILIES`), the number of elements and the
  largest fraction. Trees on per-element fractions cannot add fractions
  across elements, so these let an unseen system borrow from chemically
  similar ones (ETM-LTM, LTM-metalloid near 80:20, ...);
* optionally the at.% of each training element (``element_fractions``), so
  the trees can learn element-specific chemistry a handful of averages
  blurs;
* optionally (``ground_state=True``) the mean / deviation / min / max of four
  ground-state (DFT) properties of the elemental solids from the Magpie
  tables (Ward et al. 2016, the features Ward et al. 2018 used for GFA):
  volume per atom, band gap, magnetic moment and space-group number
  (``pcids/data/magpie_ground_state.csv``, built by
  ``scripts/build_magpie_ground_state.py``). They come *last*, after the
  element fractions, so a model can hand them to one learner only
  (:class:`~pcids.models.gfa.GFAModel` gives them to the Dmax regressor with
  ``dmax_ground_state=True``). Of the Magpie properties and Ward's
  composite attributes screened, only this block did not lose
  (docs/decisions.md, "GFA: Magpie properties, ...").

Pair values come from a bundled copy of Takeuchi & Inoue's table
(``pcids/data/takeuchi2005_mixing_enthalpy.csv``, built by
``scripts/build_mixing_enthalpy.py``). A pair missing from the table
(24 of 28,821 pairs in the GFA data) counts as 0 kJ/mol and is reported by
:func:`missing_pairs` so the model's domain check can warn (docs/decisions.md).

Everything is linear algebra on a fraction matrix, so scoring a million
candidate compositions costs a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from pcids.descriptors import CHUNK_ROWS, RichDescriptors, _as_fraction_matrix, _Featurizer
from pcids.elements import property_matrix
from pcids.errors import CompositionError

#: Gas constant, J/(mol K): Omega needs S_mix in J/(mol K) against H_mix in J/mol.
R_GAS = 8.314462618
#: |H_mix| below this (kJ/mol) is clipped in Omega so ideal mixtures stay finite.
OMEGA_MIN_H = 0.1

ENTHALPY_FEATURES: tuple[str, ...] = ("H_mix", "H_pair_min", "H_pair_max", "H_pair_dev", "Omega")
#: Ground-state properties of the elemental solids (columns of magpie_ground_state.csv).
GROUND_STATE_PROPERTIES: tuple[str, ...] = ("gs_volume_pa", "gs_bandgap", "gs_magmom", "gs_space_group")
GROUND_STATE_FEATURES: tuple[str, ...] = tuple(f"{stat}_{p}" for stat in ("mean", "dev", "min", "max") for p in GROUND_STATE_PROPERTIES)

#: Element families (Inoue's BMG classification); every element pcids supports is in exactly one.
FAMILIES: dict[str, tuple[str, ...]] = {
    "alkaline": ("Li", "Na", "K", "Rb", "Cs", "Be", "Mg", "Ca", "Sr", "Ba"),
    "simple": ("Al", "Zn", "Cd", "Hg", "Ga", "In", "Tl", "Sn", "Pb", "Bi"),
    "metalloid": ("B", "C", "Si", "P", "Ge", "As", "Sb", "Te"),
    "nonmetal": ("H", "N", "O", "F", "S", "Se"),
    "etm": ("Ti", "V", "Cr", "Zr", "Nb", "Mo", "Hf", "Ta", "W"),
    "ltm": ("Mn", "Fe", "Co", "Ni", "Cu", "Ru", "Rh", "Pd", "Ag", "Re", "Os", "Ir", "Pt", "Au"),
    "rare_earth": ("Sc", "Y", "La", "Ce", "Pr", "Nd", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Th", "U"),
}
FAMILY_FEATURES: tuple[str, ...] = (*(f"frac_{k}" for k in FAMILIES), "n_elements", "frac_max")
_FAMILY_OF = {e: k for k, (_, members) in enumerate(FAMILIES.items()) for e in members}


@lru_cache(maxsize=1)
def _ground_state_table() -> pd.DataFrame:
    with resources.files("pcids.data").joinpath("magpie_ground_state.csv").open() as fh:
        return pd.read_csv(fh, comment="#").set_index("symbol")


def ground_state_matrix(elements: Sequence[str]) -> np.ndarray:
    """(m, 4) ground-state properties (:data:`GROUND_STATE_PROPERTIES`) of ``elements``."""
    table = _ground_state_table()
    missing = [e for e in elements if e not in table.index]
    if missing:
        raise CompositionError(f"no ground-state properties for {missing}")
    return table.loc[list(elements), list(GROUND_STATE_PROPERTIES)].to_numpy(dtype=np.float64)


@lru_cache(maxsize=1)
def _pair_table() -> dict[tuple[str, str], float]:
    with resources.files("pcids.data").joinpath("takeuchi2005_mixing_enthalpy.csv").open() as fh:
        df = pd.read_csv(fh, comment="#")
    return {(a, b): float(h) for a, b, h in df.itertuples(index=False)}


def pair_enthalpy_matrix(elements: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(m, m) Miedema pair enthalpies (kJ/mol, zero diagonal) and a mask of pairs known."""
    table = _pair_table()
    m = len(elements)
    H = np.zeros((m, m))
    known = np.eye(m, dtype=bool)
    for i, a in enumerate(elements):
        for j in range(i + 1, m):
            b = elements[j]
            h = table.get((a, b) if a < b else (b, a))
            if h is not None:
                H[i, j] = H[j, i] = h
                known[i, j] = known[j, i] = True
    return H, known


def missing_pairs(A: np.ndarray, elements: Sequence[str]) -> list[list[str]]:
    """Per row, the element pairs present together that have no tabulated enthalpy."""
    _, known = pair_enthalpy_matrix(elements)
    out = []
    for row in np.asarray(A) > 0:
        idx = np.flatnonzero(row)
        out.append([f"{elements[i]}-{elements[j]}" for k, i in enumerate(idx) for j in idx[k + 1 :] if not known[i, j]])
    return out


class GFADescriptors(_Featurizer):
    """RichDescriptors + mixing-enthalpy features (+ optional element fractions).

    Parameters
    ----------
    element_fractions : sequence of str or None
        If given, one extra feature per element, ``x_<El>``: its fraction
        (0-1). Elements outside this list contribute nothing to these columns
        (the domain check flags them).
    families : bool, default False
        Add :data:`FAMILY_FEATURES` (family fractions, number of elements,
        largest fraction) after the enthalpy features.
    ground_state : bool, default False
        Add :data:`GROUND_STATE_FEATURES` (mean / deviation / min / max of the
        elemental solids' DFT volume, band gap, magnetic moment and space
        group) as the *last* columns, after the element fractions.
    """

    def __init__(self, element_fractions: Sequence[str] | None = None, families: bool = False, ground_state: bool = False):
        self.element_fractions = element_fractions
        self.families = bool(families)
        self.ground_state = bool(ground_state)
        self._rich = RichDescriptors()

    def feature_labels(self) -> list[str]:
        extra = [f"x_{e}" for e in self.element_fractions] if self.element_fractions else []
        fam = list(FAMILY_FEATURES) if self.families else []
        gs = list(GROUND_STATE_FEATURES) if self.ground_state else []
        return [*self._rich.feature_labels(), *ENTHALPY_FEATURES, *fam, *extra, *gs]

    def citations(self) -> list[str]:
        return [
            *self._rich.citations(),
            "A. Takeuchi, A. Inoue, Mater. Trans. 46 (2005) 2817 (Miedema pair enthalpies, H_mix)",
            "X. Yang, Y. Zhang, Mater. Chem. Phys. 132 (2012) 233 (Omega)",
            *(["L. Ward et al., npj Comput. Mater. 2 (2016) 16028 (Magpie ground-state elemental properties)"] if self.ground_state else []),
        ]

    def transform_matrix(self, A: np.ndarray, elements: Sequence[str]) -> np.ndarray:
        A = _as_fraction_matrix(A, len(elements))
        elements = list(elements)
        out = np.empty((A.shape[0], len(self.feature_labels())))
        # constant per element set: computed once, not once per chunk
        P = property_matrix(elements, ("tm_K",))[:, 0]
        H, _ = pair_enthalpy_matrix(elements)
        cols = None
        if self.element_fractions:
            pos = {e: i for i, e in enumerate(elements)}
            cols = [(k, pos[e]) for k, e in enumerate(self.element_fractions) if e in pos]
        n_rich = len(self._rich.feature_labels())
        n_fam = len(FAMILY_FEATURES) if self.families else 0
        n_front = n_rich + len(ENTHALPY_FEATURES) + n_fam
        n_gs = len(GROUND_STATE_FEATURES) if self.ground_state else 0
        n_end = out.shape[1] - n_gs  # end of the element fractions
        G = ground_state_matrix(elements) if self.ground_state else None
        if self.families:
            # (m, n_families) membership, so the family sums are one product per block
            member = np.zeros((len(elements), len(FAMILIES)))
            for i, e in enumerate(elements):
                if e in _FAMILY_OF:
                    member[i, _FAMILY_OF[e]] = 1.0
        for start in range(0, A.shape[0], CHUNK_ROWS):
            block = A[start : start + CHUNK_ROWS]
            total = block.sum(axis=1, keepdims=True)
            if np.any(total <= 0):
                raise CompositionError("a composition row has no positive fraction")
            block = block / total
            o = out[start : start + CHUNK_ROWS]
            rich = self._rich._compute(block, elements)
            o[:, :n_rich] = rich
            o[:, n_rich : n_rich + len(ENTHALPY_FEATURES)] = _enthalpy(block, H, P, rich[:, 0])
            if self.families:
                f0 = n_rich + len(ENTHALPY_FEATURES)
                o[:, f0 : f0 + len(FAMILIES)] = block @ member
                o[:, f0 + len(FAMILIES)] = (block > 0).sum(axis=1)
                o[:, f0 + len(FAMILIES) + 1] = block.max(axis=1)
            if self.element_fractions is not None:
                o[:, n_front:n_end] = 0.0
                for k, j in cols or []:
                    o[:, n_front + k] = block[:, j]
            if G is not None:
                o[:, n_end:] = _stats(block, G)
        return out

    def _compute(self, A: np.ndarray, elements: Sequence[str]) -> np.ndarray:  # pragma: no cover - transform_matrix overrides
        raise NotImplementedError


def _stats(A: np.ndarray, P: np.ndarray) -> np.ndarray:
    """mean / weighted standard deviation / min / max of properties P (m, p) over the elements present."""
    mean = A @ P
    dev = np.sqrt(np.maximum(A @ P**2 - mean**2, 0.0))
    present = A > 0
    mins = np.column_stack([np.where(present, p, np.inf).min(axis=1) for p in P.T])
    maxs = np.column_stack([np.where(present, p, -np.inf).max(axis=1) for p in P.T])
    return np.column_stack([mean, dev, mins, maxs])


def _enthalpy(A: np.ndarray, H: np.ndarray, tm: np.ndarray, s_mix: np.ndarray) -> np.ndarray:
    AH = A @ H
    cHc = np.einsum("ij,ij->i", AH, A)  # sum_{i != j} c_i c_j H_ij
    h_mix = 2.0 * cHc  # = sum_{i<j} 4 H_ij c_i c_j
    present = A > 0
    n = A.shape[0]
    hmin = np.full(n, np.inf)
    hmax = np.full(n, -np.inf)
    used = np.flatnonzero(present.any(axis=0))
    for k, i in enumerate(used):  # loop over element pairs, vectorised over rows
        for j in used[k + 1 :]:
            both = present[:, i] & present[:, j]
            h = H[i, j]
            hmin = np.where(both & (h < hmin), h, hmin)
            hmax = np.where(both & (h > hmax), h, hmax)
    hmin[~np.isfinite(hmin)] = 0.0
    hmax[~np.isfinite(hmax)] = 0.0
    # spread of pair enthalpies weighted by c_i c_j (i != j)
    w = 1.0 - np.einsum("ij,ij->i", A, A)  # sum_{i != j} c_i c_j
    safe_w = np.where(w > 1e-12, w, 1.0)
    mean_pair = np.where(w > 1e-12, cHc / safe_w, 0.0)
    sq = np.einsum("ij,ij->i", A @ (H**2), A)
    dev = np.sqrt(np.maximum(np.where(w > 1e-12, sq / safe_w, 0.0) - mean_pair**2, 0.0))
    omega = (A @ tm) * s_mix * R_GAS / (np.maximum(np.abs(h_mix), OMEGA_MIN_H) * 1000.0)
    return np.column_stack([h_mix, hmin, hmax, dev, omega])

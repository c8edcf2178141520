"""Composition descriptors: the paper's four weighted means and a richer set.

Both are linear algebra on a (compositions x elements) fraction matrix, so a
million compositions take well under a second; large inputs are processed in
chunks so memory stays bounded. The featurizers follow scikit-learn's
transformer contract (``fit`` is a no-op) so they drop into a Pipeline, and
matminer's habit of naming their features and whom to cite.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from pcids.composition import Composition
from pcids.elements import PROPERTIES, property_matrix
from pcids.errors import CompositionError, PcidsError

#: Names of the paper's four descriptors (Table 1), in model input order.
PAPER_FEATURES: tuple[str, ...] = ("VEC", "Tm", "chi", "r")
#: Weighted means pcids can compute: descriptor name -> column of the element table.
WEIGHTED_MEANS: dict[str, str] = {
    "VEC": "vec",
    "Tm": "tm_K",
    "chi": "chi",
    "r": "r_pm",
    "mass": "mass",
    "rho": "rho",  # density of the solid element, g/cm^3
    "Tboil": "t_boil_K",  # boiling point, K (a cohesive-energy proxy)
    "K_el": "k_GPa",  # bulk modulus of the element, GPa (rule of mixtures)
    "G_el": "g_GPa",  # shear modulus of the element, GPa (rule of mixtures)
}
CHUNK_ROWS = 1_000_000

CompositionLike = str | Composition


def composition_matrix(
    compositions: Iterable[CompositionLike], elements: Sequence[str] | None = None
) -> tuple[np.ndarray, list[str]]:
    """Fractions (summing to 1 per row) of shape (n, n_elements), and the columns.

    ``elements`` fixes the column order; by default it is the union of the
    compositions' elements, in order of first appearance.
    """
    comps = [Composition.coerce(c) for c in compositions]
    if elements is None:
        seen: dict[str, None] = {}
        for c in comps:
            seen.update(dict.fromkeys(c.elements))
        elements = list(seen)
    col = {e: i for i, e in enumerate(elements)}
    out = np.zeros((len(comps), len(elements)))
    for i, c in enumerate(comps):
        for el, a in zip(c.elements, c.fractions):
            if el not in col:
                raise CompositionError(f"{c.formula} contains {el}, which is not among the columns {list(elements)}")
            out[i, col[el]] = a / 100.0
    return out, list(elements)


def _as_fraction_matrix(A: np.ndarray, n_elements: int) -> np.ndarray:
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2 or A.shape[1] != n_elements:
        raise PcidsError(f"expected a fraction matrix of shape (n, {n_elements}), got {A.shape}")
    return A


def _check_totals(total: np.ndarray) -> None:
    if np.any(total <= 0):
        raise CompositionError("a composition row has no positive fraction")


class _Featurizer:
    """Common transformer plumbing: compositions or matrices in, arrays out."""

    _chunk_divisor = 1  # featurizers with big intermediates use smaller chunks

    def feature_labels(self) -> list[str]:
        raise NotImplementedError

    def citations(self) -> list[str]:
        return []

    def fit(self, X: object = None, y: object = None) -> _Featurizer:
        return self

    def transform(self, compositions: Iterable[CompositionLike]) -> np.ndarray:
        """Array of shape (n_compositions, n_features)."""
        A, elements = composition_matrix(compositions)
        return self.transform_matrix(A, elements)

    def transform_matrix(self, A: np.ndarray, elements: Sequence[str]) -> np.ndarray:
        """Descriptors of a fraction matrix (rows summing to 1 or to 100)."""
        A = _as_fraction_matrix(A, len(elements))
        out = np.empty((A.shape[0], len(self.feature_labels())))
        step = max(1, CHUNK_ROWS // self._chunk_divisor)
        for start in range(0, A.shape[0], step):
            out[start : start + step] = self._compute(A[start : start + step], elements)
        return out

    def _compute(self, A: np.ndarray, elements: Sequence[str]) -> np.ndarray:
        """Features of one chunk of un-normalised rows."""
        raise NotImplementedError


    def featurize_dataframe(self, df: pd.DataFrame, col: str = "formula", overwrite: bool = False) -> pd.DataFrame:
        """Return ``df`` with one column per feature added; never silently overwrites."""
        labels = self.feature_labels()
        clash = [c for c in labels if c in df.columns]
        if clash and not overwrite:
            raise PcidsError(f"columns {clash} already exist; pass overwrite=True to replace them")
        feats = self.transform(df[col])
        out = df.copy()
        out[labels] = feats
        return out


class WeightedMeans(_Featurizer):
    """Composition-weighted means of elemental properties (any of :data:`WEIGHTED_MEANS`).

    Linear in the fractions, so the corrector can bound a network's output
    over a whole box of compositions exactly; that is why the forward models
    take only features of this kind.
    """

    def __init__(self, features: Sequence[str] = PAPER_FEATURES):
        self.features = features

    def _columns(self) -> list[str]:
        unknown = [f for f in self.features if f not in WEIGHTED_MEANS]
        if unknown or not self.features:
            raise PcidsError(f"unknown weighted-mean feature(s) {unknown}; choose from {', '.join(WEIGHTED_MEANS)}")
        return [WEIGHTED_MEANS[f] for f in self.features]

    def feature_labels(self) -> list[str]:
        self._columns()
        return list(self.features)

    def citations(self) -> list[str]:
        return ["T. Long, Z.-L. Long, B. Pang, Trans. Nonferrous Met. Soc. China 35 (2025) 169-183"]

    def property_matrix(self, elements: Sequence[str]) -> np.ndarray:
        """(n_elements, n_features): descriptors of a fraction row ``a`` (summing to 1) are ``a @ P``."""
        return property_matrix(elements, self._columns())

    def _compute(self, A: np.ndarray, elements: Sequence[str]) -> np.ndarray:
        # One product gives the weighted sums and the row totals; written as
        # (P^T A^T)^T because BLAS is ~10x faster on that shape than on (n,m)@(m,4).
        P = np.column_stack([self.property_matrix(elements), np.ones(len(elements))])
        M = (P.T @ A.T).T
        _check_totals(M[:, -1])
        return M[:, :-1] / M[:, -1:]


class PaperDescriptors(WeightedMeans):
    """The paper's four composition-weighted means (Table 1): VEC, Tm (K), chi, r (pm)."""

    def __init__(self) -> None:
        super().__init__(PAPER_FEATURES)


class RichDescriptors(_Featurizer):
    """Mixing entropy, size mismatch, electronegativity difference, and the
    mean / deviation / min / max of VEC, Tm, chi, r and mass.

    ``S_mix`` is -sum(c ln c) in units of R; ``delta`` = 100 sqrt(sum c (1 - r/r_mean)^2)
    (Zhang et al. 2008); ``d_chi`` = sqrt(sum c (chi - chi_mean)^2); ``dev_*`` is the
    composition-weighted standard deviation.
    """

    _chunk_divisor = 8
    _props: tuple[str, ...] = (*PROPERTIES, "mass")
    _names: tuple[str, ...] = ("VEC", "Tm", "chi", "r", "mass")

    def feature_labels(self) -> list[str]:
        labels = ["S_mix", "delta", "d_chi"]
        for stat in ("mean", "dev", "min", "max"):
            labels += [f"{stat}_{n}" for n in self._names]
        return labels

    def citations(self) -> list[str]:
        return [
            "Y. Zhang et al., Adv. Eng. Mater. 10 (2008) 534 (delta, S_mix)",
            "L. Ward et al., npj Comput. Mater. 2 (2016) 16028 (mean/deviation/min/max statistics)",
        ]

    def _compute(self, A: np.ndarray, elements: Sequence[str]) -> np.ndarray:
        total = A.sum(axis=1, keepdims=True)
        _check_totals(total)
        A = A / total
        P = property_matrix(elements, self._props)
        mean = A @ P
        dev = np.sqrt(np.maximum(A @ P**2 - mean**2, 0.0))
        present = A > 0
        mins = np.column_stack([np.where(present, p, np.inf).min(axis=1) for p in P.T])
        maxs = np.column_stack([np.where(present, p, -np.inf).max(axis=1) for p in P.T])
        with np.errstate(divide="ignore", invalid="ignore"):
            s_mix = -np.where(present, A * np.log(np.where(present, A, 1.0)), 0.0).sum(axis=1)
        r = P[:, self._props.index("r_pm")]
        r_mean = mean[:, self._props.index("r_pm")]
        delta = 100 * np.sqrt(np.maximum(A @ r**2 / r_mean**2 - 2 * (A @ r) / r_mean + 1, 0.0))
        d_chi = dev[:, self._props.index("chi")]
        return np.column_stack([s_mix, delta, d_chi, mean, dev, mins, maxs])


def paper_descriptors(compositions: Iterable[CompositionLike]) -> pd.DataFrame:
    """The four descriptors as a DataFrame indexed by canonical formula."""
    comps = [Composition.coerce(c) for c in compositions]
    return pd.DataFrame(
        PaperDescriptors().transform(comps), columns=list(PAPER_FEATURES), index=[c.formula for c in comps]
    )

"""Isotropic elastic relations (paper Eq. 1-2), with propagated uncertainty.

Young's modulus E = 9KG / (3K + G) and Poisson's ratio
nu = (3K - 2G) / (2 (3K + G)). Uncertainties are first-order (delta method),
treating G and K errors as independent.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def youngs_modulus(G: ArrayLike, K: ArrayLike) -> np.ndarray:
    G, K = np.asarray(G, dtype=float), np.asarray(K, dtype=float)
    return 9 * K * G / (3 * K + G)


def poisson_ratio(G: ArrayLike, K: ArrayLike) -> np.ndarray:
    G, K = np.asarray(G, dtype=float), np.asarray(K, dtype=float)
    return (3 * K - 2 * G) / (2 * (3 * K + G))


def bulk_from_poisson(G: ArrayLike, nu: ArrayLike) -> np.ndarray:
    """K from G and nu, as the paper does for Ti41Zr25Be28Fe6: K = 2G(1 + nu) / (3(1 - 2 nu))."""
    G, nu = np.asarray(G, dtype=float), np.asarray(nu, dtype=float)
    return 2 * G * (1 + nu) / (3 * (1 - 2 * nu))


def derived_with_uncertainty(
    G: ArrayLike, K: ArrayLike, G_std: ArrayLike = 0.0, K_std: ArrayLike = 0.0
) -> dict[str, np.ndarray]:
    """E, nu and their standard deviations from G +- G_std and K +- K_std."""
    G, K = np.asarray(G, dtype=float), np.asarray(K, dtype=float)
    sG, sK = np.asarray(G_std, dtype=float), np.asarray(K_std, dtype=float)
    d = 3 * K + G
    dE_dG, dE_dK = 27 * K**2 / d**2, 9 * G**2 / d**2
    dnu_dG, dnu_dK = -9 * K / (2 * d**2), 9 * G / (2 * d**2)
    return {
        "E": youngs_modulus(G, K),
        "E_std": np.hypot(dE_dG * sG, dE_dK * sK),
        "nu": poisson_ratio(G, K),
        "nu_std": np.hypot(dnu_dG * sG, dnu_dK * sK),
    }

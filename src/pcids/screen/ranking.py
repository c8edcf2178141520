"""How a screen ranks candidates: P(every target met) from the ensemble sigma, times P(glass).

One place, so the screen can follow ``pcids.design``'s ranking when it
changes. ``upper_bound`` lets the coarse search skip the GFA model where
the score cannot reach the running best (every other factor is <= 1).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import ndtr

#: sigma floor (in the property's units) so a zero-width prediction gives a 0/1 probability, not NaN.
_MIN_SIGMA = 1e-9


def target_probability(
    pred: Mapping[str, tuple[np.ndarray, np.ndarray]], targets: Mapping[str, float], tolerance: float, relative: bool = True
) -> np.ndarray:
    """P(|X - t| <= tol) for every target at once, X ~ N(mean, sigma) per property, taken independent.

    ``pred`` maps each target name to (mean, sigma) arrays; ``tolerance`` is relative
    to the target (0.02 = 2 %) or, with ``relative=False``, in the property's units.
    """
    p: np.ndarray | float = 1.0
    for name, t in targets.items():
        mean, std = (np.asarray(a, dtype=np.float64) for a in pred[name])
        half = tolerance * abs(t) if relative else tolerance
        s = np.maximum(std, _MIN_SIGMA)
        p = p * (ndtr((t + half - mean) / s) - ndtr((t - half - mean) / s))
    return np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)


def candidate_score(p_targets: np.ndarray, p_gfa: np.ndarray | None) -> np.ndarray:
    """Higher is better: P(targets met) x P(Dmax >= threshold) (no GFA factor without a GFA check)."""
    return p_targets if p_gfa is None else p_targets * p_gfa


def upper_bound(p_targets: np.ndarray) -> np.ndarray:
    """No smaller than :func:`candidate_score` whatever the GFA model says."""
    return p_targets

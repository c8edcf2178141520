"""One Dmax that agrees with P(Dmax >= threshold): the GFA model's two outputs as one distribution.

The GFA model gives p = P(Dmax >= t) (calibrated classifier, t = 2 mm) and a
regressor's Dmax *if* the alloy is a glass former (trained on measured
diameters only). Read together they describe a mixture:

* with probability 1 - p the alloy does not reach t (crystalline, ribbon
  glass, or a rod thinner than t);
* with probability p it does, and log10 Dmax is normal around the regressor's
  prediction with the spread of its out-of-fold residuals, truncated to
  Dmax >= t.

Then P(Dmax >= x) = p * S(x) / S(t) for x >= t (S: the normal survival of
log10 x), and the mixture's median is the consistent Dmax
(:func:`mixture_median`): it reaches t exactly when p >= 0.5, and a
constraint "Dmax >= x" on it means P(Dmax >= x) >= 0.5. Below t the mixture
does not say how thin a non-bulk alloy is, so the median is 0 there. Why the
median and not the expectation p x Dmax_if_glass: ``docs/decisions.md``
(measured by ``benchmarks/gfa_dmax_consistency.py``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

__all__ = ["exceedance", "mixture_median", "mixture_quantile", "sigma_from_quantiles"]


def sigma_from_quantiles(lo: float, hi: float) -> float:
    """Standard deviation (log10 units) of a normal whose 16th / 84th percentiles are ``lo`` / ``hi``."""
    return max((float(hi) - float(lo)) / 2.0, 1e-6)


def _z(x_mm: np.ndarray | float, dmax_if_glass: np.ndarray, sigma: float) -> np.ndarray:
    return (np.log10(x_mm) - np.log10(dmax_if_glass)) / sigma


def exceedance(p: np.ndarray, dmax_if_glass: np.ndarray, x_mm: float, threshold_mm: float, sigma: float) -> np.ndarray:
    """P(Dmax >= x_mm) under the mixture, for x_mm >= threshold_mm.

    ``p`` is P(Dmax >= threshold_mm), ``dmax_if_glass`` the regressor's
    diameter (mm), ``sigma`` its residual spread in log10 units.
    """
    if x_mm < threshold_mm:
        raise ValueError(f"the mixture describes Dmax >= {threshold_mm:g} mm only; got x = {x_mm:g} mm")
    p = np.asarray(p, dtype=np.float64)
    d = np.asarray(dmax_if_glass, dtype=np.float64)
    s_t = ndtr(-_z(threshold_mm, d, sigma))
    s_x = ndtr(-_z(x_mm, d, sigma))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(s_t > 0, s_x / s_t, 0.0)
    return p * np.clip(ratio, 0.0, 1.0)


def mixture_quantile(p: np.ndarray, dmax_if_glass: np.ndarray, threshold_mm: float, sigma: float, level: float) -> np.ndarray:
    """The Dmax (mm) below which the mixture puts a fraction ``level``; 0 where that lies below the threshold.

    The mixture's mass below ``threshold_mm`` (1 - p) has no shape, so a
    quantile that falls in it is reported as 0 ("not a bulk glass"). Monotone
    in p and in the regressor's diameter; at ``level = 1 - p`` it equals
    ``threshold_mm``.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    p = np.asarray(p, dtype=np.float64)
    d = np.asarray(dmax_if_glass, dtype=np.float64)
    shape = np.broadcast(p, d).shape
    p, d = np.broadcast_to(p, shape), np.broadcast_to(d, shape)
    s_t = ndtr(-_z(threshold_mm, d, sigma))
    above = p >= 1.0 - level  # the quantile lies in the bulk-glass part
    ok = above & (s_t > 0)
    q = (1.0 - level) * s_t[ok] / p[ok]  # P(Dmax >= x | Dmax >= t) that puts the overall exceedance at 1 - level
    out = np.zeros(shape)
    out[ok] = np.maximum(10.0 ** (np.log10(d[ok]) - sigma * ndtri(q)), threshold_mm)  # the max absorbs rounding
    out[above & ~ok] = threshold_mm  # no regressor mass above t (s_t underflows): the quantile sits at t
    return out


def mixture_median(p: np.ndarray, dmax_if_glass: np.ndarray, threshold_mm: float, sigma: float) -> np.ndarray:
    """The consistent Dmax: P(Dmax >= it) = 0.5 under the mixture; 0 where p < 0.5, >= threshold where p >= 0.5."""
    return mixture_quantile(p, dmax_if_glass, threshold_mm, sigma, 0.5)

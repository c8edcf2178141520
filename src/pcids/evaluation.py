"""Split protocols and metrics shared by every benchmark.

Random splits flatter models on these data (they are full of near-duplicate
series of one system), so every protocol here has a grouped twin where whole
alloy systems are held out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from sklearn.model_selection import GroupKFold, KFold, ShuffleSplit


def random_splits(n: int, n_splits: int = 10, test_size: float = 0.2, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n_splits`` independent random train/test splits (the paper's protocol, repeated)."""
    return list(ShuffleSplit(n_splits=n_splits, test_size=test_size, random_state=seed).split(np.arange(n)))


def repeated_kfold(n: int, k: int = 5, repeats: int = 3, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """k-fold CV repeated with different shuffles."""
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for r in range(repeats):
        out += list(KFold(n_splits=k, shuffle=True, random_state=seed + r).split(np.arange(n)))
    return out


def grouped_kfold(groups: Sequence[str], k: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """k folds where every group (e.g. alloy system) is wholly in train or in test.

    Groups are shuffled with ``seed`` before scikit-learn balances the fold sizes,
    so different seeds give different, reproducible partitions.
    """
    groups = np.asarray(groups)
    uniq = np.unique(groups)
    perm = np.random.default_rng(seed).permutation(len(uniq))
    relabel = dict(zip(uniq, perm))
    g = np.array([relabel[x] for x in groups])
    return list(GroupKFold(n_splits=k).split(np.arange(len(groups)), groups=g))


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """R² (Eq. 8), RMSE (Eq. 9) and MAE, ignoring NaN targets."""
    y_true = np.asarray(y_true, dtype=float).ravel()
    y_pred = np.asarray(y_pred, dtype=float).ravel()
    ok = np.isfinite(y_true) & np.isfinite(y_pred)
    y_true, y_pred = y_true[ok], y_pred[ok]
    resid = y_true - y_pred
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    return {
        "r2": 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else float("nan"),
        "rmse": float(np.sqrt(np.mean(resid**2))),
        "mae": float(np.mean(np.abs(resid))),
        "n": int(ok.sum()),
    }


def mean_std(values: Iterator[float] | Sequence[float]) -> dict[str, float]:
    """Mean and sample standard deviation, the way every table reports a protocol."""
    v = np.asarray(list(values), dtype=float)
    return {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, "n": int(len(v))}


# ---------------------------------------------------------------------------
# Inverse design metrics (issue 4): fraction vectors in at.%, shape (n, 7),
# zero at padded slots. The paper's Eq. 11-12 are ambiguous about which
# positions a per-sample R² runs over, so both definitions are provided and
# every report shows them side by side.


def per_sample_r2(A_true: np.ndarray, A_pred: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """R² of each alloy's fraction vector (Eq. 11 before averaging).

    ``mask=None``: over all 7 positions, padded zeros included (how the
    paper's figures are reproduced). With ``mask`` (True at the alloy's real
    elements): over the real elements only, the honest measure. When the true
    vector has zero variance over the positions used (equal fractions, e.g.
    Cu50Zr50 over its real elements) R² is undefined and NaN is returned for
    that alloy; summaries exclude it and report how many there were.
    """
    t = np.asarray(A_true, dtype=float)
    p = np.asarray(A_pred, dtype=float)
    m = np.ones_like(t, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    cnt = m.sum(axis=1)
    mean = np.where(m, t, 0).sum(axis=1) / np.maximum(cnt, 1)
    ss_tot = (np.where(m, t - mean[:, None], 0) ** 2).sum(axis=1)
    ss_res = (np.where(m, t - p, 0) ** 2).sum(axis=1)
    defined = ss_tot > 1e-12 * np.maximum(1.0, (np.where(m, t, 0) ** 2).sum(axis=1))
    out = np.full(len(t), np.nan)
    out[defined] = 1.0 - ss_res[defined] / ss_tot[defined]
    return out


def fraction_rmse(A_true: np.ndarray, A_pred: np.ndarray) -> float:
    """Eq. 12: sqrt of the mean over alloys of the squared L2 norm of the error vector (at.%)."""
    d = np.asarray(A_true, dtype=float) - np.asarray(A_pred, dtype=float)
    return float(np.sqrt(np.mean(np.sum(d**2, axis=1))))


def matrix_wasserstein(A_true: np.ndarray, A_pred: np.ndarray) -> float:
    """The paper's 'Wasserstein distance' between the n x 7 matrices, as pcids defines it.

    scipy's 1-D earth mover's distance between the two multisets of matrix
    entries (all n x 7 values, padded zeros included), in at.%: it compares
    the value distributions (the cloud plots' colours), not which alloy got
    which value.
    """
    from scipy.stats import wasserstein_distance

    return float(wasserstein_distance(np.ravel(A_true), np.ravel(A_pred)))


def inverse_metrics(A_true: np.ndarray, A_pred: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Every inverse-design figure for one test set, both R² definitions side by side."""
    t = np.asarray(A_true, dtype=float)
    p = np.asarray(A_pred, dtype=float)
    m = np.asarray(mask, dtype=bool)
    r_all = per_sample_r2(t, p)
    r_real = per_sample_r2(t, p, m)
    err = (t - p)[m]
    ok_all, ok_real = r_all[np.isfinite(r_all)], r_real[np.isfinite(r_real)]
    return {
        "r2_all7_mean": float(np.mean(ok_all)) if len(ok_all) else float("nan"),
        "r2_all7_median": float(np.median(ok_all)) if len(ok_all) else float("nan"),
        "r2_real_mean": float(np.mean(ok_real)) if len(ok_real) else float("nan"),
        "r2_real_median": float(np.median(ok_real)) if len(ok_real) else float("nan"),
        "r2_real_q10": float(np.quantile(ok_real, 0.1)) if len(ok_real) else float("nan"),
        "r2_real_undefined": int(np.sum(~np.isfinite(r_real))),
        "rmse_eq12": fraction_rmse(t, p),
        "rmse_per_element": float(np.sqrt(np.mean(err**2))),
        "mae_per_element": float(np.mean(np.abs(err))),
        "sum_abs_dev": float(np.mean(np.abs(p.sum(axis=1) - 100.0))),
        "wasserstein": matrix_wasserstein(t, p),
        "n": int(len(t)),
    }

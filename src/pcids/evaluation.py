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

"""The shared start of the screens in this folder (run as ``python benchmarks/screens/NAME.py``).

Puts ``benchmarks/`` on the import path (for ``_common`` and the reported
benchmarks' fold definitions) and names the folder the screens write to,
``benchmarks/results/screens/``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

BENCHMARKS = Path(__file__).resolve().parents[1]
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from _common import RESULTS as REPORTED  # noqa: E402,F401  (the reported benchmarks' results)
from _common import write as _write  # noqa: E402
from gfa_accuracy import folds  # noqa: E402,F401
from pcids.datasets import load_gfa  # noqa: E402
from pcids.models._gfa_features import GFADescriptors  # noqa: E402
from pcids.models.gfa import gfa_labels  # noqa: E402

RESULTS = REPORTED / "screens"


def write(name: str, payload: dict, markdown: str) -> None:
    """:func:`_common.write` into ``benchmarks/results/screens/``."""
    _write(name, payload, markdown, results=RESULTS)


def screen_setup(argv: Sequence[str], families: bool = False) -> SimpleNamespace:
    """The common start of the ``gfa_*_selection.py`` screens.

    ``argv`` is ``[script, seed, protocol, comma-separated variants, ...]``;
    returns the merged table, its fraction matrix and features, labels,
    log10 Dmax, systems and this benchmark's folds for that seed, with BLAS
    held to one thread (the screens share a 2-core box).
    """
    limiter = threadpool_limits(1)
    seed, protocol = int(argv[1]), argv[2]
    df = load_gfa()
    els = df.attrs["elements"]
    A = df[els].to_numpy()
    A = A / A.sum(1, keepdims=True)
    return SimpleNamespace(
        seed=seed, protocol=protocol, which=argv[3].split(","), limiter=limiter, df=df, els=els, A=A,
        F=GFADescriptors(els, families=families).transform_matrix(A, els),
        y=gfa_labels(df).to_numpy(), logd=np.log10(df["dmax_mm"].to_numpy()), sysg=df["system"].to_numpy(),
        folds=folds(df, protocol, seed),  # the reported benchmark's folds, with another seed
    )


def fold_rows(y: np.ndarray, logd: np.ndarray, tr: np.ndarray, te: np.ndarray) -> tuple[np.ndarray, ...]:
    """Training and test rows with a label (classifier), then with a measured Dmax (regressor)."""
    return tr[np.isfinite(y[tr])], te[np.isfinite(y[te])], tr[np.isfinite(logd[tr])], te[np.isfinite(logd[te])]

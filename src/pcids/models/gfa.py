"""Glass-forming ability: will this composition cast as a bulk glass?

PCIDS (paper section 3.3, Fig. 13) outputs a designed composition only if it
passes a GFA check, a critical casting diameter Dmax above 2 mm. The paper's
module is not public; :class:`GFAModel` is built from the merged table of
:func:`pcids.datasets.load_gfa` and composition-only features
(:class:`pcids.models._gfa_features.GFADescriptors`), since a designed alloy
has no measured Tg, Tx or Tl.

:class:`GFAModel` holds a class-weighted extra-trees classifier for
P(Dmax >= threshold) (labels: :func:`gfa_labels`), Platt-calibrated on
system-grouped out-of-fold margins, with an operating point
(``decision_threshold_``), an optional glass-at-all forest, and a log10(Dmax)
regressor with a ~68 % range from its out-of-fold residuals. Forests are saved
as node arrays through :mod:`pcids.models.io`, never as pickles, and walked
in numpy for the first rows a process scores (no scikit-learn import), by
scikit-learn's compiled trees after that: the same numbers (:class:`_Forest`). Every choice
and the screens behind it (``benchmarks/gfa_accuracy.py``,
``benchmarks/screens/``): docs/decisions.md, "GFA: ...".
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pcids.composition import Composition, as_typed
from pcids.descriptors import composition_matrix
from pcids.elements import check_elements
from pcids.errors import ExtrapolationWarning, ModelFileError, PcidsError
from pcids.models._base import Estimator, check_is_fitted
from pcids.models._gfa_features import GROUND_STATE_FEATURES, GFADescriptors, pair_enthalpy_matrix
from pcids.models.dmax_mixture import exceedance, mixture_quantile, sigma_from_quantiles

__all__ = ["GFAModel", "gfa_labels", "load_gfa_model", "SHIPPED_STEM"]

KIND = "gfa"
#: Shipped model, in ``pcids/models/trained`` (``<stem>.npz`` + ``<stem>.json``).
SHIPPED_STEM = "gfa_trees"
AMBIGUOUS = ("drop", "positive", "negative")
#: Features may exceed the training range by this fraction of it before a warning.
RANGE_MARGIN = 0.02
#: Rows per block when walking the trees (fits in cache).
PREDICT_BLOCK = 1024
FOREST_BLOCK = 8192
#: Rows per block of the numpy tree walk, and the rows a process scores with it before
#: switching to scikit-learn's compiled trees (see :class:`_Forest`): at ~31 us per row
#: more than scikit-learn, 30,000 rows cost about its import.
NUMPY_BLOCK = 1024
NUMPY_WALK_ROWS = 30_000
_numpy_rows = 0
#: Rows featurised and scored together by the fast paths (``_score_blocks``).
SCORE_BLOCK = 8192
#: Forest probabilities are clipped to [c, 1 - c] before the logit that Platt scaling reads.
PROBA_CLIP = 1e-3
ESTIMATORS = ("extra_trees", "hgb")
#: Gradient boosting blended into the Dmax regressor (``dmax_hgb_blend``): setting "hgb1" of
#: benchmarks/screens/gfa_magpie_selection.py (squared error, no early stopping).
DMAX_HGB = dict(max_iter=300, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=10, l2_regularization=1.0, early_stopping=False)


def gfa_labels(data: pd.DataFrame, threshold_mm: float = 2.0, ambiguous: str = "drop") -> pd.Series:
    """1 / 0 for "Dmax >= threshold", NaN where unknown (see the module docstring).

    ``data`` needs ``dmax_mm`` and ``gfa_class`` (as from ``load_gfa()``).
    """
    _check_threshold(threshold_mm)
    if ambiguous not in AMBIGUOUS:
        raise PcidsError(f"ambiguous must be one of {AMBIGUOUS}, got {ambiguous!r}")
    missing = [c for c in ("dmax_mm", "gfa_class") if c not in data.columns]
    if missing:
        raise PcidsError(f"the GFA table needs columns {missing} (as returned by pcids.datasets.load_gfa())")
    d = pd.to_numeric(data["dmax_mm"], errors="coerce")
    cls = data["gfa_class"]
    pos = d >= threshold_mm
    neg = (d < threshold_mm) | (d.isna() & cls.isin(["crystalline", "ribbon glass"]))
    y = pd.Series(np.nan, index=data.index, name=f"dmax_ge_{threshold_mm:g}mm")
    y[pos] = 1.0
    y[neg] = 0.0
    amb = y.isna() & (cls == "bulk glass")
    if ambiguous == "positive":
        y[amb] = 1.0
    elif ambiguous == "negative":
        y[amb] = 0.0
    return y


def _check_threshold(threshold_mm: float) -> None:
    if not (isinstance(threshold_mm, (int, float)) and np.isfinite(threshold_mm) and threshold_mm > 0):
        raise PcidsError(f"threshold_mm must be a positive number of millimetres, got {threshold_mm!r}")


# ---------------------------------------------------------------------------
# tree ensembles as plain arrays


def _node_dtype() -> np.dtype:
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE

    return PREDICTOR_RECORD_DTYPE


def _dtype_spec(dtype: np.dtype) -> list[list[str]]:
    return [[name, dtype[name].str] for name in dtype.names]


class _Trees:
    """A fitted HistGradientBoosting ensemble reduced to its node records.

    Prediction goes through scikit-learn's compiled ``TreePredictor``, the
    code the estimator itself uses, so results match it exactly.
    """

    def __init__(self, nodes: np.ndarray, offsets: np.ndarray, baseline: float):
        from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

        self.nodes = nodes
        self.offsets = offsets
        self.baseline = float(baseline)
        empty = np.zeros((0, 8), dtype=np.uint32)
        self._trees = [TreePredictor(nodes[a:b], empty, empty) for a, b in zip(offsets[:-1], offsets[1:])]
        self._known = np.zeros((0, 8), dtype=np.uint32)
        self._fidx = np.zeros(0, dtype=np.uint32)

    @classmethod
    def from_estimator(cls, est: Any) -> _Trees:
        preds = [it[0] for it in est._predictors]  # one tree per iteration (binary / regression)
        nodes = np.concatenate([p.nodes for p in preds])
        offsets = np.cumsum([0] + [len(p.nodes) for p in preds]).astype(np.int64)
        return cls(nodes, offsets, float(np.ravel(est._baseline_prediction)[0]))

    def raw(self, X: np.ndarray) -> np.ndarray:
        # Row blocks that stay in cache while every tree walks them: ~2x faster
        # than one pass per tree over a large matrix.
        X = np.asarray(X, dtype=np.float64)
        out = np.full(X.shape[0], self.baseline)
        for start in range(0, X.shape[0], PREDICT_BLOCK):
            block = np.ascontiguousarray(X[start : start + PREDICT_BLOCK])
            o = out[start : start + PREDICT_BLOCK]
            for t in self._trees:
                o += t.predict(block, self._known, self._fidx, 1)
        return out

    def margin(self, X: np.ndarray) -> np.ndarray:
        return self.raw(X)

    def state(self, prefix: str) -> dict[str, np.ndarray]:
        return {
            f"{prefix}_nodes": np.frombuffer(self.nodes.tobytes(), dtype=np.uint8).copy(),
            f"{prefix}_offsets": self.offsets,
            f"{prefix}_baseline": np.array([self.baseline]),
        }

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], prefix: str, source: str) -> _Trees:
        dtype = _node_dtype()
        try:
            raw = state[f"{prefix}_nodes"].tobytes()
            offsets = state[f"{prefix}_offsets"].astype(np.int64)
            nodes = np.frombuffer(raw, dtype=dtype)
            baseline = float(state[f"{prefix}_baseline"][0])
        except (KeyError, ValueError, IndexError) as exc:
            raise ModelFileError(f"{source} does not hold a valid GFA tree ensemble ({prefix}: {exc})") from None
        if offsets[0] != 0 or offsets[-1] != len(nodes) or np.any(np.diff(offsets) <= 0):
            raise ModelFileError(f"{source}: tree offsets of {prefix!r} do not match its nodes")
        return cls(nodes, offsets, baseline)


class _Forest:
    """A fitted ExtraTrees / RandomForest reduced to five arrays per node.

    A leaf holds the positive-class fraction (classifier) or the mean target
    (regressor); only the fields prediction needs are stored, so the file is
    ~3x smaller than the trees. Two ways to walk them, with bit-identical
    results (same comparisons, trees summed in the same order): numpy
    (:meth:`_walk`), so that scoring a few compositions needs no scikit-learn,
    and, once :data:`NUMPY_WALK_ROWS` rows have been scored in the process or
    scikit-learn is imported anyway, scikit-learn's compiled ``Tree`` (~5x
    faster per row; its import costs ~1 s).
    """

    FIELDS = ("left", "right", "feature", "threshold", "value")

    def __init__(self, arrays: dict[str, np.ndarray], offsets: np.ndarray, max_depth: np.ndarray, n_features: int, classifier: bool):
        self.arrays = arrays
        self.offsets = offsets
        self.max_depth = max_depth
        self.n_features = int(n_features)
        self.classifier = bool(classifier)
        self._sk_trees: list[Any] | None = None
        # numpy walk: children as global node numbers, a leaf points to itself
        node = np.arange(len(arrays["left"]), dtype=np.intp)
        base = np.repeat(offsets[:-1], np.diff(offsets)).astype(np.intp)
        leaf = arrays["left"] == -1
        self._left = np.where(leaf, node, arrays["left"] + base)
        self._right = np.where(leaf, node, arrays["right"] + base)
        self._feature = np.where(leaf, 0, arrays["feature"]).astype(np.intp)
        self._threshold = np.where(leaf, np.inf, arrays["threshold"]).astype(np.float64)

    def _sklearn_trees(self) -> list[Any]:
        """The trees as scikit-learn ``Tree`` objects (built on first use)."""
        if self._sk_trees is None:
            from sklearn.tree._tree import NODE_DTYPE, Tree

            arrays, trees = self.arrays, []
            for k, (a, b) in enumerate(zip(self.offsets[:-1], self.offsets[1:])):
                nodes = np.zeros(b - a, dtype=NODE_DTYPE)
                nodes["left_child"] = arrays["left"][a:b]
                nodes["right_child"] = arrays["right"][a:b]
                nodes["feature"] = arrays["feature"][a:b]
                nodes["threshold"] = arrays["threshold"][a:b]
                nodes["n_node_samples"] = 1
                nodes["weighted_n_node_samples"] = 1.0
                t = Tree(self.n_features, np.array([1], dtype=np.intp), 1)
                t.__setstate__(
                    {
                        "max_depth": int(self.max_depth[k]),
                        "node_count": int(b - a),
                        "nodes": nodes,
                        "values": np.ascontiguousarray(arrays["value"][a:b], dtype=np.float64).reshape(-1, 1, 1),
                    }
                )
                trees.append(t)
            self._sk_trees = trees
        return self._sk_trees

    def _walk(self, X: np.ndarray) -> np.ndarray:
        """Leaf values (n, n_trees): every (row, tree) pair steps down one level per pass;
        pairs that reached a leaf drop out."""
        n, n_trees = X.shape[0], len(self.offsets) - 1
        node = np.tile(self.offsets[:-1].astype(np.intp), n)
        at = np.repeat(np.arange(n, dtype=np.intp) * X.shape[1], n_trees)  # row start in X.ravel()
        flat = X.ravel()
        active = np.arange(node.size)
        cur = node.copy()
        while active.size:
            nxt = np.where(flat[at + self._feature[cur]] <= self._threshold[cur], self._left[cur], self._right[cur])
            moved = nxt != cur
            node[active] = nxt
            active, cur, at = active[moved], nxt[moved], at[moved]
        return self.arrays["value"][node].reshape(n, n_trees)

    @classmethod
    def from_estimator(cls, est: Any, classifier: bool) -> _Forest:
        parts: dict[str, list[np.ndarray]] = {f: [] for f in cls.FIELDS}
        sizes, depths = [], []
        for e in est.estimators_:
            st = e.tree_.__getstate__()
            nodes, v = st["nodes"], st["values"][:, 0, :]
            parts["left"].append(nodes["left_child"].astype(np.int32))
            parts["right"].append(nodes["right_child"].astype(np.int32))
            parts["feature"].append(nodes["feature"].astype(np.int32))
            parts["threshold"].append(nodes["threshold"].astype(np.float64))
            if classifier:
                tot = v.sum(axis=1)
                parts["value"].append(np.where(tot > 0, v[:, -1] / np.where(tot > 0, tot, 1), 0.0))
            else:
                parts["value"].append(v[:, 0].astype(np.float64))
            sizes.append(len(nodes))
            depths.append(st["max_depth"])
        arrays = {f: np.concatenate(parts[f]) for f in cls.FIELDS}
        offsets = np.cumsum([0] + sizes).astype(np.int64)
        return cls(arrays, offsets, np.array(depths, dtype=np.int64), est.n_features_in_, classifier)

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Mean over trees (positive fraction or target), in cache-sized row blocks."""
        return self.moments(X, squares=False)[0]

    def moments(self, X: np.ndarray, squares: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Mean over trees and (``squares``) mean of the squared tree outputs, in one walk;
        their difference is the trees' spread (a regressor's uncertainty)."""
        global _numpy_rows
        X = np.asarray(X, dtype=np.float32)
        out = np.zeros(X.shape[0])
        sq = np.zeros(X.shape[0]) if squares else None
        n_trees = len(self.offsets) - 1
        use_numpy = _numpy_rows < NUMPY_WALK_ROWS and "sklearn.tree" not in sys.modules
        if use_numpy:
            _numpy_rows += X.shape[0]
        for start in range(0, X.shape[0], NUMPY_BLOCK if use_numpy else FOREST_BLOCK):
            block = np.ascontiguousarray(X[start : start + (NUMPY_BLOCK if use_numpy else FOREST_BLOCK)])
            rows = slice(start, start + block.shape[0])
            o = out[rows]
            if use_numpy:
                leaves = self._walk(block)
                for t in range(n_trees):  # tree by tree, as below: the same sums to the bit
                    o += leaves[:, t]
                    if sq is not None:
                        sq[rows] += leaves[:, t] * leaves[:, t]
            else:
                for t in self._sklearn_trees():
                    v = t.predict(block)[:, 0]
                    o += v
                    if sq is not None:
                        sq[rows] += v * v
        return out / n_trees, (sq / n_trees if sq is not None else None)

    def margin(self, X: np.ndarray) -> np.ndarray:
        p = np.clip(self.raw(X), PROBA_CLIP, 1 - PROBA_CLIP)
        return np.log(p / (1 - p))

    def state(self, prefix: str) -> dict[str, np.ndarray]:
        return {
            **{f"{prefix}_{f}": self.arrays[f] for f in self.FIELDS},
            f"{prefix}_offsets": self.offsets,
            f"{prefix}_max_depth": self.max_depth,
            f"{prefix}_meta": np.array([self.n_features, int(self.classifier)], dtype=np.int64),
        }

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], prefix: str, source: str) -> _Forest:
        try:
            arrays = {f: state[f"{prefix}_{f}"] for f in cls.FIELDS}
            offsets = state[f"{prefix}_offsets"].astype(np.int64)
            depth = state[f"{prefix}_max_depth"].astype(np.int64)
            n_features, classifier = (int(v) for v in state[f"{prefix}_meta"])
        except (KeyError, ValueError) as exc:
            raise ModelFileError(f"{source} does not hold a valid GFA forest ({prefix}: {exc})") from None
        n = len(arrays["left"])
        if (
            offsets[0] != 0
            or offsets[-1] != n
            or np.any(np.diff(offsets) <= 0)
            or len(depth) != len(offsets) - 1
            or any(len(a) != n for a in arrays.values())
        ):
            raise ModelFileError(f"{source}: the arrays of forest {prefix!r} do not fit together")
        for k, (a, b) in enumerate(zip(offsets[:-1], offsets[1:])):
            lr = np.concatenate([arrays["left"][a:b], arrays["right"][a:b]])
            if np.any((lr != -1) & ((lr < 0) | (lr >= b - a))) or np.any(arrays["feature"][a:b] >= n_features):
                raise ModelFileError(f"{source}: tree {k} of {prefix!r} points outside itself")
        try:
            return cls({f: np.asarray(a) for f, a in arrays.items()}, offsets, depth, n_features, bool(classifier))
        except (ValueError, TypeError, IndexError) as exc:
            raise ModelFileError(f"{source}: forest {prefix!r} cannot be rebuilt: {exc}") from None


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------------------
# the model


class GFAModel(Estimator):
    """P(Dmax >= threshold) and log10(Dmax) from composition alone.

    Parameters
    ----------
    threshold_mm : float, default 2.0
        The critical casting diameter a "bulk glass" must reach (paper: 2 mm).
    ambiguous : {"drop", "positive", "negative"}, default "drop"
        Label of a bulk glass with no measured diameter (see :func:`gfa_labels`).
    element_fractions : bool, default True
        Add the fraction of each training element to the features.
    estimator : {"extra_trees", "hgb"}, default "extra_trees"
        Extremely randomised trees (class-weighted per bootstrap-free subsample)
        or HistGradientBoosting, for both the classifier and the regressor.
    n_estimators, forest_min_samples_leaf
        Size of the extra-trees forests (classifier max_features="sqrt",
        regressor max_features=0.5).
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization
        Hyperparameters of the gradient-boosted ensembles (``estimator="hgb"``).
    calibration_folds : int, default 5
        Folds (grouped by alloy system) of the internal cross-validation used
        for calibration, the operating point and the Dmax range.
    calibration : {"sigmoid", "isotonic"}, default "sigmoid"
        Map from the class-weighted model's margin to a probability, fitted on
        the internal out-of-fold margins. Sigmoid (Platt) keeps the ranking of
        the trees; isotonic flattens wide score ranges into ties.
    drop_conflicts : bool, default False
        Leave out of training the alloys whose sources disagree (``conflict``).
    family_features : bool, default True
        Add the element-family fractions, number of elements and largest
        fraction (``GFADescriptors(families=True)``) to the features.
    glass_forest : bool, default True
        Add to the classifier's margin log P(glass) from a second forest
        trained to tell any glass (ribbon or bulk, including the bulk glasses
        with no measured diameter) from crystalline alloys, i.e. score
        P(Dmax >= threshold) as "glass at all" times the classifier's odds.
        Needs the GFA table (``gfa_class``) in ``fit``; pass False to fit on
        compositions and labels alone.
    glass_n_estimators : int, default 20
        Trees in the glass forest (20 ranked as well as 60 on the selection
        folds, at a third of the scoring cost).
    dmax_glass_forest : bool, default False
        Give the Dmax regressor one more feature, log P(glass) from a third
        forest (``glass_n_estimators`` trees) trained on the alloys *without*
        a measured diameter only (ribbon and bulk glasses against crystalline
        alloys). It never sees a measured alloy, so its output on the
        regressor's training rows is not memorised and needs no nested
        cross-validation. Needs the GFA table in ``fit``.
    dmax_hgb_blend : float, default 0.0
        Weight w of a gradient-boosted regressor (:data:`DMAX_HGB`, 300 trees
        of 15 leaves) in the Dmax prediction, (1 - w) x the forest + w x the
        boosted trees; 0 fits none. The internal residual range uses the same
        blend. Off by default; on the selection folds 0.2 raised grouped R²
        by ~0.01 on both seeds and left random-fold R² unchanged (module
        docstring).
    dmax_ground_state : bool, default False
        Give the Dmax regressor (only) 16 more features: mean / deviation /
        min / max of the elemental solids' DFT volume per atom, band gap,
        magnetic moment and space-group number from the Magpie tables
        (``GFADescriptors(ground_state=True)``); the classifier and the glass
        forests read the same features as without it. Off: the raw-forest
        screen gained R² +0.003 / +0.010 grouped and +0.001 / +0.005 random
        (seeds 1 / 2), about the spread between tree seeds, and the full
        pipeline lost on seed 1 (module docstring).
    stack_classifier : bool, default False
        Give the Dmax regressor the classifier's margin as one more feature
        (its out-of-fold margins in training), so it can use what the
        classifier learns from ~5x more alloys. Off by default: on the
        selection folds it helped grouped R² a little and hurt random-fold R²
        (module docstring).
    seed : int, default 0
        Seeds the trees and the internal folds.
    """

    def __init__(
        self,
        threshold_mm: float = 2.0,
        ambiguous: str = "drop",
        element_fractions: bool = True,
        estimator: str = "extra_trees",
        n_estimators: int = 60,
        forest_min_samples_leaf: int = 2,
        max_iter: int = 100,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 40,
        l2_regularization: float = 1.0,
        calibration_folds: int = 5,
        calibration: str = "sigmoid",
        drop_conflicts: bool = False,
        stack_classifier: bool = False,
        family_features: bool = True,
        glass_forest: bool = True,
        glass_n_estimators: int = 20,
        dmax_glass_forest: bool = False,
        dmax_ground_state: bool = False,
        dmax_hgb_blend: float = 0.0,
        seed: int = 0,
    ):
        self.threshold_mm = threshold_mm
        self.ambiguous = ambiguous
        self.element_fractions = element_fractions
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.forest_min_samples_leaf = forest_min_samples_leaf
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.calibration_folds = calibration_folds
        self.calibration = calibration
        self.drop_conflicts = drop_conflicts
        self.stack_classifier = stack_classifier
        self.family_features = family_features
        self.glass_forest = glass_forest
        self.glass_n_estimators = glass_n_estimators
        self.dmax_glass_forest = dmax_glass_forest
        self.dmax_ground_state = dmax_ground_state
        self.dmax_hgb_blend = dmax_hgb_blend
        self.seed = seed

    # -- fitting -----------------------------------------------------------

    def _hgb_params(self) -> dict[str, Any]:
        return dict(
            max_iter=int(self.max_iter),
            learning_rate=float(self.learning_rate),
            max_leaf_nodes=int(self.max_leaf_nodes),
            min_samples_leaf=int(self.min_samples_leaf),
            l2_regularization=float(self.l2_regularization),
            early_stopping=False,
            random_state=int(self.seed),
        )

    def _fit_trees(self, X: np.ndarray, y: np.ndarray, classifier: bool, n_estimators: int | None = None) -> _Trees | _Forest:
        """Fit one seeded ensemble and reduce it to arrays (the form that is saved and used)."""
        if self.estimator == "hgb":
            from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

            if classifier:
                return _Trees.from_estimator(HistGradientBoostingClassifier(class_weight="balanced", **self._hgb_params()).fit(X, y))
            return _Trees.from_estimator(HistGradientBoostingRegressor(**self._hgb_params()).fit(X, y))
        from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

        common = dict(n_estimators=int(self.n_estimators if n_estimators is None else n_estimators), min_samples_leaf=int(self.forest_min_samples_leaf), n_jobs=1, random_state=int(self.seed))
        if classifier:
            est = ExtraTreesClassifier(class_weight="balanced_subsample", max_features="sqrt", **common).fit(X, y)
        else:
            est = ExtraTreesRegressor(max_features=0.5, **common).fit(X, y)
        return _Forest.from_estimator(est, classifier)

    def _fit_dmax(self, X: np.ndarray, y: np.ndarray) -> tuple[_Trees | _Forest, _Trees | None]:
        """The Dmax regressor, and the boosted trees blended into it (``dmax_hgb_blend`` > 0)."""
        reg = self._fit_trees(X, y, classifier=False)
        if not self.dmax_hgb_blend:
            return reg, None
        from sklearn.ensemble import HistGradientBoostingRegressor

        return reg, _Trees.from_estimator(HistGradientBoostingRegressor(random_state=int(self.seed), **DMAX_HGB).fit(X, y))

    def _dmax_raw(self, reg: _Trees | _Forest, hgb: _Trees | None, X: np.ndarray) -> np.ndarray:
        r = reg.raw(X)
        if hgb is None:
            return r
        w = float(self.dmax_hgb_blend)
        return (1.0 - w) * r + w * hgb.raw(X)

    def _fit_glass(self, X: np.ndarray, glass: np.ndarray) -> _Trees | _Forest:
        """Glass (ribbon or bulk) against crystalline; same trees as the classifier, ``glass_n_estimators`` of them."""
        return self._fit_trees(X, glass.astype(int), classifier=True, n_estimators=int(self.glass_n_estimators))

    def _check_params(self) -> None:
        _check_threshold(self.threshold_mm)
        if self.ambiguous not in AMBIGUOUS:
            raise PcidsError(f"ambiguous must be one of {AMBIGUOUS}, got {self.ambiguous!r}")
        if self.estimator not in ESTIMATORS:
            raise PcidsError(f"estimator must be one of {ESTIMATORS}, got {self.estimator!r}")
        if self.calibration not in ("sigmoid", "isotonic"):
            raise PcidsError(f"calibration must be 'sigmoid' or 'isotonic', got {self.calibration!r}")
        if not (isinstance(self.calibration_folds, int) and self.calibration_folds >= 2):
            raise PcidsError(f"calibration_folds must be an integer >= 2, got {self.calibration_folds!r}")
        for name in ("max_iter", "max_leaf_nodes", "min_samples_leaf", "n_estimators", "forest_min_samples_leaf", "glass_n_estimators"):
            v = getattr(self, name)
            if not (isinstance(v, (int, np.integer)) and v >= (2 if name == "max_leaf_nodes" else 1)):
                raise PcidsError(f"{name} must be a positive integer, got {v!r}")
        if not (isinstance(self.dmax_hgb_blend, (int, float, np.floating)) and 0.0 <= float(self.dmax_hgb_blend) <= 1.0):
            raise PcidsError(f"dmax_hgb_blend must be a weight in [0, 1], got {self.dmax_hgb_blend!r}")
        if not (float(self.learning_rate) > 0):
            raise PcidsError(f"learning_rate must be positive, got {self.learning_rate!r}")

    def fit(self, X: pd.DataFrame | Iterable[str | Composition], y: Sequence[float] | None = None, *, dmax_mm: Sequence[float] | None = None) -> GFAModel:
        """Fit on the merged table (``load_gfa()``), or on compositions + labels.

        With a DataFrame holding ``formula``, ``dmax_mm`` and ``gfa_class`` and
        ``y=None``, labels come from :func:`gfa_labels`. Otherwise ``X`` is a
        sequence of compositions, ``y`` their 0/1 labels (NaN = unlabelled)
        and ``dmax_mm`` (optional) measured diameters for the regressor.
        """
        from threadpoolctl import threadpool_limits

        self._check_params()
        # One OpenMP thread: on a shared machine HGB's threads spin-wait and run
        # 3-5x slower in wall time than a single thread (measured); results do not change.
        with threadpool_limits(1):
            return self._fit(X, y, dmax_mm)

    def _fit(self, X: Any, y: Any, dmax_mm: Any) -> GFAModel:
        from sklearn.isotonic import IsotonicRegression

        comps, labels, dmax, conflict, glass = self._training_table(X, y, dmax_mm)
        A, elements = composition_matrix(comps)
        check_elements(elements)
        self.elements_ = elements
        self.featurizer_ = self._featurizer(elements)
        F_all = self.featurizer_.transform_matrix(A, elements)
        self.feature_names_ = self.featurizer_.feature_labels()
        F = self._clf_features(F_all)  # what the classifier and the glass forests read
        n_desc = F.shape[1] - (len(elements) if self.element_fractions else 0)
        has_glass = np.isfinite(glass) & ~conflict
        self.feature_min_ = F[:, :n_desc].min(axis=0)
        self.feature_max_ = F[:, :n_desc].max(axis=0)
        systems = np.array([c.system for c in comps])

        use = np.isfinite(labels) & ~conflict
        yc = labels[use].astype(int)
        if yc.min() == yc.max():
            raise PcidsError("the training labels hold a single class; GFAModel needs both glass formers and non-formers")
        if self.glass_forest and not np.isfinite(glass).any():
            raise PcidsError(
                "glass_forest=True (the default) needs the GFA table (a DataFrame with gfa_class) to learn glass against "
                "crystalline; pass glass_forest=False to fit on compositions and labels alone"
            )
        if self.dmax_glass_forest and not np.isfinite(glass).any():
            raise PcidsError(
                "dmax_glass_forest=True needs the GFA table (a DataFrame with gfa_class) to learn glass against "
                "crystalline; pass dmax_glass_forest=False to fit on compositions and labels alone"
            )
        Fc, gc = F[use], systems[use]
        self.n_train_ = int(use.sum())
        self.n_positive_ = int(yc.sum())

        oof = np.full(len(yc), np.nan)
        for tr, te in self._folds(gc, yc):
            oof[te] = self._fit_trees(Fc[tr], yc[tr], classifier=True).margin(Fc[te])
            if self.glass_forest:
                # glass forest on every alloy with a class outside the held-out systems
                g_tr = has_glass & ~np.isin(systems, gc[te])
                oof[te] += _log_glass(self._fit_glass(F[g_tr], glass[g_tr]), Fc[te])
        if self.calibration == "isotonic":
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(oof, yc)
            self.calibration_x_ = np.asarray(iso.X_thresholds_, dtype=np.float64)
            self.calibration_y_ = np.asarray(iso.y_thresholds_, dtype=np.float64)
        else:  # Platt: logistic regression on the weighted model's margin
            from sklearn.linear_model import LogisticRegression

            lr = LogisticRegression(C=1e6).fit(oof.reshape(-1, 1), yc)
            self.calibration_x_ = np.array([float(lr.coef_[0, 0]), float(lr.intercept_[0])])
            self.calibration_y_ = np.zeros(0)
        cal = self._calibrate(oof)
        self.decision_threshold_ = _best_balanced_threshold(yc, cal)
        self.oof_proba_ = cal
        self.oof_labels_ = yc
        self.classifier_ = self._fit_trees(Fc, yc, classifier=True)
        self.glass_ = self._fit_glass(F[has_glass], glass[has_glass]) if self.glass_forest else None

        measured = np.isfinite(dmax) & (dmax > 0) & ~conflict
        self.regressor_ = None
        self.dmax_hgb_ = None
        self.dmax_glass_ = None
        self.residual_quantiles_ = np.array([np.nan, np.nan])
        if measured.sum() >= 2 * self.calibration_folds:
            Fr, tr_y, gr = F_all[measured], np.log10(dmax[measured]), systems[measured]
            # alloys the Dmax glass forest may read: a class, and no measured diameter at all
            unmeasured = has_glass & ~np.isfinite(dmax)
            if self.stack_classifier:
                # the classifier's margin as one more feature: out-of-fold where the
                # classifier trained on the row, the final classifier's elsewhere
                # (rows it never saw), so the regressor never reads a memorised score
                margin = np.full(len(F), np.nan)
                margin[use] = oof
                rest = measured & ~use
                if rest.any():
                    margin[rest] = self._margin(F_all[rest])  # _margin takes the full feature rows
                Fr = np.column_stack([Fr, margin[measured]])

            res = np.full(len(tr_y), np.nan)
            for tr, te in self._folds(gr, None):
                Ftr, Fte = Fr[tr], Fr[te]
                if self.dmax_glass_forest:
                    # a glass forest that has not seen the held-out systems either
                    g_tr = unmeasured & ~np.isin(systems, gr[te])
                    g = self._fit_glass(F[g_tr], glass[g_tr])
                    Fm = F[measured]  # the glass forest reads the plain features
                    Ftr, Fte = np.column_stack([Ftr, _log_glass(g, Fm[tr])]), np.column_stack([Fte, _log_glass(g, Fm[te])])
                res[te] = tr_y[te] - self._dmax_raw(*self._fit_dmax(Ftr, tr_y[tr]), Fte)
            self.residual_quantiles_ = np.quantile(res, [0.16, 0.84])
            if self.dmax_glass_forest:
                self.dmax_glass_ = self._fit_glass(F[unmeasured], glass[unmeasured])
                Fr = np.column_stack([Fr, _log_glass(self.dmax_glass_, F[measured])])
            self.regressor_, self.dmax_hgb_ = self._fit_dmax(Fr, tr_y)
            self.n_dmax_train_ = int(measured.sum())
        return self

    def _folds(self, groups: np.ndarray, y: np.ndarray | None) -> list[tuple[np.ndarray, np.ndarray]]:
        from pcids.evaluation import grouped_kfold

        k = min(self.calibration_folds, len(np.unique(groups)))
        if k < 2:
            raise PcidsError("GFAModel needs alloys from at least two alloy systems to calibrate")
        return grouped_kfold(groups, k=k, seed=int(self.seed))

    def _training_table(self, X: Any, y: Any, dmax_mm: Any) -> tuple[list[Composition], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Compositions, labels, measured Dmax, conflict mask, and glass (1) / crystalline (0) / unknown (NaN)."""
        if isinstance(X, pd.DataFrame) and y is None:
            if "formula" not in X.columns:
                raise PcidsError("the GFA table needs a 'formula' column (as returned by pcids.datasets.load_gfa())")
            labels = gfa_labels(X, self.threshold_mm, self.ambiguous).to_numpy(dtype=float)
            dmax = pd.to_numeric(X["dmax_mm"], errors="coerce").to_numpy(dtype=float)
            conflict = X["conflict"].to_numpy(dtype=bool) if (self.drop_conflicts and "conflict" in X.columns) else np.zeros(len(X), bool)
            comps = [Composition.coerce(f) for f in X["formula"]]
            cls = X["gfa_class"]
            glass = np.where(cls.isin(["ribbon glass", "bulk glass"]), 1.0, np.where(cls == "crystalline", 0.0, np.nan))
            return comps, labels, dmax, conflict, glass
        if y is None:
            raise PcidsError("fit needs labels y when X is not the GFA table (a DataFrame with dmax_mm and gfa_class)")
        comps = [Composition.coerce(c) for c in (X["formula"] if isinstance(X, pd.DataFrame) else X)]
        labels = np.asarray(y, dtype=float).ravel()
        if len(labels) != len(comps):
            raise PcidsError(f"got {len(comps)} compositions but {len(labels)} labels")
        bad = np.isfinite(labels) & ~np.isin(labels, (0.0, 1.0))
        if bad.any():
            raise PcidsError(f"labels must be 0, 1 or NaN; got {labels[bad][:3].tolist()}")
        dmax = np.full(len(comps), np.nan) if dmax_mm is None else np.asarray(dmax_mm, dtype=float).ravel()
        if len(dmax) != len(comps):
            raise PcidsError(f"got {len(comps)} compositions but {len(dmax)} dmax_mm values")
        return comps, labels, dmax, np.zeros(len(comps), bool), np.full(len(comps), np.nan)

    # -- prediction --------------------------------------------------------

    def _check_fitted(self, dmax: bool = False) -> None:
        check_is_fitted(self, "classifier_")
        if dmax and self.regressor_ is None:
            from pcids.errors import NotFittedError

            raise NotFittedError(f"This {type(self).__name__} has no Dmax regressor: fit it with measured dmax_mm values")

    def _features(self, A: np.ndarray, elements: Sequence[str]) -> np.ndarray:
        return self.featurizer_.transform_matrix(A, elements)

    def _featurizer(self, elements: Sequence[str]) -> GFADescriptors:
        return GFADescriptors(elements if self.element_fractions else None, families=self.family_features, ground_state=self.dmax_ground_state)

    def _clf_features(self, F: np.ndarray) -> np.ndarray:
        """The columns the classifier and the glass forests read: all but the regressor-only ground-state block."""
        return F[:, : F.shape[1] - len(GROUND_STATE_FEATURES)] if self.dmax_ground_state else F

    def _score_blocks(self, A: np.ndarray, elements: Sequence[str], proba: bool, dmax: bool) -> tuple[np.ndarray, np.ndarray]:
        """Features and trees one cache-sized row block at a time.

        The feature block stays in cache from featurisation to the last tree:
        measured ~2x faster featurisation and ~10-15 % faster scoring than one
        (n, 87) matrix (``benchmarks/gfa_speed.py``); results are identical.
        """
        self._check_fitted(dmax=dmax)
        A = np.asarray(A, dtype=np.float64)
        n = A.shape[0] if A.ndim == 2 else 0
        p, d = np.empty(n if proba else 0), np.empty(n if dmax else 0)
        for start in range(0, max(n, 1), SCORE_BLOCK):
            F = self._features(A[start : start + SCORE_BLOCK], elements)
            margin = self._margin(F) if (proba or self.stack_classifier) else None
            if proba:
                p[start : start + SCORE_BLOCK] = self._calibrate(margin)
            if dmax:
                d[start : start + SCORE_BLOCK] = 10.0 ** self._log_dmax(F, margin)
        return p, d

    def _margin(self, F: np.ndarray) -> np.ndarray:
        """The score Platt scaling reads: classifier log-odds (+ log P(glass) with ``glass_forest``)."""
        F = self._clf_features(F)
        m = self.classifier_.margin(F)
        if getattr(self, "glass_", None) is not None:
            m += _log_glass(self.glass_, F)
        return m

    def predict_proba_matrix(self, A: np.ndarray, elements: Sequence[str]) -> np.ndarray:
        """Calibrated P(Dmax >= threshold) for a fraction matrix (n, m); no warnings (fast path)."""
        return self._score_blocks(A, elements, proba=True, dmax=False)[0]

    def _calibrate(self, z: np.ndarray) -> np.ndarray:
        if self.calibration == "isotonic":
            return np.interp(z, self.calibration_x_, self.calibration_y_)
        a, b = self.calibration_x_
        return _sigmoid(a * z + b)

    def predict_dmax_matrix(self, A: np.ndarray, elements: Sequence[str]) -> np.ndarray:
        """Predicted Dmax (mm) for a fraction matrix (n, m); no warnings (fast path)."""
        return self._score_blocks(A, elements, proba=False, dmax=True)[1]

    def predict_matrix(self, A: np.ndarray, elements: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(P(Dmax >= threshold), Dmax in mm) with one featurisation: the corrector's cheapest call."""
        return self._score_blocks(A, elements, proba=True, dmax=True)

    def _log_dmax(self, F: np.ndarray, margin: np.ndarray | None = None) -> np.ndarray:
        self._check_fitted(dmax=True)
        extra = []
        if self.stack_classifier:
            extra.append(self._margin(F) if margin is None else margin)
        if getattr(self, "dmax_glass_", None) is not None:
            extra.append(_log_glass(self.dmax_glass_, self._clf_features(F)))
        return self._dmax_raw(self.regressor_, getattr(self, "dmax_hgb_", None), np.column_stack([F, *extra]) if extra else F)

    def _matrix(self, compositions: Any) -> tuple[np.ndarray, list[str], list[Composition]]:
        if isinstance(compositions, (str, Composition)):
            compositions = [compositions]
        if isinstance(compositions, pd.DataFrame):
            compositions = compositions["formula"]
        comps = [Composition.coerce(c) for c in compositions]
        if not comps:
            raise PcidsError("no compositions given")
        A, elements = composition_matrix(comps)
        check_elements(elements)
        return A, elements, comps

    def _typed_matrix(self, compositions: Any) -> tuple[list[Any], np.ndarray, list[str], list[Composition]]:
        """The inputs as typed (for the frames' index) beside :meth:`_matrix`, domain checked."""
        if isinstance(compositions, (str, Composition)):
            compositions = [compositions]
        typed = list(compositions["formula"] if isinstance(compositions, pd.DataFrame) else compositions)
        A, elements, comps = self._matrix(typed)
        self._warn_domain(A, elements, comps, stacklevel=4)
        return typed, A, elements, comps

    def _warn_domain(self, A: np.ndarray, elements: list[str], comps: list[Composition], stacklevel: int = 3) -> None:
        reasons = self._domain_reasons(A, elements)
        bad = [(c.formula, r) for c, r in zip(comps, reasons) if r]
        if bad:
            shown = "; ".join(f"{f}: {', '.join(r)}" for f, r in bad[:3])
            more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
            warnings.warn(
                f"{len(bad)} of {len(comps)} compositions lie outside the GFA training data, predictions are "
                f"extrapolations: {shown}{more}",
                ExtrapolationWarning,
                stacklevel=stacklevel,
            )

    def predict_proba(self, compositions: Any) -> np.ndarray:
        """Calibrated P(Dmax >= threshold_mm), shape (n,); warns outside the training domain."""
        self._check_fitted()
        A, elements, comps = self._matrix(compositions)
        self._warn_domain(A, elements, comps)
        return self.predict_proba_matrix(A, elements)

    def predict(self, compositions: Any) -> np.ndarray:
        """1 where P(Dmax >= threshold) reaches ``decision_threshold_`` (max balanced accuracy)."""
        return (self.predict_proba(compositions) >= self.decision_threshold_).astype(int)

    def predict_dmax(self, compositions: Any) -> pd.DataFrame:
        """Predicted Dmax (mm) with a ~68 % range (``dmax_low``, ``dmax_high``), indexed by the input as
        typed, beside the canonical ``formula``."""
        self._check_fitted()
        compositions, A, elements, comps = self._typed_matrix(compositions)
        log_d = self._log_dmax(self._features(A, elements))
        lo, hi = self.residual_quantiles_
        return pd.DataFrame(
            {"formula": [c.formula for c in comps], "dmax_mm": 10.0**log_d, "dmax_low": 10.0 ** (log_d + lo), "dmax_high": 10.0 ** (log_d + hi)},
            index=pd.Index([as_typed(c) for c in compositions], name="input"),
        )

    # -- one consistent Dmax (pcids.models.dmax_mixture) -------------------

    @property
    def dmax_sigma_(self) -> float:
        """Spread (log10 units) of the regressor's out-of-fold residuals: its 16th-84th percentile half-width."""
        self._check_fitted()
        return sigma_from_quantiles(*self.residual_quantiles_)

    def dmax_from(self, p: np.ndarray, dmax_if_glass: np.ndarray, level: float = 0.5) -> np.ndarray:
        """The consistent Dmax (mm; ``level`` 0.5: the median) from P(Dmax >= threshold) and the regressor's diameter.

        0 where the quantile falls among the alloys that do not reach the
        threshold; at the median, >= ``threshold_mm`` exactly where p >= 0.5.
        """
        return mixture_quantile(p, dmax_if_glass, float(self.threshold_mm), self.dmax_sigma_, level)

    def dmax_exceedance(self, p: np.ndarray, dmax_if_glass: np.ndarray, x_mm: float) -> np.ndarray:
        """P(Dmax >= x_mm) for x_mm >= ``threshold_mm``: what an "at least x mm" constraint should be met with."""
        return exceedance(p, dmax_if_glass, float(x_mm), float(self.threshold_mm), self.dmax_sigma_)

    def verdict(self, p: np.ndarray) -> np.ndarray:
        """"yes" where P(Dmax >= threshold) >= 0.5, i.e. exactly where the consistent Dmax reaches the
        threshold; "possible" where P reaches the operating point ``decision_threshold_`` (max balanced
        accuracy) but not 0.5; else "no". The verdict and Dmax never disagree."""
        p = np.asarray(p, dtype=np.float64)
        return np.where(p >= 0.5, "yes", np.where(p >= float(self.decision_threshold_), "possible", "no")).astype(object)

    def predict_gfa_matrix(self, A: np.ndarray, elements: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(P(Dmax >= threshold), Dmax, Dmax_if_glass) for a fraction matrix, one featurisation, no warnings.

        ``Dmax`` is the consistent one (:meth:`dmax_from`), for tables,
        objectives and constraints; ``Dmax_if_glass`` the regressor's
        diameter should the alloy be a glass former.
        """
        p, d = self.predict_matrix(A, elements)
        return p, self.dmax_from(p, d), d

    def predict_gfa(self, compositions: Any) -> pd.DataFrame:
        """Every GFA output per alloy, indexed by the input as typed; warns outside the training domain.

        Columns: ``formula`` (canonical), ``p_bulk_glass`` (P(Dmax >= threshold)), ``bulk_glass``
        (P >= 0.5, where ``dmax_mm`` reaches the threshold), ``verdict`` (:meth:`verdict`), ``dmax_mm`` (the
        consistent Dmax: the median of the mixture), ``dmax_low`` /
        ``dmax_high`` (its 16th / 84th percentiles, 0 when they fall below
        the threshold), ``dmax_if_glass_mm`` with ``dmax_if_glass_low`` /
        ``dmax_if_glass_high`` (the regressor's ~68 % range).
        """
        self._check_fitted()
        compositions, A, elements, comps = self._typed_matrix(compositions)
        p, d = self.predict_matrix(A, elements)
        lo, hi = self.residual_quantiles_
        return pd.DataFrame(
            {
                "formula": [c.formula for c in comps],
                "p_bulk_glass": p,
                "bulk_glass": p >= 0.5,
                "verdict": self.verdict(p),
                "dmax_mm": self.dmax_from(p, d),
                "dmax_low": self.dmax_from(p, d, 0.16),
                "dmax_high": self.dmax_from(p, d, 0.84),
                "dmax_if_glass_mm": d,
                "dmax_if_glass_low": d * 10.0**lo,
                "dmax_if_glass_high": d * 10.0**hi,
            },
            index=pd.Index([as_typed(c) for c in compositions], name="input"),
        )

    # -- domain ------------------------------------------------------------

    def _domain_reasons(self, A: np.ndarray, elements: Sequence[str]) -> list[list[str]]:
        known = set(self.elements_)
        A = np.asarray(A, dtype=float)
        present = A > 0
        out: list[list[str]] = [[] for _ in range(A.shape[0])]
        unseen = [j for j, e in enumerate(elements) if e not in known]
        for j in unseen:
            for i in np.flatnonzero(present[:, j]):
                out[i].append(f"{elements[j]} is not in the training data")
        _, pair_known = pair_enthalpy_matrix(elements)
        for a in range(len(elements)):
            for b in range(a + 1, len(elements)):
                if not pair_known[a, b]:
                    for i in np.flatnonzero(present[:, a] & present[:, b]):
                        out[i].append(f"no mixing enthalpy for {elements[a]}-{elements[b]}")
        F = self._features(A, elements)[:, : len(self.feature_min_)]
        margin = RANGE_MARGIN * (self.feature_max_ - self.feature_min_)
        low = F < self.feature_min_ - margin
        high = F > self.feature_max_ + margin
        names = self.feature_names_
        for i in np.flatnonzero((low | high).any(axis=1)):
            cols = np.flatnonzero(low[i] | high[i])
            out[i].append("outside the training range of " + ", ".join(names[c] for c in cols[:4]))
        return out

    def domain_check_matrix(self, A: np.ndarray, elements: Sequence[str]) -> np.ndarray:
        """True where a composition lies inside the training domain (fraction-matrix form)."""
        self._check_fitted()
        return np.array([not r for r in self._domain_reasons(A, elements)], dtype=bool)

    def domain_check(self, compositions: Any) -> np.ndarray:
        """True where a composition lies inside the training domain: only elements seen
        in training, tabulated pair enthalpies, every descriptor within the training
        range (plus a 2 % margin)."""
        self._check_fitted()
        A, elements, _ = self._matrix(compositions)
        return self.domain_check_matrix(A, elements)

    def domain_reasons(self, compositions: Any) -> list[list[str]]:
        """Why each composition is outside the domain (empty list = inside)."""
        self._check_fitted()
        A, elements, _ = self._matrix(compositions)
        return self._domain_reasons(A, elements)

    # -- persistence -------------------------------------------------------

    def save(self, path: str | Path, metadata: dict[str, Any] | None = None, overwrite: bool = False) -> Path:
        """Write ``<stem>.npz`` (arrays only) and ``<stem>.json`` (metadata + SHA-256)."""
        import sklearn

        from pcids.models.io import save_state

        self._check_fitted()
        arrays: dict[str, np.ndarray] = {
            **self.classifier_.state("clf"),
            "calibration_x": self.calibration_x_,
            "calibration_y": self.calibration_y_,
            "feature_min": self.feature_min_,
            "feature_max": self.feature_max_,
        }
        if self.regressor_ is not None:
            arrays.update(self.regressor_.state("reg"))
        if getattr(self, "glass_", None) is not None:
            arrays.update(self.glass_.state("gls"))
        if getattr(self, "dmax_glass_", None) is not None:
            arrays.update(self.dmax_glass_.state("dgls"))
        if getattr(self, "dmax_hgb_", None) is not None:
            arrays.update(self.dmax_hgb_.state("rhgb"))
        state = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
        meta = {
            "kind": KIND,
            "sklearn_version": sklearn.__version__,
            "numpy_version": np.__version__,
            "hyperparameters": self.get_params(),
            "elements": list(self.elements_),
            "feature_names": list(self.feature_names_),
            "node_dtype": _dtype_spec(_node_dtype()),
            "decision_threshold": float(self.decision_threshold_),
            "residual_quantiles_log10": [float(v) for v in self.residual_quantiles_],
            "n_train": self.n_train_,
            "n_positive": self.n_positive_,
            "n_dmax_train": getattr(self, "n_dmax_train_", 0),
            **(metadata or {}),
        }
        return save_state(path, state, meta, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path) -> GFAModel:
        """Read a model written by :meth:`save`; any problem is a ModelFileError."""
        from pcids.models.io import load_state

        state, meta = load_state(path, kind=KIND)
        source = str(path)
        hyper = meta.get("hyperparameters") or {}
        # files written before these options existed used neither
        if isinstance(meta.get("hyperparameters"), dict):
            meta["hyperparameters"] = {"family_features": False, "glass_forest": False, "dmax_glass_forest": False, "dmax_ground_state": False, "dmax_hgb_blend": 0.0, **meta["hyperparameters"]}
        if (hyper.get("estimator") == "hgb" or hyper.get("dmax_hgb_blend")) and meta.get("node_dtype") != _dtype_spec(_node_dtype()):
            raise ModelFileError(
                f"{source} was written with scikit-learn {meta.get('sklearn_version')}, whose tree format differs "
                "from the installed one; retrain it with `pcids train gfa`"
            )
        try:
            model = cls(**meta["hyperparameters"])
            model.elements_ = list(meta["elements"])
            model.feature_names_ = list(meta["feature_names"])
            model.featurizer_ = model._featurizer(model.elements_)
            kind = _Forest if model.estimator == "extra_trees" else _Trees
            model.classifier_ = kind.from_state(state, "clf", source)
            model.regressor_ = kind.from_state(state, "reg", source) if "reg_offsets" in state else None
            model.glass_ = kind.from_state(state, "gls", source) if "gls_offsets" in state else None
            if bool(model.glass_forest) != (model.glass_ is not None):
                raise ModelFileError(f"{source}: glass_forest={model.glass_forest!r} but the file {'lacks' if model.glass_forest else 'holds'} a glass forest")
            model.dmax_glass_ = kind.from_state(state, "dgls", source) if "dgls_offsets" in state else None
            if model.dmax_glass_ is not None and not model.dmax_glass_forest:
                raise ModelFileError(f"{source}: dmax_glass_forest=False but the file holds a Dmax glass forest")
            if model.dmax_glass_forest and model.regressor_ is not None and model.dmax_glass_ is None:
                raise ModelFileError(f"{source}: dmax_glass_forest=True but the file lacks the Dmax glass forest")
            model.dmax_hgb_ = _Trees.from_state(state, "rhgb", source) if "rhgb_offsets" in state else None
            if bool(model.dmax_hgb_blend) != (model.dmax_hgb_ is not None) and model.regressor_ is not None:
                raise ModelFileError(f"{source}: dmax_hgb_blend={model.dmax_hgb_blend!r} but the file {'lacks' if model.dmax_hgb_blend else 'holds'} the blended boosted trees")
            model.calibration_x_ = state["calibration_x"]
            model.calibration_y_ = state["calibration_y"]
            model.feature_min_ = state["feature_min"]
            model.feature_max_ = state["feature_max"]
            model.decision_threshold_ = float(meta["decision_threshold"])
            model.residual_quantiles_ = np.asarray(meta["residual_quantiles_log10"], dtype=float)
            model.n_train_ = int(meta["n_train"])
            model.n_positive_ = int(meta["n_positive"])
            model.n_dmax_train_ = int(meta.get("n_dmax_train", 0))
            model.metadata_ = meta
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{source} does not describe a GFAModel: {type(exc).__name__} {exc}") from None
        if model.featurizer_.feature_labels() != model.feature_names_:
            raise ModelFileError(f"{source}: its feature list does not match this pcids version's GFA features")
        n_feat = len(model.feature_names_)
        if isinstance(model.classifier_, _Forest):
            used = model.classifier_.arrays["feature"][model.classifier_.arrays["left"] != -1]
        else:
            used = model.classifier_.nodes["feature_idx"][model.classifier_.nodes["is_leaf"] == 0]
        if used.size and used.max() >= n_feat:
            raise ModelFileError(f"{source}: the trees use feature {int(used.max())} but only {n_feat} are described")
        return model


def _log_glass(forest: _Trees | _Forest, F: np.ndarray) -> np.ndarray:
    """log P(glass) from the glass-vs-crystalline forest (clipped like the classifier's probabilities)."""
    if isinstance(forest, _Trees):
        return -np.logaddexp(0.0, -forest.raw(F))
    return np.log(np.clip(forest.raw(F), PROBA_CLIP, 1.0))


def _best_balanced_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The probability cut that maximises balanced accuracy (Youden's J)."""
    from sklearn.metrics import roc_curve

    fpr, tpr, thr = roc_curve(y, p)
    j = tpr - fpr
    best = int(np.argmax(j[1:])) + 1  # skip the "predict nothing" point (threshold inf)
    return float(min(thr[best], 1.0))


def shipped_path() -> Path:
    return Path(str(resources.files("pcids.models").joinpath("trained", SHIPPED_STEM)))


@lru_cache(maxsize=1)
def load_gfa_model() -> GFAModel:
    """The shipped GFA model (trained on all bundled data by ``pcids train gfa``), cached."""
    return GFAModel.load(shipped_path())

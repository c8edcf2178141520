"""Glass-forming ability: will this composition cast as a bulk glass?

PCIDS (paper section 3.3, Fig. 13) outputs a designed composition only if it
passes a GFA check, a critical casting diameter Dmax above 2 mm. The paper's
module is not public; :class:`GFAModel` is built from the merged table of
:func:`pcids.datasets.load_gfa` and composition-only features
(:class:`pcids.models._gfa_features.GFADescriptors`), since a designed alloy
has no measured Tg, Tx or Tl.

Decisions (measured in ``benchmarks/gfa_accuracy.py``):

* **Labels** (:func:`gfa_labels`). Positive: a *measured* Dmax >= threshold
  (the measured diameter wins over the class vote, e.g. for the 6 alloys voted
  ribbon glass by one source but cast as rods by another). Negative:
  crystalline, ribbon glass, or a measured Dmax < threshold. A "bulk glass"
  with no measured diameter (590 alloys) is *ambiguous* for a size threshold
  (the sources call any glassy rod "BMG", some of them 0.2-1 mm): by default
  (``ambiguous="drop"``) it is left out of the classifier's training.
  Measured (before the family features and the glass forest): training
  them as positives gives grouped ROC-AUC 0.972 +- 0.008 against 0.971 +-
  0.013 (seed-0 folds; 0.9729 vs 0.9731 on the seed-1 selection folds),
  i.e. no measurable gain, so the rule that invents no labels is kept. The
  glass forest does read them, as glasses (see below). Known weakness:
  many Pd-Cu-Ni-P and other classic alloys are labelled "ribbon glass" by
  a composition-spread source and their bulk siblings carry no diameter,
  so Pd40Cu30Ni10P20 (72 mm) scores only ~0.5.
* **Imbalance**: about 1 alloy in 8 is positive (851 of 6,551). Handled
  inside ``fit`` only (class weights computed from the training labels), so
  in cross-validation it never sees the test fold.
* **Calibration**: class weights distort probabilities, so ``fit`` runs an
  internal cross-validation *grouped by alloy system*, fits a map from the
  weighted model's out-of-fold margins to the labels (Platt's sigmoid by
  default; isotonic on request), and applies it to the final model trained
  on all rows. Isotonic gave a similar Brier score but flattened wide score
  ranges into one plateau (with gradient boosting, Pd40Ni40P20, Mg65Cu25Y10
  and Cu60Zr40 all at 0.27), which loses the ranking a design search needs.
  Grouped, because a designed alloy is typically new to its system. ``predict_proba`` is this calibrated
  P(Dmax >= threshold).
* **Operating point** ``decision_threshold_``: the calibrated probability
  that maximises balanced accuracy on the same internal out-of-fold scores;
  :meth:`GFAModel.predict` uses it.
* **Dmax**: a regressor of log10(Dmax) on every alloy with a measured
  diameter (conflicting sources: their median, see ``load_gfa``). ``dmax_low`` / ``dmax_high`` are the 16th / 84th
  percentiles of the regressor's out-of-fold (system-grouped) residuals added
  to the prediction: a ~68 % range of constant width in log units, not a
  per-alloy uncertainty. The prediction says how large a rod is expected *if*
  the alloy is a bulk glass; read it together with ``predict_proba``.
* **Features**: :class:`GFADescriptors` with ``families=True``: besides the
  elemental statistics, Miedema enthalpies and per-element fractions, the
  summed fraction of each element family (alkali / alkaline earth, simple
  metals, metalloids, non-metals, early / late transition metals, rare
  earths), the number of elements and the largest fraction. Trees on
  per-element fractions cannot add fractions across elements, so without
  them a new system cannot borrow from a chemically similar one.
* **Glass forest** (``glass_forest=True``): a second extra-trees forest (20
  trees) learns *glass at all* (ribbon or bulk glass, including the 590
  bulk glasses with no diameter, against the 1,513 crystalline alloys), and
  the score Platt scaling reads is the classifier's log-odds plus
  log P(glass). Both are computed inside ``fit`` only (the internal
  out-of-fold margins use a glass forest that has not seen the held-out
  systems either).
  Selection (``benchmarks/gfa_family_selection.py``, raw forests, seed-1 /
  seed-2 folds, grouped ROC-AUC, base 0.9736 / 0.9667): families 0.9749 /
  0.9688, families + glass forest 0.9757 / 0.9702 (20 glass trees 0.9759 /
  0.9703); stratified 0.9868 / 0.9877 -> 0.9885 / 0.9887; log10(Dmax) R²
  with families grouped 0.403 / 0.384 -> 0.419 / 0.395, random 0.611 /
  0.606 -> 0.614 / 0.613. The full pipeline on seed-1 folds
  (``results/gfa_selection_seed1_*``, 60 glass trees) agreed: grouped 0.973
  -> 0.976, stratified 0.987 -> 0.988, R² 0.399 -> 0.415 grouped, 0.606 ->
  0.617 random. Chosen there, then reported once on the seed-0 folds
  (``results/gfa_accuracy_famglass``; ``results/gfa_accuracy`` is the same
  model): grouped ROC-AUC 0.971 -> 0.976 +- 0.012, balanced accuracy 0.919
  -> 0.937, Brier 0.042 -> 0.039; stratified 0.987 -> 0.988; R² 0.405 ->
  0.407 grouped, 0.616 -> 0.622 random. The seed-0 grouped gain is larger
  than the selection folds', so expect ~+0.003. Cost: side by side at the
  same load, predict_proba_matrix ~20 % slower (old 153-157k, new 120-126k
  compositions per CPU-second, load ~3 on 2 cores) and predict_matrix
  ~10 % (85-89k -> 77-78k); ``benchmarks/gfa_speed.py``: 123k/s.
  Against issue 5's targets: grouped ROC-AUC >= 0.975 is met; stratified
  ROC-AUC >= 0.99 and log10(Dmax) R² >= 0.65 random / >= 0.45 grouped are
  not, and nothing screened here came close to them.
  Screened on the same selection folds and *not* kept (grouped / stratified
  ROC-AUC against 0.9736 / 0.9868; R² grouped / random against 0.403 /
  0.611): neighbour features from the training fold (L1 distance over
  fractions to the nearest alloy, positive and negative, distance-weighted
  5-NN label; leave-one-out on training rows) 0.958 / 0.988, the same
  leaving the alloy's own system out 0.968 / 0.986, regressor 0.31-0.39 /
  0.53-0.58 (``gfa_knn_selection.py``); a blend with the 5-NN label 0.970;
  what the training fold knows about the alloy's sub- and super-systems
  (largest label, fraction positive, count, largest Dmax of its binary /
  ternary parents and descendants) 0.969-0.971 / 0.987, R² 0.36-0.37 /
  0.60-0.61
  (``gfa_subsystem_selection.py``); class_weight none / balanced, entropy
  criterion, bootstrap, min_samples_leaf 3, max_features 0.2 / log2:
  0.971-0.975 / 0.986-0.988; regressor max_features sqrt / 0.3 / 0.7,
  min_samples_leaf 3 / 5, bootstrap, sample weights sqrt(sources), no
  fractions, fractions only: 0.31-0.42 / 0.55-0.61
  (``gfa_hyper_selection.py``); P(glass) x P(bulk | glass) as a product
  0.974 / 0.987, a 4-class forest 0.960-0.973, an MLP blend 0.969-0.972,
  log P(glass) as a stacked feature 0.975 / 0.987, adding the Dmax
  regressor's prediction to the margin 0.971-0.974
  (``gfa_chain_selection.py``); regressor blends with gradient boosting
  (0.3 / 0.5: 0.416 / 0.611, 0.417 / 0.605) or 5-NN (0.386 / 0.604)
  (``gfa_regblend_selection.py``).
* **Trees**: extremely randomised trees (60 per model, ``min_samples_leaf=2``;
  classifier class-weighted per tree, ``max_features="sqrt"``; regressor
  ``max_features=0.5``). On the same system-grouped folds they beat
  HistGradientBoosting on ROC-AUC and on log10(Dmax) R² and train ~5x faster
  (``benchmarks/gfa_accuracy.py``, variant ``hgb``, kept as
  ``estimator="hgb"``). 60 trees: on the seed-1 selection folds
  (``benchmarks/gfa_selection.py``, raw forest ROC-AUC) 150 trees gave
  0.9737 against 0.9736 grouped and 0.9872 against 0.9868 stratified, i.e.
  nothing the fold noise (std ~0.009) could tell apart, for 2.5x the scoring
  cost. Also screened there and not kept (grouped ROC-AUC, 60 trees = 0.9736):
  min_samples_leaf=1 (0.9708), max_features=0.5 (0.9717), tuned
  HistGradientBoosting (400 x 31 leaves, lr 0.05: 0.9696), ratio features
  (r_max/r_min, Tm_max/Tm_min, mean/max Tm, largest fractions, number of
  elements, H_mix/S_mix: 0.9724 with 60 trees, 0.9747 with 150), and a
  blend of the extra trees with that HGB (0.7 / 0.3 of their log-odds:
  0.9746 grouped, 0.9874 stratified against 0.9868; weight picked on the
  same folds, gain within the noise, a second ensemble to ship and score).
* **Dmax regressor variants** (same selection folds, before the family
  features, R² grouped / random;
  shipped 0.403 / 0.611): the classifier's out-of-fold margin as a feature
  (``stack_classifier=True``) 0.416 / 0.571 — on the reported seed-0 folds
  0.407 / 0.593 against 0.405 / 0.616 (``gfa_accuracy_stack``), so it stays
  off: a test alloy's margin comes from a classifier that has seen its
  siblings on random folds, unlike the out-of-fold margins it was trained
  on; min_samples_leaf=1 with max_features=1.0 0.419 / 0.609; random
  forest 0.389 / 0.589; 150 trees (leaf 1) 0.391 / 0.612; gradient boosting
  on the stacked features 0.395 (grouped). None is a clear gain.
* **Censored diameters, target noise, neighbour gates** (third screen,
  ``benchmarks/gfa_censored_selection.py`` and ``gfa_nngate_selection.py``,
  seed-1 / seed-2 folds, shipped features; ``results/gfa_censored_selection.md``;
  R² grouped / random against 0.412 / 0.621 (seed 1) and 0.392 / 0.612 (seed 2)).
  Nothing kept. Ribbon glasses as low pseudo-targets (0.1-0.5 mm, weight
  0.1-0.3): -0.94 to -0.02 / 0.02-0.45; bulk glasses without a diameter at
  1.5-2 mm: 0.31-0.34 / 0.54-0.56; crystalline at 0.05 mm: 0.08 / 0.53;
  tree structure from all alloys with leaf values from the measured ones:
  worse on the one fold run; a Tobit-style step (censored alloys get the
  mean of N(prediction, 0.3²) truncated at 1 mm): ribbon 0.07-0.14 /
  0.48-0.52, bulk 0.40 / 0.61-0.62. The test alloys are those with a
  measured diameter, a population selected for castability, and ribbon
  glasses sit next to them (composition-spread sources), so every censored
  target drags them down. Two-stage (out-of-fold log P(glass) and
  classifier logit as features, nested CV) 0.42 / 0.58; log P(glass) alone
  0.42 / 0.61. Robust / noise handling: absolute-error criterion 0.396 /
  0.609, targets clipped to [0.5, 25] mm 0.416 / 0.615 (seed 2: 0.391 /
  0.617), median over trees 0.387 / 0.592, de-shrinking on inner OOF
  predictions (fitted slope 0.95-1.08, i.e. the forest is not
  under-dispersed) 0.41 / 0.62, RBF SVR / kernel ridge 0.34-0.38 /
  0.49-0.51 (blend 0.3: 0.425 / 0.613, seed 2 0.397 / 0.604), conflicts
  dropped 0.397 / 0.612, a distance-gated nearest measured neighbour
  (L1 0.02-0.08) 0.616-0.621 random. Where the error is: Dmax <= 1 mm
  alloys are 13 % of the measured set and 44 % of the squared error (mean
  residual -0.36); measured pairs in one system within L1 0.02 agree to a
  half-mean-square of 0.008 against a variance of 0.153, so the error is
  not local noise but alloys without a close measured neighbour.
  ``dmax_glass_forest=True`` (log P(glass) from a forest trained only on
  the alloys without a measured diameter, so no nested CV) screened at
  0.428 / 0.619 and 0.413 / 0.614, but the full pipeline on the seed-1 folds
  (``results/gfa_selection_seed1_dglass``) gave 0.410 / 0.619 against
  0.415 / 0.617, so it stays off (kept as an option; seed-0 run alongside,
  ``results/gfa_accuracy_dglass``: 0.405 / 0.632 against 0.407 / 0.622, not
  used for the decision). Classifier, stratified ROC-AUC against 0.9882 /
  0.9889 (raw forests): a distance-gated nearest-neighbour label (hard or
  tapered, L1 0.01-0.1, shift 0.3-4 logits) 0.982-0.9888, never above the
  base (the trees already read near-duplicates through the element
  fractions); bulk glasses without a diameter as weighted positives
  0.9874-0.9885; + the regressor's prediction 0.983-0.9888; measured rows
  near the 2 mm threshold down-weighted 0.9881-0.9893; ribbon-glass
  negatives down-weighted 0.9874-0.9890. All within the fold noise.
* **Magpie properties, Ward's composite features, other learners** (fourth
  screen, ``benchmarks/gfa_magpie_selection.py``, raw forests on seed-1 /
  seed-2 folds, ``results/gfa_magpie_selection.md``; R² grouped / random
  against 0.412 / 0.621 (seed 1) and 0.392 / 0.612 (seed 2); classifier
  grouped / stratified ROC-AUC of the shipped raw score against 0.976 / 0.988
  and 0.970 / 0.989). Adding mean / deviation / min / max of the Magpie
  properties not yet in the features (valence and unfilled-shell counts,
  atomic number, Mendeleev number, row, column, covalent radius, DFT volume,
  band gap, magnetic moment, space group: 76 columns) lost everywhere
  (R² 0.374 / 0.609 and 0.384 / 0.609; ROC-AUC 0.968 / 0.988), as did the
  valence block alone (0.367 / 0.602), heats / moduli / ionisation energy /
  electron affinity / density / boiling point (0.396 / 0.610), Ward 2016's
  orbital fractions + ionic character + Laws-Miracle-Ferry simultaneous
  packing efficiency (0.403 / 0.611; ROC-AUC +0.0000 / +0.0007 on seed 1,
  -0.0000 / -0.0006 on seed 2), distance to the nearest small-integer
  stoichiometry (0.406 / 0.615 and 0.372 / 0.602) and everything together.
  Only the ground-state block (DFT volume, band gap, magnetic moment, space
  group) did not lose: R² +0.003 / +0.001 (seed 1) and +0.010 / +0.005
  (seed 2), classifier -0.0025 / +0.0001 and +0.0001 / -0.0004; averaged
  over three tree seeds +0.005 / +0.000 and +0.006 / -0.004, i.e. the size
  of the spread between tree seeds (two other seeds of the shipped forest
  alone: -0.003 to +0.005 grouped, -0.010 to +0.002 random). Implemented
  as ``dmax_ground_state`` (regressor only) and run through the full
  pipeline on the selection folds (``results/gfa_selection_seed{1,2}_gs``):
  R² grouped 0.415 -> 0.414 and 0.390 -> 0.407, random 0.617 -> 0.609 and
  0.609 -> 0.609 (classifier identical by construction), i.e. no win on
  seed 1, so it stays off and was not run on the seed-0 folds. HistGradientBoosting alone
  (3 settings) lost 0.003-0.065; its mean with the extra trees gained
  grouped and lost random on both seeds (500 x 7 leaves, lr 0.03: +0.022 /
  -0.017 and +0.014 / -0.013), as ``gfa_regblend_selection.py`` found; a
  ridge base (alone, averaged, or under trees fit to its residuals) fell
  apart on held-out systems (R² down to -50: unseen elements); a
  Schroeder-van Laar liquidus against the pure elements (ideal and
  regular-solution with Miedema Omega, over the mean Tm: a deep-eutectic
  proxy) +0.007 / -0.006 and +0.009 / +0.003, classifier -0.0008 / -0.0007
  and +0.0013 / -0.0001; alloys weighted by (system size)^-p, p = 0.5 / 1:
  +0.023 / -0.002 and -0.017 / -0.002, +0.019 / -0.006 and +0.003 / -0.000,
  classifier -0.0005 to -0.0031 grouped, +-0.0003 stratified. None kept.
  Smaller gradient-boosting weights (0.2 / 0.3, three HGB settings) kept the
  grouped gain on both seeds (+0.008 to +0.019) with random R² -0.006 to
  +0.000; the cheapest, 0.2 x HGB (300 x 15 leaves, lr 0.05, min leaf 10:
  :data:`DMAX_HGB`), +0.012 / -0.001 and +0.008 / +0.000. Implemented as
  ``dmax_hgb_blend`` and run through the full pipeline on the selection
  folds (``results/gfa_selection_seed{1,2}_hgbw``): R² grouped 0.415 ->
  0.425 and 0.390 -> 0.398, random 0.617 -> 0.616 and 0.609 -> 0.610
  (classifier identical), i.e. a grouped gain on both seeds, random
  neutral. Run once on the reported seed-0 folds
  (``results/gfa_accuracy_hgbw``): grouped 0.407 -> 0.415, random 0.622 ->
  0.623 (pooled 0.393 -> 0.398, 0.623 -> 0.624). Off by default: a gain of
  ~0.01 against a fold spread of ~0.1, a second ensemble to ship, and 300
  boosted trees cost scoring speed (models fit on all data, 100,000
  Zr-Ti-Cu-Ni-Be compositions, one thread: predict_dmax_matrix ~130k ->
  ~29k, predict_matrix ~73k -> ~24k compositions per CPU-second;
  predict_proba_matrix unchanged).
* **Scoring**: the fast paths featurise and walk the trees one 8,192-row
  block at a time, so a block stays in cache (identical numbers; ~2x faster
  featurisation, predict_matrix ~85k -> ~116k compositions per CPU-second,
  ``benchmarks/gfa_speed.py``).
* **Saving**: never a pickle. A forest is five node arrays (children,
  feature, threshold, leaf value) stored as numpy arrays through
  :mod:`pcids.models.io` (SHA-256 checked, metadata JSON beside it). A
  reloaded model gives bit-identical numbers; the first rows are scored by a
  numpy walk of these arrays, so ``pcids design`` needs no scikit-learn, and
  larger jobs by scikit-learn's compiled ``Tree`` rebuilt from them (same
  numbers, see :class:`_Forest`). (skops was tried first: importing it
  took seconds and loading a 300-tree model ~1.5 s, per-array overhead.)
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

from pcids.composition import Composition
from pcids.descriptors import composition_matrix
from pcids.elements import check_elements
from pcids.errors import ExtrapolationWarning, ModelFileError, PcidsError
from pcids.models._base import Estimator, check_is_fitted
from pcids.models._gfa_features import GROUND_STATE_FEATURES, GFADescriptors, pair_enthalpy_matrix

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
#: benchmarks/gfa_magpie_selection.py (squared error, no early stopping).
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
        global _numpy_rows
        X = np.asarray(X, dtype=np.float32)
        out = np.zeros(X.shape[0])
        n_trees = len(self.offsets) - 1
        use_numpy = _numpy_rows < NUMPY_WALK_ROWS and "sklearn.tree" not in sys.modules
        if use_numpy:
            _numpy_rows += X.shape[0]
        for start in range(0, X.shape[0], NUMPY_BLOCK if use_numpy else FOREST_BLOCK):
            block = np.ascontiguousarray(X[start : start + (NUMPY_BLOCK if use_numpy else FOREST_BLOCK)])
            o = out[start : start + block.shape[0]]
            if use_numpy:
                leaves = self._walk(block)
                for t in range(n_trees):  # tree by tree, as below: the same sums to the bit
                    o += leaves[:, t]
            else:
                for t in self._sklearn_trees():
                    o += t.predict(block)[:, 0]
        return out / n_trees

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

    def _warn_domain(self, A: np.ndarray, elements: list[str], comps: list[Composition]) -> None:
        reasons = self._domain_reasons(A, elements)
        bad = [(c.formula, r) for c, r in zip(comps, reasons) if r]
        if bad:
            shown = "; ".join(f"{f}: {', '.join(r)}" for f, r in bad[:3])
            more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
            warnings.warn(
                f"{len(bad)} of {len(comps)} compositions lie outside the GFA training data, predictions are "
                f"extrapolations: {shown}{more}",
                ExtrapolationWarning,
                stacklevel=3,
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
        """Predicted Dmax (mm) with a ~68 % range (``dmax_low``, ``dmax_high``), indexed by formula."""
        self._check_fitted()
        A, elements, comps = self._matrix(compositions)
        self._warn_domain(A, elements, comps)
        log_d = self._log_dmax(self._features(A, elements))
        lo, hi = self.residual_quantiles_
        return pd.DataFrame(
            {"dmax_mm": 10.0**log_d, "dmax_low": 10.0 ** (log_d + lo), "dmax_high": 10.0 ** (log_d + hi)},
            index=pd.Index([c.formula for c in comps], name="formula"),
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

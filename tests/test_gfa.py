"""GFAModel: learning on real data, calibration, sklearn contract, determinism, domain, safe save/load."""

from __future__ import annotations

import json
import warnings
from functools import lru_cache

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from pcids import Composition, GFAModel, load_gfa_model
from pcids.datasets import data_hash, load_gfa
from pcids.errors import ExtrapolationWarning, ModelFileError, NotFittedError, PcidsError
from pcids.models.gfa import gfa_labels

SMALL = dict(n_estimators=12, calibration_folds=3)
# no per-element fractions: HGB's binning costs ~0.1 s per feature per fit with class weights
SMALL_HGB = dict(estimator="hgb", max_iter=5, learning_rate=0.3, calibration_folds=3, element_fractions=False)


FORMS = ["Zr41.2Ti13.8Cu12.5Ni10Be22.5", "Cu46Zr46Al8", "Fe80B20"]


def _reload_then_tamper(m: GFAModel, stem, hyperparameter: str, value, match: str) -> GFAModel:
    """Save and reload ``m`` (same Dmax predictions); then a file whose metadata sets
    ``hyperparameter`` to ``value`` must be refused with ``match``. Returns the reloaded model."""
    m.save(stem)
    r = GFAModel.load(stem)
    np.testing.assert_array_equal(r.predict_dmax(FORMS).to_numpy(), m.predict_dmax(FORMS).to_numpy())
    js = stem.with_suffix(".json")
    meta = json.loads(js.read_text())
    js.write_text(json.dumps({**meta, "hyperparameters": {**meta["hyperparameters"], hyperparameter: value}}))
    with pytest.raises(ModelFileError, match=match):
        GFAModel.load(stem)
    return r


@lru_cache(maxsize=1)
def _split():
    df = load_gfa()
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(df))
    return df.iloc[idx[:1400]].reset_index(drop=True), df.iloc[idx[1400:2200]].reset_index(drop=True)


@lru_cache(maxsize=1)
def _fitted() -> GFAModel:
    return GFAModel(**SMALL).fit(_split()[0])


def test_learns_glass_formers_on_unseen_alloys():
    m = _fitted()
    test = _split()[1]
    y = gfa_labels(test)
    keep = y.notna().to_numpy()
    p = m.predict_proba(test["formula"][keep])
    assert p.shape == (keep.sum(),) and np.all((p >= 0) & (p <= 1))
    assert roc_auc_score(y[keep], p) > 0.9
    # measured diameters of the test alloys: the regressor beats predicting the training mean
    meas = test["dmax_mm"].notna().to_numpy()
    pred = m.predict_dmax(test["formula"][meas])
    ld = np.log10(test["dmax_mm"][meas].to_numpy())
    mse_model = np.mean((np.log10(pred["dmax_mm"].to_numpy()) - ld) ** 2)
    mse_mean = np.mean((np.log10(_split()[0]["dmax_mm"].dropna()).mean() - ld) ** 2)
    assert mse_model < 0.8 * mse_mean


def test_probabilities_are_calibrated_out_of_fold():
    m = _fitted()
    # Platt scaling on out-of-fold margins: at the likelihood optimum the mean
    # probability equals the positive rate (intercept's score equation)
    assert m.oof_proba_.mean() == pytest.approx(m.oof_labels_.mean(), abs=2e-3)
    iso = GFAModel(**SMALL, calibration="isotonic").fit(_split()[0])
    assert iso.oof_proba_.mean() == pytest.approx(iso.oof_labels_.mean(), abs=1e-9)
    assert np.all(np.diff(iso.calibration_y_) >= 0)
    assert m.calibration_x_[0] > 0  # the calibration map increases with the trees' margin
    assert 0 < m.decision_threshold_ < 1
    pred = (m.oof_proba_ >= m.decision_threshold_).astype(int)
    tpr = pred[m.oof_labels_ == 1].mean()
    tnr = 1 - pred[m.oof_labels_ == 0].mean()
    assert (tpr + tnr) / 2 > 0.8


def test_predict_dmax_range_and_matrix_paths_agree():
    m = _fitted()
    forms = ["Zr41.2Ti13.8Cu12.5Ni10Be22.5", "Cu46Zr46Al8", "Fe80B20"]
    d = m.predict_dmax(forms)
    assert list(d.columns) == ["formula", "dmax_mm", "dmax_low", "dmax_high"]
    assert d.index.tolist() == forms  # the input as typed, beside the canonical formula
    assert d["formula"].tolist() == [Composition.coerce(f).formula for f in forms]
    assert np.all(d["dmax_low"] < d["dmax_mm"]) and np.all(d["dmax_mm"] < d["dmax_high"])
    els = ["Zr", "Ti", "Cu", "Ni", "Be", "Al", "Fe", "B"]
    A = np.array(
        [[41.2, 13.8, 12.5, 10, 22.5, 0, 0, 0], [46, 0, 46, 0, 0, 8, 0, 0], [0, 0, 0, 0, 0, 0, 80, 20]]
    )
    np.testing.assert_allclose(m.predict_proba_matrix(A, els), m.predict_proba(forms), rtol=1e-12)
    np.testing.assert_allclose(m.predict_dmax_matrix(A, els), d["dmax_mm"].to_numpy(), rtol=1e-12)
    assert m.predict(forms).tolist() == (m.predict_proba(forms) >= m.decision_threshold_).astype(int).tolist()


def test_same_seed_same_model_and_clone():
    df = _split()[0].iloc[:600]
    a = GFAModel(**SMALL, seed=4).fit(df)
    b = clone(a).fit(df)
    forms = ["Cu50Zr50", "Pd40Ni40P20", "Mg65Cu25Y10"]
    np.testing.assert_array_equal(a.predict_proba(forms), b.predict_proba(forms))
    assert clone(a).get_params() == a.get_params()
    assert not hasattr(clone(a), "classifier_")


def test_unfitted_and_bad_parameters():
    with pytest.raises(NotFittedError, match="GFAModel"):
        GFAModel().predict_proba(["Cu50Zr50"])
    with pytest.raises(PcidsError, match="threshold_mm"):
        GFAModel(threshold_mm=0).fit(_split()[0])
    with pytest.raises(PcidsError, match="ambiguous"):
        GFAModel(ambiguous="yes").fit(_split()[0])
    with pytest.raises(PcidsError, match="labels"):
        GFAModel(**SMALL).fit(["Cu50Zr50", "Cu60Zr40"])
    with pytest.raises(PcidsError, match="single class"):
        GFAModel(**SMALL).fit(["Cu50Zr50", "Ni60Nb40", "Fe80B20"], [1, 1, 1])
    with pytest.raises(PcidsError, match="0, 1 or NaN"):
        GFAModel(**SMALL).fit(["Cu50Zr50", "Ni60Nb40"], [1, 2])


def test_fit_on_compositions_and_labels():
    df = _split()[0]
    y = gfa_labels(df)
    m = GFAModel(**SMALL, glass_forest=False).fit(df["formula"], y, dmax_mm=df["dmax_mm"])
    table = GFAModel(**SMALL, glass_forest=False).fit(df)
    np.testing.assert_allclose(m.predict_proba(["Cu50Zr50"]), table.predict_proba(["Cu50Zr50"]))
    with pytest.raises(PcidsError, match="glass_forest=False"):
        GFAModel(**SMALL).fit(df["formula"], y)
    no_reg = GFAModel(**SMALL, glass_forest=False).fit(df["formula"], y)
    with pytest.raises(NotFittedError, match="Dmax regressor"):
        no_reg.predict_dmax(["Cu50Zr50"])


def test_domain_check_and_extrapolation_warning():
    m = _fitted()
    inside = "Cu46Zr46Al8"
    assert "Os" not in m.elements_
    outside = "Cu40Zr40Os20"
    ok = m.domain_check([inside, outside])
    assert ok.tolist() == [True, False]
    assert any("Os is not in the training data" in r for r in m.domain_reasons([outside])[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.predict_proba([inside])
    with pytest.warns(ExtrapolationWarning, match="Os is not in the training data"):
        m.predict_proba([inside, outside])
    with pytest.warns(ExtrapolationWarning):
        m.predict_dmax([outside])
    # a binary far outside the descriptor range (pure element)
    assert not m.domain_check(["Cu"])[0]


def test_save_load_roundtrip_and_bad_files(tmp_path):
    m = _fitted()
    stem = tmp_path / "g"
    m.save(stem, metadata={"data_hash": "x"})
    r = GFAModel.load(stem)
    forms = ["Zr41.2Ti13.8Cu12.5Ni10Be22.5", "Cu46Zr46Al8", "Fe80B20"]
    np.testing.assert_array_equal(r.predict_proba(forms), m.predict_proba(forms))
    np.testing.assert_array_equal(r.predict_dmax(forms).to_numpy(), m.predict_dmax(forms).to_numpy())
    assert r.get_params() == m.get_params()
    with pytest.raises(ModelFileError, match="exists"):
        m.save(stem)
    pt, js = stem.with_suffix(".npz"), stem.with_suffix(".json")
    blob = pt.read_bytes()
    pt.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ModelFileError, match="corrupted or truncated"):
        GFAModel.load(stem)
    pt.write_bytes(blob)
    meta = json.loads(js.read_text())
    arrays_meta = {**meta, "hyperparameters": {**meta["hyperparameters"], "n_estimators": 3}}
    js.write_text(json.dumps(arrays_meta))  # still loads: the arrays decide the forest
    assert len(GFAModel.load(stem).classifier_.offsets) - 1 == m.n_estimators
    js.write_text(json.dumps({**meta, "kind": "forward"}))
    with pytest.raises(ModelFileError, match="gfa"):
        GFAModel.load(stem)
    js.write_text(json.dumps({**meta, "feature_names": meta["feature_names"][:-1]}))
    with pytest.raises(ModelFileError, match="feature"):
        GFAModel.load(stem)
    js.write_text("{not json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        GFAModel.load(stem)
    with pytest.raises(ModelFileError, match="not found"):
        GFAModel.load(tmp_path / "missing")


def test_gradient_boosting_variant_roundtrip_and_format_check(tmp_path):
    m = GFAModel(**SMALL_HGB).fit(_split()[0].iloc[:500])
    stem = tmp_path / "h"
    m.save(stem)
    forms = ["Cu46Zr46Al8", "Fe80B20"]
    np.testing.assert_array_equal(GFAModel.load(stem).predict_proba(forms), m.predict_proba(forms))
    js = stem.with_suffix(".json")
    meta = json.loads(js.read_text())
    js.write_text(json.dumps({**meta, "node_dtype": [["value", "<f4"]]}))
    with pytest.raises(ModelFileError, match="retrain"):
        GFAModel.load(stem)


def test_shipped_model_loads_and_ranks_known_alloys():
    m = load_gfa_model()
    assert m is load_gfa_model()
    meta = m.metadata_
    assert meta["data_hash"] == data_hash("gfa") and meta["threshold_mm"] == 2.0
    p = m.predict_proba(["Zr41.2Ti13.8Cu12.5Ni10Be22.5", "Zr55Al10Ni5Cu30", "Fe50Cu50", "Al90Fe10"])
    assert p[0] > 0.7 and p[1] > 0.5  # Vitreloy 1 (> 2 cm) and Zr55Al10Ni5Cu30 (~ 1 cm)
    assert p[2] < 0.1 and p[3] < 0.1  # immiscible Fe-Cu, marginal Al-based ribbon glass
    d = m.predict_dmax(["Zr41.2Ti13.8Cu12.5Ni10Be22.5"])
    assert d["dmax_low"].iloc[0] > 2.0  # Vit1 casts at > 2 cm; the range stays above the threshold
    # the shipped file is what `pcids train gfa` builds with today's defaults (retrain after changing them)
    assert m.get_params() == GFAModel().get_params()
    assert m.glass_ is not None and "frac_metalloid" in m.feature_names_


def test_predict_matrix_is_both_fast_paths_at_once():
    m = _fitted()
    A = np.array([[50.0, 50.0, 0.0], [46.0, 46.0, 8.0]])
    els = ["Cu", "Zr", "Al"]
    p, d = m.predict_matrix(A, els)
    np.testing.assert_array_equal(p, m.predict_proba_matrix(A, els))
    np.testing.assert_array_equal(d, m.predict_dmax_matrix(A, els))


def test_reliability_table_and_plots(tmp_path):
    from pcids.plots.gfa import plot_reliability, plot_roc_pr, reliability_table

    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 20000)
    y = (rng.uniform(0, 1, p.size) < p).astype(int)  # calibrated by construction
    t = reliability_table(y, p)
    assert t["ece"] < 0.02 and abs(t["brier"] - np.mean((p - y) ** 2)) < 1e-12
    assert sum(b["n"] for b in t["bins"]) == p.size
    bad = reliability_table(y, p**3)  # over-confident towards 0: clearly miscalibrated
    assert bad["ece"] > 0.1
    with pytest.raises(PcidsError, match="strategy"):
        reliability_table(y, p, strategy="kmeans")
    plot_reliability(y, p, tmp_path / "rel.png")
    fig = plot_roc_pr(y, {"p": p, "noise": rng.uniform(size=p.size)}, tmp_path / "roc.png")
    assert (tmp_path / "rel.png").stat().st_size > 1000 and (tmp_path / "roc.png").is_file()
    assert len(fig.axes) == 2


def test_stacked_regressor_reads_the_classifier_margin(tmp_path):
    m = GFAModel(**SMALL, stack_classifier=True).fit(_split()[0])
    n_feat = len(m.feature_names_)
    assert m.regressor_.n_features == n_feat + 1 and m.classifier_.n_features == n_feat
    A = np.array([[41.2, 13.8, 12.5, 10.0, 22.5], [50.0, 0.0, 50.0, 0.0, 0.0]])
    els = ["Zr", "Ti", "Cu", "Ni", "Be"]
    p, d = m.predict_matrix(A, els)
    np.testing.assert_array_equal(d, m.predict_dmax_matrix(A, els))
    F = m._features(A, els)
    np.testing.assert_allclose(np.log10(d), m.regressor_.raw(np.column_stack([F, m._margin(F)])), rtol=1e-12)
    # the margin matters: a different margin gives a different diameter
    assert not np.allclose(m.regressor_.raw(np.column_stack([F, m._margin(F) - 8.0])), np.log10(d))
    m.save(tmp_path / "s")
    r = GFAModel.load(tmp_path / "s")
    assert r.stack_classifier
    forms = ["Zr41.2Ti13.8Cu12.5Ni10Be22.5", "Cu50Zr50"]
    np.testing.assert_array_equal(r.predict_dmax(forms).to_numpy(), m.predict_dmax(forms).to_numpy())


def test_fast_paths_score_in_blocks_identically():
    m = _fitted()
    import pcids.models.gfa as gfa_mod

    A = np.random.default_rng(0).dirichlet(np.ones(3), size=50)
    els = ["Cu", "Zr", "Al"]
    whole = m.predict_matrix(A, els)
    old = gfa_mod.SCORE_BLOCK
    try:
        gfa_mod.SCORE_BLOCK = 7  # blocks that do not divide the rows
        p, d = m.predict_matrix(A, els)
    finally:
        gfa_mod.SCORE_BLOCK = old
    np.testing.assert_array_equal(p, whole[0])
    np.testing.assert_array_equal(d, whole[1])
    F = m._features(A, els)
    np.testing.assert_array_equal(p, m._calibrate(m._margin(F)))


def test_family_features_and_glass_forest(tmp_path):
    from pcids.models.gfa import _log_glass

    m = GFAModel(**SMALL, family_features=True, glass_forest=True).fit(_split()[0])
    assert "frac_metalloid" in m.feature_names_ and m.glass_ is not None
    assert m.glass_.n_features == m.classifier_.n_features == len(m.feature_names_)
    A = np.array([[41.2, 13.8, 12.5, 10.0, 22.5], [50.0, 0.0, 50.0, 0.0, 0.0], [0.0, 0.0, 0.0, 80.0, 20.0]])
    els = ["Zr", "Ti", "Cu", "Ni", "Be"]
    F = m._features(A, els)
    logg = _log_glass(m.glass_, F)
    assert np.all(logg <= 0) and np.all(logg >= np.log(1e-3))
    # the calibrated probability reads classifier log-odds + log P(glass)
    np.testing.assert_allclose(m.predict_proba_matrix(A, els), m._calibrate(m.classifier_.margin(F) + logg), rtol=1e-12)
    assert not np.allclose(m.predict_proba_matrix(A, els), m._calibrate(m.classifier_.margin(F)))
    # a file whose metadata disagrees with its arrays is refused
    r = _reload_then_tamper(m, tmp_path / "fg", "glass_forest", False, "glass forest")
    assert r.glass_forest and r.family_features
    forms = FORMS
    np.testing.assert_array_equal(r.predict_proba(forms), m.predict_proba(forms))
    # a file written before these options existed (no such hyperparameters) loads without them
    old = GFAModel(**SMALL, family_features=False, glass_forest=False).fit(_split()[0].iloc[:600])
    old.save(tmp_path / "old")
    js = (tmp_path / "old").with_suffix(".json")
    meta = json.loads(js.read_text())
    for k in ("family_features", "glass_forest", "glass_n_estimators"):
        del meta["hyperparameters"][k]
    js.write_text(json.dumps(meta))
    r = GFAModel.load(tmp_path / "old")
    assert not r.glass_forest and not r.family_features and r.glass_ is None
    np.testing.assert_array_equal(r.predict_proba(forms), old.predict_proba(forms))
    # the glass forest needs the classes of the GFA table
    df = _split()[0]
    with pytest.raises(PcidsError, match="gfa_class"):
        GFAModel(**SMALL, glass_forest=True).fit(df["formula"], gfa_labels(df).to_numpy())


def test_dmax_glass_forest_feeds_the_regressor_from_unmeasured_alloys(tmp_path):
    from pcids.models.gfa import _log_glass

    df = _split()[0]
    m = GFAModel(**SMALL, dmax_glass_forest=True).fit(df)
    n_feat = len(m.feature_names_)
    assert m.dmax_glass_ is not None and m.dmax_glass_.n_features == n_feat
    assert m.regressor_.n_features == n_feat + 1 and m.classifier_.n_features == n_feat
    A = np.array([[41.2, 13.8, 12.5, 10.0, 22.5], [50.0, 0.0, 50.0, 0.0, 0.0], [0.0, 0.0, 0.0, 80.0, 20.0]])
    els = ["Zr", "Ti", "Cu", "Ni", "Be"]
    F = m._features(A, els)
    lg = _log_glass(m.dmax_glass_, F)
    assert np.all(lg <= 0) and np.all(lg >= np.log(1e-3))
    p, d = m.predict_matrix(A, els)
    np.testing.assert_allclose(np.log10(d), m.regressor_.raw(np.column_stack([F, lg])), rtol=1e-12)
    # the classifier is untouched by the option
    np.testing.assert_array_equal(p, GFAModel(**SMALL).fit(df).predict_proba_matrix(A, els))
    # it is a forest of its own (trained without the measured alloys), not the classifier's glass forest
    assert not np.array_equal(lg, _log_glass(m.glass_, F))
    # with the classifier margin stacked too, the regressor reads [features, margin, log P(glass)]
    s = GFAModel(**SMALL, dmax_glass_forest=True, stack_classifier=True).fit(df)
    assert s.regressor_.n_features == n_feat + 2
    Fs = s._features(A, els)
    np.testing.assert_allclose(np.log10(s.predict_dmax_matrix(A, els)), s.regressor_.raw(np.column_stack([Fs, s._margin(Fs), _log_glass(s.dmax_glass_, Fs)])), rtol=1e-12)
    r = _reload_then_tamper(m, tmp_path / "dg", "dmax_glass_forest", False, "Dmax glass forest")
    assert r.dmax_glass_forest
    with pytest.raises(PcidsError, match="dmax_glass_forest"):
        GFAModel(**SMALL, glass_forest=False, dmax_glass_forest=True).fit(df["formula"], gfa_labels(df).to_numpy(), dmax_mm=df["dmax_mm"].to_numpy())


def test_dmax_ground_state_features_reach_only_the_regressor(tmp_path):
    from pcids.models._gfa_features import GROUND_STATE_FEATURES

    df = _split()[0]
    m = GFAModel(**SMALL, dmax_ground_state=True).fit(df)
    base = GFAModel(**SMALL).fit(df)
    n = len(GROUND_STATE_FEATURES)
    assert m.feature_names_ == [*base.feature_names_, *GROUND_STATE_FEATURES]
    assert m.regressor_.n_features == base.regressor_.n_features + n
    assert m.classifier_.n_features == base.classifier_.n_features and m.glass_.n_features == base.glass_.n_features
    np.testing.assert_array_equal(m.feature_min_, base.feature_min_)  # the domain check reads the same descriptors
    A = np.array([[41.2, 13.8, 12.5, 10.0, 22.5], [50.0, 0.0, 50.0, 0.0, 0.0], [0.0, 0.0, 0.0, 80.0, 20.0]])
    els = ["Zr", "Ti", "Cu", "Ni", "Be"]
    p, d = m.predict_matrix(A, els)
    p0, d0 = base.predict_matrix(A, els)
    np.testing.assert_array_equal(p, p0)  # the classifier is untouched by the option
    assert m.decision_threshold_ == base.decision_threshold_
    F = m._features(A, els)
    np.testing.assert_allclose(np.log10(d), m.regressor_.raw(F), rtol=1e-12)
    assert not np.array_equal(d, d0)
    # the regressor does split on the new block
    used = m.regressor_.arrays["feature"][m.regressor_.arrays["left"] != -1]
    assert (used >= len(base.feature_names_)).any()
    # with the stacked margin the regressor reads [features incl. ground state, margin]
    s = GFAModel(**SMALL, dmax_ground_state=True, stack_classifier=True).fit(df)
    np.testing.assert_allclose(np.log10(s.predict_dmax_matrix(A, els)), s.regressor_.raw(np.column_stack([F, s._margin(F)])), rtol=1e-12)
    # a file whose hyperparameters drop the option no longer matches its feature list
    r = _reload_then_tamper(m, tmp_path / "gs", "dmax_ground_state", False, "feature list")
    assert r.dmax_ground_state
    np.testing.assert_array_equal(r.predict_proba(FORMS), base.predict_proba(FORMS))
    np.testing.assert_array_equal(r.domain_check(FORMS), base.domain_check(FORMS))


def test_dmax_hgb_blend_mixes_boosted_trees_into_the_regressor(tmp_path):
    from sklearn.ensemble import HistGradientBoostingRegressor

    from pcids.descriptors import composition_matrix
    from pcids.models.gfa import DMAX_HGB

    df = _split()[0]
    m = GFAModel(**SMALL, dmax_hgb_blend=0.25).fit(df)
    base = GFAModel(**SMALL).fit(df)
    assert base.dmax_hgb_ is None and m.dmax_hgb_ is not None
    A = np.array([[41.2, 13.8, 12.5, 10.0, 22.5], [50.0, 0.0, 50.0, 0.0, 0.0], [0.0, 0.0, 0.0, 80.0, 20.0]])
    els = ["Zr", "Ti", "Cu", "Ni", "Be"]
    p, d = m.predict_matrix(A, els)
    np.testing.assert_array_equal(p, base.predict_proba_matrix(A, els))  # the classifier is untouched
    F = m._features(A, els)
    np.testing.assert_array_equal(m.regressor_.raw(F), base.regressor_.raw(F))  # same forest, same seed
    # the boosted trees are scikit-learn's own, fit on the measured alloys: same predictions
    meas = np.isfinite(df["dmax_mm"].to_numpy()) & (df["dmax_mm"].to_numpy() > 0)
    # featurised like fit does, all rows at once (BLAS rounding differs by 1e-12 with the matrix shape,
    # enough to move a histogram bin edge)
    Fm = m._features(composition_matrix(list(df["formula"]), m.elements_)[0], m.elements_)[meas]
    ref = HistGradientBoostingRegressor(random_state=0, **DMAX_HGB).fit(Fm, np.log10(df["dmax_mm"].to_numpy()[meas]))
    np.testing.assert_allclose(m.dmax_hgb_.raw(F), ref.predict(F), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.log10(d), 0.75 * m.regressor_.raw(F) + 0.25 * ref.predict(F), rtol=1e-10)
    assert not np.array_equal(m.residual_quantiles_, base.residual_quantiles_)  # the range comes from the blend too
    r = _reload_then_tamper(m, tmp_path / "hb", "dmax_hgb_blend", 0.0, "boosted trees")
    assert r.dmax_hgb_blend == 0.25
    for bad in (-0.1, 1.5, "half"):
        with pytest.raises(PcidsError, match="dmax_hgb_blend"):
            GFAModel(dmax_hgb_blend=bad).fit(df)

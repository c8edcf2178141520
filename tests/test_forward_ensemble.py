"""ForwardEnsemble and ElasticModel: calibration, fast path, domain, save/load, shipped models."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from pcids import ElasticModel, ExtrapolationWarning, load_elastic_model
from pcids.composition import Composition
from pcids.datasets import data_hash, load_elastic
from pcids.descriptors import PaperDescriptors
from pcids.elastic import derived_with_uncertainty
from pcids.errors import FormulaError, ModelFileError, NotFittedError, PcidsError, UnsupportedElementError
from pcids.evaluation import regression_metrics
from pcids.models.ensemble import ForwardEnsemble, shipped_model_stem

TINY = dict(n_members=3, hidden_layer_sizes=(12, 12), dropout=0.0, learning_rate=0.01, epochs=100)
VIT1 = "Zr41.2Ti13.8Cu12.5Ni10Be22.5"


@pytest.fixture(scope="module")
def data():
    df = load_elastic()
    return df, PaperDescriptors().transform(df["formula"])


@pytest.fixture(scope="module")
def tiny_pair(data):
    df, _ = data
    t = ForwardEnsemble(**TINY, calibration_folds=2)
    return ElasticModel(G=t, K=t).fit(df["formula"], df[["G", "K"]])


def test_ensemble_mean_is_member_mean_and_std_is_scaled_spread(data):
    df, X = data
    ens = ForwardEnsemble(**TINY, calibration_folds=0).fit(X, df["G"])
    preds = np.stack([m.predict(X) for m in ens.members_])
    mean, std = ens.predict(X, return_std=True)
    np.testing.assert_allclose(mean, preds.mean(axis=0), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(std, preds.std(axis=0, ddof=1), rtol=1e-3, atol=1e-3)
    assert ens.sigma_scale_ == 1.0
    assert len({m.seed for m in ens.members_}) == 3


def test_cosine_schedule_is_deterministic_and_differs_from_constant(data):
    df, X = data
    kw = dict(TINY, n_members=2, epochs=60, calibration_folds=0)
    a = ForwardEnsemble(**kw, lr_schedule="cosine").fit(X, df["G"]).predict(X)
    b = ForwardEnsemble(**kw, lr_schedule="cosine").fit(X, df["G"]).predict(X)
    c = ForwardEnsemble(**kw, lr_schedule="constant").fit(X, df["G"]).predict(X)
    np.testing.assert_array_equal(a, b)
    assert np.max(np.abs(a - c)) > 1e-3
    with pytest.raises(PcidsError, match="lr_schedule"):
        ForwardEnsemble(**kw, lr_schedule="step").fit(X, df["G"])


def test_calibration_scale_makes_oof_coverage_95_percent(data):
    df, X = data
    ens = ForwardEnsemble(**TINY, calibration_folds=3).fit(X, df["G"])
    oof = ens.oof_
    z = np.abs(df["G"].to_numpy() - oof["mean"]) / (oof["raw_std"] * ens.sigma_scale_)
    assert np.mean(z <= 2.0) == pytest.approx(0.95, abs=0.01)
    assert ens.sigma_scale_ > 1.0  # raw seed spread is too narrow out of fold
    assert ens.oof_metrics_["r2"] > 0.8


def test_ensemble_is_deterministic_and_clonable(data):
    df, X = data
    a = ForwardEnsemble(**TINY, calibration_folds=0).fit(X[:80], df["G"][:80]).predict(X)
    b = clone(ForwardEnsemble(**TINY, calibration_folds=0)).fit(X[:80], df["G"][:80]).predict(X)
    np.testing.assert_array_equal(a, b)


def test_bad_ensemble_parameters(data):
    df, X = data
    with pytest.raises(PcidsError, match="n_members"):
        ForwardEnsemble(n_members=1).fit(X, df["G"])
    with pytest.raises(PcidsError, match="calibration_folds"):
        ForwardEnsemble(**TINY, calibration_folds=1).fit(X, df["G"])


def test_elastic_model_predict_frame(tiny_pair):
    out = tiny_pair.predict([VIT1, "Cu50Zr50"])
    assert list(out.columns) == ["formula", "G", "G_std", "K", "K_std", "E", "E_std", "nu", "nu_std", "in_domain"]
    assert list(out.index) == [VIT1, "Cu50Zr50"]  # the input as typed, beside the canonical formula
    assert list(out["formula"]) == [Composition.coerce(VIT1).formula, Composition.coerce("Cu50Zr50").formula]
    assert out["in_domain"].all()
    d = derived_with_uncertainty(out["G"], out["K"], out["G_std"], out["K_std"])
    np.testing.assert_allclose(out["E"], d["E"])
    np.testing.assert_allclose(out["nu_std"], d["nu_std"])
    assert (out[["G_std", "K_std"]] > 0).all().all()


def test_fast_path_matches_per_target_ensembles(tiny_pair, data):
    X = tiny_pair.descriptors().transform(data[0]["formula"])
    mean, std = tiny_pair.predict_descriptors(X)
    assert mean.shape == std.shape == (len(X), 2) and mean.dtype == np.float32
    g_mean, g_std = tiny_pair.G_.predict(X, return_std=True)
    np.testing.assert_allclose(mean[:, 0], g_mean, rtol=1e-4, atol=1e-4)  # other float32 kernels
    np.testing.assert_allclose(std[:, 1], tiny_pair.K_.predict(X, return_std=True)[1], rtol=1e-4, atol=1e-4)
    n = len(tiny_pair.features_)
    with pytest.raises(PcidsError, match=rf"shape \(n, {n}\) \({', '.join(tiny_pair.features_)}\)"):
        tiny_pair.predict_descriptors(X[:, :4])


def test_extrapolation_warns_with_reason_and_domain_check(tiny_pair):
    with pytest.warns(ExtrapolationWarning, match=r"W never seen in training.*Tm = .* outside the training range"):
        out = tiny_pair.predict(["W50Zr50", "Cu50Zr50"])
    assert list(out["in_domain"]) == [False, True]
    np.testing.assert_array_equal(tiny_pair.domain_check(["Cu50Zr50", "Os50Au50", "Zr64Cu36"]), [True, False, True])
    lo, hi = tiny_pair.training_ranges_["G"]
    assert lo == pytest.approx(7.0) and hi > 80
    assert "Zr" in tiny_pair.elements_ and "W" not in tiny_pair.elements_
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny_pair.predict("Cu50Zr50")  # in domain: no warning


def test_bad_input_errors(tiny_pair):
    with pytest.raises(UnsupportedElementError):
        tiny_pair.predict(["Cu50Xe50"])
    with pytest.raises(FormulaError, match="position"):
        tiny_pair.predict(["Cu5)0Zr50"])
    with pytest.raises(NotFittedError, match="ElasticModel"):
        ElasticModel().predict_descriptors(np.zeros((1, 4)))


def test_pair_save_load_roundtrip(tiny_pair, data, tmp_path):
    X = tiny_pair.descriptors().transform(data[0]["formula"])
    tiny_pair.save(tmp_path / "fw", common={"seed": 0})
    loaded = ElasticModel.load(tmp_path / "fw")
    a, b = tiny_pair.predict_descriptors(X), loaded.predict_descriptors(X)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert loaded.training_ranges_ == tiny_pair.training_ranges_
    assert loaded.metadata_["K"]["seed"] == 0
    # a member missing from the weights is a clear error
    meta = json.loads((tmp_path / "fw_K.json").read_text())
    meta["hyperparameters"]["n_members"] = 4
    (tmp_path / "fw_K.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="member 3"):
        ElasticModel.load(tmp_path / "fw")


# ------------------------------------------------------------ shipped models
def test_shipped_models_reproduce_their_metadata(data):
    df, _ = data
    model = load_elastic_model()
    assert load_elastic_model() is model  # cached
    X = model.descriptors().transform(df["formula"])
    for j, t in enumerate(("G", "K")):
        meta = model.metadata_[t]
        assert meta["data_hash"] == data_hash("elastic")
        ok = np.isfinite(df[t].to_numpy())
        assert meta["n_train"] == int(ok.sum())
        mean, _ = model.predict_descriptors(X[ok])
        got = regression_metrics(df[t].to_numpy()[ok], mean[:, j])
        assert got["r2"] == pytest.approx(meta["train_metrics"]["r2"], abs=1e-4)
        assert got["rmse"] == pytest.approx(meta["train_metrics"]["rmse"], rel=1e-3)
        assert meta["sigma_scale"] == pytest.approx(getattr(model, f"{t}_").sigma_scale_)
        assert meta["oof_metrics"]["r2"] > 0.97  # accuracy out of fold, recorded at training


def test_shipped_model_predicts_vit1_sensibly():
    out = load_elastic_model().predict("Zr41Be22.5Ti14Cu12.5Ni10")
    row = out.iloc[0]
    # Vitreloy 1 measured: G 36.5 GPa, K 115.3 GPa (in the training data)
    assert row["G"] == pytest.approx(36.5, abs=max(3 * row["G_std"], 1.0))
    assert row["K"] == pytest.approx(115.3, abs=max(3 * row["K_std"], 3.0))
    assert 0.3 < row["nu"] < 0.4 and bool(row["in_domain"])


def test_corrupted_shipped_copy_fails_clearly(tmp_path):
    stem = shipped_model_stem()
    for t in ("G", "K"):
        for suffix in (".npz", ".json"):
            shutil.copy(stem.parent / f"{stem.name}_{t}{suffix}", tmp_path / f"fw_{t}{suffix}")
    blob = (tmp_path / "fw_G.npz").read_bytes()
    (tmp_path / "fw_G.npz").write_bytes(blob[:-100])
    with pytest.raises(ModelFileError, match="corrupted or truncated"):
        ElasticModel.load(tmp_path / "fw")


def _copy_shipped(tmp_path, stem_name="fw"):
    stem = shipped_model_stem()
    for t in ("G", "K"):
        for suffix in (".npz", ".json"):
            shutil.copy(stem.parent / f"{stem.name}_{t}{suffix}", tmp_path / f"{stem_name}_{t}{suffix}")
    return tmp_path / stem_name


def test_a_K_model_copied_over_the_G_model_is_refused(tmp_path):
    """Issue 11 item 6: the target recorded in the metadata is checked, so G is never predicted by the K network."""
    stem = _copy_shipped(tmp_path)
    for suffix in (".npz", ".json"):
        shutil.copy(tmp_path / f"fw_K{suffix}", tmp_path / f"fw_G{suffix}")
    with pytest.raises(ModelFileError, match=r"fw_G.* holds a model of target 'K', not 'G'"):
        ElasticModel.load(stem)
    with pytest.raises(ModelFileError, match="target 'K', not 'G'"):
        ForwardEnsemble.load(tmp_path / "fw_G", target="G")
    assert ForwardEnsemble.load(tmp_path / "fw_G").target == "K"  # no target asked: loads as what it is


def test_damaged_npz_with_a_matching_checksum_is_a_model_file_error(tmp_path):
    """A weights file that passes the checksum (the JSON was edited to match) but is not a readable .npz."""
    import hashlib

    stem = _copy_shipped(tmp_path)
    junk = b"PK\x03\x04" + b"\x00" * 200
    (tmp_path / "fw_G.npz").write_bytes(junk)
    js = tmp_path / "fw_G.json"
    meta = json.loads(js.read_text())
    meta["weights_sha256"] = hashlib.sha256(junk).hexdigest()
    js.write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="fw_G.npz cannot be read"):
        ElasticModel.load(stem)
    _copy_shipped(tmp_path)
    (tmp_path / "fw_K.npz").unlink()
    with pytest.raises(ModelFileError, match="fw_K.npz not found"):
        ElasticModel.load(stem)


def test_features_are_chosen_saved_and_checked(data, tmp_path):
    df, X4 = data
    t = ForwardEnsemble(**dict(TINY, n_members=2, epochs=20), calibration_folds=0)
    paper = ElasticModel(G=t, K=t, features=("VEC", "Tm", "chi", "r")).fit(df["formula"], df[["G", "K"]])
    np.testing.assert_allclose(paper.descriptors().transform(df["formula"]), X4)
    assert paper.property_matrix(["Cu", "Zr"]).shape == (2, 4)
    paper.save(tmp_path / "paper")
    assert ElasticModel.load(tmp_path / "paper").features_ == ("VEC", "Tm", "chi", "r")
    # a G file and a K file fitted on different inputs do not make a pair
    five = ElasticModel(G=t, K=t).fit(df["formula"], df[["G", "K"]])
    five.save(tmp_path / "five")
    for suffix in (".npz", ".json"):
        (tmp_path / f"paper_K{suffix}").write_bytes((tmp_path / f"five_K{suffix}").read_bytes())
    with pytest.raises(ModelFileError, match="different features"):
        ElasticModel.load(tmp_path / "paper")
    with pytest.raises(PcidsError, match="unknown weighted-mean feature.*'density'"):
        ElasticModel(G=t, K=t, features=("VEC", "density")).fit(df["formula"], df[["G", "K"]])

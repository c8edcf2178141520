"""PropertyModel (Tg, Tx, Tl), the derived temperatures, the common predictor interface and the shipped files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pcids.datasets import load_temperatures
from pcids.errors import ModelFileError, PcidsError
from pcids.models.properties import (
    PROPERTIES,
    PropertyModel,
    PropertyPredictor,
    check_property_names,
    derived_temperatures,
    load_property_models,
    load_temperature_models,
    predict_properties,
    residual_correlation,
)


@pytest.fixture(scope="module")
def data():
    df = load_temperatures()
    # four well-measured systems: small, fast, and still a real fit
    keep = df["system"].isin(["Al-Cu-Zr", "Al-Cu-Ni-Zr", "Ca-Cu-Mg", "Ag-Al-Cu-Zr", "Cu-Ni-Ti-Zr", "Cu-Zr"])
    return df[keep].reset_index(drop=True)


@pytest.fixture(scope="module")
def tiny(data):
    # random calibration folds: six systems this far apart (Ca-Cu-Mg against Zr-Cu) make grouped folds bimodal
    return PropertyModel(target="Tg", n_estimators=20, calibration_folds=3, calibration="random", seed=0).fit(data["formula"], data["Tg"])


def test_fit_predict_save_load_round_trip(tiny, data, tmp_path):
    mean, std = tiny.predict(list(data["formula"][:10]), return_std=True)
    assert mean.shape == std.shape == (10,) and mean.dtype == np.float64
    assert np.all(std > 0)
    assert np.all(np.abs(mean - data["Tg"][:10]) < 40)  # training alloys
    path = tiny.save(tmp_path / "tg", seed=0, data_hash="abc", cv={"mae": 1.0})
    meta = json.loads(path.read_text())
    assert meta["seed"] == 0 and meta["data_hash"] == "abc" and meta["cv"] == {"mae": 1.0}
    assert meta["oof_metrics"]["n"] == int(data["Tg"].notna().sum())
    loaded = PropertyModel.load(tmp_path / "tg")
    m2, s2 = loaded.predict(list(data["formula"][:10]), return_std=True)
    np.testing.assert_allclose(m2, mean, rtol=1e-6)
    np.testing.assert_allclose(s2, std, rtol=1e-6)
    assert loaded.name == "Tg" and loaded.unit == "K"
    with pytest.raises(ModelFileError, match="overwrite=True"):
        tiny.save(tmp_path / "tg")
    with pytest.raises(ModelFileError, match="not 'Tx'"):
        PropertyModel.load(tmp_path / "tg", target="Tx")


def test_same_seed_same_numbers(data, tiny):
    again = PropertyModel(target="Tg", n_estimators=20, calibration_folds=3, calibration="random", seed=0).fit(data["formula"], data["Tg"])
    X = ["Cu47Zr45Al8", "Zr60Cu20Ni10Al10"]
    np.testing.assert_allclose(again.predict(X, return_std=True), tiny.predict(X, return_std=True), rtol=1e-6)


@pytest.mark.parametrize("damage", ["truncate_npz", "flip_npz", "bad_json", "drop_sigma", "edit_features"])
def test_a_corrupted_file_is_a_clear_model_file_error(tiny, tmp_path, damage):
    tiny.save(tmp_path / "m")
    npz, js = tmp_path / "m.npz", tmp_path / "m.json"
    if damage == "truncate_npz":
        npz.write_bytes(npz.read_bytes()[:1000])
    elif damage == "flip_npz":
        b = bytearray(npz.read_bytes())
        b[len(b) // 2] ^= 0xFF
        npz.write_bytes(bytes(b))
    elif damage == "bad_json":
        js.write_text(js.read_text()[:-20])
    else:
        meta = json.loads(js.read_text())
        if damage == "drop_sigma":
            del meta["sigma_params"]
        else:
            meta["elements"] = meta["elements"][:-1]
        js.write_text(json.dumps(meta))
    with pytest.raises(ModelFileError) as exc:
        PropertyModel.load(tmp_path / "m")
    assert isinstance(exc.value, PcidsError) and str(tmp_path / "m") in str(exc.value)


def test_bad_parameters_and_data_are_clear_errors(data):
    with pytest.raises(PcidsError, match="family"):
        PropertyModel(family="svm").fit(data["formula"], data["Tg"])
    with pytest.raises(PcidsError, match="at least"):
        PropertyModel(n_estimators=5).fit(data["formula"][:5], data["Tg"][:5])
    with pytest.raises(PcidsError, match="3 compositions but 2 values"):
        PropertyModel(n_estimators=5).fit(data["formula"][:3], data["Tg"][:2])
    one_system = data[data["system"] == "Al-Cu-Zr"]
    with pytest.raises(PcidsError, match="needs at least 5 alloy systems, got 1"):
        PropertyModel(n_estimators=5).fit(one_system["formula"], one_system["Tg"])
    with pytest.raises(PcidsError, match="calibration must be one of"):
        PropertyModel(calibration="bootstrap").fit(data["formula"], data["Tg"])


def test_sigma_is_calibrated_out_of_fold(tiny):
    m = tiny.oof_metrics_
    # Gaussian-likelihood fit of sigma on these out-of-fold residuals: about 95 % within 1.96 sigma
    assert 0.88 <= m["coverage_2sigma"] <= 0.995
    assert 0.6 <= m["coverage_1sigma"] <= 0.97
    a, b = tiny.sigma_params_
    assert a > 0 and b > 0


def test_sigma_grows_away_from_the_data(tiny):
    _, near = tiny.predict(["Cu46Zr46Al8"], return_std=True)
    with pytest.warns(Warning, match="Ni40Pd40P20: Pd never seen in training Tg; P never seen in training Tg"):
        _, far = tiny.predict(["Pd40Ni40P20"], return_std=True)
    assert far[0] > near[0]


def test_predict_matrix_takes_at_percent_rows_and_matches_predict(tiny):
    els = ["Cu", "Zr", "Al"]
    A = np.array([[46.0, 46.0, 8.0], [50.0, 50.0, 0.0]])
    mean, std = tiny.predict_matrix(A, els)
    m2, s2 = tiny.predict(["Cu46Zr46Al8", "Cu50Zr50"], return_std=True)
    np.testing.assert_allclose(mean, m2, rtol=1e-6)
    np.testing.assert_allclose(std, s2, rtol=1e-6)
    np.testing.assert_allclose(tiny.predict_matrix(A / 100, els)[0], mean, rtol=1e-6)  # fractions too
    with pytest.raises(PcidsError, match="shape"):
        tiny.predict_matrix(A, ["Cu", "Zr"])
    with pytest.raises(PcidsError, match="non-negative"):
        tiny.predict_matrix(-A, els)


def test_derived_quantities_and_their_sigma():
    rng = np.random.default_rng(0)
    mean = {"Tg": np.array([650.0, 400.0]), "Tx": np.array([720.0, 450.0]), "Tl": np.array([1100.0, 800.0])}
    std = {"Tg": np.array([10.0, 5.0]), "Tx": np.array([8.0, 6.0]), "Tl": np.array([20.0, 9.0])}
    R = np.array([[1.0, 0.6, 0.3], [0.6, 1.0, 0.2], [0.3, 0.2, 1.0]])
    d = derived_temperatures(mean, std, R)
    np.testing.assert_allclose(d["dTx"][0], [70.0, 50.0])
    np.testing.assert_allclose(d["Trg"][0], [650 / 1100, 400 / 800])
    np.testing.assert_allclose(d["gamma"][0], [720 / 1750, 450 / 1200])
    # dTx exactly: var = sx^2 + sg^2 - 2 rho sx sg
    np.testing.assert_allclose(d["dTx"][1], np.sqrt(std["Tx"] ** 2 + std["Tg"] ** 2 - 2 * 0.6 * std["Tx"] * std["Tg"]))
    # the non-linear ones against Monte Carlo sampling of correlated errors
    for k in range(2):
        s = np.array([std[t][k] for t in ("Tg", "Tx", "Tl")])
        draws = rng.multivariate_normal([mean[t][k] for t in ("Tg", "Tx", "Tl")], R * np.outer(s, s), size=200_000)
        g, x, l = draws.T
        assert d["Trg"][1][k] == pytest.approx(np.std(g / l), rel=0.03)
        assert d["gamma"][1][k] == pytest.approx(np.std(x / (g + l)), rel=0.03)
    indep = derived_temperatures(mean, std)
    np.testing.assert_allclose(indep["dTx"][1], np.hypot(std["Tx"], std["Tg"]))


def test_derived_calibration_recovers_correlation_and_sigma_scale():
    from pcids.models.properties import derived_calibration

    rng = np.random.default_rng(1)
    n = 4000
    mean = {"Tg": rng.uniform(400, 800, n), "Tx": None, "Tl": None}
    mean["Tx"] = mean["Tg"] + rng.uniform(20, 100, n)
    mean["Tl"] = mean["Tg"] / rng.uniform(0.5, 0.65, n)
    std = {"Tg": np.full(n, 10.0), "Tx": np.full(n, 12.0), "Tl": np.full(n, 25.0)}
    R = np.array([[1.0, 0.7, 0.2], [0.7, 1.0, 0.1], [0.2, 0.1, 1.0]])
    s = np.array([10.0, 12.0, 25.0])
    err = rng.multivariate_normal(np.zeros(3), R * np.outer(s, s), size=n)
    measured = {t: mean[t] + err[:, i] for i, t in enumerate(("Tg", "Tx", "Tl"))}
    measured["Tl"][: n // 4] = np.nan  # not measured everywhere
    R_hat, scales = derived_calibration(measured, mean, std)
    np.testing.assert_allclose(R_hat, R, atol=0.05)
    for name in ("dTx", "Trg", "gamma"):  # honest sigma in, scale about 1 out
        assert scales[name] == pytest.approx(1.0, abs=0.08), name
    _, scales_wide = derived_calibration(measured, mean, {t: v / 2 for t, v in std.items()})  # sigma half what it should be
    for name in ("dTx", "Trg", "gamma"):
        assert scales_wide[name] == pytest.approx(2.0, rel=0.08), name


def test_residual_correlation_is_a_correlation_matrix(data):
    models = {t: PropertyModel(target=t, n_estimators=10, calibration_folds=3, calibration="random").fit(data["formula"], data[t]) for t in ("Tg", "Tx", "Tl")}
    R = residual_correlation(models)
    assert R.shape == (3, 3)
    np.testing.assert_allclose(np.diag(R), 1.0)
    np.testing.assert_allclose(R, R.T)
    assert np.all(np.abs(R) <= 1.0) and np.all(np.linalg.eigvalsh(R) > -1e-9)


def test_property_names_are_checked():
    assert check_property_names(None) == list(PROPERTIES)
    assert check_property_names("Tg, K") == ["Tg", "K"]
    with pytest.raises(PcidsError, match="unknown property 'Dmax'; valid names: G, K, E, nu, Tg, Tx, Tl, dTx, Trg, gamma"):
        check_property_names(["Tg", "Dmax"])
    assert {p["kind"] for p in PROPERTIES.values()} == {"model", "derived"}


# -- the shipped models -------------------------------------------------------------------------


def test_loader_returns_every_shipped_property_behind_one_interface():
    preds = load_property_models()
    assert list(preds) == ["G", "K", "E", "nu", "Tg", "Tx", "Tl", "dTx", "Trg", "gamma"]
    els = ["Zr", "Cu", "Ni", "Al"]
    A = np.array([[65.0, 15.0, 10.0, 10.0], [50.0, 30.0, 10.0, 10.0], [55.0, 25.0, 10.0, 10.0]])
    table = predict_properties(["Zr65Cu15Ni10Al10", "Zr50Cu30Ni10Al10", "Zr55Cu25Ni10Al10"])
    for name, p in preds.items():
        assert isinstance(p, PropertyPredictor) and p.name == name and p.unit == PROPERTIES[name]["unit"]
        mean, std = p.predict_matrix(A, els)
        assert mean.shape == std.shape == (3,) and mean.dtype == std.dtype == np.float64
        assert np.all(std > 0)
        np.testing.assert_allclose(mean, table[name].to_numpy(), rtol=1e-4)
        np.testing.assert_allclose(std, table[f"{name}_std"].to_numpy(), rtol=1e-4)
    assert list(load_property_models(["Tg", "G"])) == ["G", "Tg"]
    # the derived sigma is the propagated one times the shipped out-of-fold scale
    from pcids.models.properties import model_calibration

    R, scales = model_calibration(load_temperature_models())
    d = derived_temperatures({t: table[t].to_numpy() for t in ("Tg", "Tx", "Tl")}, {t: table[f"{t}_std"].to_numpy() for t in ("Tg", "Tx", "Tl")}, R)
    for name in ("dTx", "Trg", "gamma"):
        assert 0.5 < scales[name] < 3.0
        np.testing.assert_allclose(table[f"{name}_std"].to_numpy(), d[name][1] * scales[name], rtol=1e-4)
    assert list(predict_properties(["Cu50Zr50"], ["Tg", "G"]).columns) == ["formula", "Tg", "Tg_std", "G", "G_std", "in_domain"]


def test_shipped_models_are_sane_on_known_alloys():
    df = load_temperatures().set_index("formula")
    table = predict_properties(["Zr65Cu15Ni10Al10", "Zr41.2Ti13.8Cu12.5Ni10Be22.5", "Pd40Ni40P20", "Cu46Zr46Al8"])
    for _, row in table.iterrows():
        measured = df.loc[row["formula"]]
        for t in ("Tg", "Tx", "Tl"):
            if np.isfinite(measured[t]):
                assert abs(row[t] - measured[t]) < 40, (row["formula"], t)
        assert row["Tg"] < row["Tx"] < row["Tl"]
        assert 0.4 < row["Trg"] < 0.75 and 0.3 < row["gamma"] < 0.5
        assert row["dTx"] == pytest.approx(row["Tx"] - row["Tg"], rel=1e-6)


def test_shipped_files_record_data_seed_and_cv_figures():
    from pcids.datasets import data_hash

    for t, m in load_temperature_models().items():
        meta = m.metadata_
        assert meta["data_hash"] == data_hash("temperatures"), f"{t}: retrain with `pcids train properties --force`"
        assert meta["seed"] == 0
        assert {"mae", "r2", "coverage_1sigma", "coverage_2sigma"} <= set(meta["cv_random_5fold"])
        assert {"mae", "r2"} <= set(meta["cv_grouped_5fold"])
        # sigma fitted on random and system-grouped folds: about 95 % of those held-out alloys within 1.96 sigma
        assert m.calibration == "both"
        for scheme in ("random", "grouped"):
            assert 0.88 <= meta["oof_metrics"][f"{scheme}_coverage_2sigma"] <= 0.99, (t, scheme)
        # never a vanishing sigma, even where the trees agree (a training alloy)
        assert m.sigma_params_[1] > 1.0
        _, std = m.predict(["Cu50Zr50"], return_std=True)
        assert std[0] > 1.0


def test_train_properties_through_the_real_cli(tmp_path):
    from typer.testing import CliRunner

    from pcids.cli import app

    runner = CliRunner()
    stem = tmp_path / "t"
    r = runner.invoke(app, ["train", "properties", "--names", "Tg", "--trees", "4", "--out", str(stem)])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["saved"] == [str(tmp_path / "t_Tg.json")]
    m = PropertyModel.load(tmp_path / "t_Tg", target="Tg")
    assert m.n_estimators == 4 and m.metadata_["seed"] == 0
    assert summary["metrics"]["Tg"]["random_5fold"]["mae"] == pytest.approx(m.metadata_["cv_random_5fold"]["mae"], rel=1e-6)
    assert 0 < m.metadata_["cv_grouped_5fold"]["mae"] < 100
    again = runner.invoke(app, ["train", "properties", "--names", "Tg", "--trees", "4", "--out", str(stem)])
    assert again.exit_code == 1 and "--force" in again.output
    bad = runner.invoke(app, ["train", "properties", "--names", "Tg,dTx", "--out", str(tmp_path / "u")])
    assert bad.exit_code == 1 and "only Tg, Tx, Tl" in bad.output and "Traceback" not in bad.output


def test_fit_sigma_recovers_scale_and_floor_and_survives_exact_hits():
    from pcids.models.properties import B_FLOOR, fit_sigma

    rng = np.random.default_rng(2)
    spread = rng.uniform(1.0, 20.0, 5000)
    resid = rng.normal(0.0, np.hypot(1.5 * spread, 4.0))
    a, b = fit_sigma(resid, spread)
    assert a == pytest.approx(1.5, rel=0.06) and b == pytest.approx(4.0, rel=0.2)
    # alloys whose trees agree (spread 0) on exactly their value must not drive sigma to zero
    spread[:20], resid[:20] = 0.0, 0.0
    a, b = fit_sigma(resid, spread)
    assert b >= B_FLOOR * np.sqrt(np.mean(resid**2)) * (1 - 1e-9)

"""A user's own table: reading, validation, the fitted UserPropertyModel and its files (library level)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from pcids import Composition, fit_property_model, load_user_model, read_property_table
from pcids.datasets import load_elastic
from pcids.errors import DataError, ExtrapolationWarning, ModelFileError, PcidsError
from pcids.models.ensemble import ForwardEnsemble
from pcids.models.user import UserPropertyModel, check_property_name

TINY = dict(n_members=2, epochs=30, hidden_layer_sizes=(8,), calibration_folds=2)


def hardness_table(n: int = 40) -> pd.DataFrame:
    """Alloys of the bundled elastic data with a synthetic Vickers hardness, HV ~ 0.15 G (GPa -> kgf/mm²)."""
    df = load_elastic()
    df = df[np.isfinite(df["G"])].iloc[::5].head(n)  # spread over the systems
    return pd.DataFrame({"Alloy": df["formula_as_written"].to_list(), "HV": (0.15 * df["G"] * 1000 / 9.807).round(1).to_list()})


def test_rows_set_aside_each_with_its_line_and_reason(tmp_path):
    path = tmp_path / "hv.csv"
    path.write_text(
        "Alloy,HV,note\n"
        "Cu50Zr50,520,a\n"  # line 2
        "Cu50Xx50,500,\n"  # 3: unknown element
        "Cu64Zr36,hard,\n"  # 4: not a number
        "Cu46Zr54,,\n"  # 5: missing
        ",510,\n"  # 6: no formula
        "Cu60Zr40,inf,\n"  # 7: not finite
        "Pu50Zr50,300,\n"  # 8: no descriptor data
        "Zr50Cu50,530,\n"  # 9: repeat of line 2, within 10 %: merged
        "Cu55Zr45,400,\n"  # 10
        "Zr45Cu55,600,\n"  # 11: conflicts with line 10
        "(Cu50Zr50,1,\n"  # 12: unbalanced bracket
    )
    frame, problems = read_property_table(path, "HV")
    assert list(problems["line"]) == [3, 4, 5, 6, 7, 8, 10, 11, 12]
    reasons = dict(zip(problems["line"], problems["reason"]))
    assert "unknown element 'Xx'" in reasons[3]
    assert reasons[4] == "value 'hard' is not a number"
    assert reasons[5] == "no value (empty cell)"
    assert reasons[6] == "no formula (empty cell)"
    assert reasons[7] == "value 'inf' is not finite"
    assert reasons[8].startswith("element Pu: no property data")
    assert "conflicting repeats of Cu55Zr45 (lines 10, 11: 400, 600)" in reasons[10] and reasons[10] == reasons[11]
    assert "unbalanced bracket" in reasons[12]
    assert list(problems["where"][:1]) == ["hv.csv line 3"]
    assert list(frame["formula"]) == ["Cu50Zr50"]
    row = frame.iloc[0]
    assert row["HV"] == pytest.approx(525.0) and row["n_repeats"] == 2 and row["lines"] == [2, 9]
    assert frame.attrs["data_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert frame.attrs["formula_column"] == "Alloy" and frame.attrs["rows_read"] == 11 and frame.attrs["rows_set_aside"] == 9


def test_repeats_keep_their_agreeing_majority(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("formula,y\nCu55Zr45,400\nCu55Zr45,600\nCu55Zr45,420\nCu50Zr50,300\nCu50Zr50,500\n")
    frame, problems = read_property_table(path, "y", duplicate_tolerance=1.0)
    assert problems.empty and frame["y"].tolist() == [420.0, 400.0]  # the medians
    frame, problems = read_property_table(path, "y")
    # 400 and 420 lie within 10 % of the median 420: they are kept (median 410), 600 is an outlier;
    # 300 and 500 are both 100 from their median: no majority, both set aside
    assert frame["formula"].tolist() == ["Cu55Zr45"] and frame["y"].tolist() == [410.0] and frame["lines"][0] == [2, 4]
    assert problems["line"].tolist() == [3, 5, 6]
    assert problems["reason"][0].startswith("600 disagrees with the other repeats of Cu55Zr45 (lines 2, 3, 4: 400, 600, 420)")
    assert problems["reason"][1].startswith("conflicting repeats of Cu50Zr50 (lines 5, 6: 300, 500): fewer than half")


def test_columns_are_found_or_named_in_one_clear_error(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("Composition;Hardness\nCu50Zr50;500\n")  # semicolons, as some spreadsheets write
    frame, _ = read_property_table(path, "Hardness")
    assert frame.attrs["formula_column"] == "Composition" and frame["Hardness"].tolist() == [500.0]
    with pytest.raises(DataError, match=r"no target column 'hardness' .*did you mean 'Hardness'"):
        read_property_table(path, "hardness")
    path.write_text("alloy,formula,y\nCu50Zr50,Cu50Zr50,1\n")
    with pytest.raises(DataError, match="several formula columns"):
        read_property_table(path, "y")
    assert read_property_table(path, "y", formula_column="alloy")[0].attrs["formula_column"] == "alloy"
    path.write_text("name,y\nCu50Zr50,1\n")
    with pytest.raises(DataError, match="no formula column .*--formula-column"):
        read_property_table(path, "y")
    path.write_text("formula,y\nCu50Zr50,soft\nCu64Zr36,hard\n")
    with pytest.raises(DataError, match=r"column 'y' is not numeric \(e.g. 'soft' at t.csv line 2\)"):
        read_property_table(path, "y")
    with pytest.raises(DataError, match="not found"):
        read_property_table(tmp_path / "none.csv", "y")
    with pytest.raises(DataError, match="cannot read .json"):
        (tmp_path / "t.json").write_text("{}")
        read_property_table(tmp_path / "t.json", "y")


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet"])
def test_spreadsheets_and_parquet_give_row_numbers(tmp_path, suffix):
    df = pd.DataFrame({"formula": ["Cu50Zr50", "Cu50Xx50", "Cu64Zr36"], "HV": [500.0, 510.0, np.nan]})
    path = tmp_path / f"t{suffix}"
    if suffix == ".xlsx":
        pytest.importorskip("openpyxl")
        df.to_excel(path, index=False)
    else:
        df.to_parquet(path)
    frame, problems = read_property_table(path, "HV")
    first = 2 if suffix == ".xlsx" else 1  # the sheet row under the header; the record number in Parquet
    assert frame["formula"].tolist() == ["Cu50Zr50"]
    assert problems["where"].tolist() == [f"t{suffix} row {first + 1}", f"t{suffix} row {first + 2}"]
    assert problems["reason"].iloc[1] == "no value (empty cell)"


def test_a_dataframe_is_read_like_a_file():
    df = pd.DataFrame({"alloy": ["Cu50Zr50", "Cu64Zr36", "bad!"], "y": [1.0, "2.5", 3.0]}, index=[10, 11, 12])
    frame, problems = read_property_table(df, "y")
    assert frame["y"].tolist() == [1.0, 2.5]
    assert problems["where"].tolist() == ["row 12"]


def test_fit_refuses_too_few_rows_and_a_shipped_name():
    table = hardness_table(25)
    frame, _ = read_property_table(table.head(12), "HV")
    with pytest.raises(DataError, match="only 12 usable row.*at least 20 are needed"):
        fit_property_model(frame, **TINY)
    frame, _ = read_property_table(table, "HV")
    with pytest.raises(DataError, match="clashes with pcids's own 'Tg'"):
        fit_property_model(frame, name="tg", **TINY)
    for bad in ("1x", "a b", ""):
        with pytest.raises(DataError, match="must start with a letter"):
            check_property_name(bad)
    flat = table.assign(HV=500.0)
    with pytest.raises(DataError, match="nothing to learn"):
        fit_property_model(read_property_table(flat, "HV")[0], **TINY)
    dirty = pd.concat([table, pd.DataFrame({"Alloy": ["Cu50Xx50"], "HV": [1.0]})])
    with pytest.raises(DataError, match="1 row.*cannot be used.*unknown element"):
        fit_property_model(dirty, "HV", **TINY)  # a raw frame must be clean; read_property_table keeps the rest


@pytest.fixture(scope="module")
def fitted():
    frame, _ = read_property_table(hardness_table(40), "HV")
    return fit_property_model(frame, unit="HV", seed=3, **TINY)


def test_fit_reports_cv_beside_baselines_and_records_provenance(fitted):
    m, cv, preds = fitted, fitted.cv_, fitted.cv_predictions_
    assert m.name == "HV" and m.unit == "HV" and m.ensemble_.n_members == 2 and m.ensemble_.seed == 3
    for split in ("random", "grouped"):
        assert set(cv[split]) == {"model", "mean", "knn", "gradient_boosting"}
        for key, col in (("model", "model"), ("mean", "mean"), ("knn", "knn"), ("gradient_boosting", "gradient_boosting")):
            err = np.abs(preds["measured"] - preds[f"{split}_{col}"])
            assert cv[split][key]["mae"] == pytest.approx(err.mean(), rel=1e-4)
            assert cv[split][key]["n"] == 40
        within = np.abs(preds["measured"] - preds[f"{split}_model"]) <= 2 * preds[f"{split}_model_std"]
        assert cv[split]["model"]["coverage_2sigma"] == pytest.approx(within.mean())
        assert cv[split]["mean"]["r2"] < 0.05  # the mean baseline explains nothing out of fold
    # grouped folds hold whole systems out
    assert preds["system"].nunique() >= 5
    meta = m.metadata_
    assert meta["target_column"] == "HV" and meta["formula_column"] == "Alloy" and meta["n_rows"] == 40 and meta["seed"] == 3
    assert meta["data_file"] is None and len(meta["data_sha256"]) == 64  # a frame: hash of its two columns


def test_predict_matrix_agrees_with_predict_and_survives_save_load(fitted, tmp_path):
    from pcids.models.properties import PropertyPredictor

    m = fitted
    assert isinstance(m, PropertyPredictor)  # what design, screen and the CLI consume
    formulas = ["Cu50Zr50", "Zr41.2Ti13.8Cu12.5Ni10Be22.5", "Sr60Mg18Zn22"]
    df = m.predict(formulas)
    assert list(df.index) == formulas and df["formula"].iloc[1] == "Zr41.2Be22.5Ti13.8Cu12.5Ni10"
    with pytest.warns(ExtrapolationWarning, match="HV prediction outside the training domain.*Hg never seen in training"):
        assert not m.predict(["Hg50Tl50"])["in_domain"].iloc[0]
    els = ["Cu", "Zr", "Ti", "Ni", "Be"]
    A = np.array([[50, 50, 0, 0, 0], [12.5, 41.2, 13.8, 10, 22.5]])
    mean, std = m.predict_matrix(A, els)
    assert mean.dtype == np.float64 and mean.shape == std.shape == (2,)
    np.testing.assert_allclose(mean, df[m.name].to_numpy()[:2], rtol=1e-4)
    np.testing.assert_allclose(std, df[f"{m.name}_std"].to_numpy()[:2], rtol=1e-4)
    np.testing.assert_allclose(m.predict_matrix(A / 100, els)[0], mean, rtol=1e-4)  # fractions or at.%
    path = m.save(tmp_path / "hv")
    assert path == tmp_path / "hv" / "model.json"
    with pytest.raises(ModelFileError, match="already exists"):
        m.save(tmp_path / "hv")
    again = load_user_model(tmp_path / "hv")
    assert (again.name, again.unit) == ("HV", "HV")
    np.testing.assert_array_equal(again.predict_matrix(A, els)[0], mean)
    meta = json.loads(path.read_text())
    assert meta["model"] == "pcids.UserPropertyModel" and meta["cv"]["random"]["model"]["mae"] == m.cv_["random"]["model"]["mae"]
    # a loaded model saves again without carrying stale file fields
    again.save(tmp_path / "copy")
    assert (tmp_path / "copy" / "model.npz").read_bytes() == (tmp_path / "hv" / "model.npz").read_bytes()


def test_bad_model_directories_are_one_clear_error(fitted, tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        UserPropertyModel.load(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFileError, match="holds no model.json"):
        UserPropertyModel.load(tmp_path / "empty")
    d = tmp_path / "m"
    fitted.save(d)
    npz = d / "model.npz"
    npz.write_bytes(npz.read_bytes()[:-10])
    with pytest.raises(ModelFileError, match="corrupted or truncated"):
        UserPropertyModel.load(d)
    fitted.save(d, overwrite=True)
    meta = json.loads((d / "model.json").read_text())
    (d / "model.json").write_text(json.dumps({**meta, "pcids_version": "99.0.0"}))
    with pytest.raises(ModelFileError, match="saved by pcids 99.0.0, newer than this pcids"):
        UserPropertyModel.load(d)
    (d / "model.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        UserPropertyModel.load(d)
    # a plain ensemble (as the shipped G, K files) is not a user's property model
    ens = ForwardEnsemble(n_members=2, epochs=5, hidden_layer_sizes=(4,), calibration_folds=0)
    X = np.random.default_rng(0).normal(size=(10, 5))
    ens.fit(X, X[:, 0]).save(tmp_path / "plain" / "model")
    with pytest.raises(ModelFileError, match="not saved by `pcids train forward --data`"):
        UserPropertyModel.load(tmp_path / "plain")


def test_same_seed_same_model():
    frame, _ = read_property_table(hardness_table(24), "HV")
    a = fit_property_model(frame, cv_folds=0, **TINY)
    b = fit_property_model(frame, cv_folds=0, **TINY)
    A = np.array([[50.0, 50.0]])
    assert a.predict_matrix(A, ["Cu", "Zr"])[0] == b.predict_matrix(A, ["Cu", "Zr"])[0]
    assert a.cv_ == {} and a.n_train_ == 24 and Composition.from_formula(frame["formula"][0]).formula == frame["formula"][0]


def test_xlsx_without_openpyxl_says_what_to_install(tmp_path, monkeypatch):
    path = tmp_path / "t.xlsx"
    path.write_bytes(b"PK")

    def missing(*a, **k):
        raise ImportError("Missing optional dependency 'openpyxl'")

    monkeypatch.setattr(pd, "read_excel", missing)
    with pytest.raises(PcidsError, match=r"pip install 'pcids\[xlsx\]'"):
        read_property_table(path, "HV")

"""``pcids train forward --data`` and ``pcids predict --model`` on a user's CSV, through the real app."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pcids import __version__, load_elastic_model, load_user_model
from pcids.cli import app
from pcids.datasets import load_elastic

runner = CliRunner()
TINY = ["--members", "2", "--epochs", "30", "--hidden", "8", "--calibration-folds", "2"]


def write_user_csv(path) -> int:
    """40 bundled alloys with a synthetic Vickers hardness (HV ~ 0.15 G), and five bad rows mixed in; returns the good count."""
    df = load_elastic()
    df = df[np.isfinite(df["G"])].iloc[::6].head(40)  # spread over the systems
    lines = ["id,composition,hardness_HV"]
    for i, (f, g) in enumerate(zip(df["formula_as_written"], df["G"])):
        lines.append(f"s{i},{f},{0.15 * g * 1000 / 9.807:.1f}")
    lines[5:5] = ["x1,Cu50Xx50,480"]  # line 6: unknown element
    lines[9:9] = ["x2,Cu64Zr36,n/a"]  # line 10: not a number
    lines[12:12] = ["x3,Cu46Zr54,"]  # line 13: missing
    lines += ["x4,Pu50Zr50,300", "x5,Pu40Zr60,310"]  # lines 45, 46: no descriptor data for Pu, one message
    path.write_text("\n".join(lines) + "\n")
    return 40


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("user")
    data = tmp / "my hv.csv"
    n_good = write_user_csv(data)
    out = tmp / "hv_model"
    args = ["train", "forward", "--data", str(data), "--target", "hardness_HV", "--name", "hardness", "--unit", "HV",
            "--out", str(out), "--seed", "1", *TINY]
    result = runner.invoke(app, args)
    return dict(tmp=tmp, data=data, out=out, args=args, result=result, n_good=n_good)


def test_bad_rows_are_reported_by_line_and_the_rest_trained(trained):
    r = trained["result"]
    assert r.exit_code == 1, r.output  # rows were set aside
    err = r.stderr.splitlines()
    assert err[0].startswith("Error: my hv.csv line 6: unknown element 'Xx' in 'Cu50Xx50'")
    assert "Error: my hv.csv line 10: 'Cu64Zr36': value 'n/a' is not a number" in err
    assert "Error: my hv.csv line 13: 'Cu46Zr54': no value (empty cell)" in err
    assert "Error: my hv.csv lines 45-46: element Pu: no property data, which the model's inputs need (2 rows)" in err
    assert err[-1] == "Error: 5 of 45 rows were set aside; the model was trained on the other 40 (40 compositions)"
    assert "Traceback" not in r.output
    out = r.stdout
    assert "hardness: 40 compositions" in out and "5-fold cross-validation" in out
    for label in ("deep ensemble", "mean of the training rows", "5 nearest alloys", "gradient boosting"):
        assert label in out
    assert "random MAE (HV)" in out and "grouped MAE (HV)" in out


def test_the_model_directory_records_where_it_came_from(trained):
    out = trained["out"]
    meta = json.loads((out / "model.json").read_text())
    assert meta["name"] == "hardness" and meta["unit"] == "HV" and meta["seed"] == 1
    assert meta["data_file"] == "my hv.csv"
    assert meta["data_sha256"] == hashlib.sha256(trained["data"].read_bytes()).hexdigest()
    assert (meta["formula_column"], meta["target_column"]) == ("composition", "hardness_HV")
    assert (meta["rows_read"], meta["rows_set_aside"], meta["n_rows"]) == (45, 5, 40)
    assert meta["pcids_version"] == __version__ and meta["hyperparameters"]["n_members"] == 2
    cv = meta["cv"]
    assert cv["folds"] == 5 and {"model", "mean", "knn", "gradient_boosting"} <= set(cv["random"]) and "model" in cv["grouped"]
    preds = pd.read_csv(out / "cv_predictions.csv")
    assert len(preds) == 40
    mae = np.mean(np.abs(preds["measured"] - preds["random_model"]))
    assert cv["random"]["model"]["mae"] == pytest.approx(mae, rel=1e-4)
    assert cv["random"]["model"]["mae"] < cv["random"]["mean"]["mae"]  # it learned something


def test_predict_with_the_users_model_adds_its_column(trained):
    out = trained["out"]
    model = load_user_model(out)
    formulas = ["Zr41.2Ti13.8Cu12.5Ni10Be22.5", "Cu50Zr50"]
    r = runner.invoke(app, ["predict", *formulas, "--model", f"hardness={out}", "--json"])
    assert r.exit_code == 0, r.output
    records = json.loads(r.stdout)
    lib = model.predict(formulas)
    shipped = load_elastic_model().predict(formulas)
    for rec, (_, row), (_, ship) in zip(records, lib.iterrows(), shipped.iterrows()):
        assert rec["hardness"] == pytest.approx(row["hardness"], rel=1e-4)
        assert rec["hardness_std"] == pytest.approx(row["hardness_std"], rel=1e-4)
        assert isinstance(rec["hardness_in_domain"], bool)
        assert rec["G"] == pytest.approx(ship["G"], rel=1e-4)  # the shipped columns are unchanged
    table = runner.invoke(app, ["predict", formulas[0], "--model", str(out)], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "hardness (HV)" in table.stdout
    # a second --model of the same name, a shipped name and a missing directory: one clear error each
    for spec, message in ((f"hardness={out}", "already used"), (f"K={out}", "clashes with pcids's own 'K'"),
                          (f"h={out}/nothing", "not found")):
        bad = runner.invoke(app, ["predict", "Cu50Zr50", "--model", f"hardness={out}", "--model", spec])
        assert bad.exit_code == 1 and message in bad.stderr and "Traceback" not in bad.output


def test_design_with_the_users_model_as_a_constraint(trained):
    from scipy.special import ndtr

    out = trained["out"]
    model = load_user_model(out)
    bound = 450.0
    r = runner.invoke(app, ["design", "Cu", "Zr", "Al", "--G", "32", "--model", f"hardness={out}", "--at-least", f"hardness={bound}",
                            "-H", "5", "-k", "3", "-q", "--json"])
    assert r.exit_code == 0, r.output
    cands = json.loads(r.stdout)["candidates"]
    assert cands
    A = np.array([[c["Cu"], c["Zr"], c["Al"]] for c in cands])
    mean, std = model.predict_matrix(A, ["Cu", "Zr", "Al"])
    np.testing.assert_allclose([c["hardness"] for c in cands], mean, rtol=1e-4)
    np.testing.assert_allclose([c["hardness_std"] for c in cands], std, rtol=1e-4)
    np.testing.assert_allclose([c["p_at_least_hardness"] for c in cands], ndtr((mean - bound) / std), rtol=1e-3, atol=1e-6)
    bad = runner.invoke(app, ["design", "Cu", "Zr", "Al", "--G", "32", "--model", f"G={out}", "-q"])
    assert bad.exit_code == 1 and "clashes with pcids's own 'G'" in bad.stderr


def test_reloading_gives_identical_predictions_and_force_retrains_the_same(trained):
    out, args = trained["out"], trained["args"]
    A = np.array([[50.0, 50.0], [64.0, 36.0]])
    before = load_user_model(out).predict_matrix(A, ["Cu", "Zr"])
    np.testing.assert_array_equal(load_user_model(out).predict_matrix(A, ["Cu", "Zr"])[0], before[0])
    weights = (out / "model.npz").read_bytes()
    refused = runner.invoke(app, args)
    assert refused.exit_code == 1 and "--force" in refused.stderr and "training" not in refused.stderr
    assert refused.stderr.count("Error:") == 1  # refused before the data were read
    assert (out / "model.npz").read_bytes() == weights
    again = runner.invoke(app, [*args, "--force"])
    assert again.exit_code == 1, again.output  # the same five bad rows
    assert (out / "model.npz").read_bytes() == weights  # same data, same seed: same weights


def test_clean_data_exits_zero_and_json_has_the_figures(tmp_path):
    df = load_elastic()
    df = df[np.isfinite(df["G"])].head(24)
    data = tmp_path / "clean.csv"
    pd.DataFrame({"formula": df["formula"], "G_mine": df["G"]}).to_csv(data, index=False)
    r = runner.invoke(app, ["train", "forward", "--data", str(data), "--target", "G_mine", "--out", str(tmp_path / "g"),
                            "--json", "--folds", "3", *TINY])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["n_rows"] == 24 and summary["rows_set_aside"] == 0 and summary["cv"]["folds"] == 3
    assert (tmp_path / "g" / "model.json").is_file()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--target", "nope"], "no target column 'nope'"),
        (["--target", "hardness_HV", "--name", "E"], "clashes with pcids's own 'E'"),
        (["--target", "hardness_HV", "--paper"], "--paper"),
        ([], "--data needs --target"),
    ],
)
def test_bad_requests_are_one_error_line(tmp_path, extra, message):
    data = tmp_path / "d.csv"
    write_user_csv(data)
    r = runner.invoke(app, ["train", "forward", "--data", str(data), "--out", str(tmp_path / "m"), *extra, *TINY])
    assert r.exit_code == 1 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.output
    assert not (tmp_path / "m").exists()


def test_too_few_rows_is_refused_after_listing_the_bad_ones(tmp_path):
    data = tmp_path / "few.csv"
    data.write_text("formula,HV\n" + "".join(f"Cu{50 + i}Zr{50 - i},{500 + i}\n" for i in range(8)) + "Cu50Xx50,1\n")
    r = runner.invoke(app, ["train", "forward", "--data", str(data), "--target", "HV", "--out", str(tmp_path / "m"), *TINY])
    assert r.exit_code == 1
    assert r.stderr.splitlines() == [
        "Error: few.csv line 10: unknown element 'Xx' in 'Cu50Xx50' at position 4", "    Cu50Xx50", "        ^",
        "Error: only 8 usable row(s) (1 set aside); at least 20 are needed to cross-validate the model and calibrate its sigma",
    ]


def test_rows_sharing_a_reason_share_one_message_with_line_ranges():
    from pcids.cli._train_user import _bad_rows, _span

    assert _span([f"a.csv line {n}" for n in (2, 3, 4, 7, 9, 10)]) == "a.csv lines 2-4, 7, 9-10"
    assert _span(["row 'a'", "row 'b'"]) == "rows 'a', 'b'"
    assert _span([f"a.csv line {n}" for n in range(2, 60, 2)]).endswith("20, 22, 24 and 17 more")
    problems = pd.DataFrame({"where": [f"a.csv line {n}" for n in (2, 3, 4, 5)], "input": ["Cu50Zr50", "Cu5Zr95", "Xx", "Cu9Zr91"],
                             "reason": ["no value (empty cell)", "no value (empty cell)", "unknown element 'Xx'", "no value (empty cell)"]})
    shown = [(row.where, reason) for row, reason in _bad_rows(problems)]
    assert shown == [("a.csv lines 2-3, 5", "no value (empty cell) (3 rows)"), ("a.csv line 4", "unknown element 'Xx'")]


def test_without_data_the_data_options_are_refused(tmp_path):
    r = runner.invoke(app, ["train", "forward", "--target", "HV", "--out", str(tmp_path / "fw")])
    assert r.exit_code == 1 and "--target only applies with --data" in r.stderr


def test_output_checks_come_before_reading(tmp_path):
    (tmp_path / "file").write_text("x")
    r = runner.invoke(app, ["train", "forward", "--data", str(tmp_path / "none.csv"), "--target", "y", "--out", str(tmp_path / "file")])
    assert r.exit_code == 1 and "is a file; give a directory" in r.stderr
    r = runner.invoke(app, ["train", "forward", "--data", str(tmp_path / "none.csv"), "--target", "y",
                            "--out", str(tmp_path / "missing" / "m")])
    assert r.exit_code == 1 and "does not exist" in r.stderr


def test_screen_with_the_users_model_on_two_workers(trained, tmp_path):
    """The model goes to each worker once (a plugin), and its column is the model's own prediction."""
    from scipy.special import ndtr

    out = trained["out"]
    model = load_user_model(out)
    bound = 450.0
    dest = tmp_path / "screen"
    args = ["screen", "--palette", "Cu,Zr,Al,Ni,Ti", "--sizes", "3", "--G", "32", "--model", f"hardness={out}",
            "--at-least", f"hardness={bound}", "--top", "1", "--workers", "2", "--out", str(dest), "-q"]
    r = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    cands = pd.read_csv(dest / "candidates.csv")
    assert len(cands) == 10 * 3 and {"hardness", "hardness_std", "p_at_least_hardness"} <= set(cands.columns)
    for system, g in cands.groupby("system"):
        els = system.split("-")
        A = np.array([[dict(zip(*_parsed(c)))[e] for e in els] for c in g["composition"]])
        mean, std = model.predict_matrix(A, els)
        np.testing.assert_allclose(g["hardness"], mean, rtol=1e-4)
        np.testing.assert_allclose(g["p_at_least_hardness"], ndtr((mean - bound) / std), rtol=1e-3, atol=1e-6)
    refined = pd.read_csv(dest / "refined.csv")
    assert refined["hardness"].notna().all()  # design ran with the model too
    assert json.loads((dest / "manifest.json").read_text())["spec"]["models"].startswith("user-")
    again = runner.invoke(app, [*args, "--resume"], env={"COLUMNS": "200"})  # the same model: the same key, nothing redone
    assert again.exit_code == 0, again.output
    assert "(0 batches run, 10 resumed)" in again.output


def _parsed(formula):
    from pcids.composition import Composition

    c = Composition.coerce(formula)
    return c.elements, c.fractions

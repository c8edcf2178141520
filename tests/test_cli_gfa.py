"""``pcids gfa`` and ``pcids train gfa`` through the real entry point."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from pcids.cli import app
from pcids.models.gfa import GFAModel, load_gfa_model

runner = CliRunner()


def test_gfa_prints_probability_dmax_and_range():
    r = runner.invoke(app, ["gfa", "Zr41.2Ti13.8Cu12.5Ni10Be22.5", "Fe50Cu50"])
    assert r.exit_code == 0, r.output
    assert "Glass-forming ability" in r.output and "Zr41.2Ti13.8Cu12.5Ni10Be22.5" in r.output  # as typed
    assert "yes" in r.output and "no" in r.output
    wide = runner.invoke(app, ["gfa", "Ag15Cu49Fe36"], env={"COLUMNS": "200"})
    assert "Dmax if glass (mm)" in wide.output and "not a bulk glass" in wide.output


def test_gfa_dmax_agrees_with_the_probability():
    """The issue's example: P ~ 6e-8 used to sit beside Dmax = 3.3 mm."""
    r = runner.invoke(app, ["gfa", "Ag15Cu49Fe36", "--json"])
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout)[0]
    assert rec["p_bulk_glass"] < 1e-3 and rec["dmax_mm"] == 0.0 and rec["dmax_if_glass_mm"] > 2.0


def test_gfa_json_matches_the_library():
    r = runner.invoke(app, ["gfa", "Cu46Zr46Al8", "Pd40Ni40P20", "--json"])
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout)
    m = load_gfa_model()
    p = m.predict_proba(["Cu46Zr46Al8", "Pd40Ni40P20"])
    d = m.predict_dmax(["Cu46Zr46Al8", "Pd40Ni40P20"])
    g = m.predict_gfa(["Cu46Zr46Al8", "Pd40Ni40P20"])
    np.testing.assert_allclose([x["p_bulk_glass"] for x in rec], p)
    np.testing.assert_allclose([x["dmax_mm"] for x in rec], g["dmax_mm"])
    np.testing.assert_allclose([x["dmax_if_glass_mm"] for x in rec], d["dmax_mm"])  # the regressor, named as such
    assert all(x["dmax_low"] <= x["dmax_mm"] <= x["dmax_high"] for x in rec)
    assert all(x["dmax_if_glass_low"] < x["dmax_if_glass_mm"] < x["dmax_if_glass_high"] for x in rec)
    assert all((x["dmax_mm"] >= 2.0) == (x["p_bulk_glass"] >= 0.5) for x in rec)
    assert [x["in_domain"] for x in rec] == [True, True] and rec[0]["threshold_mm"] == 2.0


def test_gfa_warns_outside_the_domain_and_rejects_bad_input(tmp_path):
    r = runner.invoke(app, ["gfa", "Cu40Zr40Os20", "--json"])
    assert r.exit_code == 0
    assert "Os is not in the training data" in r.stderr
    assert json.loads(r.stdout)[0]["in_domain"] is False
    bad = runner.invoke(app, ["gfa", "Xx50Cu50"])
    assert bad.exit_code == 1 and "Error: argument 1: unknown element 'Xx'" in bad.stderr and "Traceback" not in bad.output
    none = runner.invoke(app, ["gfa"])
    assert none.exit_code == 1 and "at least one formula" in none.stderr
    missing = runner.invoke(app, ["gfa", "Cu50Zr50", "--model", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "not found" in missing.stderr


def test_gfa_file_and_csv_output(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("formula\nCu50Zr50\nMg65Cu25Y10\n")
    out = tmp_path / "out.csv"
    r = runner.invoke(app, ["gfa", "--file", str(src), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_text().splitlines()[0] == (
        "input,formula,p_bulk_glass,bulk_glass,verdict,dmax_mm,dmax_low,dmax_high,dmax_if_glass_mm,dmax_if_glass_low,dmax_if_glass_high,in_domain"
    )
    again = runner.invoke(app, ["gfa", "Cu50Zr50", "--out", str(out)])
    assert again.exit_code == 1 and "--force" in again.stderr


def test_train_gfa_writes_a_loadable_model(tmp_path):
    stem = tmp_path / "g"
    r = runner.invoke(app, ["train", "gfa", "--out", str(stem), "--n-estimators", "3"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["n_positive"] > 500 and info["n_trees"] == 3
    m = GFAModel.load(stem)
    assert m.metadata_["seed"] == 0 and m.n_estimators == 3 and m.estimator == "extra_trees"
    use = runner.invoke(app, ["gfa", "Cu50Zr50", "--model", str(stem), "--json"])
    assert use.exit_code == 0 and 0 <= json.loads(use.stdout)[0]["p_bulk_glass"] <= 1
    bad = runner.invoke(app, ["train", "gfa", "--out", str(tmp_path / "b"), "--estimator", "svm"])
    assert bad.exit_code == 2 and "is not one of" in bad.output  # a usage error, listed choices
    again = runner.invoke(app, ["train", "gfa", "--out", str(stem)])
    assert again.exit_code == 1 and "--force" in again.stderr

"""``pcids inverse`` and ``pcids train inverse`` through the real entry point."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import pcids.cli
from pcids import Composition
from pcids.models.inverse import InverseModel, load_inverse_model

runner = CliRunner()


def test_inverse_json_sums_to_100_and_is_order_free():
    a = runner.invoke(pcids.cli.app, ["inverse", "Ti", "Zr", "Be", "Fe", "--G", "36", "--K", "105", "--json"])
    b = runner.invoke(pcids.cli.app, ["inverse", "Fe", "Be", "Zr", "Ti", "--G", "36", "--K", "105", "--json"])
    assert a.exit_code == 0, a.output
    ra, rb = json.loads(a.stdout), json.loads(b.stdout)
    assert list(ra["fractions"]) == ["Ti", "Zr", "Be", "Fe"]
    assert sum(ra["fractions"].values()) == 100
    assert all(v >= 1 and float(v).is_integer() for v in ra["fractions"].values())
    assert ra["fractions"] == rb["fractions"]
    assert Composition.from_formula(ra["formula"]) == Composition.from_dict(ra["fractions"])
    # the shipped forward models' G and K for the proposal, consistent with pcids predict
    from pcids.models.ensemble import load_elastic_model

    fwd = load_elastic_model().predict([ra["formula"]]).iloc[0]
    assert ra["forward"]["G"] == pytest.approx(float(fwd["G"]), rel=1e-4)  # float32 networks
    assert ra["forward"]["K"] == pytest.approx(float(fwd["K"]), rel=1e-4)
    assert ra["forward"]["G_std"] > 0


def test_inverse_table_output():
    r = runner.invoke(pcids.cli.app, ["inverse", "Cu", "Zr", "Al", "--G", "34", "--K", "110", "--step", "0.5"])
    assert r.exit_code == 0, r.output
    assert "Proposed composition" in r.stdout and "formula:" in r.stdout
    assert "forward models: G = " in r.stdout


@pytest.mark.parametrize(
    "args, match",
    [
        (["Cu", "Cu", "--G", "30", "--K", "100"], "more than once"),
        (["Cu", "--G", "30", "--K", "100"], "2 to 7"),
        (["Cu", "Qq", "--G", "30", "--K", "100"], "unknown element"),
        (["Cu", "Zr", "--G", "-3", "--K", "100"], "positive number"),
        (["Cu", "Zr", "--G", "30", "--K", "100", "--step", "3"], "divide 100"),
    ],
)
def test_inverse_bad_input_is_a_clear_error(args, match):
    r = runner.invoke(pcids.cli.app, ["inverse", *args])
    assert r.exit_code == 1
    assert match in r.stderr and "Traceback" not in r.output


def test_inverse_extrapolation_warns_on_stderr():
    r = runner.invoke(pcids.cli.app, ["inverse", "Cu", "Zr", "--G", "400", "--K", "100"])
    assert r.exit_code == 0
    assert "outside the training range" in r.stderr


def test_train_inverse_small_and_refuses_overwrite(tmp_path):
    stem = tmp_path / "inv"
    args = ["train", "inverse", "--out", str(stem), "--epochs", "5", "--hidden", "16"]
    r = runner.invoke(pcids.cli.app, args)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["params"]["epochs"] == 5 and out["train_metrics"]["n"] >= 240
    model = InverseModel.load(stem)
    assert model.metadata_["data_hash"] and model.get_params()["hidden_layer_sizes"] == (16,)
    r2 = runner.invoke(pcids.cli.app, args)
    assert r2.exit_code == 1 and "--force" in r2.stderr


def test_shipped_model_metadata_and_quality():
    model = load_inverse_model()
    meta = model.metadata_
    assert meta["n_train"] >= 240 and len(meta["data_hash"]) == 64
    # trained on all data: it reproduces its training alloys far better than equal fractions would
    assert meta["train_metrics"]["r2_real_mean"] > 0.8
    assert load_inverse_model() is model  # cached

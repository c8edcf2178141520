"""``pcids train forward`` and ``pcids tune forward`` on tiny settings, through the real app."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from pcids.cli import app
from pcids.datasets import data_hash, load_elastic
from pcids.descriptors import PaperDescriptors
from pcids.evaluation import regression_metrics
from pcids.models.ensemble import SHIPPED_FEATURES, ElasticModel

runner = CliRunner()


def test_train_forward_writes_a_reproducible_pair(tmp_path):
    args = ["train", "forward", "--out", str(tmp_path / "fw"), "--members", "2", "--hidden", "8",
            "--epochs", "40", "--calibration-folds", "2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    model = ElasticModel.load(tmp_path / "fw")
    df = load_elastic()
    X = model.descriptors().transform(df["formula"])
    mean, _ = model.predict_descriptors(X)
    for j, t in enumerate(("G", "K")):
        meta = model.metadata_[t]
        assert meta["data_hash"] == data_hash("elastic") and meta["seed"] == 0
        assert meta["hyperparameters"]["hidden_layer_sizes"] == [8] and meta["hyperparameters"]["n_members"] == 2
        ok = np.isfinite(df[t].to_numpy())
        r2 = regression_metrics(df[t].to_numpy()[ok], mean[ok, j])["r2"]
        assert r2 == pytest.approx(meta["train_metrics"]["r2"], abs=1e-4)
        assert printed["metrics"][t]["r2"] == pytest.approx(r2, abs=1e-4)
    # same seed, same files
    again = runner.invoke(app, [*args[:3], str(tmp_path / "fw2"), *args[4:]])
    assert again.exit_code == 0, again.output
    assert (tmp_path / "fw_G.npz").read_bytes() == (tmp_path / "fw2_G.npz").read_bytes()
    # refuses to overwrite
    third = runner.invoke(app, args)
    assert third.exit_code == 1 and "--force" in third.output


def test_train_forward_rejects_bad_options(tmp_path):
    result = runner.invoke(app, ["train", "forward", "--out", str(tmp_path / "x"), "--hidden", "8,a"])
    assert result.exit_code == 1 and "--hidden" in result.output
    result = runner.invoke(app, ["train", "forward", "--out", str(tmp_path / "x"), "--members", "1"])
    assert result.exit_code == 1 and "--members" in result.output


def test_tune_forward_ranks_a_small_grid(tmp_path):
    out = tmp_path / "grid.csv"
    result = runner.invoke(app, ["tune", "forward", "--target", "K", "--layers", "1", "--neurons", "4,16",
                                 "--dropout", "0", "--lr", "0.02", "--epochs", "60", "--folds", "2",
                                 "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 2 and [r["neurons"] for r in rows] != []
    assert rows[0]["cv_r2"] >= rows[1]["cv_r2"]
    assert {r["flop_per_composition"] for r in rows} == {2 * (4 * 4 + 4 * 2), 2 * (4 * 16 + 16 * 2)}
    assert out.read_text().startswith("hidden_layers,neurons,dropout")
    bad = runner.invoke(app, ["tune", "forward", "--target", "E"])
    assert bad.exit_code == 2 and "is not one of" in bad.output  # a usage error listing G, K


def test_tune_forward_takes_the_shipped_inputs():
    result = runner.invoke(app, ["tune", "forward", "--target", "G", "--layers", "1", "--neurons", "8",
                                 "--dropout", "0", "--lr", "0.02", "--epochs", "40", "--folds", "2", "--json",
                                 "--features", ",".join(SHIPPED_FEATURES)])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert row["flop_per_composition"] == 2 * (len(SHIPPED_FEATURES) * 8 + 8 * 2)
    bad = runner.invoke(app, ["tune", "forward", "--features", "VEC,colour"])
    assert bad.exit_code == 1 and "unknown weighted-mean feature" in bad.output

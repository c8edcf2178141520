"""Inverse-model figures (Figs. 10-12) and the tune CLI, on small synthetic/real inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import pcids.cli
from pcids.errors import PcidsError
from pcids.plots.inverse import plot_abs_error, plot_cloud, plot_parity_by_n_elements


@pytest.fixture()
def mats():
    rng = np.random.default_rng(0)
    n_el = rng.integers(2, 8, size=30)
    true = np.zeros((30, 7))
    for i, n in enumerate(n_el):
        true[i, :n] = rng.dirichlet(np.ones(n)) * 100
    pred = np.where(true > 0, true + rng.normal(0, 3, true.shape), 0)
    return true, {"DKIDN": pred, "RIDN": pred * 1.1}, n_el


def test_figures_write_files(tmp_path, mats):
    true, preds, n_el = mats
    for fn, args in ((plot_cloud, ()), (plot_abs_error, ()), (plot_parity_by_n_elements, (n_el,))):
        path = tmp_path / f"{fn.__name__}.png"
        fig = fn(true, preds, *args, path=path)
        assert path.stat().st_size > 5000
        assert len(fig.axes) >= 2


def test_parity_panels_report_r2(mats):
    true, preds, n_el = mats
    fig = plot_parity_by_n_elements(true, {"DKIDN": preds["DKIDN"]}, n_el)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == len(set(n_el.tolist()))
    r2 = [float(t.split("R² = ")[1]) for t in titles]
    assert all(0.8 < v <= 1.0 for v in r2)  # noise of 3 at.% on fractions spread over 0-100


def test_figures_reject_mismatched_shapes(mats):
    true, preds, n_el = mats
    with pytest.raises(PcidsError, match="shape"):
        plot_cloud(true, {"bad": true[:, :5]})
    with pytest.raises(PcidsError, match="n_elements"):
        plot_parity_by_n_elements(true, preds, n_el[:3])


def test_tune_inverse_cli_small():
    r = CliRunner().invoke(
        pcids.cli.app,
        ["tune", "inverse", "--layers", "1", "--layers", "2", "--neurons", "8", "--alpha", "0.2", "--alpha", "1",
         "--epochs", "5", "--json"],
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    # 2 layer trials + 1 neuron trial + 1 new alpha (alpha 0.2 repeats the neurons stage's best, trained once)
    assert len(out["trials"]) == 4 and out["n_validation"] >= 15
    assert out["best"]["alpha"] in (0.2, 1.0) and len(out["best"]["hidden_layer_sizes"]) in (1, 2)
    bad = CliRunner().invoke(pcids.cli.app, ["tune", "inverse", "--score", "mse"])
    assert bad.exit_code == 2 and "--score" in bad.output and "is not one of" in bad.output  # usage error, choices listed

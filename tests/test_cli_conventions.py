"""CLI conventions through the real entry point: -h, --version, flags, choices, defaults, output paths."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

import pcids
from pcids.cli import app

runner = CliRunner()

VERBS = [["data"], ["predict"], ["explain"], ["inverse"], ["gfa"], ["design"], ["reproduce"],
         ["train", "forward"], ["train", "inverse"], ["train", "gfa"], ["tune", "forward"], ["tune", "inverse"]]


def help_of(*verb: str) -> str:
    r = runner.invoke(app, [*verb, "-h"], env={"COLUMNS": "250"})
    assert r.exit_code == 0, r.output
    return r.output


@pytest.mark.parametrize("verb", [[], *VERBS], ids=lambda v: " ".join(v) or "pcids")
def test_dash_h_is_help_and_flags_take_no_value(verb):
    out = help_of(*verb)
    assert "Usage: pcids" in out and "--help" in out
    assert "<bool>" not in out  # a flag is --json, never --json <bool>
    assert "Exit codes: 0 success; 1 bad input" in out and "2 usage error" in out


def test_step_has_its_own_short_flag():
    out = help_of("design")
    assert re.search(r"--step\s+-H\s", out)
    assert not re.search(r"--step\s+-h\s", out)


def test_version():
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.strip() == f"pcids {pcids.__version__}"


@pytest.mark.parametrize(
    "verb, option, choices",
    [
        (["design"], "--prefer", "likely|error|closest"),
        (["design"], "--aggregate", "max|sum"),
        (["train", "inverse"], "--loss", "dkidn|ridn"),
        (["train", "inverse"], "--head", "linear|softmax"),
        (["train", "inverse"], "--features", "mass|properties"),
        (["train", "inverse"], "--slot-order", "typical|mass|given"),
        (["train", "gfa"], "--ambiguous", "drop|positive|negative"),
        (["train", "gfa"], "--estimator", "extra_trees|hgb"),
        (["tune", "forward"], "--target", "G|K"),
        (["tune", "inverse"], "--loss", "dkidn|ridn"),
        (["tune", "inverse"], "--score", "r2_real_mean|r2_all7_mean"),
    ],
)
def test_choice_options_list_their_choices(verb, option, choices):
    assert re.search(rf"{option}\s+(-\w\s+)?<{re.escape(choices)}>", help_of(*verb))
    bad = runner.invoke(app, [*verb, option, "nonsense"])
    assert bad.exit_code == 2 and "is not one of" in bad.output


@pytest.mark.parametrize("verb", [v for v in VERBS if v[0] in ("train", "tune")], ids=" ".join)
def test_every_train_and_tune_option_shows_its_default(verb):
    r = runner.invoke(app, [*verb, "-h"], env={"COLUMNS": "400"})
    rows = [ln for ln in r.output.splitlines() if re.match(r"\W*--", ln.strip("│ "))]
    options = [ln for ln in rows if "<" in ln]  # options taking a value (flags default to off)
    assert options
    for ln in options:
        assert "[default:" in ln, ln


def test_shown_defaults_are_the_shipped_ones():
    from pcids.cli import train_forward, train_gfa, train_inverse
    from pcids.models.ensemble import SHIPPED_HYPERPARAMETERS
    from pcids.models.gfa import GFAModel
    from pcids.models.inverse import SHIPPED_PARAMS

    assert train_forward.SHIPPED_HIDDEN == ",".join(map(str, SHIPPED_HYPERPARAMETERS["hidden_layer_sizes"]))
    assert train_forward.SHIPPED_EPOCHS == SHIPPED_HYPERPARAMETERS["epochs"]
    p = GFAModel().get_params()
    assert (train_gfa.SHIPPED_TREES, train_gfa.SHIPPED_BOOSTING) == (p["n_estimators"], p["max_iter"])
    s = train_inverse.SHIPPED
    for k in ("loss", "head", "features", "slot_order"):
        assert s[k] == SHIPPED_PARAMS[k]
    assert s["hidden"] == ",".join(map(str, SHIPPED_PARAMS["hidden_layer_sizes"]))
    assert (int(s["epochs"]), int(s["ensemble"])) == (SHIPPED_PARAMS["epochs"], SHIPPED_PARAMS["n_ensemble"])
    from pcids.models.inverse import InverseModel

    assert float(s["alpha"]) == SHIPPED_PARAMS.get("alpha", InverseModel().alpha)


# -- output paths are checked before any computation ----------------------------------------

DESIGN = ["design", "Ti", "Zr", "Be", "Fe", "--G", "36", "--K", "105"]


@pytest.fixture()
def no_compute(monkeypatch):
    """Any model load or search fails the test: the path checks must come first."""
    import importlib

    import pcids.models.ensemble
    import pcids.models.gfa

    def boom(*a, **k):
        raise AssertionError("computation started before the output path was checked")

    monkeypatch.setattr(importlib.import_module("pcids.design"), "design", boom)
    monkeypatch.setattr(pcids.models.ensemble, "load_elastic_model", boom)
    monkeypatch.setattr(pcids.models.gfa, "load_gfa_model", boom)


@pytest.mark.parametrize(
    "args, message",
    [
        ([*DESIGN, "--csv", "{missing}/dir/x.csv"], "--csv {missing}/dir/x.csv: directory {missing}/dir does not exist"),
        ([*DESIGN, "--csv", "/tmp"], "--csv /tmp is a directory"),
        ([*DESIGN, "--plot", "{missing}/fig.png"], "--plot {missing}/fig.png: directory {missing} does not exist"),
        ([*DESIGN, "--plot", "fig.xyz"], "unsupported format 'xyz'; matplotlib writes"),
        ([*DESIGN, "--plot", "fig"], "no file extension; matplotlib writes"),
        (["predict", "Cu50Zr50", "-o", "{missing}/p.csv"], "--out {missing}/p.csv: directory {missing} does not exist"),
        (["gfa", "Cu50Zr50", "-o", "/tmp"], "--out /tmp is a directory"),
        (["train", "gfa", "--out", "{missing}/dir/m"], "directory {missing}/dir does not exist"),
        (["tune", "forward", "--out", "{missing}/t.csv"], "directory {missing} does not exist"),
    ],
)
def test_bad_output_path_is_one_error_line_before_any_work(no_compute, tmp_path, args, message):
    # a folder that surely does not exist: a fixed path such as /nonexistent can be made by any root job
    missing = str(tmp_path / "missing")
    args = [a.replace("{missing}", missing) for a in args]
    message = message.replace("{missing}", missing)
    r = runner.invoke(app, args)
    assert r.exit_code == 1, r.output
    assert r.stderr.strip() == f"Error: {r.stderr.strip()[7:]}" and len(r.stderr.strip().splitlines()) == 1
    assert message in r.stderr and "Traceback" not in r.output
    assert r.stdout == ""


def test_plot_formats_named_are_those_matplotlib_writes(no_compute):
    r = runner.invoke(app, [*DESIGN, "--plot", "fig.xyz"])
    for ext in ("png", "pdf", "svg"):
        assert ext in r.stderr


# -- repeated elements in -b / --fixed are refused, not the last one kept --------------------


@pytest.mark.parametrize(
    "extra, message",
    [
        (["-b", "Fe=0:10", "-b", "Fe=20:30"], "--bounds given twice for Fe (Fe=0:10 and Fe=20:30)"),
        (["--fixed", "Fe=5", "--fixed", "Fe=25"], "--fixed given twice for Fe (Fe=5 and Fe=25)"),
    ],
)
def test_repeated_element_in_bounds_or_fixed_is_refused(no_compute, extra, message):
    r = runner.invoke(app, [*DESIGN, *extra])
    assert r.exit_code == 1 and message in r.stderr and "Traceback" not in r.output


def test_an_element_both_bounded_and_fixed_is_refused():
    r = runner.invoke(app, [*DESIGN, "--fixed", "Fe=5", "-b", "Fe=0:3"])  # the library's check, before any model loads
    assert r.exit_code == 1 and "Fe both bounded and fixed" in r.stderr and "Traceback" not in r.output


# -- a search of more than about 10 million candidates says so before it starts -------------


def test_large_search_is_announced_with_count_and_time(no_compute):
    from pcids.cli.design import SCORING_RATE

    r = runner.invoke(app, ["design", "Ti", "Zr", "Be", "Fe", "Cu", "Ni", "Al", "--G", "36", "--K", "105", "-H", "0.5", "--strategy", "paper"])
    # the warning comes first, then design() (patched to fail) is called
    assert "each corrector search will score up to 43,874,139 candidates" in r.stderr
    minutes = 43_874_139 / SCORING_RATE / 60
    assert f"about {minutes:.0f} minutes per search" in r.stderr
    small = runner.invoke(app, [*DESIGN])
    assert "will score" not in small.stderr


def test_search_size_is_the_unclipped_box_and_bounds_every_start():
    """The announced count: steps d_i in [-E/h, E/h] summing to 0, counted independently
    (a polynomial coefficient); no start on the lattice gives more."""
    import numpy as np

    from pcids.cli.design import search_size
    from pcids.corrector import lattice_size

    def unclipped(n_free: int, m: int) -> int:
        return int(np.polynomial.polynomial.polypow(np.ones(2 * m + 1), n_free)[m * n_free])

    els = ["Ti", "Zr", "Be", "Fe", "Cu"]
    assert search_size(els, 5.0, 1.0, {}) == unclipped(5, 5) == 8801
    assert search_size(els, 5.0, 0.5, {}) == unclipped(5, 10)
    assert search_size(els, 5.0, 1.0, {"Cu": 20.0}) == unclipped(4, 5)
    rng = np.random.default_rng(0)
    for _ in range(30):
        a = rng.multinomial(100 - len(els), np.ones(len(els)) / len(els)) + 1
        assert lattice_size(dict(zip(els, a.astype(float))), E=5.0, h=1.0) <= unclipped(5, 5)

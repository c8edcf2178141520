"""Start-up (issue 11 item 11): predicting and designing import neither torch nor scikit-learn.

Behaviour, not timing: a fresh interpreter runs the job and reports which of
the heavy libraries ended up in ``sys.modules`` (timings: benchmarks/startup.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pcids.errors import PcidsError

SRC = str(Path(__file__).resolve().parents[1] / "src")
HEAVY = ("torch", "sklearn")


def _loaded_after(code: str) -> dict:
    probe = f"{code}\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_one_formula_prediction_imports_neither_torch_nor_sklearn():
    code = "import pcids\ndf = pcids.load_elastic_model().predict(['Cu50Zr50'])\nassert 25 < df['G'].iloc[0] < 40"
    assert _loaded_after(code) == dict.fromkeys(HEAVY, False)


def test_case_design_imports_neither_torch_nor_sklearn():
    code = (
        "import pcids\n"
        "res = pcids.design(['Ti', 'Zr', 'Be', 'Fe'], {'G': 36, 'K': 105})\n"
        "assert res.success and res.candidates['error'].iloc[0] <= 0.02"
    )
    assert _loaded_after(code) == dict.fromkeys(HEAVY, False)


@pytest.mark.parametrize("argv", [["predict", "Cu50Zr50", "--json"], ["gfa", "Pd40Ni40P20", "--json"]])
def test_cli_verbs_import_neither_torch_nor_sklearn(argv):
    code = f"import sys\nfrom pcids.cli import main\nsys.argv = ['pcids', *{argv!r}]\ntry:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code"
    assert _loaded_after(code) == dict.fromkeys(HEAVY, False)


def test_not_fitted_error_is_sklearns_and_costs_nothing_until_used():
    code = "import pcids, pcids.errors\nassert 'NotFittedError' not in vars(pcids.errors)"
    assert not _loaded_after(code)["sklearn"]
    from sklearn.exceptions import NotFittedError as Sk

    from pcids import NotFittedError

    assert issubclass(NotFittedError, Sk) and issubclass(NotFittedError, PcidsError)

"""``pcids data``: summary table and JSON, through typer's CliRunner."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from pcids import datasets
from pcids.cli import app

runner = CliRunner()


def invoke(*args: str):
    result = runner.invoke(app, ["data", *args], env={"COLUMNS": "200"})
    return result


def test_table_for_both_datasets():
    result = invoke()
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Elastic moduli" in out and "Glass-forming ability" in out
    for needle in ("distinct alloys", "elements", "alloy systems", "G range", "Dmax range", "set aside", "merged"):
        assert needle in out
    assert "impossible sum" in out and "not melt-quenched" in out
    assert str(datasets.summary("elastic")["alloys"]) in out
    assert str(datasets.summary("gfa")["alloys"]) in out


def test_table_for_one_dataset():
    result = invoke("elastic")
    assert result.exit_code == 0, result.output
    assert "Elastic moduli" in result.output
    assert "Glass-forming ability" not in result.output
    assert "Pd40Cu40P20" in result.output  # flagged row is shown


@pytest.mark.parametrize("name", ["elastic", "gfa", "temperatures"])
def test_json_is_the_summary(name):
    result = invoke(name, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    expected = json.loads(json.dumps(datasets.summary(name)))
    assert data == expected
    assert data["alloys"] > 0 and data["set_aside"]["total"] >= 1


def test_json_for_both():
    result = invoke("--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"elastic", "gfa", "temperatures"}
    assert data["gfa"]["conflicts"] == datasets.summary("gfa")["conflicts"]
    assert data["elastic"]["missing"]["K"] == 3


def test_temperatures_table_reports_corrections_and_set_aside():
    result = invoke("temperatures")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Characteristic temperatures" in out
    assert "Tg = 6502 K read as 650.2 K" in out and "Tx = 7160.5 K read as 716.05 K" in out
    assert "inconsistent temperatures" in out and "conflicting values" in out
    for col in ("Tg range", "dTx range", "Trg range", "gamma range"):
        assert col in out
    assert str(datasets.summary("temperatures")["alloys"]) in out


def test_unknown_dataset_is_rejected():
    result = invoke("moduli")
    assert result.exit_code == 2
    assert "moduli" in result.output


def test_help():
    result = runner.invoke(app, ["data", "--help"])
    assert result.exit_code == 0
    assert "--json" in result.output

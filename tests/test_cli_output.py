"""Readable tables (piped, in a file, in an 80-column terminal), batches that keep the good rows,
and the input as typed beside the canonical formula; through the real CLI."""

from __future__ import annotations

import csv
import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pcids import load_elastic_model, load_gfa_model
from pcids.cli import app
from pcids.models.properties import predict_properties
from test_cli_design import small_models  # noqa: F401  (fixture: tiny models stand in for the shipped ones)

runner = CliRunner()
SRC = Path(__file__).resolve().parents[1] / "src"
VIT1 = "Zr41.2Ti13.8Cu12.5Ni10Be22.5"
LONG = "Zr40.2Ti13.3Cu12Ni10Be22.5Fe0.5Al0.5Y0.5Nb0.5"  # too long for 80 columns beside four values
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TERMINAL_80 = {"TTY_COMPATIBLE": "1", "COLUMNS": "80", "NO_COLOR": "1"}  # what rich sees in an 80-column terminal


def pcids(*args: str, tty_columns: int | None = None) -> tuple[int, str, str]:
    """Run the real ``pcids`` in a subprocess: stdout a pipe, or a pseudo-terminal ``tty_columns`` wide."""
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    for k in ("COLUMNS", "TTY_COMPATIBLE", "FORCE_COLOR", "LINES"):
        env.pop(k, None)
    cmd = [sys.executable, "-c", "from pcids.cli import main; main()", *args]
    if tty_columns is None:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        return p.returncode, p.stdout, p.stderr
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, tty_columns, 0, 0))
    p = subprocess.Popen(cmd, stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    err = p.stderr.read().decode()
    p.wait(timeout=300)
    return p.returncode, ANSI.sub("", b"".join(chunks).decode().replace("\r\n", "\n")), err


def cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


# -- item 2: tables ---------------------------------------------------------------------------


def test_piped_predict_table_is_plain_and_whole():
    code, out, err = pcids("predict", LONG, VIT1)
    assert code == 0, err
    assert "…" not in out and "─" not in out and "│" not in out and "\x1b" not in out
    lib = predict_properties([LONG, VIT1])
    lines = out.splitlines()
    header = next(i for i, ln in enumerate(lines) if ln.startswith("alloy"))
    assert cells(lines[header]) == ["alloy", "G (GPa)", "K (GPa)", "E (GPa)", "nu", "Tg (K)", "Tx (K)", "Tl (K)", "dTx (K)", "Trg",
                                    "gamma", "in domain"]
    for line, (typed, r) in zip(lines[header + 1:], lib.iterrows()):
        assert cells(line) == [typed, f"{r.G:.1f} ± {r.G_std:.1f}", f"{r.K:.1f} ± {r.K_std:.1f}",
                               f"{r.E:.1f} ± {r.E_std:.1f}", f"{r.nu:.3f} ± {r.nu_std:.3f}",
                               *(f"{r[t]:.0f} ± {r[t + '_std']:.0f}" for t in ("Tg", "Tx", "Tl", "dTx")),
                               f"{r.Trg:.3f} ± {r.Trg_std:.3f}", f"{r.gamma:.3f} ± {r.gamma_std:.3f}", "yes" if r.in_domain else "no"]
    assert max(map(len, lines)) > 80 and all(ln == ln.rstrip() for ln in lines)


def test_predict_in_a_real_80_column_terminal_keeps_the_alloy_and_values_whole():
    code, out, err = pcids("predict", VIT1, LONG, tty_columns=80)
    assert code == 0, err
    lines = out.splitlines()
    assert "…" not in out and max(map(len, lines)) <= 80
    assert "left out to fit 80 columns: in domain, gamma, Trg, dTx (K), nu, E (GPa)" in out  # derived ones first
    lib = predict_properties([VIT1, LONG])
    body = lines[next(i for i, ln in enumerate(lines) if ln.startswith("alloy")) + 1:]
    rows: list[list[str]] = []  # a line with values starts a row; a line with only a cell continues its alloy
    for ln in body:
        c = cells(ln)
        if len(c) >= 5:
            rows.append(c)
        elif ln.startswith("left out"):
            break
        elif rows and len(c) == 1 and c[0]:
            rows[-1][0] += c[0]
    assert [r[0] for r in rows] == [VIT1, LONG]  # folded onto the next line if need be, never cut
    for row, (_, r) in zip(rows, lib.iterrows()):  # every value whole on its row
        assert row[1:6] == [f"{r.G:.1f} ± {r.G_std:.1f}", f"{r.K:.1f} ± {r.K_std:.1f}",
                            *(f"{r[t]:.0f} ± {r[t + '_std']:.0f}" for t in ("Tg", "Tx", "Tl"))]


def test_gfa_table_piped_to_a_file_is_whole(tmp_path):
    code, out, err = pcids("gfa", "Pd40Ni40P20", VIT1)
    assert code == 0, err
    assert "…" not in out
    m = load_gfa_model()
    p = m.predict_proba(["Pd40Ni40P20", VIT1])
    rows = [cells(ln) for ln in out.splitlines() if ln.startswith(("Pd40", "Zr41"))]
    assert [r[0] for r in rows] == ["Pd40Ni40P20", VIT1]
    assert [r[1] for r in rows] == [f"{x:.2f}" for x in p]
    assert all(len(r) == 7 for r in rows)  # alloy, P, verdict, Dmax, range, Dmax if glass, in domain


DESIGN = ["design", "Ti", "Zr", "Be", "Fe", "--G", "36", "--K", "105", "-k", "3", "-q"]
DESIGN_COLUMNS = ["#", "composition", "G", "K", "E", "nu", "error", "P(D>=2)", "Dmax", "D if glass", "ok", "nearest known, L1"]


def _design_rows(out: str) -> list[list[str]]:
    lines = out.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("#"))
    return [cells(ln) for ln in lines[start:start + 4]]


def test_piped_design_table_keeps_rank_ok_and_every_column(small_models):
    res = runner.invoke(app, [*DESIGN, "--json"])
    cand = json.loads(res.stdout)["candidates"]
    piped = runner.invoke(app, DESIGN)  # CliRunner's stdout is not a terminal, as with | cat
    assert piped.exit_code == 0, piped.output
    assert "…" not in piped.stdout
    header, *rows = _design_rows(piped.stdout)
    assert header == DESIGN_COLUMNS
    for row, c in zip(rows, cand):
        assert row[0] == str(c["rank"]) and row[1].rstrip("*") == c["composition"]
        assert row[2] == f"{c['G']:.1f}±{c['G_std']:.1f}" and row[10] in ("yes", "GFA no", "no")
        assert row[8] == (f"{c['dmax_mm']:.1f}" if c["dmax_mm"] >= 2 else "<2") and row[9] == f"{c['dmax_if_glass_mm']:.1f}"
        assert row[11] == f"{c['nearest_known']}, {c['nearest_L1']:.0f}"
    trace = [ln for ln in piped.stdout.splitlines() if ln.lstrip().startswith("exhaustive lattice")]
    assert trace and "lattice points scored" in trace[0] and "pool" in trace[0]  # one line, not wrapped at 80


def test_design_in_an_80_column_terminal_drops_evidence_columns_and_says_so(small_models):
    res = runner.invoke(app, DESIGN, env=TERMINAL_80)
    assert res.exit_code == 0, res.output
    out = ANSI.sub("", res.stdout)
    assert "…" not in out
    header, *rows = _design_rows(out)
    m = re.search(r"left out to fit 80 columns: (.*?); pipe or", out, re.S)
    assert m, out
    left_out = m.group(1).replace("\n", " ")
    assert left_out.startswith("nearest known, L1")  # the first to go
    assert header[:2] == ["#", "composition"] and {"G", "K", "error", "ok"} <= set(header)
    assert "nearest known, L1" not in header and len(header) < len(DESIGN_COLUMNS)
    json_cand = json.loads(runner.invoke(app, [*DESIGN, "--json"]).stdout)["candidates"]
    for row, c in zip(rows, json_cand):
        assert row[1].rstrip("*") == c["composition"] and row[header.index("ok")] in ("yes", "GFA no", "no")
    assert max(len(ln) for ln in out.splitlines() if ln.startswith(("#", "1 ", "2 ", "3 "))) <= 80


# -- item 3: a bad row does not lose the batch --------------------------------------------------


def test_predict_file_keeps_the_good_rows_and_reports_every_bad_one(tmp_path):
    src = tmp_path / "alloys.csv"
    src.write_text("name,formula\na,Cu50Zr50\nb,Xx50Cu50\nc,\nd,Pd40Ni40P20\ne,Cu50Xe50\nf,Zr4)1Cu59\n")
    out = tmp_path / "p.csv"
    r = runner.invoke(app, ["predict", "--file", str(src), "--json", "-o", str(out)])
    assert r.exit_code == 1
    recs = json.loads(r.stdout)
    assert [x["input"] for x in recs] == ["Cu50Zr50", "Pd40Ni40P20"]
    lib = load_elastic_model().predict(["Cu50Zr50", "Pd40Ni40P20"])
    assert [x["G"] for x in recs] == pytest.approx(list(lib["G"]), rel=1e-4)
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("Error:")]
    assert errors[0].startswith("Error: alloys.csv line 3: unknown element 'Xx'")
    assert errors[1] == "Error: alloys.csv line 4: no formula (empty cell)"
    assert errors[2].startswith("Error: alloys.csv line 6: 'Cu50Xe50': no property data for element(s) Xe")
    assert errors[3].startswith("Error: alloys.csv line 7: unbalanced bracket")
    assert errors[4] == "Error: 4 of 6 rows were bad; the other 2 are shown"
    assert "Traceback" not in r.output
    with out.open() as fh:  # the good rows are written too
        assert [row["input"] for row in csv.DictReader(fh)] == ["Cu50Zr50", "Pd40Ni40P20"]


def test_predict_table_arguments_by_position():
    r = runner.invoke(app, ["predict", "Cu50Zr50", "Cu50Xe50", VIT1])
    assert r.exit_code == 1
    assert "Cu50Zr50" in r.stdout and VIT1 in r.stdout and "Cu50Xe50" not in r.stdout
    assert r.stderr.startswith("Error: argument 2: 'Cu50Xe50': no property data for element(s) Xe")


def test_gfa_keeps_the_good_rows():
    r = runner.invoke(app, ["gfa", "Pd40Ni40P20", "Xx50Cu50", "Cu46Zr46Al8", "Cu4)6Zr54", "--json"])
    assert r.exit_code == 1
    recs = json.loads(r.stdout)
    assert [x["input"] for x in recs] == ["Pd40Ni40P20", "Cu46Zr46Al8"]
    p = load_gfa_model().predict_proba(["Pd40Ni40P20", "Cu46Zr46Al8"])
    assert [x["p_bulk_glass"] for x in recs] == pytest.approx(list(p))
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("Error:")]
    assert [e.split(":")[1].strip() for e in errors[:2]] == ["argument 2", "argument 4"]
    assert errors[-1] == "Error: 2 of 4 rows were bad; the other 2 are shown"


def test_all_rows_bad_prints_no_table_and_exits_1():
    r = runner.invoke(app, ["predict", "Xx50Cu50"])
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr.splitlines()[-1] == "Error: 1 of 1 rows were bad"


def test_a_bad_row_found_only_by_the_model_is_located_among_many(tmp_path):
    """An element without property data parses; the model refuses it: the batch is halved to find it."""
    formulas = [f"Cu{a}Zr{100 - a}" for a in range(20, 80)]
    formulas[37] = "Cu50Xe50"
    src = tmp_path / "many.csv"
    src.write_text("formula\n" + "\n".join(formulas) + "\n")
    r = runner.invoke(app, ["predict", "--file", str(src), "--json"])
    assert r.exit_code == 1
    assert len(json.loads(r.stdout)) == 59
    assert r.stderr.startswith("Error: many.csv line 39: 'Cu50Xe50'")


def test_exit_codes_are_documented():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "**0** success" in readme and "**1** bad input" in readme and "**2** a" in readme


# -- item 8: the input as typed ----------------------------------------------------------------


def test_predict_keeps_the_alloy_as_typed():
    r = runner.invoke(app, ["predict", "Pd40Ni40P20", "--json"])
    assert r.exit_code == 0, r.output
    (rec,) = json.loads(r.stdout)
    assert rec["input"] == "Pd40Ni40P20" and rec["formula"] == "Ni40Pd40P20"
    table = runner.invoke(app, ["predict", "Pd40Ni40P20"])
    assert "Pd40Ni40P20" in table.stdout and "Ni40Pd40P20" not in table.stdout


def test_library_frames_are_indexed_by_the_input_as_typed():
    df = load_elastic_model().predict(["Pd40Ni40P20", "Cu50Zr50"])
    row = df.loc["Pd40Ni40P20"]
    assert row["formula"] == "Ni40Pd40P20" and df.index.name == "input"
    assert row["G"] == pytest.approx(df.iloc[0]["G"])
    d = load_gfa_model().predict_dmax(["Pd40Ni40P20"])
    assert d.loc["Pd40Ni40P20", "formula"] == "Ni40Pd40P20"
    assert d.loc["Pd40Ni40P20", "dmax_mm"] > 0


def test_the_console_reads_the_terminal_width_when_printing_not_when_made(monkeypatch):
    """rich reads COLUMNS when a Console is made; pcids's module-level console must follow the terminal
    of each command (in a test process, a console made under one command's COLUMNS kept it for all)."""
    from pcids.cli._common import _Console

    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("COLUMNS", "250")
    c = _Console()
    assert c.size.width == 250
    monkeypatch.setenv("COLUMNS", "80")
    assert c.size.width == 80
    monkeypatch.setenv("TTY_COMPATIBLE", "0")  # a pipe: full width
    assert c.size.width > 10_000


def test_screen_in_an_80_column_terminal_keeps_systems_compositions_and_moduli_whole():
    args = ["screen", "--palette", "Zr,Cu,Al,Ni", "--sizes", "3", "--G", "36", "--K", "105", "--top", "0", "--workers", "1", "-q"]
    res = runner.invoke(app, args, env=TERMINAL_80)
    assert res.exit_code == 0, res.output
    out = ANSI.sub("", res.stdout)
    assert "…" not in out and "left out to fit 80 columns: D if glass" in out
    piped = runner.invoke(app, args)
    best = [line.split()[2] for line in piped.stdout.splitlines() if line[:1].isdigit() and "-" in line.split()[1]]
    assert len(best) == 4 and all(b in out for b in best)  # each system's best composition, whole
    table = [line for line in out.splitlines() if line.startswith("#") or (line[:1].isdigit() and "-" in line.split()[1])]
    assert len(table) == 5 and max(len(line) for line in table) <= 80
    assert {"system", "G", "K"} <= set(table[0].split())

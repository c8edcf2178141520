# Two set-up commands (see README): `make demo` and `make test`.
# Each creates .venv on first use (torch 2.13.0 CPU comes from this machine's
# wheel cache via pip's find-links; other packages from PyPI).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

demo: $(BIN)/.installed
	$(BIN)/pcids design Ti Zr Be Fe --G 36 --K 105

test: $(BIN)/.installed
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .hypothesis

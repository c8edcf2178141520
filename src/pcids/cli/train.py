"""``pcids train forward|inverse|gfa``: fit the shipped models on all bundled data."""

from pcids.cli._groups import group

app = group("train", "Train a model family on all bundled data and save it (the shipped models are made this way).")

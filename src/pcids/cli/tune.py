"""``pcids tune forward|inverse``: seeded hyperparameter searches, as in the paper."""

from pcids.cli._groups import group

app = group("tune", "Search hyperparameters by cross-validation on the bundled data.")

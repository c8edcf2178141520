"""Figures, one module per model family (forward, inverse, gfa, design).

matplotlib is imported inside each module with the non-interactive Agg
backend, so plotting works on a machine without a screen; every function
returns the Figure and saves only when given a path.
"""

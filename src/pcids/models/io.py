"""Saving and loading models as plain, safe files: never a pickled object.

A model is two files side by side: ``<stem>.pt`` holds only tensors (read
with ``torch.load(weights_only=True)``) and ``<stem>.json`` holds the
metadata (kind, version, hyperparameters, feature names, data hash, seed,
metrics) plus the SHA-256 of the weights, so a truncated or corrupted file is
detected before it is used.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
from pathlib import Path
from typing import Any

import torch

from pcids.errors import ModelFileError

FORMAT_VERSION = 1


def _paths(path: str | Path) -> tuple[Path, Path]:
    p = Path(path)
    stem = p.with_suffix("") if p.suffix in {".pt", ".json"} else p
    return stem.with_suffix(".pt"), stem.with_suffix(".json")


def save_state(path: str | Path, state: dict[str, torch.Tensor], metadata: dict[str, Any], overwrite: bool = False) -> Path:
    """Write weights and metadata; refuses to replace existing files unless ``overwrite``."""
    from pcids import __version__

    pt, js = _paths(path)
    if not overwrite and (pt.exists() or js.exists()):
        raise ModelFileError(f"{pt} or {js} already exists; pass overwrite=True to replace it")
    pt.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu().contiguous() for k, v in state.items()}, buf)
    blob = buf.getvalue()
    meta = {
        "format_version": FORMAT_VERSION,
        "pcids_version": __version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        **metadata,
        "weights_sha256": hashlib.sha256(blob).hexdigest(),
    }
    pt.write_bytes(blob)
    js.write_text(json.dumps(meta, indent=2, sort_keys=False, allow_nan=True) + "\n")
    return js


def load_state(path: str | Path, kind: str | None = None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read and verify weights and metadata; every failure is a ModelFileError."""
    pt, js = _paths(path)
    for f in (pt, js):
        if not f.is_file():
            raise ModelFileError(f"model file {f} not found")
    try:
        meta = json.loads(js.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"model metadata {js} is corrupted (not valid JSON: {exc})") from None
    if not isinstance(meta, dict) or "weights_sha256" not in meta:
        raise ModelFileError(f"model metadata {js} is not a pcids model description")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{js} has format version {meta.get('format_version')!r}; this pcids reads {FORMAT_VERSION}")
    if kind is not None and meta.get("kind") != kind:
        raise ModelFileError(f"{js} holds a {meta.get('kind')!r}, not a {kind!r}")
    blob = pt.read_bytes()
    if hashlib.sha256(blob).hexdigest() != meta["weights_sha256"]:
        raise ModelFileError(f"weights file {pt} is corrupted or truncated (checksum does not match {js.name})")
    try:
        state = torch.load(io.BytesIO(blob), weights_only=True, map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
        raise ModelFileError(f"weights file {pt} cannot be read: {exc}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelFileError(f"weights file {pt} does not hold a state dict")
    return state, meta


def load_into(module: torch.nn.Module, state: dict[str, torch.Tensor], source: str | Path) -> None:
    """``load_state_dict`` with a clear error when the architecture does not match."""
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ModelFileError(f"weights in {source} do not match the model described by its metadata: {first}") from None

"""Saving and loading models as plain, safe files: never a pickled object.

A model is two files side by side: ``<stem>.npz`` holds only numeric arrays
(read with ``np.load(allow_pickle=False)``, so no torch is needed to use a
model) and ``<stem>.json`` holds the metadata (kind, version,
hyperparameters, feature names, data hash, seed, metrics) plus the SHA-256 of
the weights, so a truncated or corrupted file is detected before it is used.
The ``.npz`` is written with fixed zip timestamps: the same weights give the
same bytes. Files of format 1 (tensors in a ``.pt``, pcids before 0.2) are
still read, with torch.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from pcids.errors import ModelFileError

FORMAT_VERSION = 2
#: Suffixes of a saved model's two files.
WEIGHTS_SUFFIX, METADATA_SUFFIX = ".npz", ".json"
_LEGACY_SUFFIX = ".pt"
_SUFFIXES = {WEIGHTS_SUFFIX, METADATA_SUFFIX, _LEGACY_SUFFIX}


def model_stem(path: str | Path) -> Path:
    """``path`` without a model-file suffix (``fw_G.npz``, ``fw_G.json`` and ``fw_G`` all give ``fw_G``)."""
    p = Path(path)
    return p.with_suffix("") if p.suffix in _SUFFIXES else p


def model_files(path: str | Path) -> tuple[Path, Path]:
    """The weights and metadata files of the model at ``path`` (a stem or either file)."""
    stem = model_stem(path)
    return stem.with_suffix(WEIGHTS_SUFFIX), stem.with_suffix(METADATA_SUFFIX)


def _npz_bytes(arrays: dict[str, np.ndarray], compress: bool = False) -> bytes:
    """``np.savez`` (``compress``: ``np.savez_compressed``) with a fixed timestamp on every member,
    so the bytes depend on the arrays only."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as zf:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zf.compression
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def save_state(
    path: str | Path, state: dict[str, np.ndarray], metadata: dict[str, Any], overwrite: bool = False, compress: bool = False
) -> Path:
    """Write weights and metadata; refuses to replace existing files unless ``overwrite``.

    ``compress``: deflate the arrays (tree node indices shrink ~3x; networks' floats do not)."""
    from pcids import __version__

    npz, js = model_files(path)
    if not overwrite and (npz.exists() or js.exists()):
        raise ModelFileError(f"{npz} or {js} already exists; pass overwrite=True to replace it")
    npz.parent.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.asarray(v) for k, v in state.items()}
    bad = [k for k, v in arrays.items() if v.dtype.kind not in "biuf"]
    if bad:
        raise ModelFileError(f"model state {bad[:3]} is not numeric; only numeric arrays are saved")
    blob = _npz_bytes(arrays, compress)
    meta = {
        "format_version": FORMAT_VERSION,
        "pcids_version": __version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        **metadata,
        "weights_sha256": hashlib.sha256(blob).hexdigest(),
    }
    npz.write_bytes(blob)
    js.write_text(json.dumps(meta, indent=2, sort_keys=False, allow_nan=True) + "\n")
    return js


def load_state(path: str | Path, kind: str | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read and verify weights and metadata; every failure is a ModelFileError."""
    npz, js = model_files(path)
    if not js.is_file():
        raise ModelFileError(f"model file {js} not found")
    try:
        meta = json.loads(js.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"model metadata {js} is corrupted (not valid JSON: {exc})") from None
    if not isinstance(meta, dict) or "weights_sha256" not in meta:
        raise ModelFileError(f"model metadata {js} is not a pcids model description")
    version = meta.get("format_version")
    if version not in (1, FORMAT_VERSION):
        raise ModelFileError(f"{js} has format version {version!r}; this pcids reads 1 and {FORMAT_VERSION}")
    if kind is not None and meta.get("kind") != kind:
        raise ModelFileError(f"{js} holds a {meta.get('kind')!r}, not a {kind!r}")
    weights = npz if version == FORMAT_VERSION else npz.with_suffix(_LEGACY_SUFFIX)
    if not weights.is_file():
        raise ModelFileError(f"model file {weights} not found")
    blob = weights.read_bytes()
    if hashlib.sha256(blob).hexdigest() != meta["weights_sha256"]:
        raise ModelFileError(f"weights file {weights} is corrupted or truncated (checksum does not match {js.name})")
    state = _read_npz(blob, weights) if version == FORMAT_VERSION else _read_legacy(blob, weights)
    return state, meta


def _read_npz(blob: bytes, source: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as exc:  # noqa: BLE001 - any read failure means a bad file
        raise ModelFileError(f"weights file {source} cannot be read: {exc}") from None


def _read_legacy(blob: bytes, source: Path) -> dict[str, np.ndarray]:
    """Format 1: a torch state dict (``torch.load(weights_only=True)``)."""
    import torch

    try:
        state = torch.load(io.BytesIO(blob), weights_only=True, map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
        raise ModelFileError(f"weights file {source} cannot be read: {exc}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelFileError(f"weights file {source} does not hold a state dict")
    return {k: v.numpy() for k, v in state.items()}


def check_target(meta: dict[str, Any], expected: str, source: str | Path, key: str = "hyperparameters") -> None:
    """Refuse a model file whose metadata records another target than the one it is loaded as."""
    recorded = (meta.get(key) or {}).get("target") if isinstance(meta.get(key), dict) else None
    if recorded != expected:
        raise ModelFileError(
            f"{source} holds a model of target {recorded!r}, not {expected!r}: the file was renamed or copied over "
            f"the {expected} model; restore it or retrain with `pcids train forward`"
        )

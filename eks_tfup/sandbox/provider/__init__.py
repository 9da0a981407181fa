"""A Terraform `hashicorp/aws` provider for the EKS resources, talking to whatever endpoint boto3 is given.

`install(dir)` writes the provider executable and a Terraform CLI configuration that registers it
through `dev_overrides`; point TF_CLI_CONFIG_FILE at the returned file. The same configuration works
against real AWS with the real provider: only the CLI configuration differs.

`terraform init` and dev_overrides, checked offline: Terraform 1.15 skips installing an
overridden provider during init (it warns "Provider development overrides are in effect").
Terraform 1.0.3 does not: its init still asks registry.terraform.io for hashicorp/aws and fails
without network. So the configuration also declares a filesystem mirror holding the same
executable as `hashicorp/aws` MIRROR_VERSION (chosen to satisfy the usual `~> 5.x` / `>= 5.40`
constraints) and excludes hashicorp/aws from `direct`: init then "installs" it from the mirror and
records it in the lock file, while dev_overrides still decides which executable runs.
"""

from __future__ import annotations

import os
import platform
import shlex
import shutil
import sys
from pathlib import Path

from eks_tfup.files import write_text_atomic

EXECUTABLE = "terraform-provider-aws"
MIRROR_VERSION = "5.99.0"


def _target() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{platform.system().lower()}_{arch}"


def _hcl_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def install(dir: Path) -> Path:
    """Write `dir/provider/terraform-provider-aws` and `dir/terraformrc`; return the latter."""
    dir = Path(dir).resolve()
    provider_dir = dir / "provider"
    # The package's parent goes on PYTHONPATH so the provider runs from a checkout as well as from
    # an installed package, with the interpreter that installed it.
    root = Path(__file__).resolve().parents[3]
    script = (
        "#!/bin/sh\n"
        "# Terraform provider hashicorp/aws for the eks-tfup sandbox (written by eks_tfup.sandbox.provider).\n"
        f"PYTHONPATH={shlex.quote(str(root))}${{PYTHONPATH:+:$PYTHONPATH}}\n"
        "export PYTHONPATH\n"
        f"EKS_TFUP_PROVIDER_CACHE={shlex.quote(str(provider_dir / '.cache'))}\n"
        "export EKS_TFUP_PROVIDER_CACHE\n"
        f"exec {shlex.quote(sys.executable)} -m eks_tfup.sandbox.provider \"$@\"\n"
    )
    write_text_atomic(provider_dir / EXECUTABLE, script, mode=0o755)
    os.chmod(provider_dir / EXECUTABLE, 0o755)
    mirror = dir / "mirror"
    unpacked = mirror / "registry.terraform.io" / "hashicorp" / "aws" / MIRROR_VERSION / _target()
    unpacked.mkdir(parents=True, exist_ok=True)
    shutil.copy2(provider_dir / EXECUTABLE, unpacked / f"{EXECUTABLE}_v{MIRROR_VERSION}")
    rc = dir / "terraformrc"
    write_text_atomic(rc, (
        "provider_installation {\n"
        "  dev_overrides {\n"
        f"    \"hashicorp/aws\" = {_hcl_string(str(provider_dir))}\n"
        "  }\n"
        "  filesystem_mirror {\n"
        f"    path    = {_hcl_string(str(mirror))}\n"
        "    include = [\"registry.terraform.io/hashicorp/aws\"]\n"
        "  }\n"
        "  direct {\n"
        "    exclude = [\"registry.terraform.io/hashicorp/aws\"]\n"
        "  }\n"
        "}\n"
    ))
    return rc

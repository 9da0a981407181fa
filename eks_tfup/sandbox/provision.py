"""Create the sandbox's cluster the way a real one is created: `terraform init` + `apply` of a directory.

Afterwards the directory's state matches the simulated cluster exactly as a user's real state
matches their real cluster, so `eks-tfup bump` can run on that directory unchanged.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from eks_tfup import proc
from eks_tfup.errors import UsageError


def provision(info: Any, tf_dir: Path, *, sink: proc.LineSink | None = None,
              var_files: tuple[Path, ...] = (), terraform_bin: str | None = None) -> None:
    """Plan and apply `tf_dir` against the sandbox described by `info` (a SandboxInfo).

    `terraform_bin`: the Terraform the directory will be used with later (a state written by a
    newer Terraform cannot be read by an older one); default: the embedded one.
    """
    from eks_tfup.terraform import Terraform

    if not tf_dir.is_dir():
        raise UsageError(f"terraform directory not found: {tf_dir}")
    tf = Terraform(tf_dir, binary=terraform_bin, env=dict(info.env), log_path=Path(info.dir) / "provision.log")
    tf.init(sink=sink)
    with tempfile.TemporaryDirectory(prefix="eks-tfup-provision-") as tmp:
        plan = Path(tmp) / "provision.tfplan"
        tf.plan(out=plan, var_files=var_files, sink=sink)
        tf.apply(plan, sink=sink)

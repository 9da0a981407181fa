"""End-to-end harness: the CLI run in-process against a real sandbox, real Terraform, real helmfile."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "terraform"


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@dataclass
class Env:
    tf_dir: Path
    sandbox_dir: Path
    info: Any

    def eks(self) -> Any:
        import boto3

        return boto3.client("eks")

    def tree(self) -> dict[str, bytes]:
        """Every file of the Terraform directory the user wrote (not Terraform's or our own state)."""
        return {str(p.relative_to(self.tf_dir)): p.read_bytes() for p in sorted(self.tf_dir.rglob("*"))
                if p.is_file() and not {".terraform", ".eks-tfup"} & set(p.relative_to(self.tf_dir).parts)
                and not p.name.startswith("terraform.tfstate") and p.name != ".terraform.lock.hcl"}


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    from eks_tfup.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        else:  # pragma: no cover - main always exits
            code = 0
        out = capsys.readouterr()
        return CliResult(code, out.out, out.err)

    return run


def copy_example(dest: Path) -> Path:
    shutil.copytree(EXAMPLES, dest, ignore=shutil.ignore_patterns(
        ".terraform", ".eks-tfup", "terraform.tfstate*", ".terraform.lock.hcl"))
    return dest


@pytest.fixture
def sandbox_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Env]]:
    """start(scenario, provision=True): a sandbox, its env exported, and a copy of examples/terraform.

    With provision=True the cluster is created by `terraform apply` of the copy (so the state
    matches); otherwise the scenario's cluster exists from the start, for checks that refuse
    before Terraform runs.
    """
    from eks_tfup.sandbox import control
    from eks_tfup.sandbox.provision import provision

    started: list[Path] = []

    def start(scenario: str = "healthy-1.28", *, provisioned: bool = True, time_scale: float | None = None,
              faults: dict[str, str] | None = None, terraform_bin: str | None = None) -> Env:
        sb = tmp_path / f"sandbox-{len(started)}"
        tf_dir = copy_example(tmp_path / f"terraform-{len(started)}")
        info = control.up(scenario, sb, time_scale=time_scale, faults=faults,
                          cluster_source="terraform" if provisioned else "scenario")
        started.append(sb)
        for key, value in info.env.items():
            monkeypatch.setenv(key, value)
        # helmfile apply needs the helm-diff plugin, which cannot be installed offline.
        monkeypatch.setenv("EKS_TFUP_HELMFILE_COMMANDS", "deps;sync")
        if provisioned:
            provision(info, tf_dir, terraform_bin=terraform_bin)
        return Env(tf_dir, sb, info)

    yield start
    for sb in started:
        control.down(sb)

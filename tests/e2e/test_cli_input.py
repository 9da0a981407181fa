"""Input errors: one line, exit 2, nothing read or written. No sandbox needed."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import CliResult, copy_example


@pytest.mark.parametrize("version", ["v1.29", "1.29.3", "1.x", "latest"])
def test_bad_version_is_a_usage_error(cli: Callable[..., CliResult], tmp_path: Path, version: str) -> None:
    tf_dir = copy_example(tmp_path / "tf")
    before = {p: p.read_bytes() for p in tf_dir.rglob("*") if p.is_file()}
    result = cli("bump", version, "--yes", "--dir", str(tf_dir))
    assert result.exit_code == 2
    assert "invalid target version" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in tf_dir.rglob("*") if p.is_file()} == before
    assert not (tf_dir / ".eks-tfup").exists()


def test_bump_without_terminal_or_yes_refuses_at_once(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    tf_dir = copy_example(tmp_path / "tf")
    result = cli("bump", "1.29", "--dir", str(tf_dir))
    assert result.exit_code == 2
    assert "--yes" in result.stderr and "eks-tfup plan" in result.stderr
    assert not (tf_dir / ".eks-tfup").exists()


def test_missing_cluster_setting_is_named(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('resource "aws_eks_cluster" "this" {\n  version = "1.28"\n}\n')
    result = cli("bump", "1.29", "--yes", "--dir", str(tmp_path))
    assert result.exit_code == 2
    assert "missing setting 'cluster'" in result.stderr


def test_unknown_stop_after_step(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    tf_dir = copy_example(tmp_path / "tf")
    result = cli("bump", "1.29", "--yes", "--dir", str(tf_dir), "--stop-after", "nope")
    assert result.exit_code == 2 and "unknown step 'nope'" in result.stderr


def test_second_run_is_refused_while_the_lock_is_held(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    tf_dir = copy_example(tmp_path / "tf")
    lock = tf_dir / ".eks-tfup" / "locks" / "demo.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "run_id": "other-run"}))
    result = cli("bump", "1.29", "--yes", "--dir", str(tf_dir))
    assert result.exit_code == 3
    assert "locked by run other-run" in result.stderr


def test_hcl_show_and_set(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    tf_dir = copy_example(tmp_path / "tf")
    shown = cli("hcl", "show", "--dir", str(tf_dir), "--json")
    assert shown.exit_code == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["value"] == "1.28" and Path(str(data["file"])).name == "terraform.tfvars"
    original = (tf_dir / "terraform.tfvars").read_bytes()
    assert cli("hcl", "set", "1.29", "--dir", str(tf_dir)).exit_code == 0
    assert (tf_dir / "terraform.tfvars").read_bytes() == original.replace(b'"1.28"', b'"1.29"')
    refused = cli("hcl", "set", "v1.30", "--dir", str(tf_dir))
    assert refused.exit_code == 2


def test_ambiguous_hcl_lists_the_clusters(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    tf_dir = copy_example(tmp_path / "tf")
    (tf_dir / "second.tf").write_text('resource "aws_eks_cluster" "other" {\n  name = "x"\n  version = "1.28"\n'
                                      '  role_arn = "arn"\n  vpc_config {\n    subnet_ids = []\n  }\n}\n')
    before = (tf_dir / "terraform.tfvars").read_bytes()
    result = cli("hcl", "set", "1.29", "--dir", str(tf_dir))
    assert result.exit_code == 2
    assert "module.eks" in result.stderr and "aws_eks_cluster.other" in result.stderr
    assert (tf_dir / "terraform.tfvars").read_bytes() == before
    assert cli("hcl", "set", "1.29", "--dir", str(tf_dir), "--address", "aws_eks_cluster.other").exit_code == 0
    assert b'version = "1.29"' in (tf_dir / "second.tf").read_bytes()

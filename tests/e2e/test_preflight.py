"""`eks-tfup preflight` against sandbox scenarios: the exit code and exactly the required ids that fail."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import CliResult, Env


def failing_required(result: CliResult) -> set[str]:
    data: dict[str, Any] = json.loads(result.stdout)
    return {c["id"] for c in data["checks"]
            if c["level"] == "required" and c["status"] in ("fail", "error") and not c["suppressed"]}


def test_healthy_cluster_with_its_terraform_passes(sandbox_env: Callable[..., Env],
                                                   cli: Callable[..., CliResult]) -> None:
    env = sandbox_env("healthy-1.28", provisioned=False)
    result = cli("preflight", "1.29", "--dir", str(env.tf_dir), "--region", "us-east-1", "--format", "json")
    assert result.exit_code == 0, result.stdout[-3000:] + result.stderr
    data = json.loads(result.stdout)
    assert failing_required(result) == set()
    checks = {c["id"]: c for c in data["checks"]}
    assert checks["TF001"]["status"] == "pass"  # the HCL's 1.28 equals the control plane
    assert checks["TF003"]["status"] == "pass" and "required_version >= 1.0" in checks["TF003"]["message"]
    assert checks["TF004"]["status"] == "pass"  # the example's node groups follow the cluster
    assert checks["API001"]["status"] == "pass"
    assert data["current_version"] == "1.28" and data["target"] == "1.29"
    # The facts came from list calls, not one GET per object.
    assert data["api_calls"]["kubernetes"] < 30 and data["api_calls"]["aws"] < 30


@pytest.mark.parametrize("scenario,target,expected", [
    ("nodes-behind", "1.30", {"EKS005"}),
    ("tight-subnets", "1.30", {"EKS001", "EKS008", "NET001"}),
    ("removed-apis", "1.25", {"API001", "ADD007", "EKS008"}),
    ("al2-nodes-1.32", "1.33", {"NOD001", "EKS008"}),
    ("blocking-pdb", "1.29", {"WRK005"}),
])
def test_scenarios_fail_with_exactly_the_expected_required_ids(
        sandbox_env: Callable[..., Env], cli: Callable[..., CliResult], scenario: str, target: str,
        expected: set[str]) -> None:
    sandbox_env(scenario, provisioned=False)
    # No Terraform directory: --cluster alone, the Terraform checks skipped.
    result = cli("preflight", target, "--cluster", "demo", "--format", "json")
    assert result.exit_code == 3, result.stdout[-3000:] + result.stderr
    assert failing_required(result) == expected
    checks = {c["id"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["TF001"]["status"] == "skip" and "no Terraform directory" in checks["TF001"]["message"]


def test_ignore_suppresses_and_text_shows_it(sandbox_env: Callable[..., Env], cli: Callable[..., CliResult]) -> None:
    sandbox_env("blocking-pdb", provisioned=False)
    result = cli("preflight", "1.29", "--cluster", "demo", "--ignore", "WRK005")
    assert result.exit_code == 0, result.stdout[-3000:] + result.stderr
    assert "WRK005" in result.stdout and "suppressed" in result.stdout
    assert "payments/payments-pdb" in result.stdout
    markdown = cli("preflight", "1.29", "--cluster", "demo", "--format", "markdown")
    assert markdown.exit_code == 3
    assert "| workloads | `WRK005` | **required** | fail |" in markdown.stdout

"""`status`, `init` and the Kubernetes client's retries, against a sandbox cluster."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import CliResult, Env


def test_status_shows_cluster_hcl_support_and_nodes(sandbox_env: Callable[..., Env],
                                                    cli: Callable[..., CliResult]) -> None:
    env = sandbox_env("healthy-1.28", provisioned=False)
    result = cli("status", "--dir", str(env.tf_dir), "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["control_plane"]["version"] == "1.28"
    assert data["hcl"]["value"] == "1.28"
    assert {ng["name"] for ng in data["nodegroups"]} == {"system", "apps"}
    assert data["nodes"]["count"] == data["nodes"]["ready"] > 0
    assert data["support"]["end_of_standard_support"]
    text = cli("status", "--dir", str(env.tf_dir))
    assert "cluster demo: 1.28 ACTIVE" in text.stdout and "standard support ends" in text.stdout


def test_init_writes_a_config_guessed_from_the_hcl(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    from tests.e2e.conftest import copy_example

    tf_dir = copy_example(tmp_path / "tf")
    (tf_dir / "eks-tfup.toml").unlink()
    assert cli("init", "--dir", str(tf_dir)).exit_code == 0
    data = tomllib.loads((tf_dir / "eks-tfup.toml").read_text())
    assert data["cluster"] == "demo"
    again = cli("init", "--dir", str(tf_dir))
    assert again.exit_code == 2 and "--force" in again.stderr


def test_kube_calls_retry_through_errors_and_give_up_after_the_bound(
        sandbox_env: Callable[..., Env], monkeypatch: pytest.MonkeyPatch) -> None:
    from eks_tfup.errors import KubeError
    from eks_tfup.kube import Kube

    env = sandbox_env("healthy-1.28", provisioned=False, faults={"kube_error_rate": "0.6"})
    kube = Kube(kubeconfig=Path(env.info.env["KUBECONFIG"]), retry_timeout=30)
    for _ in range(5):
        assert len(kube.nodes()) == 4
    assert kube.calls > 5, "most requests fail: the facade must have retried"
    import urllib.request

    req = urllib.request.Request(env.info.aws_url + "/_sandbox/faults", method="POST",
                                 data=json.dumps({"faults": {"kube_error_rate": "1.0"}}).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=5).close()
    bounded = Kube(kubeconfig=Path(env.info.env["KUBECONFIG"]), retry_timeout=2)
    with pytest.raises(KubeError, match="did not answer for 2s"):
        bounded.nodes()


def test_charts_check_on_removed_apis_lists_them_and_exits_3(sandbox_env: Callable[..., Env],
                                                             cli: Callable[..., CliResult]) -> None:
    env = sandbox_env("removed-apis", provisioned=False)
    result = cli("charts", "check", "1.25", "--dir", str(env.tf_dir), "--format", "json")
    assert result.exit_code == 3, result.stdout + result.stderr
    findings = json.loads(result.stdout)["findings"]
    found = {(f["kind"], f["api_version"], f["level"]) for f in findings}
    assert ("CronJob", "batch/v1beta1", "required") in found
    assert ("PodSecurityPolicy", "policy/v1beta1", "required") in found
    assert all(f["replacement"] or f["note"] for f in findings if f["level"] == "required")
    assert cli("charts", "check", "1.24", "--dir", str(env.tf_dir)).exit_code == 0

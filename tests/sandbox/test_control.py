"""Starting and stopping the sandbox process, and what it leaves in its directory."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from eks_tfup.errors import UsageError
from eks_tfup.sandbox import control
from eks_tfup.sandbox.scenario import ScenarioError


def _alive(pid: int) -> bool:
    return control._alive(pid)


def _post(url: str, doc: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(url, data=json.dumps(doc).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        result: dict[str, Any] = json.loads(resp.read())
        return result


def test_up_answers_fast_and_down_leaves_no_process(sandbox: Any) -> None:
    started = time.monotonic()
    info = sandbox("healthy-1.28")
    elapsed = time.monotonic() - started
    print(f"sandbox up in {elapsed:.3f}s (server ready after {info.startup_seconds:.3f}s)")
    assert elapsed < 2.0
    assert info.aws_url.startswith("http://127.0.0.1:") and info.kube_url.startswith("https://127.0.0.1:")
    assert _alive(info.pid)
    assert json.loads((info.dir / "endpoints.json").read_text())["pid"] == info.pid
    assert (info.dir / "server.pid").read_text().strip() == str(info.pid)
    control.down(info.dir)
    assert not _alive(info.pid)
    assert not (info.dir / "server.pid").exists() and not (info.dir / "endpoints.json").exists()
    control.down(info.dir)  # idempotent
    assert control.status(info.dir) == {"running": False, "dir": str(info.dir)}
    log = (info.dir / "server.log").read_text()
    assert "ready in" in log and "sandbox stopped" in log


def test_env_file_kubeconfig_and_plain_boto3(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    info = sandbox("healthy-1.28")
    env = control.read_env(info.dir)
    assert env == dict(info.env)
    assert set(env) == {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
                        "AWS_REGION", "KUBECONFIG", "KUBECACHEDIR", "TF_CLI_CONFIG_FILE"}
    assert env["AWS_ENDPOINT_URL"] == info.aws_url and env["AWS_REGION"] == "us-east-1"
    assert env["KUBECONFIG"] == str(info.dir / "kubeconfig")
    assert env["TF_CLI_CONFIG_FILE"] == str(info.dir / "terraformrc")
    text = (info.dir / "env").read_text()
    assert all(line.startswith(("#", "export ")) for line in text.splitlines())
    # A shell sourcing the file sees the same values.
    out = subprocess.run(["sh", "-c", f". {info.dir / 'env'} && env"], capture_output=True, text=True, check=True)
    assert f"AWS_ENDPOINT_URL={info.aws_url}" in out.stdout.splitlines()

    kubeconfig = yaml.safe_load(info.kubeconfig.read_text())
    arn = "arn:aws:eks:us-east-1:111122223333:cluster/demo"
    assert kubeconfig["current-context"] == arn
    assert kubeconfig["contexts"] == [{"name": arn, "context": {"cluster": arn, "user": arn}}]
    assert kubeconfig["clusters"][0]["cluster"]["server"] == info.kube_url
    assert kubeconfig["users"][0]["user"]["token"]

    # Plain boto3, configured by nothing but the environment.
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    import boto3

    cluster = boto3.client("eks").describe_cluster(name="demo")["cluster"]
    assert cluster["endpoint"] == info.kube_url
    # DescribeCluster carries the CA the kubeconfig trusts, as EKS does.
    assert cluster["certificateAuthority"]["data"] == \
        kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"]
    assert boto3.client("sts").get_caller_identity()["Account"] == "111122223333"


def test_kubernetes_client_reads_the_cluster(sandbox: Any) -> None:
    from kubernetes import client, config

    info = sandbox("healthy-1.28")
    api = config.new_client_from_config(config_file=str(info.kubeconfig))
    core, apps, policy = client.CoreV1Api(api), client.AppsV1Api(api), client.PolicyV1Api(api)
    nodes = core.list_node().items
    assert len(nodes) == 4
    for node in nodes:
        labels = node.metadata.labels
        assert labels["eks.amazonaws.com/nodegroup"] in ("system", "apps")
        assert labels["kubernetes.io/os"] == "linux" and labels["topology.kubernetes.io/zone"].startswith("us-east-1")
        assert labels["node.kubernetes.io/instance-type"] in ("m5.large", "m5.xlarge")
        assert labels["eks.amazonaws.com/nodegroup-image"].startswith("ami-")
        assert node.status.node_info.kubelet_version.startswith("v1.28.15-eks-")
        assert node.metadata.name.startswith("ip-10-0-") and node.metadata.name.endswith(".ec2.internal")
        assert any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)
    pods = core.list_pod_for_all_namespaces().items
    assert pods and all(p.status.phase == "Running" and p.spec.node_name for p in pods)
    assert {d.metadata.name for d in apps.list_deployment_for_all_namespaces().items} >= {"web", "podinfo", "coredns"}
    ds = {d.metadata.name: d for d in apps.list_namespaced_daemon_set("kube-system").items}
    assert ds["kube-proxy"].spec.template.spec.containers[0].image.endswith(":v1.28.15-minimal-eksbuild.4")
    assert ds["aws-node"].spec.template.spec.containers[0].image.endswith("/amazon-k8s-cni:v1.18.3-eksbuild.3")
    pdbs = {p.metadata.name: p for p in policy.list_pod_disruption_budget_for_all_namespaces().items}
    assert pdbs["web-pdb"].spec.max_unavailable == 1
    corefile = core.read_namespaced_config_map("coredns", "kube-system").data["Corefile"]
    assert "kubernetes cluster.local" in corefile
    secrets = core.list_namespaced_secret("apps", label_selector="owner=helm,name=podinfo").items
    assert sorted(s.metadata.labels["version"] for s in secrets) == ["1", "2"]
    assert {s.type for s in secrets} == {"helm.sh/release.v1"}
    assert client.VersionApi(api).get_code().git_version.startswith("v1.28.15-eks-")


def test_helm_reads_the_release_secrets(sandbox: Any) -> None:
    helm = Path(__file__).resolve().parents[2] / ".tools" / "bin" / "helm"
    if not helm.exists():
        pytest.fail("helm missing in .tools/bin: run `make tools`")
    info = sandbox("removed-apis")
    env = {**os.environ, **info.env}
    out = subprocess.run([str(helm), "list", "-A", "-o", "json"], env=env, capture_output=True, text=True,
                         check=True)
    (release,) = json.loads(out.stdout)
    assert (release["name"], release["namespace"], release["revision"], release["status"]) == \
        ("reports", "reports", "3", "deployed")
    assert release["chart"] == "reports-1.4.2" and release["app_version"] == "2.3.0"
    manifest = subprocess.run([str(helm), "get", "manifest", "reports", "-n", "reports"], env=env,
                              capture_output=True, text=True, check=True).stdout
    assert "apiVersion: batch/v1beta1" in manifest and "kind: CronJob" in manifest


def test_status_scenarios_and_runtime_faults(sandbox: Any, aws_client: Any) -> None:
    from botocore.exceptions import ClientError

    names = dict(control.scenarios())
    assert {"healthy-1.28", "nodes-behind", "removed-apis", "al2-nodes-1.32", "tight-subnets",
            "blocking-pdb"} <= set(names)
    assert all(names.values())
    info = sandbox("nodes-behind", seed=3, time_scale=0.001, faults={"latency.ListClusters": "0.01"})
    st = control.status(info.dir)
    assert st["running"] and st["pid"] == info.pid and st["scenario"] == "nodes-behind"
    assert st["seed"] == 3 and st["time_scale"] == 0.001
    assert st["cluster"]["version"] == "1.29"
    assert {ng["name"]: ng["version"] for ng in st["nodegroups"]} == {"current": "1.29", "legacy": "1.28"}
    assert st["faults"]["latency"] == {"ListClusters": 0.01}

    eks = aws_client(info, "eks", retries=False)
    assert eks.list_clusters()["clusters"] == ["demo"]
    _post(info.aws_url + "/_sandbox/faults", {"faults": {"error_rate.ListClusters": "1"}})
    with pytest.raises(ClientError) as exc:
        eks.list_clusters()
    assert exc.value.response["Error"]["Code"] == "ThrottlingException"
    _post(info.aws_url + "/_sandbox/faults", {"reset": True, "faults": {}})
    assert eks.list_clusters()["clusters"] == ["demo"]
    with pytest.raises(urllib.request.HTTPError) as bad:
        _post(info.aws_url + "/_sandbox/faults", {"faults": {"no_such_fault": "1"}})
    assert bad.value.code == 400

    # The control API moves the clock: a node-group update completes without waiting.
    uid = eks.update_nodegroup_version(clusterName="demo", nodegroupName="legacy")["update"]["id"]
    _post(info.aws_url + "/_sandbox/advance", {"seconds": 3600})
    assert eks.describe_update(name="demo", updateId=uid, nodegroupName="legacy")["update"]["status"] == "Successful"


def test_kube_api_outage_during_the_control_plane_update(sandbox: Any, aws_client: Any) -> None:
    # A 1.8 s update with the API server unreachable from 0.72 s to 1.26 s.
    info = sandbox("healthy-1.28", time_scale=0.001,
                   faults={"kube_outage_start": "0.4", "kube_outage_length": "0.3"})
    eks = aws_client(info, "eks", retries=False)
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    token = yaml.safe_load(info.kubeconfig.read_text())["users"][0]["user"]["token"]

    def kube_version() -> str | None:
        req = urllib.request.Request(info.kube_url + "/version", headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=2, context=ctx) as resp:
                return str(json.loads(resp.read())["minor"])
        except OSError:
            return None

    uid = eks.update_cluster_version(name="demo", version="1.29")["update"]["id"]
    seen: list[str | None] = []
    deadline = time.monotonic() + 10
    while eks.describe_update(name="demo", updateId=uid)["update"]["status"] == "InProgress":
        assert time.monotonic() < deadline
        seen.append(kube_version())
        time.sleep(0.02)
    compact = [v for i, v in enumerate(seen) if i == 0 or seen[i - 1] != v]
    assert compact[0] == "28" and None in compact and compact[-1] == "29", compact


def test_up_refuses_bad_input_before_starting(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="unknown scenario"):
        control.up("no-such-scenario", tmp_path)
    with pytest.raises(ScenarioError, match="unknown fault key"):
        control.up("healthy-1.28", tmp_path, faults={"bogus": "1"})
    with pytest.raises(UsageError):
        control.up("healthy-1.28", tmp_path, cluster_source="cloud")
    assert not (tmp_path / "server.pid").exists()


def test_second_up_in_the_same_dir_is_refused(sandbox: Any) -> None:
    info = sandbox("healthy-1.28")
    with pytest.raises(UsageError, match="already running"):
        control.up("healthy-1.28", info.dir)
    assert _alive(info.pid)


def test_server_module_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-m", "eks_tfup.sandbox.server", "--dir", str(tmp_path),
                             "--scenario", "blocking-pdb", "--cluster-source", "terraform",
                             "--fault", "kube_outage=false"],
                            env={**os.environ, "PYTHONPATH": str(root)}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while not (tmp_path / "endpoints.json").exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        endpoints = json.loads((tmp_path / "endpoints.json").read_text())
        assert endpoints["cluster_source"] == "terraform" and endpoints["pid"] == proc.pid
        with urllib.request.urlopen(endpoints["aws_url"] + "/_sandbox/state", timeout=5) as resp:
            state = json.loads(resp.read())
        assert state["cluster"] is None and state["faults"]["kube_outage"] is False
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not (tmp_path / "endpoints.json").exists()

"""The simulated state with a fake clock: scenarios, objects, time, faults (no HTTP)."""

from __future__ import annotations

import base64
import copy
import dataclasses
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from eks_tfup.sandbox import scenario
from eks_tfup.sandbox.scenario import SCENARIO_DIR, Faults, ScenarioError
from eks_tfup.sandbox.state import AwsApiError, SandboxState
from eks_tfup.versions import Minor


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def make(name: str = "healthy-1.28", **kwargs: Any) -> tuple[SandboxState, Clock]:
    clock = Clock()
    return SandboxState(scenario.load(name), clock=clock, wall=lambda: 1_700_000_000.0, **kwargs), clock


# -- scenarios ------------------------------------------------------------------------------------


def test_every_shipped_scenario_loads_and_builds() -> None:
    names = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))
    assert {"healthy-1.28", "nodes-behind", "removed-apis", "al2-nodes-1.32", "tight-subnets",
            "blocking-pdb"} <= set(names)
    for name in names:
        sc = scenario.load(name)
        assert sc.name == name and sc.description and sc.cluster.name == "demo"
        state, _ = make(name)
        assert state.cluster is not None and state.cluster.status == "ACTIVE"
        assert len(state.store.list("", "nodes")) == sum(ng.node_count for ng in sc.nodegroups)


def test_scenario_contents() -> None:
    healthy = scenario.load("healthy-1.28")
    assert healthy.cluster.version == "1.28"
    assert [(n.version, n.ami_type) for n in healthy.nodegroups] == [("1.28", "AL2023_x86_64_STANDARD")] * 2
    assert len(healthy.helm_releases) == 1 and healthy.workloads[0].pdb is not None
    assert scenario.load("removed-apis").cluster.version == "1.24"
    assert {o.manifest["kind"] for o in scenario.load("removed-apis").legacy_objects} == \
        {"PodSecurityPolicy", "CronJob"}
    assert scenario.load("al2-nodes-1.32").nodegroups[0].ami_type == "AL2_x86_64"
    tight = scenario.load("tight-subnets")
    assert sum(s.free_ips for s in tight.cluster.subnets) == 3
    pdb = scenario.load("blocking-pdb").workloads[0]
    assert pdb.pdb is not None and pdb.pdb.min_available == pdb.replicas
    behind = scenario.load("nodes-behind")
    assert {n.version for n in behind.nodegroups} == {"1.29", "1.28"} and behind.cluster.version == "1.29"


def _scenario_doc() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((SCENARIO_DIR / "healthy-1.28.yaml").read_text())
    return doc


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d["cluster"].__setitem__("version", 1.30), "cluster.version: 1.3 is a YAML number: quote"),
    (lambda d: d["cluster"].__setitem__("version", "1.x"), "cluster.version"),
    (lambda d: d.__setitem__("colour", "blue"), "unknown field(s) colour"),
    (lambda d: d["nodegroups"][0].__setitem__("ami_type", "UBUNTU"), "nodegroups[0].ami_type"),
    (lambda d: d["nodegroups"][0].__setitem__("version", "1.29"), "newer than the cluster's 1.28"),
    (lambda d: d["addons"][0].__setitem__("version", "1.18"), "addons[0].version"),
    (lambda d: d["workloads"][0].__setitem__("pdb", {"min_available": 1, "max_unavailable": 1}),
     "exactly one of min_available and max_unavailable"),
    (lambda d: d["cluster"]["subnets"].__delitem__(slice(1, None)), "at least two availability zones"),
    (lambda d: d.__setitem__("account_id", "12"), "12-digit"),
    (lambda d: d.__setitem__("faults", {"error_rate": {"DescribeCluster": 2}}), "between 0 and 1"),
    (lambda d: d.__setitem__("timing", {"cluster_update_seconds": -1}), "timing.cluster_update_seconds"),
])
def test_scenario_validation_errors_name_the_field(mutate: Any, message: str) -> None:
    doc = _scenario_doc()
    mutate(doc)
    with pytest.raises(ScenarioError) as exc:
        scenario.parse(doc, source="test.yaml")
    assert message in str(exc.value) and str(exc.value).startswith("test.yaml: ")


def test_scenario_from_a_file_and_unknown_names(tmp_path: Path) -> None:
    doc = _scenario_doc()
    doc["name"] = "custom"
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert scenario.load(str(path)).name == "custom"
    with pytest.raises(ScenarioError) as exc:
        scenario.load("nope")
    assert exc.value.hint is not None and "healthy-1.28" in exc.value.hint


def test_fault_overrides() -> None:
    f = Faults().with_overrides({"error_rate.DescribeCluster": "0.5", "error_code.DescribeCluster": "ServerException",
                                 "latency.*": "0.1", "fail.nodegroup": "NodeCreationFailure", "pdb_block": "yes",
                                 "kube_error_rate.list": "0.2", "kube_latency": "0.05", "kube_outage": "false",
                                 "kube_error_status": "429"})
    assert f.error_rate == {"DescribeCluster": 0.5} and f.error_code == {"DescribeCluster": "ServerException"}
    assert f.latency == {"*": 0.1} and f.pdb_block and not f.kube_outage and f.kube_error_status == 429
    assert f.fail_update["nodegroup"] == ("NodeCreationFailure", "Instances failed to join the kubernetes cluster")
    assert f.kube_error_rate == {"list": 0.2} and f.kube_latency == {"*": 0.05}
    assert f.with_overrides({"fail.nodegroup": ""}).fail_update == {}
    for bad in ({"error_code.X": "Boom"}, {"nope": "1"}, {"kube_error_status": "200"}, {"pdb_block": "maybe"}):
        with pytest.raises(ScenarioError):
            f.with_overrides(bad)


# -- objects --------------------------------------------------------------------------------------


def test_objects_deserialize_with_the_kubernetes_client() -> None:
    from kubernetes import client

    api = client.ApiClient()
    state, _ = make("removed-apis")
    kinds = {"Node": "V1Node", "Pod": "V1Pod", "Deployment": "V1Deployment", "DaemonSet": "V1DaemonSet",
             "ReplicaSet": "V1ReplicaSet", "Service": "V1Service", "ConfigMap": "V1ConfigMap", "Secret": "V1Secret",
             "Namespace": "V1Namespace", "PodDisruptionBudget": "V1PodDisruptionBudget"}
    seen = set()
    for obj in state.store.all_objects():
        model = kinds.get(obj["kind"])
        if model and obj["apiVersion"] in ("v1", "apps/v1", "policy/v1"):
            api.deserialize(json.dumps(obj), model, "application/json")
            seen.add(obj["kind"])
    assert seen == set(kinds)
    node = state.store.list("", "nodes")[0]
    info = node["status"]["nodeInfo"]
    assert info["kubeletVersion"].startswith("v1.24.17-eks-") and info["osImage"] == "Amazon Linux 2"
    assert node["metadata"]["labels"]["eks.amazonaws.com/nodegroup"] == "workers"
    assert node["spec"]["providerID"].startswith("aws:///us-east-1")


def test_helm_release_secret_is_encoded_as_helm_stores_it() -> None:
    state, _ = make("healthy-1.28")
    secret = state.store.get("", "secrets", "apps", "sh.helm.release.v1.podinfo.v2")
    assert secret is not None and secret["type"] == "helm.sh/release.v1"
    assert secret["metadata"]["labels"] == {"name": "podinfo", "owner": "helm", "status": "deployed",
                                            "version": "2", "modifiedAt": secret["metadata"]["labels"]["modifiedAt"]}
    payload = base64.b64decode(base64.b64decode(secret["data"]["release"]))
    assert payload[:3] == b"\x1f\x8b\x08"
    release = json.loads(gzip.decompress(payload))
    assert release["name"] == "podinfo" and release["version"] == 2 and release["namespace"] == "apps"
    assert release["info"]["status"] == "deployed"
    assert release["chart"]["metadata"]["version"] == "6.7.1"
    docs = [d for d in yaml.safe_load_all(release["manifest"]) if d]
    assert {d["kind"] for d in docs} == {"Deployment", "PodDisruptionBudget"}
    assert docs[0]["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    old = state.store.get("", "secrets", "apps", "sh.helm.release.v1.podinfo.v1")
    assert old is not None and old["metadata"]["labels"]["status"] == "superseded"
    dep = state.store.get("apps", "deployments", "apps", "podinfo")
    assert dep is not None and dep["metadata"]["annotations"]["meta.helm.sh/release-name"] == "podinfo"


def test_objects_under_removed_apis() -> None:
    state, _ = make("removed-apis")
    psp = state.store.get("policy", "podsecuritypolicies", None, "eks.privileged")
    assert psp is not None and psp["apiVersion"] == "policy/v1beta1"
    applied = json.loads(psp["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert applied["apiVersion"] == "policy/v1beta1" and applied["metadata"]["name"] == "eks.privileged"
    crons = {c["metadata"]["name"]: c for c in state.store.list("batch", "cronjobs")}
    assert crons["nightly-cleanup"]["apiVersion"] == "batch/v1beta1"
    assert crons["reports-nightly"]["apiVersion"] == "batch/v1beta1"  # from the Helm release's manifest
    corefile = state.store.get("", "configmaps", "kube-system", "coredns")["data"]["Corefile"]
    assert "\n      upstream\n" in corefile

    # After the hop to 1.25: the CronJobs are served as batch/v1, the PSP is gone.
    state.call("UpdateClusterVersion", {"name": "demo", "version": "1.25"})
    state.advance_by(1800)
    assert str(state.server_version()) == "1.25"
    assert state.store.get("policy", "podsecuritypolicies", None, "eks.privileged") is None
    crons = {c["metadata"]["name"]: c for c in state.store.list("batch", "cronjobs")}
    assert {c["apiVersion"] for c in crons.values()} == {"batch/v1"}
    last = json.loads(crons["nightly-cleanup"]["metadata"]["annotations"]
                      ["kubectl.kubernetes.io/last-applied-configuration"])
    assert last["apiVersion"] == "batch/v1beta1"


def test_addon_workload_images_follow_installed_versions() -> None:
    state, _ = make("healthy-1.28")
    store = state.store
    image = store.get("apps", "deployments", "kube-system", "coredns")["spec"]["template"]["spec"]["containers"][0]
    assert image["image"] == "602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/coredns:v1.10.1-eksbuild.18"
    assert store.get("", "services", "kube-system", "kube-dns")["spec"]["clusterIP"] == "172.20.0.10"
    assert store.get("policy", "poddisruptionbudgets", "kube-system", "coredns") is not None


# -- time -----------------------------------------------------------------------------------------


def test_updates_progress_lazily_with_the_clock_and_time_scale() -> None:
    state, clock = make("healthy-1.28", time_scale=0.01)  # 1800 s -> 18 real seconds
    update = state.call("UpdateClusterVersion", {"name": "demo", "version": "1.29"})["update"]
    clock.t += 17.9
    assert state.call("DescribeUpdate", {"name": "demo", "updateId": update["id"]})["update"]["status"] == \
        "InProgress"
    clock.t += 0.2
    assert state.call("DescribeUpdate", {"name": "demo", "updateId": update["id"]})["update"]["status"] == \
        "Successful"


def test_outage_window_and_version_switch() -> None:
    state, clock = make("healthy-1.28", time_scale=1.0,
                        faults={"kube_outage_start": "0.5", "kube_outage_length": "0.25"})
    state.call("UpdateClusterVersion", {"name": "demo", "version": "1.29"})
    timeline = []
    for t in (0, 899, 900, 1349, 1350, 1799, 1800):
        clock.t = 1000.0 + t
        state.advance()
        timeline.append((t, state.kube_available(), str(state.server_version()), state.cluster.status))
    assert timeline == [(0, True, "1.28", "UPDATING"), (899, True, "1.28", "UPDATING"),
                        (900, False, "1.28", "UPDATING"), (1349, False, "1.28", "UPDATING"),
                        (1350, True, "1.29", "UPDATING"), (1799, True, "1.29", "UPDATING"),
                        (1800, True, "1.29", "ACTIVE")]
    state2, clock2 = make("healthy-1.28", time_scale=1.0, faults={"kube_outage": "false"})
    state2.call("UpdateClusterVersion", {"name": "demo", "version": "1.29"})
    for t in range(0, 1801, 50):
        clock2.t = 1000.0 + t
        state2.advance()
        assert state2.kube_available()


def test_kube_faults() -> None:
    state, _ = make("healthy-1.28", faults={"kube_error_rate.list": "1", "kube_latency.pods": "0.2",
                                            "kube_error_status": "429"})
    assert state.kube_fault("list", "nodes") == (429, 0.0)
    assert state.kube_fault("get", "pods") == (0, 0.2)
    assert state.kube_fault("get", "nodes") is None
    assert state.git_version().startswith("v1.28.15-eks-") and state.server_version() == Minor(1, 28)


def test_same_seed_same_cluster() -> None:
    a, _ = make("healthy-1.28")
    b, _ = make("healthy-1.28")
    c, _ = make("healthy-1.28", seed=99)

    def names(s: SandboxState) -> list[str]:
        return sorted(n["metadata"]["name"] for n in s.store.list("", "nodes"))
    assert names(a) == names(b) != names(c)
    ua = a.call("UpdateClusterVersion", {"name": "demo", "version": "1.29"})["update"]["id"]
    ub = b.call("UpdateClusterVersion", {"name": "demo", "version": "1.29"})["update"]["id"]
    assert ua == ub


def test_terraform_mode_starts_empty_and_waits_for_create_cluster() -> None:
    state, clock = make("blocking-pdb", cluster_source="terraform", time_scale=1.0)
    assert state.cluster is None and not state.kube_available()
    assert state.call("ListClusters", {})["clusters"] == []
    with pytest.raises(AwsApiError) as exc:
        state.call("DescribeCluster", {"name": "demo"})
    assert exc.value.code == "ResourceNotFoundException"
    subnets = [s.id for s in state.scenario.cluster.subnets]
    state.call("CreateCluster", {"name": "demo", "version": "1.28", "roleArn": "arn:aws:iam::1:role/r",
                                 "resourcesVpcConfig": {"subnetIds": subnets}})
    with pytest.raises(AwsApiError) as exc:
        state.call("CreateNodegroup", {"clusterName": "demo", "nodegroupName": "ng", "subnets": subnets,
                                       "nodeRole": "arn:aws:iam::1:role/n"})
    assert exc.value.code == "InvalidRequestException"  # not ACTIVE yet
    clock.t += 600
    state.call("CreateNodegroup", {"clusterName": "demo", "nodegroupName": "ng", "subnets": subnets,
                                   "nodeRole": "arn:aws:iam::1:role/n", "scalingConfig": {"desiredSize": 2}})
    clock.t += 180
    state.advance()
    assert len(state.nodes_of("ng")) == 2
    pods = state.store.list("", "pods", "payments")
    assert len(pods) == 2 and all(p["spec"]["nodeName"] for p in pods)
    assert state.kube_available()


def test_insights_block_upgrade_option() -> None:
    sc = dataclasses.replace(scenario.load("removed-apis"), insights_block_upgrade=True)
    state = SandboxState(sc)
    with pytest.raises(AwsApiError) as exc:
        state.call("UpdateClusterVersion", {"name": "demo", "version": "1.25"})
    assert exc.value.code == "InvalidRequestException" and "Deprecated APIs removed" in exc.value.message
    assert state.call("UpdateClusterVersion", {"name": "demo", "version": "1.25", "force": True})["update"]


def test_status_is_json_serialisable() -> None:
    state, _ = make("nodes-behind")
    status = json.loads(json.dumps(state.status()))
    assert status["cluster"]["version"] == "1.29" and len(status["nodes"]) == 4
    assert copy.deepcopy(status) == status

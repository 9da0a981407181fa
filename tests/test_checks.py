from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from eks_tfup.aws import Addon, AddonVersion, Cluster, ClusterVersion, Insight, Nodegroup, Subnet, Update
from eks_tfup.checks import (
    AddonVer,
    ClientInfo,
    Facts,
    Level,
    PinnedNodegroup,
    PlanFacts,
    Status,
    TerraformInfo,
    blocking,
    run_checks,
)
from eks_tfup.kube import Container, Inventory, Node, Pdb, Selector, Storage, Workload
from eks_tfup.versions import Minor

ECR = "602401143452.dkr.ecr.us-east-1.amazonaws.com"


def deployment(name: str, replicas: int = 3, *, ns: str = "apps", image: str = "nginx:1.27", probe: bool = True,
               kind: str = "Deployment", host_paths: tuple[str, ...] = ()) -> Workload:
    labels = (("app", name),)
    return Workload(kind, ns, name, None if kind == "DaemonSet" else replicas, Selector(labels), labels,
                    (Container(name, image, probe),), host_paths)


def pdb(name: str, app: str, *, ns: str = "apps", min_available: str | None = None, max_unavailable: str | None = "1",
        allowed: int | None = None, expected: int | None = None) -> Pdb:
    return Pdb(ns, name, Selector((("app", app),)), min_available, max_unavailable, allowed, expected)


def inventory(**changes: object) -> Inventory:
    inv = Inventory(
        workloads=(deployment("web"),
                   deployment("aws-node", ns="kube-system", kind="DaemonSet",
                              image=f"{ECR}/amazon-k8s-cni:v1.18.3-eksbuild.3", probe=False),
                   deployment("coredns", 2, ns="kube-system", image=f"{ECR}/eks/coredns:v1.10.1-eksbuild.18")),
        pdbs=(pdb("web", "web"), pdb("coredns", "coredns", ns="kube-system")),
        host_path_pods=(), pod_count=6, storage=Storage((), (), (), ()), psps=(),
        corefile=".:53 {\n    errors\n    forward . /etc/resolv.conf\n}\n")
    return replace(inv, **changes)  # type: ignore[arg-type]


ADDON_VERSIONS = {
    "vpc-cni": [AddonVersion("v1.18.3-eksbuild.3", ("1.29", "1.28"), ()),
                AddonVersion("v1.19.2-eksbuild.1", ("1.29",), ("1.29",))],
    "coredns": [AddonVersion("v1.10.1-eksbuild.18", ("1.29",), ()),
                AddonVersion("v1.11.1-eksbuild.9", ("1.29",), ("1.29",))],
    "kube-proxy": [AddonVersion("v1.28.15-eksbuild.4", ("1.29",), ()),
                   AddonVersion("v1.29.10-eksbuild.3", ("1.29",), ("1.29",))],
}

URL = "https://ABC.gr7.us-east-1.eks.amazonaws.com"


def healthy(**changes: object) -> Facts:
    facts = Facts(
        cluster_name="demo", target=Minor(1, 29),
        cluster=Cluster("demo", "arn:aws:eks:us-east-1:1:cluster/demo", "1.28", "ACTIVE", URL, "eks.5",
                        ("subnet-a", "subnet-b")),
        updates=[Update("u1", "VersionUpdate", "Successful")],
        versions=[ClusterVersion(f"1.{m}", "STANDARD_SUPPORT", end_of_standard_support=date(2024, 11, 26))
                  for m in range(27, 32)],
        nodegroups=[Nodegroup("system", "1.28", "1.28.5-20240101", "AL2023_x86_64_STANDARD", "ACTIVE", 2,
                              subnets=("subnet-a",))],
        subnets=[Subnet("subnet-a", "us-east-1a", 100), Subnet("subnet-b", "us-east-1b", 100)],
        kube_server_url=URL + ":443/",
        nodes=[Node(f"n{i}", True, "v1.28.15-eks-1", "system", False) for i in range(2)],
        hcl_version="1.28", hcl_where="terraform.tfvars:1",
        insights=[Insight("i1", "Kubelet version skew", "UPGRADE_READINESS", "PASSING", "ok", "1.29")],
        addons=[Addon("coredns", "v1.10.1-eksbuild.18", "ACTIVE"),
                Addon("kube-proxy", "v1.28.15-eksbuild.4", "ACTIVE")],
        addon_versions=ADDON_VERSIONS, fargate_profiles=[], node_subnets=[Subnet("subnet-a", "us-east-1a", 100)],
        inventory=inventory(), client=ClientInfo("/usr/bin/kubectl", "v1.29.3"),
        terraform=TerraformInfo(">= 1.0", "1.9.8", (("registry.terraform.io/hashicorp/aws", "5.80.0"),), ()),
        plan=PlanFacts("plan.json", "0 to add, 3 to change, 0 to destroy", (), ()),
        today=date(2024, 6, 1),
    )
    return replace(facts, **changes)  # type: ignore[arg-type]


def failed_ids(facts: Facts) -> list[str]:
    return [r.id for r in blocking(run_checks(facts))]


def test_healthy_cluster_passes_everything() -> None:
    results = run_checks(healthy())
    assert {r.status for r in results} == {Status.PASS}, [(r.id, r.message) for r in results]


@pytest.mark.parametrize("changes,expected,fragment", [
    ({"target": Minor(1, 30)}, "EKS003", "1.28 -> 1.29 -> 1.30"),
    ({"target": Minor(1, 28)}, "EKS003", "already on 1.28"),
    ({"target": Minor(1, 27)}, "EKS003", "does not downgrade"),
    ({"updates": [Update("u2", "VersionUpdate", "InProgress")]}, "EKS002", "u2"),
    ({"versions": [ClusterVersion("1.28", "STANDARD_SUPPORT")]}, "EKS004", "does not offer 1.29"),
    ({"nodegroups": [Nodegroup("apps", "1.27", "1.27.9-1", "AL2_x86_64", "ACTIVE", 2)]}, "EKS005", "apps"),
    ({"subnets": [Subnet("subnet-a", "us-east-1a", 2), Subnet("subnet-b", "us-east-1b", 1)]}, "NET001", "3 free"),
    ({"kube_server_url": "https://other.example:6443"}, "K8S001", "another cluster"),
    ({"nodes": [Node("n1", False, "v1.28.1", "system", False)]}, "K8S002", "n1"),
    ({"nodes": [Node("old", True, "v1.25.9", None, False)]}, "K8S003", "old"),
    ({"hcl_version": "1.27"}, "TF001", "drifted"),
])
def test_each_refusal(changes: dict[str, object], expected: str, fragment: str) -> None:
    results = run_checks(healthy(**changes))
    bad = [r for r in results if r.blocking]
    assert [r.id for r in bad] == [expected]
    assert fragment in bad[0].message


def test_kubelet_behind_within_skew_is_a_warning() -> None:
    results = {r.id: r for r in run_checks(healthy(nodes=[Node("n1", True, "v1.27.3", "x", False)]))}
    assert results["K8S003"].status == Status.WARN
    assert not results["K8S003"].blocking


def test_missing_fact_is_an_error_that_blocks_and_ignore_suppresses() -> None:
    facts = healthy(nodes=None, missing={"nodes": "nodes: the Kubernetes API did not answer"})
    assert set(failed_ids(facts)) == {"K8S002", "K8S003"}
    results = run_checks(facts, ignore=("K8S002", "K8S003", "NOD002"))  # NOD002 (info) reads the nodes too
    assert not blocking(results)
    assert all(r.suppressed for r in results if r.status == Status.ERROR)


def test_unrequested_fact_skips_without_blocking() -> None:
    results = {r.id: r for r in run_checks(healthy(hcl_version=None))}
    assert results["TF001"].status == Status.SKIP and not results["TF001"].blocking


# -- the preflight catalogue: one failing (or warning) case per check, on hand-built facts ----------------

def results_by_id(facts: Facts) -> dict[str, object]:
    return {r.id: r for r in run_checks(facts)}


AL2_NG = Nodegroup("old", "1.32", "1.32.1-1", "AL2_x86_64", "ACTIVE", 2, subnets=("subnet-a",))
GPU_NG = Nodegroup("gpu", "1.28", "1.28.5-1", "AL2023_x86_64_NVIDIA", "ACTIVE", 1, subnets=("subnet-a",))


@pytest.mark.parametrize("changes,check,status,fragment", [
    # control plane
    ({"versions": [ClusterVersion("1.28", "EXTENDED_SUPPORT"), ClusterVersion("1.29", "STANDARD_SUPPORT")]},
     "EKS006", Status.FAIL, "$0.60 per cluster-hour instead of $0.10"),
    ({"today": date(2024, 10, 1)}, "EKS006", Status.WARN, "leaves standard support in 56 days"),
    ({"insights": [Insight("i", "Deprecated APIs removed in Kubernetes v1.29", "UPGRADE_READINESS", "ERROR", "used",
                           "1.29", "Update manifests", (), ("kubectl/v1.27 (/apis/flowcontrol, 30 requests)",))]},
     "EKS008", Status.FAIL, "Clients: kubectl/v1.27"),
    ({"insights": [Insight("i", "kube-proxy version skew", "UPGRADE_READINESS", "SOMETHING_NEW", "?", "1.29")]},
     "EKS009", Status.FAIL, "kube-proxy version skew [SOMETHING_NEW]"),
    # network
    ({"node_subnets": [Subnet("subnet-a", "us-east-1a", 1)]}, "NET002", Status.FAIL, "system: 1 free IP"),
    # nodes
    ({"nodegroups": [AL2_NG], "target": Minor(1, 33), "cluster": Cluster("demo", "arn", "1.32", "ACTIVE", URL,
                                                                          "eks.1", ("subnet-a",))},
     "NOD001", Status.FAIL, "Amazon Linux 2 has no AMIs for 1.33"),
    ({"nodes": [Node("self-1", True, "v1.28.3", None, False)]}, "NOD002", Status.WARN, "1 self-managed node"),
    ({"nodegroups": [Nodegroup("c", "1.28", "", "CUSTOM", "ACTIVE", 2, launch_template=True)]},
     "NOD003", Status.FAIL, "custom AMI"),
    ({"nodegroups": [GPU_NG]}, "NOD004", Status.FAIL, "no NVIDIA device plugin"),
    # add-ons
    ({"addons": [Addon("coredns", "v1.9.3-eksbuild.11", "ACTIVE")]}, "ADD001", Status.FAIL,
     "coredns v1.9.3-eksbuild.11 is not compatible with 1.29: move to v1.11.1-eksbuild.9"),
    ({"addons": [Addon("vpc-cni", "v1.17.1-eksbuild.1", "ACTIVE")]}, "ADD001", Status.FAIL,
     "move to v1.18.3-eksbuild.3"),
    ({"addons": [Addon("coredns", "v1.10.1-eksbuild.18", "DEGRADED")]}, "ADD002", Status.FAIL, "coredns (DEGRADED)"),
    ({"inventory": inventory(workloads=(deployment("aws-node", ns="kube-system", kind="DaemonSet",
                                                   image=f"{ECR}/amazon-k8s-cni:v1.11.4"),))},
     "ADD003", Status.FAIL, "below v1.12.0"),
    ({"target": Minor(1, 25), "cluster": Cluster("demo", "arn", "1.24", "ACTIVE", URL, "eks.1", ("subnet-a",)),
      "inventory": inventory(workloads=(
          deployment("lbc", image="public.ecr.aws/eks/aws-load-balancer-controller:v2.4.2"),))},
     "ADD004", Status.FAIL, "below v2.4.7"),
    ({"inventory": inventory(storage=Storage(("pv-1",), (), ("gp2",), ()))}, "ADD005", Status.FAIL, "pv-1"),
    ({"inventory": inventory(workloads=(
        deployment("ca", image="registry.k8s.io/autoscaling/cluster-autoscaler:v1.28.2"),))},
     "ADD006", Status.WARN, "move the Cluster Autoscaler image to v1.29.x"),
    ({"inventory": inventory(corefile=".:53 {\n    proxy . /etc/resolv.conf\n    upstream\n}\n")},
     "ADD007", Status.FAIL, "bare `upstream`"),
    # workloads
    ({"target": Minor(1, 25), "cluster": Cluster("demo", "arn", "1.24", "ACTIVE", URL, "eks.1", ("subnet-a",)),
      "inventory": inventory(psps=("eks.privileged", "restricted"))}, "WRK001", Status.FAIL, "restricted"),
    ({"inventory": inventory(workloads=(deployment("agent", kind="DaemonSet", host_paths=("/var/run/docker.sock",)),
                                        ))}, "WRK002", Status.FAIL, "DaemonSet/apps/agent"),
    ({"inventory": inventory(workloads=(deployment("solo", 1),))}, "WRK003", Status.FAIL, "Deployment/apps/solo"),
    ({"inventory": inventory(pdbs=())}, "WRK004", Status.FAIL, "Deployment/apps/web"),
    ({"inventory": inventory(pdbs=(pdb("web", "web", min_available="3", max_unavailable=None),))},
     "WRK005", Status.FAIL, "apps/web (minAvailable 3"),
    ({"inventory": inventory(pdbs=(pdb("web", "web", min_available="100%", max_unavailable=None),))},
     "WRK005", Status.FAIL, "minAvailable 100%"),
    ({"inventory": inventory(pdbs=(pdb("web", "web", allowed=0, expected=3),))}, "WRK005", Status.FAIL,
     "0 disruption(s) allowed"),
    ({"inventory": inventory(workloads=(deployment("web", probe=False),))}, "WRK006", Status.FAIL,
     "Deployment/apps/web"),
    # terraform
    ({"plan": PlanFacts("plan.json", "1 to destroy", ("the plan replaces aws_eks_cluster.this",), ())},
     "TF002", Status.FAIL, "replaces aws_eks_cluster.this"),
    ({"terraform": TerraformInfo(None, None, (), (PinnedNodegroup("main.tf: aws_eks_node_group.a", "version",
                                                                  "1.28"),))},
     "TF004", Status.FAIL, "aws_eks_node_group.a version = 1.28"),
    # client
    ({"client": ClientInfo("/usr/bin/kubectl", "v1.26.1")}, "CLI001", Status.FAIL, "more than one minor"),
    ({"client": ClientInfo(None)}, "CLI001", Status.SKIP, "not on PATH"),
])
def test_each_preflight_finding(changes: dict[str, object], check: str, status: Status, fragment: str) -> None:
    result = results_by_id(healthy(**changes))[check]
    assert result.status == status, result  # type: ignore[attr-defined]
    assert fragment in result.message, result.message  # type: ignore[attr-defined]


def test_required_failures_of_new_checks_block_bump() -> None:
    facts = healthy(inventory=inventory(pdbs=(pdb("web", "web", max_unavailable="0"),)))
    assert failed_ids(facts) == ["WRK005"]


def test_recommended_and_info_failures_never_block() -> None:
    facts = healthy(inventory=inventory(workloads=(deployment("solo", 1, probe=False),)),
                    client=ClientInfo("/usr/bin/kubectl", "v1.20.0"),
                    nodes=[Node("self", True, "v1.28.1", None, False)])
    results = run_checks(facts)
    flagged = {r.id for r in results if r.status in (Status.FAIL, Status.WARN)}
    assert flagged >= {"WRK003", "WRK006", "CLI001", "NOD002"}
    assert not blocking(results)
    assert all(r.level != Level.REQUIRED for r in results if r.status == Status.FAIL)


def test_checks_for_later_targets_skip_with_the_reason() -> None:
    facts = healthy(target=Minor(1, 24), cluster=Cluster("demo", "arn", "1.23", "ACTIVE", URL, "eks.1", ("subnet-a",)),
                    inventory=inventory(psps=("restricted",)))
    results = {r.id: r for r in run_checks(facts)}
    for check in ("WRK001", "ADD004"):  # 1.25+ only
        assert results[check].status == Status.SKIP
        assert "1.25 and later" in results[check].message


def test_self_managed_addons_are_read_from_their_images() -> None:
    old_proxy = deployment("kube-proxy", ns="kube-system", kind="DaemonSet",
                           image=f"{ECR}/eks/kube-proxy:v1.27.16-minimal-eksbuild.14")
    facts = healthy(addons=[], inventory=inventory(workloads=(old_proxy,)))
    result = {r.id: r for r in run_checks(facts)}["ADD001"]
    assert result.status == Status.FAIL
    assert "kube-proxy v1.27.16-minimal-eksbuild.14 (self-managed)" in result.message
    assert "move to v1.29.10-eksbuild.3" in result.message


@pytest.mark.parametrize("text,parsed", [
    ("v1.16.0-eksbuild.1", AddonVer(1, 16, 0, 1)),
    ("v1.28.15-minimal-eksbuild.4", AddonVer(1, 28, 15, 4)),
    ("v2.4.7", AddonVer(2, 4, 7, 0)),
    ("1.9", AddonVer(1, 9, 0, 0)),
    ("latest", None),
])
def test_addon_version_parsing(text: str, parsed: AddonVer | None) -> None:
    assert AddonVer.parse(text) == parsed
    assert AddonVer(1, 12, 0) > AddonVer(1, 9, 3, 22)  # numeric, not lexical

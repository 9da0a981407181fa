from __future__ import annotations

from dataclasses import replace

import pytest

from eks_tfup.aws import Cluster, ClusterVersion, Nodegroup, Subnet, Update
from eks_tfup.checks import Facts, Status, blocking, run_checks
from eks_tfup.kube import Node
from eks_tfup.versions import Minor

URL = "https://ABC.gr7.us-east-1.eks.amazonaws.com"


def healthy(**changes: object) -> Facts:
    facts = Facts(
        cluster_name="demo", target=Minor(1, 29),
        cluster=Cluster("demo", "arn:aws:eks:us-east-1:1:cluster/demo", "1.28", "ACTIVE", URL, "eks.5",
                        ("subnet-a", "subnet-b")),
        updates=[Update("u1", "VersionUpdate", "Successful")],
        versions=[ClusterVersion(f"1.{m}", "STANDARD_SUPPORT") for m in range(27, 32)],
        nodegroups=[Nodegroup("system", "1.28", "1.28.5-20240101", "AL2023_x86_64_STANDARD", "ACTIVE", 2)],
        subnets=[Subnet("subnet-a", "us-east-1a", 100), Subnet("subnet-b", "us-east-1b", 100)],
        kube_server_url=URL + ":443/",
        nodes=[Node(f"n{i}", True, "v1.28.15-eks-1", "system", False) for i in range(2)],
        hcl_version="1.28", hcl_where="terraform.tfvars:1",
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
    results = run_checks(facts, ignore=("K8S002", "K8S003"))
    assert not blocking(results)
    assert all(r.suppressed for r in results if r.status == Status.ERROR)


def test_unrequested_fact_skips_without_blocking() -> None:
    results = {r.id: r for r in run_checks(healthy(hcl_version=None))}
    assert results["TF001"].status == Status.SKIP and not results["TF001"].blocking

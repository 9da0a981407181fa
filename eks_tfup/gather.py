"""Gather the facts the checks and the report read: once, concurrently, with paginated calls."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from eks_tfup.aws import Addon, Aws, Cluster, Nodegroup
from eks_tfup.checks import Facts
from eks_tfup.errors import AwsError, EksTfupError, RefusedError
from eks_tfup.kube import Kube, Node, Pod, failing
from eks_tfup.versions import Minor

T = TypeVar("T")


def describe_or_refuse(aws: Aws, cluster: str) -> Cluster:
    try:
        return aws.describe_cluster(cluster)
    except AwsError as exc:
        if exc.code == "ResourceNotFoundException":
            raise RefusedError(f"cluster {cluster} not found in region {aws.region or '(default)'}") from exc
        raise


def gather_facts(aws: Aws, kube: Kube | None, cluster_name: str, target: Minor, *,
                 hcl_version: str | None = None, hcl_where: str | None = None,
                 hcl_error: str | None = None) -> Facts:
    """The cluster first (everything else hangs off it), then the rest in parallel threads."""
    cluster = describe_or_refuse(aws, cluster_name)
    missing: dict[str, str] = {}
    if hcl_error:
        missing["hcl_version"] = hcl_error

    jobs: dict[str, Callable[[], Any]] = {
        "updates": lambda: aws.cluster_updates(cluster_name),
        "versions": aws.cluster_versions,
        "nodegroups": lambda: aws.nodegroups(cluster_name),
        "subnets": lambda: aws.subnets(cluster.subnet_ids),
    }
    if kube is not None:
        jobs["kube_server_url"] = lambda: kube.server_url
        jobs["nodes"] = kube.nodes
    results: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(fn) for name, fn in jobs.items()}
        for name, fut in futures.items():
            try:
                results[name] = fut.result()
            except EksTfupError as exc:
                missing[name] = f"{name}: {exc}"
    return Facts(
        cluster_name=cluster_name, target=target, cluster=cluster,
        updates=results.get("updates"), versions=results.get("versions"),
        nodegroups=results.get("nodegroups"), subnets=results.get("subnets"),
        kube_server_url=results.get("kube_server_url"), nodes=results.get("nodes"),
        hcl_version=hcl_version, hcl_where=hcl_where, missing=missing,
    )


@dataclass(frozen=True)
class Snapshot:
    """What the report's before/after table shows."""

    control_plane: str
    platform_version: str
    status: str
    nodegroups: tuple[Nodegroup, ...]
    kubelets: tuple[tuple[str, int], ...]  # kubelet version -> node count
    addons: tuple[Addon, ...]
    failing_pods: tuple[tuple[str, str], ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "control_plane": self.control_plane, "platform_version": self.platform_version,
            "status": self.status,
            "nodegroups": {ng.name: {"version": ng.version, "release_version": ng.release_version,
                                     "ami_type": ng.ami_type, "status": ng.status} for ng in self.nodegroups},
            "kubelets": dict(self.kubelets),
            "addons": {a.name: a.version for a in self.addons},
            "failing_pods": dict(self.failing_pods),
        }


def kubelet_counts(nodes: list[Node]) -> tuple[tuple[str, int], ...]:
    counts: dict[str, int] = {}
    for n in nodes:
        counts[n.kubelet_version] = counts.get(n.kubelet_version, 0) + 1
    return tuple(sorted(counts.items()))


def snapshot(aws: Aws, kube: Kube, cluster_name: str) -> Snapshot:
    with ThreadPoolExecutor(max_workers=5) as pool:
        f_cluster = pool.submit(aws.describe_cluster, cluster_name)
        f_ngs = pool.submit(aws.nodegroups, cluster_name)
        f_addons = pool.submit(aws.addons, cluster_name)
        f_nodes = pool.submit(kube.nodes)
        f_pods = pool.submit(kube.pods)
        cluster = f_cluster.result()
        nodes: list[Node] = f_nodes.result()
        pods: list[Pod] = f_pods.result()
        return Snapshot(
            control_plane=cluster.version, platform_version=cluster.platform_version, status=cluster.status,
            nodegroups=tuple(f_ngs.result()), kubelets=kubelet_counts(nodes), addons=tuple(f_addons.result()),
            failing_pods=tuple(sorted(failing(pods).items())),
        )

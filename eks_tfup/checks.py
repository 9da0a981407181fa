"""Checks run before anything changes: a catalogue of coded, graded checks over facts gathered once.

Each check is a pure function of `Facts` (gathered concurrently, with paginated list calls), so it
is unit-testable on hand-built data and fast on big clusters. A check that cannot run because a fact
could not be gathered reports `skip` with the reason, never a silent pass.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from eks_tfup.aws import Cluster, ClusterVersion, Nodegroup, Subnet, Update
from eks_tfup.kube import Node
from eks_tfup.versions import Minor, format_path, hop_path, kubelet_skew_ok

MIN_FREE_IPS = 5  # EKS needs up to 5 free IPs in the cluster subnets to update the control plane


class Level(enum.StrEnum):
    REQUIRED = "required"  # blocks the upgrade
    RECOMMENDED = "recommended"  # warns
    INFO = "info"


class Status(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"  # passes, with something the user should know
    SKIP = "skip"  # not applicable, or its facts were deliberately not gathered
    ERROR = "error"  # could not run: a fact could not be gathered (blocks when the check is required)


@dataclass(frozen=True)
class Facts:
    """Everything the checks read, gathered once before they run. None: not gathered (see `missing`)."""

    cluster_name: str
    target: Minor
    cluster: Cluster | None = None
    updates: list[Update] | None = None
    versions: list[ClusterVersion] | None = None
    nodegroups: list[Nodegroup] | None = None
    subnets: list[Subnet] | None = None
    kube_server_url: str | None = None
    nodes: list[Node] | None = None
    hcl_version: str | None = None
    hcl_where: str | None = None
    today: date = field(default_factory=date.today)
    missing: dict[str, str] = field(default_factory=dict)  # fact name -> why it could not be gathered

    @property
    def current(self) -> Minor | None:
        return Minor.try_parse(self.cluster.version) if self.cluster else None


@dataclass(frozen=True)
class Outcome:
    status: Status
    message: str
    resources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Check:
    id: str
    level: Level
    area: str
    title: str
    remediation: str
    doc: str
    needs: tuple[str, ...]  # Facts fields this check reads; a missing one makes it skip
    run: Callable[[Facts], Outcome]


@dataclass(frozen=True)
class Result:
    id: str
    level: Level
    area: str
    title: str
    status: Status
    message: str
    resources: tuple[str, ...]
    remediation: str
    doc: str
    suppressed: bool = False

    @property
    def blocking(self) -> bool:
        return (self.status in (Status.FAIL, Status.ERROR) and self.level == Level.REQUIRED
                and not self.suppressed)

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "level": str(self.level), "area": self.area, "title": self.title,
                "status": str(self.status), "message": self.message, "resources": list(self.resources),
                "remediation": self.remediation, "doc": self.doc, "suppressed": self.suppressed}


def _ok(msg: str) -> Outcome:
    return Outcome(Status.PASS, msg)


def _fail(msg: str, resources: tuple[str, ...] = ()) -> Outcome:
    return Outcome(Status.FAIL, msg, resources)


# -- the checks ------------------------------------------------------------------------------------

def _cluster_active(f: Facts) -> Outcome:
    assert f.cluster is not None
    if f.cluster.status != "ACTIVE":
        return _fail(f"cluster {f.cluster.name} is {f.cluster.status}, not ACTIVE")
    if f.cluster.health_issues:
        return _fail(f"cluster has health issues: {'; '.join(f.cluster.health_issues)}")
    return _ok(f"cluster {f.cluster.name} is ACTIVE on {f.cluster.version}")


def _no_update_in_progress(f: Facts) -> Outcome:
    assert f.updates is not None and f.nodegroups is not None
    busy = [f"update {u.id} ({u.type})" for u in f.updates if u.status == "InProgress"]
    busy += [f"nodegroup {ng.name} ({ng.status})" for ng in f.nodegroups if ng.status == "UPDATING"]
    if busy:
        return _fail(f"an update is in progress: {', '.join(busy)}", tuple(busy))
    return _ok("no update in progress")


def _one_minor(f: Facts) -> Outcome:
    current = f.current
    assert current is not None
    if f.target == current:
        return _fail(f"the control plane is already on {current}")
    if f.target < current:
        return _fail(f"{f.target} is below the control plane's {current}: EKS does not downgrade")
    if f.target != current.next():
        return _fail(f"EKS upgrades one minor at a time: {current} -> {f.target} must go "
                     f"{format_path(hop_path(current, f.target))}, one bump per hop")
    return _ok(f"{current} -> {f.target} is one minor")


def _target_offered(f: Facts) -> Outcome:
    assert f.versions is not None
    match = next((v for v in f.versions if v.version == str(f.target)), None)
    if match is None:
        offered = ", ".join(sorted((v.version for v in f.versions), key=Minor.parse))
        return _fail(f"EKS does not offer {f.target} (offered: {offered})")
    if match.status.upper() == "UNSUPPORTED":
        return _fail(f"{f.target} is no longer supported by EKS")
    return _ok(f"EKS offers {f.target} ({match.status or 'status unknown'})")


def _nodegroups_ready(f: Facts) -> Outcome:
    assert f.nodegroups is not None and f.cluster is not None
    current = f.current
    bad = []
    for ng in f.nodegroups:
        ng_minor = Minor.try_parse(ng.version)
        if ng.status != "ACTIVE":
            bad.append(f"{ng.name}: {ng.status}")
        elif ng_minor != current:
            bad.append(f"{ng.name}: on {ng.version}, control plane on {current}")
        elif ng.health_issues:
            bad.append(f"{ng.name}: {'; '.join(ng.health_issues)}")
    if bad:
        return _fail("managed node groups must be ACTIVE and on the control plane's minor before it moves: "
                     + ", ".join(bad), tuple(b.split(":")[0] for b in bad))
    return _ok(f"{len(f.nodegroups)} managed node group(s) ACTIVE on {current}")


def _free_ips(f: Facts) -> Outcome:
    assert f.subnets is not None
    total = sum(s.free_ips for s in f.subnets)
    zones = {s.availability_zone for s in f.subnets if s.free_ips > 0}
    detail = ", ".join(f"{s.id}={s.free_ips}" for s in f.subnets)
    if total < MIN_FREE_IPS:
        return _fail(f"the cluster subnets have {total} free IPs; EKS needs {MIN_FREE_IPS} ({detail})",
                     tuple(s.id for s in f.subnets))
    if len(zones) < 2:
        return Outcome(Status.WARN, f"free IPs are in fewer than 2 availability zones ({detail})")
    return _ok(f"{total} free IPs in {len(zones)} availability zones")


def _kube_context(f: Facts) -> Outcome:
    assert f.cluster is not None and f.kube_server_url is not None
    if _norm_url(f.kube_server_url) != _norm_url(f.cluster.endpoint):
        return _fail(f"the kube context points at {f.kube_server_url}, but cluster {f.cluster.name}'s endpoint is "
                     f"{f.cluster.endpoint}: refusing to act on another cluster")
    return _ok("the kube context is this cluster")


def _norm_url(url: str) -> str:
    url = url.strip().rstrip("/").lower()
    if url.startswith("https://") and url.endswith(":443"):
        url = url[: -len(":443")]
    return url


def _nodes_ready(f: Facts) -> Outcome:
    assert f.nodes is not None
    not_ready = [n.name for n in f.nodes if not n.ready]
    if not_ready:
        return _fail(f"{len(not_ready)} node(s) not Ready: {', '.join(not_ready[:10])}", tuple(not_ready))
    return _ok(f"{len(f.nodes)} node(s) Ready")


def _kubelet_skew(f: Facts) -> Outcome:
    assert f.nodes is not None
    current = f.current
    assert current is not None
    beyond, behind, unknown = [], [], []
    # Skew is judged against where the control plane will be (a bad target is EKS003's business).
    after = max(f.target, current)
    for n in f.nodes:
        kubelet = Minor.try_parse(n.kubelet_version)
        if kubelet is None:
            unknown.append(n.name)
        elif not kubelet_skew_ok(after, kubelet):
            beyond.append(f"{n.name} ({n.kubelet_version})")
        elif kubelet != current:
            behind.append(f"{n.name} ({n.kubelet_version})")
    if beyond:
        return _fail(f"kubelets too far behind {after} for the skew policy: {', '.join(beyond[:10])}",
                     tuple(b.split()[0] for b in beyond))
    if behind or unknown:
        parts = []
        if behind:
            parts.append(f"{len(behind)} node(s) behind the control plane's {current} (within skew): "
                         + ", ".join(behind[:10]))
        if unknown:
            parts.append(f"unknown kubelet version on {', '.join(unknown[:10])}")
        return Outcome(Status.WARN, "; ".join(parts), tuple(b.split()[0] for b in behind))
    return _ok(f"every kubelet on {current}")


def _hcl_drift(f: Facts) -> Outcome:
    assert f.cluster is not None and f.hcl_version is not None
    if Minor.try_parse(f.hcl_version) != f.current:
        return _fail(f"the HCL says {f.hcl_version} ({f.hcl_where}) but the control plane is on {f.cluster.version}: "
                     "Terraform and the cluster have drifted")
    return _ok(f"the HCL matches the control plane ({f.hcl_version} at {f.hcl_where})")


CATALOGUE: tuple[Check, ...] = (
    Check("EKS001", Level.REQUIRED, "control plane", "Cluster ACTIVE and healthy",
          "Wait for the cluster to be ACTIVE and resolve its health issues.",
          "https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html", ("cluster",), _cluster_active),
    Check("EKS002", Level.REQUIRED, "control plane", "No update in progress",
          "Wait for the update in progress to finish (aws eks list-updates / describe-update).",
          "https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html",
          ("cluster", "updates", "nodegroups"), _no_update_in_progress),
    Check("EKS003", Level.REQUIRED, "control plane", "Target is the next minor",
          "Upgrade one minor at a time: run one bump per hop.",
          "https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html", ("cluster",), _one_minor),
    Check("EKS004", Level.REQUIRED, "control plane", "Target offered by EKS",
          "Pick a version EKS offers (aws eks describe-cluster-versions).",
          "https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html",
          ("cluster", "versions"), _target_offered),
    Check("EKS005", Level.REQUIRED, "nodes", "Managed node groups ACTIVE on the control plane's minor",
          "Upgrade the node groups to the control plane's version first.",
          "https://docs.aws.amazon.com/eks/latest/userguide/update-managed-node-group.html",
          ("cluster", "nodegroups"), _nodegroups_ready),
    Check("NET001", Level.REQUIRED, "network", "At least 5 free IPs in the cluster subnets",
          "Free IP addresses in the cluster subnets (or add subnets with UpdateClusterConfiguration).",
          "https://docs.aws.amazon.com/eks/latest/userguide/network-reqs.html", ("subnets",), _free_ips),
    Check("K8S001", Level.REQUIRED, "kubernetes", "Kube context is this cluster",
          "Select the right context (kube_context in eks-tfup.toml, or aws eks update-kubeconfig).",
          "https://docs.aws.amazon.com/eks/latest/userguide/create-kubeconfig.html",
          ("cluster", "kube_server_url"), _kube_context),
    Check("K8S002", Level.REQUIRED, "nodes", "Every node Ready",
          "Fix or replace the nodes that are not Ready.",
          "https://kubernetes.io/docs/concepts/architecture/nodes/#condition", ("nodes",), _nodes_ready),
    Check("K8S003", Level.REQUIRED, "nodes", "Kubelet versions within the skew policy of the target",
          "Upgrade the nodes to the control plane's minor before moving the control plane.",
          "https://kubernetes.io/releases/version-skew-policy/", ("cluster", "nodes"), _kubelet_skew),
    Check("TF001", Level.REQUIRED, "terraform", "HCL version equals the control plane",
          "Reconcile the drift: make the HCL's version match the cluster (or apply the pending change) first.",
          "https://developer.hashicorp.com/terraform/tutorials/state/resource-drift",
          ("cluster", "hcl_version"), _hcl_drift),
)


def run_checks(facts: Facts, *, catalogue: tuple[Check, ...] = CATALOGUE,
               ignore: tuple[str, ...] = ()) -> list[Result]:
    results = []
    for check in catalogue:
        missing = [n for n in check.needs if getattr(facts, n) is None]
        errors = [facts.missing[n] for n in missing if n in facts.missing]
        if errors:
            out = Outcome(Status.ERROR, "could not run: " + "; ".join(errors))
        elif missing:
            out = Outcome(Status.SKIP, f"skipped: {', '.join(missing)} not gathered")
        else:
            out = check.run(facts)
        results.append(Result(check.id, check.level, check.area, check.title, out.status, out.message,
                              out.resources, check.remediation, check.doc,
                              suppressed=check.id in ignore and out.status in (Status.FAIL, Status.ERROR)))
    return results


def blocking(results: list[Result]) -> list[Result]:
    return [r for r in results if r.blocking]

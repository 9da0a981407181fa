"""Checks run before anything changes: a catalogue of coded, graded checks over facts gathered once.

Each check is a pure function of `Facts` (gathered concurrently, with paginated list calls), so it
is unit-testable on hand-built data and fast on big clusters. A check that cannot run because a fact
could not be gathered reports `skip` with the reason, never a silent pass.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from eks_tfup.aws import Addon, AddonVersion, Cluster, ClusterVersion, Insight, Nodegroup, Subnet, Update
from eks_tfup.kube import Inventory, Node, Workload, image_tag
from eks_tfup.versions import Minor, format_path, hop_path, kubelet_skew_ok

if TYPE_CHECKING:
    from eks_tfup.charts import ChartCheck

MIN_FREE_IPS = 5  # EKS needs up to 5 free IPs in the cluster subnets to update the control plane
STANDARD_PRICE = 0.10  # USD per cluster-hour in standard support
EXTENDED_PRICE = 0.60  # USD per cluster-hour in extended support
HOURS_PER_MONTH = 730
SUPPORT_WARNING_DAYS = 90  # warn this long before the end of standard support


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
    insights: list[Insight] | None = None  # UPGRADE_READINESS insights for the target
    addons: list[Addon] | None = None  # EKS-managed add-ons
    addon_versions: dict[str, list[AddonVersion]] | None = None  # add-on name -> versions compatible with target
    fargate_profiles: list[str] | None = None
    node_subnets: list[Subnet] | None = None  # the subnets of the managed node groups
    inventory: Inventory | None = None  # workloads, PDBs, pods with hostPath volumes, storage, PSPs, Corefile
    client: ClientInfo | None = None
    terraform: TerraformInfo | None = None
    plan: PlanFacts | None = None
    today: date = field(default_factory=date.today)
    missing: dict[str, str] = field(default_factory=dict)  # fact name -> why it could not be gathered
    not_gathered: dict[str, str] = field(default_factory=dict)  # fact name -> why it was deliberately not asked

    @property
    def current(self) -> Minor | None:
        return Minor.try_parse(self.cluster.version) if self.cluster else None


@dataclass(frozen=True)
class ClientInfo:
    """kubectl on PATH: its path and client version (None when absent or unreadable)."""

    kubectl: str | None
    version: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class PinnedNodegroup:
    where: str  # file and block, e.g. "main.tf: module.eks eks_managed_node_groups.apps"
    attribute: str
    value: str


@dataclass(frozen=True)
class TerraformInfo:
    required_version: str | None  # the `required_version` constraint
    state_version: str | None  # the Terraform version that last wrote the (local) state
    providers: tuple[tuple[str, str], ...]  # (source, version) locked in .terraform.lock.hcl
    pinned: tuple[PinnedNodegroup, ...]  # node groups whose version will not follow the cluster's


@dataclass(frozen=True)
class PlanFacts:
    """A saved plan for the target (from the last run, or given), as judged by `eks_tfup.plan.analyse`."""

    file: str
    summary: str
    refusals: tuple[str, ...]
    warnings: tuple[str, ...]


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
    since: Minor | None = None  # applies to targets at or above this minor only

    @property
    def targets(self) -> str:
        return f"{self.since}+" if self.since else "all"

    def applies_to(self, target: Minor) -> bool:
        return self.since is None or target >= self.since


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
                     f"{format_path(hop_path(current, f.target))}: one bump per hop, or `bump {f.target} --hops`")
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


def _warn(msg: str, resources: tuple[str, ...] = ()) -> Outcome:
    return Outcome(Status.WARN, msg, resources)


def _skip(msg: str) -> Outcome:
    return Outcome(Status.SKIP, msg)


def _few(items: list[str], n: int = 10) -> str:
    more = f" (and {len(items) - n} more)" if len(items) > n else ""
    return ", ".join(items[:n]) + more


# -- add-on versions: `v1.16.0-eksbuild.1`, `v1.28.15-minimal-eksbuild.4`, `v2.4.7`, `1.9.3` -----------

_ADDON_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$")
_EKSBUILD = re.compile(r"eksbuild\.(\d+)")


@dataclass(frozen=True, order=True)
class AddonVer:
    """An add-on or image version; not PEP 440, so parsed here: (major, minor, patch, eksbuild)."""

    major: int
    minor: int
    patch: int = 0
    build: int = 0

    @classmethod
    def parse(cls, text: str | None) -> AddonVer | None:
        m = _ADDON_VERSION.match((text or "").strip())
        if not m:
            return None
        b = _EKSBUILD.search(text or "")
        return cls(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0), int(b.group(1)) if b else 0)

    @property
    def release(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}"


# The core add-ons and how each runs when installed without the EKS add-on API (self-managed).
SELF_MANAGED: dict[str, tuple[str, str, str]] = {  # add-on -> (kind, kube-system name, image repository part)
    "vpc-cni": ("DaemonSet", "aws-node", "amazon-k8s-cni"),
    "kube-proxy": ("DaemonSet", "kube-proxy", "kube-proxy"),
    "coredns": ("Deployment", "coredns", "coredns"),
    "aws-ebs-csi-driver": ("Deployment", "ebs-csi-controller", "aws-ebs-csi-driver"),
}


@dataclass(frozen=True)
class InstalledAddon:
    name: str
    version: str
    managed: bool  # through the EKS add-on API (else: a self-managed workload, version from its image tag)


def installed_addons(f: Facts) -> list[InstalledAddon]:
    """EKS-managed add-ons, plus the core add-ons running self-managed in kube-system."""
    out = [InstalledAddon(a.name, a.version, True) for a in f.addons or []]
    managed = {a.name for a in out}
    if f.inventory is not None:
        for name, (kind, wl_name, repo) in SELF_MANAGED.items():
            if name in managed:
                continue
            wl = _workload(f.inventory, kind, "kube-system", wl_name)
            image = wl.image_of(repo) if wl else None
            tag = image_tag(image) if image else None
            if tag:
                out.append(InstalledAddon(name, tag, False))
    return sorted(out, key=lambda a: a.name)


def _workload(inv: Inventory, kind: str, namespace: str, name: str) -> Workload | None:
    return next((w for w in inv.workloads if (w.kind, w.namespace, w.name) == (kind, namespace, name)), None)


def _images(inv: Inventory, fragment: str) -> list[tuple[Workload, str]]:
    """(workload, image) for every workload running an image whose repository contains `fragment`."""
    out = []
    for w in inv.workloads:
        image = w.image_of(fragment)
        if image:
            out.append((w, image))
    return out


def _move_to(name: str, current: AddonVer | None, versions: list[AddonVersion], target: Minor) -> str | None:
    """The version to move to: EKS's default for the target; for the VPC CNI, the next minor only."""
    parsed: list[tuple[AddonVer, str]] = sorted(
        ((ver, v.version) for v in versions if (ver := AddonVer.parse(v.version)) is not None), reverse=True)
    if name == "vpc-cni" and current is not None:
        # The VPC CNI is upgraded one minor at a time: the newest build of the next minor up.
        step = next((text for ver, text in parsed if (ver.major, ver.minor) == (current.major, current.minor + 1)),
                    None)
        newer = [(ver, text) for ver, text in parsed if ver > current]
        if step or newer:
            return step or min(newer)[1]
    default = next((v.version for v in versions if str(target) in v.default_for), None)
    return default or (parsed[0][1] if parsed else None)


# -- control plane -------------------------------------------------------------------------------

def _support(f: Facts) -> Outcome:
    assert f.cluster is not None and f.versions is not None
    cur = next((v for v in f.versions if v.version == f.cluster.version), None)
    if cur is None:
        return _warn(f"EKS does not list {f.cluster.version} in its versions: support status unknown")
    status = cur.status.upper().replace("-", "_")
    dates = (f"standard support ends {cur.end_of_standard_support or '?'}, "
             f"extended support ends {cur.end_of_extended_support or '?'}")
    monthly_std, monthly_ext = STANDARD_PRICE * HOURS_PER_MONTH, EXTENDED_PRICE * HOURS_PER_MONTH
    cost = (f"${EXTENDED_PRICE:.2f} per cluster-hour instead of ${STANDARD_PRICE:.2f} "
            f"(about ${monthly_ext:.0f} instead of ${monthly_std:.0f} a month)")
    if status == "EXTENDED_SUPPORT":
        return _fail(f"{cur.version} is in extended support ({dates}): the cluster costs {cost}")
    if status == "UNSUPPORTED":
        return _fail(f"{cur.version} is past the end of extended support ({dates}): EKS upgrades it on its own")
    if cur.end_of_standard_support is not None:
        days = (cur.end_of_standard_support - f.today).days
        if 0 <= days <= SUPPORT_WARNING_DAYS:
            return _warn(f"{cur.version} leaves standard support in {days} days ({dates}); "
                         f"extended support costs {cost}")
    return _ok(f"{cur.version} is in {status.lower().replace('_', ' ') or 'unknown support'} ({dates})")


def _support_type(f: Facts) -> Outcome:
    assert f.cluster is not None
    kind = (f.cluster.support_type or "").upper()
    if kind == "STANDARD":
        return _ok("upgradePolicy.supportType is STANDARD: EKS upgrades the cluster itself at the end of standard "
                   "support (outside Terraform, which then drifts)")
    if kind == "EXTENDED":
        return _ok(f"upgradePolicy.supportType is EXTENDED: after standard support the cluster stays on its "
                   f"version at ${EXTENDED_PRICE:.2f} per cluster-hour")
    return _ok(f"upgradePolicy.supportType is {kind or 'not reported'}")


def _insights_error(f: Facts) -> Outcome:
    return _insights(f, ("ERROR",))


def _insights_warning(f: Facts) -> Outcome:
    return _insights(f, ("WARNING", "UNKNOWN"))


def _insights(f: Facts, statuses: tuple[str, ...]) -> Outcome:
    assert f.insights is not None
    mine = [i for i in f.insights if i.kubernetes_version in (None, str(f.target))]
    # Tolerant of statuses the service adds later: anything not PASSING counts as UNKNOWN.
    hits = [i for i in mine if (i.status.upper() if i.status.upper() in ("PASSING", "WARNING", "ERROR")
                                else "UNKNOWN") in statuses]
    if not hits:
        return _ok(f"{len(mine)} upgrade insight(s) for {f.target}, none {'/'.join(statuses)}")
    parts = []
    for i in hits:
        text = f"{i.name} [{i.status}]: {i.reason}"
        if i.recommendation:
            text += f" Recommendation: {i.recommendation}"
        if i.clients:
            text += f" Clients: {_few(list(i.clients), 5)}"
        elif i.resources:
            text += f" Resources: {_few(list(i.resources), 5)}"
        parts.append(text)
    return _fail(f"{len(hits)} upgrade insight(s) {'/'.join(statuses)} for {f.target}: " + " | ".join(parts),
                 tuple(i.name for i in hits))


# -- network -------------------------------------------------------------------------------------

def _node_subnet_ips(f: Facts) -> Outcome:
    assert f.nodegroups is not None and f.node_subnets is not None
    by_id = {s.id: s for s in f.node_subnets}
    bad, checked = [], 0
    for ng in f.nodegroups:
        subnets = [by_id[s] for s in ng.subnets if s in by_id]
        if not subnets:
            continue
        checked += 1
        free = sum(s.free_ips for s in subnets)
        zones = len({s.availability_zone for s in subnets})
        # A managed node group update adds up to max(2 x its AZs, maxUnavailable) nodes before draining
        # the old ones; each needs at least its own address (and the VPC CNI reserves more for pods).
        surge = max(2 * zones, ng.max_unavailable or 1)
        if free < surge:
            bad.append(f"{ng.name}: {free} free IP(s) in {', '.join(s.id for s in subnets)}, a roll adds up to "
                       f"{surge} node(s)")
    if bad:
        return _fail("node group subnets too full to roll the nodes: " + "; ".join(bad),
                     tuple(b.split(":")[0] for b in bad))
    return _ok(f"the subnets of {checked} node group(s) have room to roll their nodes")


# -- nodes ---------------------------------------------------------------------------------------

AL2_LAST = Minor(1, 32)


def _ami_type(f: Facts) -> Outcome:
    assert f.nodegroups is not None
    al2 = [f"{ng.name} ({ng.ami_type})" for ng in f.nodegroups if ng.ami_type.upper().startswith("AL2_")]
    if al2 and f.target > AL2_LAST:
        return _fail(f"Amazon Linux 2 has no AMIs for {f.target} (1.32 is its last): {', '.join(al2)}",
                     tuple(a.split()[0] for a in al2))
    if al2:
        return _warn(f"Amazon Linux 2 node groups stop at 1.32; plan their move to AL2023 or Bottlerocket: "
                     f"{', '.join(al2)}", tuple(a.split()[0] for a in al2))
    return _ok(f"{len(f.nodegroups)} managed node group(s) on AMI types available for {f.target}")


FARGATE_LABEL = "eks.amazonaws.com/compute-type"


def _unmanaged_nodes(f: Facts) -> Outcome:
    assert f.nodes is not None
    fargate = [n.name for n in f.nodes if dict(n.labels).get(FARGATE_LABEL) == "fargate"]
    self_managed = [n.name for n in f.nodes if n.nodegroup is None and n.name not in set(fargate)
                    and not dict(n.labels).get("karpenter.sh/nodepool")]
    karpenter = [n.name for n in f.nodes if dict(n.labels).get("karpenter.sh/nodepool")]
    profiles = f.fargate_profiles or []
    parts = []
    if self_managed:
        parts.append(f"{len(self_managed)} self-managed node(s), not upgraded by EKS or Terraform's node group "
                     f"roll: {_few(self_managed)}")
    if karpenter:
        parts.append(f"{len(karpenter)} Karpenter node(s) (drift replaces them after the upgrade)")
    if fargate or profiles:
        parts.append(f"{len(fargate)} Fargate node(s) in {len(profiles)} profile(s): restart their pods after the "
                     "upgrade to get the new kubelet")
    if parts:
        return _warn("; ".join(parts), tuple(self_managed + karpenter + fargate))
    return _ok("every node belongs to a managed node group")


def _custom_ami(f: Facts) -> Outcome:
    assert f.nodegroups is not None
    custom = [ng.name for ng in f.nodegroups if ng.ami_type.upper() == "CUSTOM"]
    templated = [ng.name for ng in f.nodegroups if ng.launch_template and ng.name not in custom]
    if custom:
        msg = (f"node group(s) on a custom AMI: build or pick an AMI for {f.target} and point the launch template "
               f"at it (EKS does not pick one): {', '.join(custom)}")
        if templated:
            msg += f"; launch templates also on {', '.join(templated)}"
        return _fail(msg, tuple(custom))
    if templated:
        return _warn(f"node group(s) with a launch template: check it sets no AMI or kubelet flags tied to "
                     f"{f.current}: {', '.join(templated)}", tuple(templated))
    return _ok("no custom AMIs or launch templates")


GPU_AMI = re.compile(r"GPU|NVIDIA", re.IGNORECASE)


def _nvidia_plugin(f: Facts) -> Outcome:
    assert f.nodegroups is not None and f.inventory is not None
    gpu = [ng.name for ng in f.nodegroups if GPU_AMI.search(ng.ami_type)]
    if not gpu:
        return _ok("no GPU node groups")
    if "BOTTLEROCKET" in " ".join(ng.ami_type for ng in f.nodegroups if ng.name in gpu).upper():
        pass  # Bottlerocket NVIDIA variants ship the plugin; the DaemonSet check below still reminds
    plugins = _images(f.inventory, "k8s-device-plugin") + [
        (w, c.image) for w in f.inventory.workloads if "nvidia-device-plugin" in w.name for c in w.containers[:1]]
    if not plugins:
        return _fail(f"GPU node group(s) {', '.join(gpu)} but no NVIDIA device plugin DaemonSet: GPU pods will not "
                     "schedule on the new nodes", tuple(gpu))
    found = ", ".join(sorted({f"{w.ref} ({image_tag(img) or '?'})" for w, img in plugins}))
    return _warn(f"GPU node group(s) {', '.join(gpu)}: check the NVIDIA device plugin ({found}) supports "
                 f"{f.target} and update it with the nodes")


# -- add-ons -------------------------------------------------------------------------------------

def _addon_compat(f: Facts) -> Outcome:
    assert f.addon_versions is not None
    installed = installed_addons(f)
    if not installed:
        return _ok("no EKS add-ons or core add-on workloads found")
    bad, notes = [], []
    for a in installed:
        versions = f.addon_versions.get(a.name)
        label = f"{a.name} {a.version}" + ("" if a.managed else " (self-managed)")
        if versions is None:
            if a.managed:
                notes.append(f"{label}: EKS lists no version for {f.target}")
            continue
        cur = AddonVer.parse(a.version)
        exact = a.version in {v.version for v in versions}
        if not exact and not a.managed and cur is not None:
            # A self-managed image tag carries no eksbuild (or a different one): compare the release.
            exact = cur.release in {p.release for p in (AddonVer.parse(v.version) for v in versions) if p}
        if exact:
            continue
        move = _move_to(a.name, cur, versions, f.target)
        bad.append(f"{label} is not compatible with {f.target}" + (f": move to {move}" if move else ""))
    if bad:
        msg = "; ".join(bad)
        if any(b.startswith("vpc-cni") for b in bad):
            msg += " (the VPC CNI moves one minor at a time)"
        return _fail(msg, tuple(b.split()[0] for b in bad))
    if notes:
        return _warn("; ".join(notes))
    return _ok(f"{len(installed)} add-on(s) compatible with {f.target}: "
               + ", ".join(f"{a.name} {a.version}" for a in installed))


def _addon_health(f: Facts) -> Outcome:
    assert f.addons is not None
    bad = [f"{a.name} ({a.status})" for a in f.addons if a.status.upper() not in ("ACTIVE", "")]
    if bad:
        return _fail(f"EKS add-on(s) not ACTIVE: {', '.join(bad)}", tuple(b.split()[0] for b in bad))
    return _ok(f"{len(f.addons)} EKS add-on(s) ACTIVE")


VPC_CNI_MIN = AddonVer(1, 8, 0)
VPC_CNI_MIN_126 = AddonVer(1, 12, 0)


def _vpc_cni_min(f: Facts) -> Outcome:
    cni = next((a for a in installed_addons(f) if a.name == "vpc-cni"), None)
    if cni is None:
        return _skip("no VPC CNI found (another CNI?)")
    ver = AddonVer.parse(cni.version)
    if ver is None:
        return _warn(f"cannot read the VPC CNI version {cni.version!r}")
    need = VPC_CNI_MIN_126 if f.target >= Minor(1, 26) else VPC_CNI_MIN
    if ver.release < need.release:
        return _fail(f"VPC CNI {cni.version} is below {need} (needed {'for 1.26+' if need == VPC_CNI_MIN_126 else ''}"
                     .rstrip() + ")", ("vpc-cni",))
    return _ok(f"VPC CNI {cni.version} >= {need}")


LBC_MIN = AddonVer(2, 4, 7)


def _lb_controller(f: Facts) -> Outcome:
    assert f.inventory is not None
    found = _images(f.inventory, "aws-load-balancer-controller")
    if not found:
        return _ok("no AWS Load Balancer Controller found")
    old = []
    for w, image in found:
        ver = AddonVer.parse(image_tag(image))
        if ver is None or ver.release < LBC_MIN.release:
            old.append(f"{w.ref} ({image_tag(image) or 'untagged'})")
    if old:
        return _fail(f"AWS Load Balancer Controller below {LBC_MIN} (needed before 1.25): {', '.join(old)}",
                     tuple(o.split()[0] for o in old))
    return _ok(f"AWS Load Balancer Controller >= {LBC_MIN}")


EBS_CSI_DRIVER = "ebs.csi.aws.com"


def _ebs_csi(f: Facts) -> Outcome:
    assert f.inventory is not None
    st = f.inventory.storage
    uses_ebs = st.ebs_in_tree_volumes or st.ebs_csi_volumes or st.in_tree_storage_classes
    if not uses_ebs:
        return _ok("no EBS volumes or EBS storage classes")
    present = (EBS_CSI_DRIVER in st.csi_drivers or any(a.name == "aws-ebs-csi-driver" for a in installed_addons(f)))
    if present:
        return _ok("the EBS CSI driver is installed")
    what = list(st.ebs_in_tree_volumes) + [f"StorageClass/{c}" for c in st.in_tree_storage_classes]
    return _fail(f"EBS volumes in use but no EBS CSI driver: from 1.23 the in-tree EBS plugin is migrated to it "
                 f"({_few(what, 5)})", tuple(what))


def _cluster_autoscaler(f: Facts) -> Outcome:
    assert f.inventory is not None
    found = _images(f.inventory, "cluster-autoscaler")
    if not found:
        return _ok("no Cluster Autoscaler found")
    off: list[str] = []
    behind: list[str] = []
    for w, image in found:
        minor = Minor.try_parse(image_tag(image))
        if minor == f.target:
            continue
        (behind if minor == f.current else off).append(f"{w.ref} ({image_tag(image) or 'untagged'})")
    if off:
        return _fail(f"Cluster Autoscaler image minor matches neither the control plane nor {f.target}: "
                     f"{', '.join(off)}", tuple(o.split()[0] for o in off + behind))
    if behind:
        return _warn(f"after the upgrade, move the Cluster Autoscaler image to v{f.target}.x: {', '.join(behind)}",
                     tuple(b.split()[0] for b in behind))
    return _ok(f"Cluster Autoscaler already on {f.target}")


_UPSTREAM_LINE = re.compile(r"(?m)^\s*upstream\s*$")


def _corefile(f: Facts) -> Outcome:
    assert f.inventory is not None
    if f.inventory.corefile is None:
        return _ok("no kube-system/coredns ConfigMap")
    if _UPSTREAM_LINE.search(f.inventory.corefile):
        return _fail("the CoreDNS Corefile has a bare `upstream` line (clusters created before 1.18): CoreDNS 1.7+ "
                     "refuses to start with it", ("ConfigMap/kube-system/coredns",))
    return _ok("the CoreDNS Corefile has no bare `upstream` line")


# -- workloads -----------------------------------------------------------------------------------

EKS_DEFAULT_PSP = "eks.privileged"  # every EKS cluster before 1.25 has it; EKS removes it with the upgrade


def _psp(f: Facts) -> Outcome:
    assert f.inventory is not None
    psps = [p for p in f.inventory.psps if p != EKS_DEFAULT_PSP]
    if psps:
        return _fail(f"{len(psps)} PodSecurityPolicy object(s), removed in 1.25 with no replacement API: "
                     f"{_few(psps)}", tuple(f"PodSecurityPolicy/{p}" for p in psps))
    if f.inventory.psps:
        return _warn(f"only EKS's default PodSecurityPolicy {EKS_DEFAULT_PSP} (it goes with the upgrade); set Pod "
                     "Security Admission labels on namespaces that need restrictions")
    return _ok("no PodSecurityPolicies")


def _docker_sock(f: Facts) -> Outcome:
    assert f.inventory is not None
    hits: dict[str, None] = {}
    for w in f.inventory.workloads:
        if any(p.rstrip("/").endswith("docker.sock") for p in w.host_paths):
            hits[w.ref] = None
    for p in f.inventory.host_path_pods:
        if any(path.rstrip("/").endswith("docker.sock") for path in p.paths) and p.owner is None:
            hits[f"Pod/{p.namespace}/{p.name}"] = None  # bare pods; owned ones are reported by their workload
    if hits:
        return _fail(f"{len(hits)} workload(s) mount docker.sock; since 1.24 nodes run containerd only: "
                     f"{_few(list(hits))}", tuple(hits))
    return _ok(f"no workload mounts docker.sock ({f.inventory.pod_count} pod(s) scanned)")


def _deployments(f: Facts) -> list[Workload]:
    assert f.inventory is not None
    return [w for w in f.inventory.workloads if w.kind in ("Deployment", "StatefulSet")]


def _single_replica(f: Facts) -> Outcome:
    single = [w.ref for w in _deployments(f) if w.replicas == 1]
    if single:
        return _fail(f"{len(single)} single-replica workload(s) go down while their node drains: {_few(single)}",
                     tuple(single))
    return _ok("every Deployment/StatefulSet has at least 2 replicas (or is scaled to 0)")


def _covered(w: Workload, f: Facts) -> bool:
    assert f.inventory is not None
    return any(p.namespace == w.namespace and not p.selector.empty and p.selector.matches(w.pod_labels)
               for p in f.inventory.pdbs)


def _missing_pdb(f: Facts) -> Outcome:
    bare = [w.ref for w in _deployments(f) if (w.replicas or 0) > 1 and not _covered(w, f)]
    if bare:
        return _fail(f"{len(bare)} multi-replica workload(s) without a PodDisruptionBudget: {_few(bare)}", tuple(bare))
    return _ok("every multi-replica Deployment/StatefulSet has a PodDisruptionBudget")


def _pct(value: str, total: int, *, round_up: bool) -> int:
    if value.endswith("%"):
        n = int(value[:-1]) * total
        return -(-n // 100) if round_up else n // 100
    return int(value)


def _zero_disruption_pdbs(f: Facts) -> Outcome:
    assert f.inventory is not None
    blocked = []
    for p in f.inventory.pdbs:
        matched = [w for w in f.inventory.workloads if w.namespace == p.namespace and w.replicas is not None
                   and not p.selector.empty and p.selector.matches(w.pod_labels)]
        expected = p.expected_pods if p.expected_pods is not None else sum(w.replicas or 0 for w in matched)
        if expected == 0:
            continue  # guards nothing today
        try:
            if p.max_unavailable is not None:
                static_zero = _pct(p.max_unavailable, expected, round_up=True) == 0
            elif p.min_available is not None:
                static_zero = _pct(p.min_available, expected, round_up=True) >= expected
            else:
                static_zero = False
        except ValueError:
            static_zero = False
        # The disruption controller's own figure catches what the spec alone does not (pods not Ready).
        if static_zero or p.disruptions_allowed == 0:
            rule = (f"maxUnavailable {p.max_unavailable}" if p.max_unavailable is not None
                    else f"minAvailable {p.min_available}")
            blocked.append(f"{p.ref} ({rule}, {expected} pod(s), {p.disruptions_allowed} disruption(s) allowed)")
    if blocked:
        return _fail(f"PodDisruptionBudget(s) allowing no disruption block node drains, so the node group roll "
                     f"fails (PodEvictionFailure): {_few(blocked)}", tuple(b.split()[0] for b in blocked))
    return _ok(f"{len(f.inventory.pdbs)} PodDisruptionBudget(s), none blocks evictions")


def _readiness(f: Facts) -> Outcome:
    missing = [w.ref for w in _deployments(f) if (w.replicas or 0) > 0
               and any(not c.readiness_probe for c in w.containers)]
    if missing:
        return _fail(f"{len(missing)} workload(s) with containers lacking a readiness probe (traffic reaches them "
                     f"before they are ready on the new nodes): {_few(missing)}", tuple(missing))
    return _ok("every Deployment/StatefulSet container has a readiness probe")


# -- terraform -----------------------------------------------------------------------------------

def _plan_ok(f: Facts) -> Outcome:
    assert f.plan is not None
    if f.plan.refusals:
        return _fail(f"the saved plan {f.plan.file} ({f.plan.summary}) changes something unexpected: "
                     + "; ".join(f.plan.refusals), (f.plan.file,))
    if f.plan.warnings:
        return _warn(f"the saved plan {f.plan.file} ({f.plan.summary}): " + "; ".join(f.plan.warnings))
    return _ok(f"the saved plan {f.plan.file} changes only what the upgrade should ({f.plan.summary})")


def _tf_versions(f: Facts) -> Outcome:
    assert f.terraform is not None
    t = f.terraform
    providers = ", ".join(f"{src} {ver}" for src, ver in t.providers) or "no .terraform.lock.hcl"
    return _ok(f"terraform {t.state_version or '(state version unknown)'} "
               f"(required_version {t.required_version or 'not set'}); providers: {providers}")


def _pinned_nodegroups(f: Facts) -> Outcome:
    assert f.terraform is not None
    pinned = f.terraform.pinned
    if pinned:
        items = [f"{p.where} {p.attribute} = {p.value}" for p in pinned]
        return _fail(f"node group(s) pinned to an explicit version that will not follow the cluster to {f.target}: "
                     + "; ".join(items), tuple(p.where for p in pinned))
    return _ok("no node group pins its own version in the HCL")


# -- client --------------------------------------------------------------------------------------

def _kubectl(f: Facts) -> Outcome:
    assert f.client is not None
    c = f.client
    if c.kubectl is None:
        return _skip("kubectl is not on PATH")
    minor = Minor.try_parse(c.version)
    if minor is None:
        return _warn(f"cannot read kubectl's version ({c.error or c.version or 'no output'})")
    if abs(minor.minus(f.target)) > 1:
        return _fail(f"kubectl {c.version} ({c.kubectl}) is more than one minor from {f.target}",
                     (c.kubectl,))
    return _ok(f"kubectl {c.version} is within one minor of {f.target}")


CATALOGUE: tuple[Check, ...] = (
    Check("EKS001", Level.REQUIRED, "control plane", "Cluster ACTIVE and healthy",
          "Wait for the cluster to be ACTIVE and resolve its health issues.",
          "https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html", ("cluster",), _cluster_active),
    Check("EKS002", Level.REQUIRED, "control plane", "No update in progress",
          "Wait for the update in progress to finish (aws eks list-updates / describe-update).",
          "https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html",
          ("cluster", "updates", "nodegroups"), _no_update_in_progress),
    Check("EKS003", Level.REQUIRED, "control plane", "Target is the next minor",
          "Upgrade one minor at a time: one bump per hop, or `eks-tfup bump VERSION --hops`.",
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
    # -- control plane, beyond the basics ---------------------------------------------------------
    Check("EKS006", Level.RECOMMENDED, "control plane", "Current version's support status and cost",
          "Upgrade before standard support ends: extended support costs $0.60 instead of $0.10 per cluster-hour.",
          "https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html",
          ("cluster", "versions"), _support),
    Check("EKS007", Level.INFO, "control plane", "upgradePolicy.supportType",
          "Set upgrade_policy { support_type } in the HCL: STANDARD lets EKS upgrade the cluster outside Terraform.",
          "https://docs.aws.amazon.com/eks/latest/userguide/view-upgrade-policy.html", ("cluster",), _support_type),
    Check("EKS008", Level.REQUIRED, "control plane", "No upgrade insight in ERROR for the target",
          "Follow each insight's recommendation (aws eks describe-insight) and wait for it to pass.",
          "https://docs.aws.amazon.com/eks/latest/userguide/cluster-insights.html", ("insights",), _insights_error),
    Check("EKS009", Level.RECOMMENDED, "control plane", "No upgrade insight in WARNING or UNKNOWN for the target",
          "Review each insight's recommendation (aws eks describe-insight).",
          "https://docs.aws.amazon.com/eks/latest/userguide/cluster-insights.html", ("insights",), _insights_warning),
    # -- network ----------------------------------------------------------------------------------
    Check("NET002", Level.REQUIRED, "network", "Node group subnets have room to roll the nodes",
          "Free addresses in the node group subnets (or add subnets) before the node groups roll.",
          "https://docs.aws.amazon.com/eks/latest/userguide/managed-node-update-behavior.html",
          ("nodegroups", "node_subnets"), _node_subnet_ips),
    # -- nodes ------------------------------------------------------------------------------------
    Check("NOD001", Level.REQUIRED, "nodes", "Node group AMI types exist for the target (no AL2 at 1.33+)",
          "Move Amazon Linux 2 node groups to AL2023 or Bottlerocket (ami_type) before upgrading to 1.33.",
          "https://docs.aws.amazon.com/eks/latest/userguide/al2023.html", ("nodegroups",), _ami_type),
    Check("NOD002", Level.INFO, "nodes", "Self-managed, Karpenter and Fargate nodes",
          "Upgrade self-managed nodes yourself after the control plane; restart Fargate pods to move them.",
          "https://docs.aws.amazon.com/eks/latest/userguide/update-workers.html",
          ("nodes", "fargate_profiles"), _unmanaged_nodes),
    Check("NOD003", Level.RECOMMENDED, "nodes", "Custom AMIs and launch templates",
          "Build or pick AMIs for the target and update the launch templates: EKS cannot choose them for you.",
          "https://docs.aws.amazon.com/eks/latest/userguide/launch-templates.html", ("nodegroups",), _custom_ami),
    Check("NOD004", Level.RECOMMENDED, "nodes", "NVIDIA device plugin on GPU node groups",
          "Install or update the NVIDIA device plugin to a release supporting the target.",
          "https://github.com/NVIDIA/k8s-device-plugin#deployment-via-helm",
          ("nodegroups", "inventory"), _nvidia_plugin),
    # -- add-ons ----------------------------------------------------------------------------------
    Check("ADD001", Level.REQUIRED, "add-ons", "Add-ons compatible with the target",
          "Update each add-on to the version shown (aws eks describe-addon-versions; the VPC CNI a minor at a time).",
          "https://docs.aws.amazon.com/eks/latest/userguide/updating-an-add-on.html",
          ("addon_versions",), _addon_compat),
    Check("ADD002", Level.RECOMMENDED, "add-ons", "EKS add-ons ACTIVE",
          "Resolve the add-on's health issues (aws eks describe-addon) before the upgrade.",
          "https://docs.aws.amazon.com/eks/latest/userguide/eks-add-ons.html", ("addons",), _addon_health),
    Check("ADD003", Level.REQUIRED, "add-ons", "VPC CNI >= 1.8.0 (>= 1.12 for 1.26+)",
          "Update the VPC CNI, one minor at a time.",
          "https://docs.aws.amazon.com/eks/latest/userguide/managing-vpc-cni.html", ("addons", "inventory"),
          _vpc_cni_min),
    Check("ADD004", Level.REQUIRED, "add-ons", "AWS Load Balancer Controller >= 2.4.7",
          "Upgrade the AWS Load Balancer Controller to 2.4.7 or later before upgrading to 1.25.",
          "https://docs.aws.amazon.com/eks/latest/userguide/aws-load-balancer-controller.html", ("inventory",),
          _lb_controller, since=Minor(1, 25)),
    Check("ADD005", Level.REQUIRED, "add-ons", "EBS CSI driver installed when EBS volumes are used",
          "Install the aws-ebs-csi-driver add-on (with its IAM role) before upgrading to 1.23.",
          "https://docs.aws.amazon.com/eks/latest/userguide/ebs-csi-migration-faq.html", ("addons", "inventory"),
          _ebs_csi, since=Minor(1, 23)),
    Check("ADD006", Level.RECOMMENDED, "add-ons", "Cluster Autoscaler image minor follows the cluster",
          "After the upgrade, set the Cluster Autoscaler image to the release matching the new minor.",
          "https://github.com/kubernetes/autoscaler/tree/master/cluster-autoscaler#releases", ("inventory",),
          _cluster_autoscaler),
    Check("ADD007", Level.REQUIRED, "add-ons", "CoreDNS Corefile without a bare `upstream` line",
          "Remove the line that is only `upstream` from the coredns ConfigMap in kube-system.",
          "https://docs.aws.amazon.com/eks/latest/userguide/managing-coredns.html", ("inventory",), _corefile),
    # -- workloads --------------------------------------------------------------------------------
    Check("WRK001", Level.REQUIRED, "workloads", "No PodSecurityPolicies (removed in 1.25)",
          "Migrate to Pod Security Admission and delete the PodSecurityPolicies.",
          "https://kubernetes.io/docs/tasks/configure-pod-container/migrate-from-psp/", ("inventory",), _psp,
          since=Minor(1, 25)),
    Check("WRK002", Level.REQUIRED, "workloads", "No pod mounts docker.sock (containerd only since 1.24)",
          "Move tools that talk to the Docker socket to containerd (or the CRI socket) before the upgrade.",
          "https://docs.aws.amazon.com/eks/latest/userguide/dockershim-deprecation.html", ("inventory",),
          _docker_sock, since=Minor(1, 24)),
    Check("WRK003", Level.RECOMMENDED, "workloads", "Deployments and StatefulSets run at least 2 replicas",
          "Run 2 or more replicas so a node drain does not take the workload down.",
          "https://kubernetes.io/docs/concepts/workloads/pods/disruptions/", ("inventory",), _single_replica),
    Check("WRK004", Level.RECOMMENDED, "workloads", "Multi-replica workloads have a PodDisruptionBudget",
          "Add a PodDisruptionBudget (e.g. maxUnavailable: 1) for each multi-replica workload.",
          "https://kubernetes.io/docs/tasks/run-application/configure-pdb/", ("inventory",), _missing_pdb),
    Check("WRK005", Level.REQUIRED, "workloads", "No PodDisruptionBudget allows zero disruptions",
          "Relax the PodDisruptionBudget (maxUnavailable >= 1, or minAvailable below the replicas) or add replicas.",
          "https://docs.aws.amazon.com/eks/latest/userguide/managed-node-update-behavior.html", ("inventory",),
          _zero_disruption_pdbs),
    Check("WRK006", Level.RECOMMENDED, "workloads", "Containers have readiness probes",
          "Add readiness probes so traffic reaches rescheduled pods only when they are ready.",
          "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/",
          ("inventory",), _readiness),
    # -- terraform --------------------------------------------------------------------------------
    Check("TF002", Level.REQUIRED, "terraform", "The saved plan changes nothing unexpected",
          "Review the plan: only the cluster, node group and add-on versions should change; plan again.",
          "https://developer.hashicorp.com/terraform/cli/commands/plan", ("plan",), _plan_ok),
    Check("TF003", Level.INFO, "terraform", "Terraform and provider versions",
          "Keep the AWS provider recent enough for the target's settings (e.g. AL2023 AMI types, upgrade_policy).",
          "https://developer.hashicorp.com/terraform/language/files/dependency-lock", ("terraform",), _tf_versions),
    Check("TF004", Level.RECOMMENDED, "terraform", "Node groups follow the cluster version",
          "Remove the node group's own version (or point it at the cluster's) so the node groups roll with it.",
          "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/eks_node_group#version",
          ("terraform",), _pinned_nodegroups),
    # -- client -----------------------------------------------------------------------------------
    Check("CLI001", Level.RECOMMENDED, "client", "kubectl within one minor of the target",
          "Install a kubectl within one minor of the target.",
          "https://kubernetes.io/releases/version-skew-policy/#kubectl", ("client",), _kubectl),
)

# API001 is run apart (it renders charts and reads Helm releases, which the catalogue's facts do not
# hold): `removed_api_result` in bump, `removed_api_check` in preflight. Listed here for the README.
API001 = Check("API001", Level.REQUIRED, "workloads", "No APIs removed by the target",
               "Move these manifests to the replacement APIs (see `eks-tfup charts check`) before the upgrade.",
               "https://kubernetes.io/docs/reference/using-api/deprecation-guide/", (), lambda f: _ok(""))
DOCUMENTED: tuple[Check, ...] = (*CATALOGUE, API001)


def removed_api_check(chk: ChartCheck) -> Result:
    """API001 from a chart scan (`eks_tfup.charts.check_charts`): the same grading as in bump."""
    required = [x for x in chk.findings if x.level == "required"]
    recommended = [x for x in chk.findings if x.level == "recommended"]

    def describe(items: list[Any]) -> str:
        return ", ".join(f"{x.kind} {x.api_version} ({x.release or x.location})" for x in items[:5])

    if required:
        status, message = Status.FAIL, f"{len(required)} use(s) of APIs removed by {chk.target}: {describe(required)}"
    elif recommended:
        status, message = Status.WARN, f"{len(recommended)} deprecated API use(s): {describe(recommended)}"
    else:
        status, message = Status.PASS, (
            f"no removed APIs in {chk.releases_rendered} release(s), {chk.release_secrets_scanned} release "
            f"secret(s), {chk.live_objects_scanned} live object(s)")
    if chk.notes:
        message += f" ({'; '.join(chk.notes)})"
    return Result(API001.id, API001.level, API001.area, API001.title, status, message,
                  tuple(f"{x.kind}/{x.name or x.location}" for x in required), API001.remediation, API001.doc)


def run_checks(facts: Facts, *, catalogue: tuple[Check, ...] = CATALOGUE,
               ignore: tuple[str, ...] = ()) -> list[Result]:
    results = []
    for check in catalogue:
        missing = [n for n in check.needs if getattr(facts, n) is None]
        errors = [facts.missing[n] for n in missing if n in facts.missing]
        if not check.applies_to(facts.target):
            out = Outcome(Status.SKIP, f"applies to targets {check.since} and later")
        elif errors:
            out = Outcome(Status.ERROR, "could not run: " + "; ".join(errors))
        elif missing:
            reasons = sorted({facts.not_gathered.get(n, f"{n} not gathered") for n in missing})
            out = Outcome(Status.SKIP, "skipped: " + "; ".join(reasons))
        else:
            out = check.run(facts)
        results.append(Result(check.id, check.level, check.area, check.title, out.status, out.message,
                              out.resources, check.remediation, check.doc,
                              suppressed=check.id in ignore and out.status in (Status.FAIL, Status.ERROR)))
    return results


def blocking(results: list[Result]) -> list[Result]:
    return [r for r in results if r.blocking]

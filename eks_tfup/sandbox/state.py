"""The simulated AWS account: one EKS cluster, its node groups, add-ons and Kubernetes objects.

Time-driven and lazy: asynchronous operations (cluster creation and version updates, node-group
rolls, add-on updates) are events on a heap, keyed by a monotonic clock. Every request first calls
`advance()`, which runs the events that are due, so no background thread is needed. Durations are
simulated seconds from the scenario's `timing`, multiplied by `time_scale` to get real seconds; the
control API can also move the clock forward (`advance_by`).

Everything is guarded by one re-entrant lock. The Kubernetes objects live in an `ObjectStore`
(its own lock) shared with the Kubernetes API server, which reaches this state through the
`KubeBackend` protocol: `store`, `token`, `advance()`, `server_version()`, `git_version()`,
`kube_available()`, `kube_fault()`.

EKS operations are methods registered with `@operation("DescribeCluster")` in `OPERATIONS`; they
take the request parameters by their botocore member names and return the response members, or
raise `AwsApiError` with the exception type and message EKS uses.
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import heapq
import ipaddress
import itertools
import json
import random
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from eks_tfup import k8s_apis
from eks_tfup.sandbox import kube_semantics as ks
from eks_tfup.sandbox.scenario import (
    ADDON_NAMES,
    Faults,
    HelmRelease,
    NodegroupSpec,
    Scenario,
    Subnet,
    WorkloadSpec,
)
from eks_tfup.sandbox.store import Obj, ObjectStore
from eks_tfup.versions import Minor, kubelet_skew_ok

DATA_DIR = Path(__file__).parent / "data"
ECR_ACCOUNT = "602401143452"  # the account EKS serves its add-on images from
MIN_CONTROL_PLANE_FREE_IPS = 5


class AwsApiError(Exception):
    """An AWS error answer: `code` is the exception type (`InvalidParameterException`)."""

    def __init__(self, code: str, message: str, status: int = 400, **fields: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.fields = {k: v for k, v in fields.items() if v}


def _invalid(message: str, **f: str) -> AwsApiError:
    return AwsApiError("InvalidParameterException", message, 400, **f)


def _in_use(message: str, **f: str) -> AwsApiError:
    return AwsApiError("ResourceInUseException", message, 409, **f)


def _not_found(message: str, **f: str) -> AwsApiError:
    return AwsApiError("ResourceNotFoundException", message, 404, **f)


# -- checked-in catalogue (cluster versions and add-on versions) ------------------------------------


@cache
def _data(name: str) -> Any:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def cluster_versions() -> list[dict[str, Any]]:
    return list(_data("cluster_versions.json")["versions"])


def default_cluster_version() -> str:
    return str(_data("cluster_versions.json")["defaultVersion"])


def version_info(version: str) -> dict[str, Any] | None:
    return next((v for v in cluster_versions() if v["clusterVersion"] == version), None)


def addon_catalog() -> list[dict[str, Any]]:
    return list(_data("addon_versions.json")["addons"])


def addon_versions_for(name: str, cluster_version: str) -> list[str]:
    """Versions of add-on `name` compatible with `cluster_version`, newest first."""
    for info in addon_catalog():
        if info["addonName"] == name:
            return [v["addonVersion"] for v in info["addonVersions"]
                    if any(c["clusterVersion"] == cluster_version for c in v["compatibilities"])]
    return []


def default_addon_version(name: str, cluster_version: str) -> str | None:
    for info in addon_catalog():
        if info["addonName"] == name:
            for v in info["addonVersions"]:
                for c in v["compatibilities"]:
                    if c["clusterVersion"] == cluster_version and c["defaultVersion"]:
                        return str(v["addonVersion"])
    return None


def _short_hash(text: str, n: int = 7) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:n]


def patch_version(minor: str) -> str:
    info = version_info(minor)
    return str(info["kubernetesPatchVersion"]) if info else f"{minor}.0"


def control_plane_git_version(minor: str) -> str:
    patch = patch_version(minor)
    return f"v{patch}-eks-{_short_hash('apiserver' + patch)}"


def latest_release_version(minor: str) -> str:
    info = version_info(minor)
    return f"{patch_version(minor)}-{info['amiReleaseDate'] if info else '20240101'}"


def kubelet_git_version(release_version: str) -> str:
    patch = release_version.split("-")[0]
    return f"v{patch}-eks-{_short_hash('kubelet' + release_version)}"


def addon_minor(version: str) -> tuple[int, int]:
    """`v1.18.3-eksbuild.3` -> (1, 18): add-on versions are not PEP 440, parse them by hand."""
    parts = version.lstrip("v").split("-")[0].split(".")
    return int(parts[0]), int(parts[1])


def _epoch_of(day: str) -> float:
    return datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()


def support_status(info: dict[str, Any], today: date) -> str:
    if today < date.fromisoformat(info["endOfStandardSupportDate"]):
        return "STANDARD_SUPPORT"
    if today < date.fromisoformat(info["endOfExtendedSupportDate"]):
        return "EXTENDED_SUPPORT"
    return "UNSUPPORTED"


# -- records ---------------------------------------------------------------------------------------


@dataclass
class Update:
    id: str
    kind: str  # cluster | nodegroup | addon
    target: str  # cluster name, node group name or add-on name
    type: str  # VersionUpdate, AddonUpdate, ConfigUpdate, ...
    params: list[dict[str, str]]
    created_at: float
    status: str = "InProgress"
    errors: list[dict[str, Any]] = field(default_factory=list)
    finished_at: float | None = None  # sandbox-only (the control API): EKS does not report it

    def to_api(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "type": self.type, "params": self.params,
                "createdAt": self.created_at, "errors": self.errors}


@dataclass
class Cluster:
    name: str
    version: str
    platform_version: str
    status: str
    created_at: float
    subnet_ids: list[str]
    support_type: str
    role_arn: str
    tags: dict[str, str]
    security_group_ids: list[str] = field(default_factory=list)
    endpoint_public_access: bool = True
    endpoint_private_access: bool = False
    logging: list[dict[str, Any]] = field(default_factory=lambda: [
        {"types": ["api", "audit", "authenticator", "controllerManager", "scheduler"], "enabled": False}])
    authentication_mode: str = "API_AND_CONFIG_MAP"
    api_version: str = ""  # the minor the API server serves (switches during a version update)
    id: str = ""
    bootstrap_addons: bool = True
    update_id: str | None = None  # the update in progress


@dataclass
class Nodegroup:
    name: str
    arn: str
    version: str
    release_version: str
    ami_type: str
    instance_types: list[str]
    capacity_type: str
    min_size: int
    max_size: int
    desired_size: int
    max_unavailable: int
    subnets: list[str]
    labels: dict[str, str]
    node_role: str
    created_at: float
    modified_at: float
    status: str = "ACTIVE"
    disk_size: int = 20
    taints: list[dict[str, str]] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    health_issues: list[dict[str, Any]] = field(default_factory=list)
    update_id: str | None = None
    max_unavailable_percentage: int | None = None


@dataclass
class Addon:
    name: str
    arn: str
    version: str
    created_at: float
    modified_at: float
    status: str = "ACTIVE"
    service_account_role_arn: str | None = None
    configuration_values: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    health_issues: list[dict[str, Any]] = field(default_factory=list)
    update_id: str | None = None


@dataclass
class _Roll:
    """A managed node group's rolling update: scale up, cordon, drain (honouring PDBs), terminate."""

    update: Update
    nodegroup: str
    version: str
    release_version: str
    force: bool
    batch: list[str] = field(default_factory=list)
    blocked_since: float | None = None
    blocked: list[str] = field(default_factory=list)


OperationFn = Callable[["SandboxState", dict[str, Any]], dict[str, Any]]
OPERATIONS: dict[str, OperationFn] = {}


def operation(name: str) -> Callable[[OperationFn], OperationFn]:
    def deco(fn: OperationFn) -> OperationFn:
        OPERATIONS[name] = fn
        return fn
    return deco


# Instance shapes for node capacity: vCPU, memory GiB, max pods (VPC CNI without prefix delegation).
_INSTANCES = {"t3.medium": (2, 4, 17), "t3.large": (2, 8, 35), "m5.large": (2, 8, 29),
              "m5.xlarge": (4, 16, 58), "m6i.large": (2, 8, 29), "m6i.xlarge": (4, 16, 58),
              "c5.large": (2, 4, 29), "m7g.large": (2, 8, 29), "r5.large": (2, 16, 29),
              "g4dn.xlarge": (4, 16, 29)}


class SandboxState:
    """One simulated cluster and its account; implements the KubeBackend protocol."""

    def __init__(self, scenario: Scenario, *, time_scale: float | None = None, seed: int | None = None,
                 cluster_source: str = "scenario", faults: dict[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time,
                 log: Callable[[str], None] | None = None) -> None:
        if cluster_source not in ("scenario", "terraform"):
            raise ValueError(f"cluster_source must be 'scenario' or 'terraform', not {cluster_source!r}")
        self.lock = threading.RLock()
        self.scenario = scenario
        self.time_scale = float(time_scale if time_scale is not None else scenario.time_scale)
        if self.time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.seed = scenario.seed if seed is None else seed
        self.rng = random.Random(self.seed)
        self.fault_rng = random.Random(self.seed + 1)
        self.cluster_source = cluster_source
        self.faults: Faults = scenario.faults.with_overrides(faults or {})
        self.timing = scenario.timing
        self.region = scenario.region
        self.account = scenario.account_id
        self.store = ObjectStore()
        self.token = secrets.token_hex(24)
        self.kube_url = "http://127.0.0.1:0"
        self.ca_data = _fake_ca(self.seed)
        self._clock = clock
        self._wall0 = wall()
        self._mono0 = clock()
        self._offset = 0.0
        self._t = self._mono0
        self._events: list[tuple[float, int, Callable[[float], None]]] = []
        self._seq = itertools.count()
        self._log = log or (lambda _msg: None)
        self.cluster: Cluster | None = None
        self.nodegroups: dict[str, Nodegroup] = {}
        self.addons: dict[str, Addon] = {}
        self.updates: dict[str, Update] = {}
        self.subnets: dict[str, Subnet] = {s.id: s for s in scenario.subnets}
        self.free_ips: dict[str, int] = {s.id: s.free_ips for s in scenario.subnets}
        self._node_subnet: dict[str, str] = {}
        self._node_release: dict[str, tuple[str, str]] = {}  # node -> (minor, AMI release version)
        self._used_ips: set[str] = set()
        self._rolls: dict[str, _Roll] = {}
        self._outage: tuple[float, float] | None = None
        self._legacy_agents: dict[tuple[str, str], str] = {}  # (kind, name) -> user agent
        self.request_count = 0
        if scenario.cluster.exists and cluster_source == "scenario":
            self._materialise_scenario()

    # -- time ------------------------------------------------------------------------------------

    def now(self) -> float:
        return self._clock() + self._offset

    def wall(self, t: float | None = None) -> float:
        """Epoch seconds for monotonic time `t` (default: the time being processed)."""
        return round(self._wall0 + ((self._t if t is None else t) - self._mono0), 3)

    def scaled(self, sim_seconds: float) -> float:
        return sim_seconds * self.time_scale

    def _at(self, sim_delay: float, fn: Callable[[float], None]) -> None:
        heapq.heappush(self._events, (self._t + self.scaled(sim_delay), next(self._seq), fn))

    def advance(self) -> None:
        """Run every event that is due: bring the simulation up to now."""
        with self.lock:
            target = self.now()
            while self._events and self._events[0][0] <= target:
                at, _, fn = heapq.heappop(self._events)
                self._t = max(self._t, at)
                fn(at)
            self._t = max(self._t, target)

    def advance_by(self, sim_seconds: float) -> None:
        """Move the clock forward (control API): as if `sim_seconds` of scenario time had passed."""
        with self.lock:
            self._offset += self.scaled(max(0.0, sim_seconds))
            self.advance()

    # -- KubeBackend -----------------------------------------------------------------------------

    def server_version(self) -> Minor:
        with self.lock:
            if self.cluster is not None:
                return Minor.parse(self.cluster.api_version)
            return Minor.parse(self.scenario.cluster.version)

    def git_version(self) -> str:
        return control_plane_git_version(str(self.server_version()))

    def kube_available(self) -> bool:
        with self.lock:
            if self.cluster is None or self.cluster.status == "CREATING":
                return False  # no API server yet
            if self._outage is None:
                return True
            start, end = self._outage
            return not (start <= self.now() < end)

    def kube_fault(self, verb: str, resource: str) -> tuple[int, float] | None:
        with self.lock:
            f = self.faults

            def pick(m: Any) -> float:
                for key in (verb, resource, "*"):
                    if key in m:
                        return float(m[key])
                return 0.0
            rate, latency = pick(f.kube_error_rate), pick(f.kube_latency)
            if rate <= 0 and latency <= 0:
                return None
            hit = rate > 0 and self.fault_rng.random() < rate
            return (f.kube_error_status if hit else 0, latency)

    # -- AWS faults ------------------------------------------------------------------------------

    def aws_fault(self, op: str) -> tuple[str | None, float]:
        """(error kind to answer instead, added latency in seconds) for one AWS request."""
        with self.lock:
            self.request_count += 1
            f = self.faults
            rate = f.error_rate.get(op, f.error_rate.get("*", 0.0))
            latency = f.latency.get(op, f.latency.get("*", 0.0))
            kind = None
            if rate > 0 and self.fault_rng.random() < rate:
                kind = f.error_code.get(op, f.error_code.get("*", "ThrottlingException"))
            return kind, latency

    def set_faults(self, flat: dict[str, str], *, reset: bool = False) -> Faults:
        with self.lock:
            base = self.scenario.faults if reset else self.faults
            self.faults = base.with_overrides(flat)
            return self.faults

    # -- names and ARNs --------------------------------------------------------------------------

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def cluster_arn(self, name: str | None = None) -> str:
        return f"arn:aws:eks:{self.region}:{self.account}:cluster/{name or self.scenario.cluster.name}"

    def _role(self, what: str) -> str:
        return f"arn:aws:iam::{self.account}:role/{self.scenario.cluster.name}-{what}"

    def _cluster(self, name: str) -> Cluster:
        c = self.cluster
        if c is None or c.name != name:
            raise _not_found(f"No cluster found for name: {name}.", clusterName=name)
        return c

    def _nodegroup(self, cluster: str, name: str) -> Nodegroup:
        self._cluster(cluster)
        ng = self.nodegroups.get(name)
        if ng is None:
            raise _not_found(f"No node group found for name: {name}.", clusterName=cluster, nodegroupName=name)
        return ng

    def _addon(self, cluster: str, name: str) -> Addon:
        self._cluster(cluster)
        a = self.addons.get(name)
        if a is None:
            raise _not_found(f"No addon: {name} found in cluster: {cluster}", clusterName=cluster, addonName=name)
        return a

    def _new_update(self, kind: str, target: str, type_: str, params: list[dict[str, str]]) -> Update:
        u = Update(self._uuid(), kind, target, type_, params, self.wall())
        self.updates[u.id] = u
        return u

    # == building the cluster =====================================================================

    def _materialise_scenario(self) -> None:
        """The scenario's cluster as it exists at start: ACTIVE, with nodes, add-ons and workloads."""
        sc = self.scenario
        self.cluster = self._new_cluster(sc.cluster.name, sc.cluster.version, sc.cluster.platform_version,
                                         [s.id for s in sc.cluster.subnets], sc.cluster.support_type,
                                         sc.cluster.role_arn or self._role("cluster-role"), dict(sc.cluster.tags))
        self.cluster.status = "ACTIVE"
        self.cluster.created_at = round(self.wall() - 86400 * 200, 3)
        # Nodes first: the controllers place pods only where nodes exist.
        for spec in sc.nodegroups:
            ng = self._nodegroup_from_spec(spec)
            self.nodegroups[ng.name] = ng
            for _ in range(spec.node_count):
                if self._launch_node(ng, ng.version, ng.release_version) is None:
                    raise ValueError(f"scenario {sc.name}: the subnets of node group {ng.name} have no free "
                                     "address left for its nodes")
        self._bootstrap_kube(managed_addons={a.name: a.version for a in sc.addons})
        for a in sc.addons:
            self.addons[a.name] = Addon(a.name, self._addon_arn(a.name), a.version, self.cluster.created_at,
                                        self.cluster.created_at)
        self._populate_workloads()
        ks.reconcile_all(self.store)

    def _new_cluster(self, name: str, version: str, platform_version: str | None, subnets: list[str],
                     support_type: str, role_arn: str, tags: dict[str, str]) -> Cluster:
        info = version_info(version) or {}
        return Cluster(name=name, version=version, api_version=version,
                       platform_version=platform_version or info.get("defaultPlatformVersion", "eks.1"),
                       status="CREATING", created_at=self.wall(), subnet_ids=subnets, support_type=support_type,
                       role_arn=role_arn, tags=tags, id=self._uuid(),
                       security_group_ids=[f"sg-{_short_hash(name + 'sg', 17)}"])

    def _addon_arn(self, name: str) -> str:
        return (f"arn:aws:eks:{self.region}:{self.account}:addon/{self.scenario.cluster.name}/{name}/"
                f"{self._uuid()[:8]}")

    def _nodegroup_from_spec(self, spec: NodegroupSpec) -> Nodegroup:
        created = round(self.wall() - 86400 * 100, 3)
        return Nodegroup(
            name=spec.name, arn=self._ng_arn(spec.name), version=spec.version,
            release_version=spec.release_version or latest_release_version(spec.version), ami_type=spec.ami_type,
            instance_types=[spec.instance_type], capacity_type=spec.capacity_type, min_size=min(1, spec.node_count),
            max_size=max(spec.node_count * 2, 1), desired_size=spec.node_count, max_unavailable=spec.max_unavailable,
            subnets=list(spec.subnets) or [s.id for s in self.scenario.cluster.subnets], labels=dict(spec.labels),
            node_role=self._role("node-role"), created_at=created, modified_at=created)

    def _ng_arn(self, name: str) -> str:
        return (f"arn:aws:eks:{self.region}:{self.account}:nodegroup/{self.scenario.cluster.name}/{name}/"
                f"{self._uuid()}")

    def _put(self, obj: Obj) -> Obj:
        """Create (with the API server's defaulting) or replace an object."""
        key = ObjectStore.key_of(obj)
        old = self.store.get(key[0], key[1], key[2] or None, key[3])
        obj = ks.default_object(self.store, copy.deepcopy(obj), old)
        return self.store.put(obj)

    def _ensure_namespace(self, name: str) -> None:
        if self.store.get("", "namespaces", None, name) is None:
            self._put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def _bootstrap_kube(self, managed_addons: dict[str, str]) -> None:
        """What EKS puts in a new cluster: namespaces, the kubernetes service, the core add-ons."""
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self._ensure_namespace(ns)
        self._put({"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": "kubernetes", "namespace": "default",
                                "labels": {"component": "apiserver", "provider": "kubernetes"}},
                   "spec": {"clusterIP": "172.20.0.1", "type": "ClusterIP",
                            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443}]}})
        self._put({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "aws-auth", "namespace": "kube-system"},
                   "data": {"mapRoles": "- groups:\n  - system:bootstrappers\n  - system:nodes\n"
                                        f"  rolearn: {self._role('node-role')}\n"
                                        "  username: system:node:{{EC2PrivateDNSName}}\n"}})
        assert self.cluster is not None
        if not self.cluster.bootstrap_addons:
            return
        for name in ("vpc-cni", "kube-proxy", "coredns"):
            version = managed_addons.get(name) or default_addon_version(name, self.cluster.version)
            if version:
                self._addon_workloads(name, version)
        if "aws-ebs-csi-driver" in managed_addons:
            self._addon_workloads("aws-ebs-csi-driver", managed_addons["aws-ebs-csi-driver"])

    def _ecr(self, repo: str, tag: str) -> str:
        return f"{ECR_ACCOUNT}.dkr.ecr.{self.region}.amazonaws.com/{repo}:{tag}"

    def addon_image(self, name: str, version: str) -> str:
        if name == "vpc-cni":
            return self._ecr("amazon-k8s-cni", version)
        if name == "kube-proxy":
            # kube-proxy images carry "-minimal" before the eksbuild suffix.
            return self._ecr("eks/kube-proxy", version.replace("-eksbuild", "-minimal-eksbuild"))
        if name == "coredns":
            return self._ecr("eks/coredns", version)
        return self._ecr("eks/aws-ebs-csi-driver", version.split("-")[0])

    def _addon_workloads(self, name: str, version: str) -> None:
        """Create or update the Kubernetes objects an add-on runs as (image tag follows the version)."""
        image = self.addon_image(name, version)
        sysns = "kube-system"
        if name == "vpc-cni":
            init = image.replace("amazon-k8s-cni:", "amazon-k8s-cni-init:")
            self._put(_daemonset("aws-node", sysns, {"k8s-app": "aws-node"}, [
                {"name": "aws-node", "image": image, "ports": [{"containerPort": 61678, "name": "metrics"}],
                 "env": [{"name": "AWS_VPC_K8S_CNI_LOGLEVEL", "value": "DEBUG"},
                         {"name": "ENABLE_PREFIX_DELEGATION", "value": "false"}]}],
                init=[{"name": "aws-vpc-cni-init", "image": init}], host_network=True))
        elif name == "kube-proxy":
            self._put(_daemonset("kube-proxy", sysns, {"k8s-app": "kube-proxy"}, [
                {"name": "kube-proxy", "image": image,
                 "command": ["kube-proxy", "--v=2", "--config=/var/lib/kube-proxy-config/config"]}],
                host_network=True))
        elif name == "coredns":
            labels = {"k8s-app": "kube-dns", "eks.amazonaws.com/component": "coredns"}
            self._put(_deployment("coredns", sysns, labels, 2, [
                {"name": "coredns", "image": image, "args": ["-conf", "/etc/coredns/Corefile"],
                 "ports": [{"containerPort": 53, "name": "dns", "protocol": "UDP"},
                           {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"}],
                 # As the EKS add-on ships it (the ready plugin on 8181).
                 "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181, "scheme": "HTTP"},
                                    "periodSeconds": 10}}]))
            self._put({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "coredns", "namespace": sysns,
                                    "labels": {"eks.amazonaws.com/component": "coredns", "k8s-app": "kube-dns"}},
                       "data": {"Corefile": _corefile(self.scenario.cluster.corefile_upstream)}})
            self._put({"apiVersion": "v1", "kind": "Service",
                       "metadata": {"name": "kube-dns", "namespace": sysns, "labels": labels},
                       "spec": {"clusterIP": "172.20.0.10", "selector": {"k8s-app": "kube-dns"},
                                "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                                          {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]}})
            self._put({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                       "metadata": {"name": "coredns", "namespace": sysns, "labels": labels},
                       "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"k8s-app": "kube-dns"}}}})
        elif name == "aws-ebs-csi-driver":
            labels = {"app": "ebs-csi-controller", "app.kubernetes.io/name": "aws-ebs-csi-driver"}
            self._put(_deployment("ebs-csi-controller", sysns, labels, 2, [
                {"name": "ebs-plugin", "image": image, "args": ["controller", "--endpoint=$(CSI_ENDPOINT)"]}]))
            self._put(_daemonset("ebs-csi-node", sysns, {"app": "ebs-csi-node",
                                                         "app.kubernetes.io/name": "aws-ebs-csi-driver"},
                                 [{"name": "ebs-plugin", "image": image, "args": ["node"]}]))
        ks.reconcile_all(self.store)

    def _remove_addon_workloads(self, name: str) -> None:
        targets = {"vpc-cni": [("apps", "daemonsets", "aws-node")],
                   "kube-proxy": [("apps", "daemonsets", "kube-proxy")],
                   "coredns": [("apps", "deployments", "coredns")],
                   "aws-ebs-csi-driver": [("apps", "deployments", "ebs-csi-controller"),
                                          ("apps", "daemonsets", "ebs-csi-node")]}[name]
        for group, plural, obj_name in targets:
            obj = self.store.delete(group, plural, "kube-system", obj_name)
            if obj is not None:
                ks.delete_dependents(self.store, obj)

    def _populate_workloads(self) -> None:
        """The scenario's workloads, PDBs, Helm releases and objects under removed APIs."""
        sc = self.scenario
        for w in sc.workloads:
            for obj in workload_objects(w):
                self._ensure_namespace(obj["metadata"]["namespace"])
                self._put(obj)
        for p in sc.pdbs:
            self._ensure_namespace(p.namespace)
            self._put(pdb_object(p.name, p.namespace, dict(p.selector), p.min_available, p.max_unavailable))
        assert self.cluster is not None
        current = Minor.parse(self.cluster.version)
        for legacy in sc.legacy_objects:
            manifest = dict(legacy.manifest)
            res = k8s_apis.lookup(manifest["apiVersion"], manifest["kind"])
            if res is None or not res.served_in(current):
                self._log(f"skipping {manifest['apiVersion']} {manifest['kind']}: not served by {current}")
                continue
            obj = copy.deepcopy(manifest)
            meta = obj.setdefault("metadata", {})
            if res.namespaced:
                meta.setdefault("namespace", "default")
                self._ensure_namespace(meta["namespace"])
            meta.setdefault("annotations", {})["kubectl.kubernetes.io/last-applied-configuration"] = \
                json.dumps(manifest, separators=(",", ":"), sort_keys=True) + "\n"
            self._legacy_agents[(res.kind, meta["name"])] = legacy.user_agent
            self._put(obj)
        for rel in sc.helm_releases:
            self._install_helm_release(rel, current)

    def _install_helm_release(self, rel: HelmRelease, current: Minor) -> None:
        import yaml  # local: only needed while building a scenario

        self._ensure_namespace(rel.namespace)
        helm_labels = {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": rel.name,
                       "helm.sh/chart": f"{rel.chart}-{rel.chart_version}"}
        if rel.app_version:
            helm_labels["app.kubernetes.io/version"] = rel.app_version
        annotations = {"meta.helm.sh/release-name": rel.name, "meta.helm.sh/release-namespace": rel.namespace}
        rendered: list[tuple[str, Obj]] = []
        for w in rel.workloads:
            for obj in workload_objects(w, extra_labels=helm_labels):
                rendered.append((f"templates/{obj['kind'].lower()}.yaml", obj))
        for o in rel.objects:
            obj = copy.deepcopy(dict(o))
            meta = obj.setdefault("metadata", {})
            meta["labels"] = {**helm_labels, **(meta.get("labels") or {})}
            rendered.append((f"templates/{obj['kind'].lower()}.yaml", obj))
        if rel.manifest:
            manifest = rel.manifest if rel.manifest.startswith("---") else "---\n" + rel.manifest
            docs = [d for d in yaml.safe_load_all(rel.manifest) if isinstance(d, dict)]
        else:
            manifest = "".join(f"---\n# Source: {rel.chart}/{tpl}\n{yaml.safe_dump(obj, sort_keys=False)}"
                               for tpl, obj in rendered)
            docs = [obj for _, obj in rendered]
        for doc in docs:
            res = k8s_apis.lookup(str(doc.get("apiVersion")), str(doc.get("kind")))
            if res is None or not res.served_in(current):
                continue
            obj = copy.deepcopy(doc)
            meta = obj.setdefault("metadata", {})
            if res.namespaced:
                meta.setdefault("namespace", rel.namespace)
                self._ensure_namespace(meta["namespace"])
            meta["annotations"] = {**(meta.get("annotations") or {}), **annotations}
            if res.removed is not None:
                self._legacy_agents[(res.kind, meta.get("name", ""))] = "Helm/3.15.3"
            self._put(obj)
        templates = [{"name": tpl, "data": base64.b64encode(yaml.safe_dump(obj, sort_keys=False).encode()).decode()}
                     for tpl, obj in rendered]
        for rev in range(max(1, rel.revision - 9), rel.revision + 1):
            self._put(helm_release_secret(rel, rev, manifest, templates, self.wall() - 3600 * (rel.revision - rev + 1),
                                          latest=rev == rel.revision))

    # -- nodes -----------------------------------------------------------------------------------

    def _pick_subnet(self, ng: Nodegroup) -> str | None:
        """The node group subnet with the most free addresses (EKS spreads nodes over AZs)."""
        choices = [s for s in ng.subnets if self.free_ips.get(s, 0) > 0]
        if not choices:
            return None
        counts = {s: sum(1 for v in self._node_subnet.values() if v == s) for s in choices}
        return min(choices, key=lambda s: (counts[s], s))

    def _launch_node(self, ng: Nodegroup, version: str, release_version: str) -> str | None:
        subnet_id = self._pick_subnet(ng)
        if subnet_id is None:
            return None
        subnet = self.subnets[subnet_id]
        net = ipaddress.ip_network(subnet.cidr, strict=False)
        hosts = max(1, net.num_addresses - 5)
        for _ in range(1000):
            ip = str(net.network_address + 4 + self.rng.randrange(hosts))
            if ip not in self._used_ips:
                break
        self._used_ips.add(ip)
        self.free_ips[subnet_id] -= 1
        domain = "ec2.internal" if self.region == "us-east-1" else f"{self.region}.compute.internal"
        name = f"ip-{ip.replace('.', '-')}.{domain}"
        self._node_subnet[name] = subnet_id
        self._node_release[name] = (version, release_version)
        self._put(node_object(name, ip, ng, version, release_version, subnet.az, self.region, self.rng))
        return name

    def _delete_node(self, name: str) -> None:
        node = self.store.delete("", "nodes", None, name)
        subnet = self._node_subnet.pop(name, None)
        self._node_release.pop(name, None)
        if subnet is not None:
            self.free_ips[subnet] += 1
        if node is not None:
            for addr in (node.get("status") or {}).get("addresses") or []:
                if addr.get("type") == "InternalIP":
                    self._used_ips.discard(addr.get("address"))

    def nodes_of(self, ng_name: str) -> list[Obj]:
        return self.store.list("", "nodes", label_selector=f"eks.amazonaws.com/nodegroup={ng_name}")

    def _cordon(self, name: str) -> None:
        node = self.store.get("", "nodes", None, name)
        if node is None or (node.get("spec") or {}).get("unschedulable"):
            return
        spec = node.setdefault("spec", {})
        spec["unschedulable"] = True
        taints = [t for t in spec.get("taints") or [] if t.get("key") != "node.kubernetes.io/unschedulable"]
        taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule",
                       "timeAdded": _rfc3339(self.wall())})
        spec["taints"] = taints
        self.store.put(node)

    # == EKS: clusters ============================================================================

    def _cluster_api(self, c: Cluster) -> dict[str, Any]:
        issues = self._cluster_health(c)
        vpc = self.scenario.cluster.vpc_id
        out: dict[str, Any] = {
            "name": c.name, "arn": self.cluster_arn(c.name), "createdAt": c.created_at, "version": c.version,
            "endpoint": self.kube_url, "roleArn": c.role_arn,
            "resourcesVpcConfig": {
                "subnetIds": list(c.subnet_ids), "securityGroupIds": list(c.security_group_ids),
                "clusterSecurityGroupId": f"sg-{_short_hash(c.name + 'cluster-sg', 17)}", "vpcId": vpc,
                "endpointPublicAccess": c.endpoint_public_access,
                "endpointPrivateAccess": c.endpoint_private_access, "publicAccessCidrs": ["0.0.0.0/0"]},
            "kubernetesNetworkConfig": {"serviceIpv4Cidr": "172.20.0.0/16", "ipFamily": "ipv4",
                                        "elasticLoadBalancing": {"enabled": False}},
            "logging": {"clusterLogging": c.logging},
            "identity": {"oidc": {"issuer": f"https://oidc.eks.{self.region}.amazonaws.com/id/"
                                            f"{_short_hash(c.id, 32).upper()}"}},
            "status": c.status, "certificateAuthority": {"data": self.ca_data},
            "platformVersion": c.platform_version, "tags": dict(c.tags), "health": {"issues": issues},
            "accessConfig": {"bootstrapClusterCreatorAdminPermissions": True,
                             "authenticationMode": c.authentication_mode},
            "upgradePolicy": {"supportType": c.support_type},
            "zonalShiftConfig": {"enabled": False},
        }
        return out

    def _cluster_health(self, c: Cluster) -> list[dict[str, Any]]:
        free = sum(self.free_ips.get(s, 0) for s in c.subnet_ids)
        if free < MIN_CONTROL_PLANE_FREE_IPS:
            return [{"code": "InsufficientFreeAddresses",
                     "message": "One or more of the subnets associated with your cluster does not have enough "
                                "available IP addresses for Amazon EKS to perform cluster management "
                                "operations. Free up addresses in the subnets or associate different subnets "
                                "to your cluster using the Amazon EKS update-cluster-config API.",
                     "resourceIds": list(c.subnet_ids)}]
        return []

    @operation("ListClusters")
    def list_clusters(self, p: dict[str, Any]) -> dict[str, Any]:
        names = [self.cluster.name] if self.cluster is not None else []
        page, token = _paginate(names, p)
        return {"clusters": page, **({"nextToken": token} if token else {})}

    @operation("DescribeCluster")
    def describe_cluster(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"cluster": self._cluster_api(self._cluster(p["name"]))}

    @operation("CreateCluster")
    def create_cluster(self, p: dict[str, Any]) -> dict[str, Any]:
        name = p["name"]
        expected = self.scenario.cluster.name
        if self.cluster is not None:
            if self.cluster.name == name:
                raise _in_use(f"Cluster already exists with name: {name}", clusterName=name)
            raise _invalid(f"This sandbox holds one cluster ({self.cluster.name}); cannot create {name}")
        if name != expected:
            raise _invalid(f"The sandbox scenario {self.scenario.name} simulates the cluster named {expected!r}; "
                           f"CreateCluster for {name!r} is refused: name the cluster {expected!r}",
                           clusterName=name)
        version = p.get("version") or default_cluster_version()
        if version_info(version) is None:
            raise _invalid(f"unsupported Kubernetes version {version}", clusterName=name)
        vpc = p.get("resourcesVpcConfig") or {}
        subnets = list(vpc.get("subnetIds") or [])
        for s in subnets:
            if s not in self.subnets:
                raise _invalid(f"The subnet ID '{s}' does not exist (sandbox subnets: "
                               f"{', '.join(sorted(self.subnets))})", clusterName=name)
        if len({self.subnets[s].az for s in subnets}) < 2:
            raise AwsApiError("UnsupportedAvailabilityZoneException",
                              "Subnets specified must be in at least two different AZs", 400, clusterName=name)
        support = ((p.get("upgradePolicy") or {}).get("supportType")) or "EXTENDED"
        c = self._new_cluster(name, version, None, subnets, support, p.get("roleArn") or self._role("cluster-role"),
                              dict(p.get("tags") or {}))
        c.endpoint_public_access = bool(vpc.get("endpointPublicAccess", True))
        c.endpoint_private_access = bool(vpc.get("endpointPrivateAccess", False))
        c.security_group_ids = list(vpc.get("securityGroupIds") or c.security_group_ids)
        c.bootstrap_addons = p.get("bootstrapSelfManagedAddons") is not False
        auth = (p.get("accessConfig") or {}).get("authenticationMode")
        if auth:
            c.authentication_mode = auth
        self.cluster = c
        self._log(f"CreateCluster {name} {version}")

        def created(_t: float) -> None:
            if self.cluster is c and c.status == "CREATING":
                c.status = "ACTIVE"
                self._bootstrap_kube(managed_addons={})
                self._populate_workloads()
                ks.reconcile_all(self.store)
                self._log(f"cluster {name} ACTIVE on {version}")
        self._at(self.timing.cluster_create_seconds, created)
        return {"cluster": self._cluster_api(c)}

    @operation("DeleteCluster")
    def delete_cluster(self, p: dict[str, Any]) -> dict[str, Any]:
        c = self._cluster(p["name"])
        if self.nodegroups:
            raise _in_use(f"Cluster has nodegroups attached: {', '.join(sorted(self.nodegroups))}",
                          clusterName=c.name)
        if c.status == "DELETING":
            raise _in_use(f"Cluster {c.name} is already being deleted", clusterName=c.name)
        c.status = "DELETING"
        answer = {"cluster": self._cluster_api(c)}

        def gone(_t: float) -> None:
            if self.cluster is c:
                self.cluster = None
                self.addons.clear()
                self._rolls.clear()
                self.store = _clear_store(self.store)
                self._log(f"cluster {c.name} deleted")
        self._at(self.timing.cluster_delete_seconds, gone)
        return answer

    # -- cluster version update ------------------------------------------------------------------

    def _update_in_progress(self) -> Update | None:
        for u in self.updates.values():
            if u.kind == "cluster" and u.status == "InProgress":
                return u
        return None

    @operation("UpdateClusterVersion")
    def update_cluster_version(self, p: dict[str, Any]) -> dict[str, Any]:
        c = self._cluster(p["name"])
        version = str(p.get("version") or "")
        busy = self._update_in_progress()
        if busy is not None:
            raise _in_use(f"Cannot VersionUpdate because cluster {c.name} currently has update {busy.id} in progress",
                          clusterName=c.name)
        if c.status != "ACTIVE":
            raise _in_use(f"Cannot VersionUpdate because cluster {c.name} is in {c.status} status",
                          clusterName=c.name)
        target = Minor.try_parse(version)
        if target is None or version_info(version) is None or str(target) != version:
            raise _invalid(f"unsupported Kubernetes version {version}", clusterName=c.name)
        current = Minor.parse(c.version)
        if target != current.next():
            raise _invalid(f"Unsupported Kubernetes minor version update from {current} to {target}",
                           clusterName=c.name)
        behind = sorted(ng.name for ng in self.nodegroups.values() if Minor.parse(ng.version) < current)
        if behind:
            raise _invalid(f"Nodegroups {', '.join(behind)} must be updated to match cluster version {current} "
                           "before updating cluster version", clusterName=c.name)
        if self.scenario.insights_block_upgrade and not p.get("force"):
            errors = [i["name"] for i in self._insights() if i["kubernetesVersion"] == version
                      and i["insightStatus"]["status"] == "ERROR"]
            if errors:
                raise AwsApiError("InvalidRequestException",
                                  f"Cluster upgrade blocked: upgrade insight checks in ERROR status: "
                                  f"{'; '.join(errors)}. Resolve them, or retry with force to override.",
                                  400, clusterName=c.name)
        info = version_info(version) or {}
        u = self._new_update("cluster", c.name, "VersionUpdate",
                             [{"type": "Version", "value": version},
                              {"type": "PlatformVersion", "value": info.get("defaultPlatformVersion", "eks.1")}])
        c.status = "UPDATING"
        c.update_id = u.id
        self._log(f"UpdateClusterVersion {c.name} {current} -> {version} ({u.id})")
        duration = self.timing.cluster_update_seconds
        f = self.faults
        outage_start = duration * f.kube_outage_start
        outage_end = min(duration, outage_start + duration * f.kube_outage_length)
        fail = f.fail_update.get("cluster")
        free = sum(self.free_ips.get(s, 0) for s in c.subnet_ids)
        if free < MIN_CONTROL_PLANE_FREE_IPS and fail is None:
            # EKS needs up to five free addresses for the new control-plane network interfaces.
            fail = ("InsufficientFreeAddresses",
                    f"The cluster's subnets have {free} available IP addresses; Amazon EKS needs up to "
                    f"{MIN_CONTROL_PLANE_FREE_IPS} to update the control plane.")

            def early_fail(_t: float) -> None:
                self._finish_cluster_update(c, u, version, fail)
            self._at(duration * 0.05, early_fail)
            return {"update": u.to_api()}
        if f.kube_outage and outage_end > outage_start:
            self._outage = (self._t + self.scaled(outage_start), self._t + self.scaled(outage_end))

        def cutover(_t: float) -> None:
            if u.status == "InProgress" and fail is None:
                c.api_version = version
                self._convert_removed_objects(Minor.parse(version))
                self._log(f"API server of {c.name} now serves {version}")
        self._at(outage_end if f.kube_outage else duration * 0.7, cutover)
        self._at(duration, lambda _t: self._finish_cluster_update(c, u, version, fail))
        return {"update": u.to_api()}

    def _finish_cluster_update(self, c: Cluster, u: Update, version: str, fail: tuple[str, str] | None) -> None:
        if u.status != "InProgress":
            return
        c.status = "ACTIVE"
        c.update_id = None
        self._outage = None
        if fail is not None:
            u.status = "Failed"
            u.finished_at = self.wall()
            u.errors = [{"errorCode": fail[0], "errorMessage": fail[1], "resourceIds": [c.name]}]
            c.api_version = c.version
            self._log(f"cluster update {u.id} Failed: {fail[0]}")
            return
        c.version = version
        c.api_version = version
        c.platform_version = (version_info(version) or {}).get("defaultPlatformVersion", "eks.1")
        u.status = "Successful"
        u.finished_at = self.wall()
        self._log(f"cluster {c.name} ACTIVE on {version}")

    def _convert_removed_objects(self, minor: Minor) -> None:
        """What an API server upgrade does to objects stored under versions it no longer serves.

        Objects whose kind is still served under another version are converted to it (the
        last-applied annotation keeps the old apiVersion, as on a real cluster); kinds removed
        without replacement (PodSecurityPolicy at 1.25) become unreachable, so they are dropped.
        """
        for obj in self.store.all_objects():
            res = k8s_apis.lookup(str(obj.get("apiVersion")), str(obj.get("kind")))
            if res is None or res.served_in(minor):
                continue
            alt = next((r for r in k8s_apis.served(minor) if r.group == res.group and r.kind == res.kind), None)
            meta = obj.get("metadata") or {}
            if alt is None:
                self.store.delete(res.group, res.plural, meta.get("namespace"), meta.get("name", ""))
            else:
                obj["apiVersion"] = alt.api_version
                self.store.put(obj)

    # -- updates -----------------------------------------------------------------------------------

    @operation("DescribeUpdate")
    def describe_update(self, p: dict[str, Any]) -> dict[str, Any]:
        c = self._cluster(p["name"])
        uid = p["updateId"]
        u = self.updates.get(uid)
        kind, target = "cluster", c.name
        if p.get("nodegroupName"):
            self._nodegroup(c.name, p["nodegroupName"])
            kind, target = "nodegroup", p["nodegroupName"]
        elif p.get("addonName"):
            self._addon(c.name, p["addonName"])
            kind, target = "addon", p["addonName"]
        if u is None or u.kind != kind or u.target != target:
            raise _not_found(f"No update found for ID: {uid}", clusterName=c.name)
        return {"update": u.to_api()}

    @operation("ListUpdates")
    def list_updates(self, p: dict[str, Any]) -> dict[str, Any]:
        c = self._cluster(p["name"])
        kind, target = "cluster", c.name
        if p.get("nodegroupName"):
            self._nodegroup(c.name, p["nodegroupName"])
            kind, target = "nodegroup", p["nodegroupName"]
        elif p.get("addonName"):
            self._addon(c.name, p["addonName"])
            kind, target = "addon", p["addonName"]
        ids = [u.id for u in self.updates.values() if u.kind == kind and u.target == target]
        page, token = _paginate(ids, p)
        return {"updateIds": page, **({"nextToken": token} if token else {})}

    @operation("UpdateClusterConfig")
    def update_cluster_config(self, p: dict[str, Any]) -> dict[str, Any]:
        c = self._cluster(p["name"])
        kinds = {"resourcesVpcConfig": "EndpointAccessUpdate", "logging": "LoggingUpdate",
                 "accessConfig": "AccessConfigUpdate", "upgradePolicy": "UpgradePolicyUpdate",
                 "zonalShiftConfig": "ZonalShiftConfigUpdate"}
        given = [k for k in kinds if p.get(k) is not None]
        if len(given) != 1:
            raise _invalid("Only one type of update can be allowed." if given else "No changes needed",
                           clusterName=c.name)
        busy = self._update_in_progress()
        if busy is not None or c.status != "ACTIVE":
            raise _in_use(f"Cannot {kinds[given[0]]} because cluster {c.name} currently has update "
                          f"{busy.id if busy else c.update_id} in progress", clusterName=c.name)
        value = p[given[0]]
        params: list[dict[str, str]] = []
        if given[0] == "upgradePolicy":
            c.support_type = value.get("supportType", c.support_type)
            params = [{"type": "UpgradePolicy", "value": json.dumps(value)}]
        elif given[0] == "logging":
            c.logging = list(value.get("clusterLogging") or c.logging)
            params = [{"type": "ClusterLogging", "value": json.dumps(value)}]
        elif given[0] == "resourcesVpcConfig":
            if "endpointPublicAccess" in value:
                c.endpoint_public_access = bool(value["endpointPublicAccess"])
                params.append({"type": "EndpointPublicAccess", "value": str(c.endpoint_public_access).lower()})
            if "endpointPrivateAccess" in value:
                c.endpoint_private_access = bool(value["endpointPrivateAccess"])
                params.append({"type": "EndpointPrivateAccess", "value": str(c.endpoint_private_access).lower()})
        elif given[0] == "accessConfig":
            c.authentication_mode = value.get("authenticationMode", c.authentication_mode)
            params = [{"type": "AuthenticationMode", "value": c.authentication_mode}]
        u = self._new_update("cluster", c.name, kinds[given[0]], params)
        c.status = "UPDATING"

        def done(_t: float) -> None:
            if u.status == "InProgress":
                u.status = "Successful"
                u.finished_at = self.wall()
                c.status = "ACTIVE"
        self._at(30, done)
        return {"update": u.to_api()}

    # == EKS: node groups =========================================================================

    def _nodegroup_api(self, ng: Nodegroup) -> dict[str, Any]:
        update_config: dict[str, Any] = ({"maxUnavailablePercentage": ng.max_unavailable_percentage}
                                         if ng.max_unavailable_percentage else {"maxUnavailable": ng.max_unavailable})
        return {
            "nodegroupName": ng.name, "nodegroupArn": ng.arn, "clusterName": self.scenario.cluster.name,
            "version": ng.version, "releaseVersion": ng.release_version, "createdAt": ng.created_at,
            "modifiedAt": ng.modified_at, "status": ng.status, "capacityType": ng.capacity_type,
            "scalingConfig": {"minSize": ng.min_size, "maxSize": ng.max_size, "desiredSize": ng.desired_size},
            "instanceTypes": list(ng.instance_types), "subnets": list(ng.subnets), "amiType": ng.ami_type,
            "nodeRole": ng.node_role, "labels": dict(ng.labels), "taints": list(ng.taints),
            "resources": {"autoScalingGroups": [{"name": f"eks-{ng.name}-{ng.arn.rsplit('/', 1)[-1]}"}]},
            "diskSize": ng.disk_size, "health": {"issues": list(ng.health_issues)},
            "updateConfig": update_config, "tags": dict(ng.tags),
        }

    @operation("ListNodegroups")
    def list_nodegroups(self, p: dict[str, Any]) -> dict[str, Any]:
        self._cluster(p["clusterName"])
        page, token = _paginate(sorted(self.nodegroups), p)
        return {"nodegroups": page, **({"nextToken": token} if token else {})}

    @operation("DescribeNodegroup")
    def describe_nodegroup(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"nodegroup": self._nodegroup_api(self._nodegroup(p["clusterName"], p["nodegroupName"]))}

    def _check_ami(self, ami_type: str, version: str, **f: str) -> None:
        if ami_type.startswith("AL2_") and Minor.parse(version) >= Minor(1, 33):
            raise _invalid(f"AMI Type {ami_type} is only supported for kubernetes versions 1.32 or earlier", **f)

    @operation("CreateNodegroup")
    def create_nodegroup(self, p: dict[str, Any]) -> dict[str, Any]:
        c = self._cluster(p["clusterName"])
        name = p["nodegroupName"]
        f = {"clusterName": c.name, "nodegroupName": name}
        if c.status not in ("ACTIVE", "UPDATING"):
            raise AwsApiError("InvalidRequestException", f"Cluster '{c.name}' is not in ACTIVE status", 400, **f)
        if name in self.nodegroups:
            raise _in_use(f"NodeGroup already exists with name {name} and cluster name {c.name}", **f)
        version = p.get("version") or c.version
        if Minor.try_parse(version) is None or version_info(version) is None:
            raise _invalid(f"Requested Nodegroup version {version} is invalid.", **f)
        if Minor.parse(version) > Minor.parse(c.version):
            raise _invalid(f"Requested Nodegroup version {version} is invalid. Allowed version is {c.version}", **f)
        ami = p.get("amiType") or ("AL2023_x86_64_STANDARD" if Minor.parse(version) >= Minor(1, 30) else "AL2_x86_64")
        self._check_ami(ami, version, **f)
        release = p.get("releaseVersion") or latest_release_version(version)
        if not release.startswith(version + "."):
            raise _invalid(f"Requested release version {release} is not valid for kubernetes version {version}.",
                           **f)
        subnets = list(p.get("subnets") or [])
        for s in subnets:
            if s not in self.subnets:
                raise _invalid(f"The subnet ID '{s}' does not exist", **f)
        scaling = p.get("scalingConfig") or {}
        desired = int(scaling.get("desiredSize", 2))
        upd = p.get("updateConfig") or {}
        now = self.wall()
        ng = Nodegroup(
            name=name, arn=self._ng_arn(name), version=version, release_version=release, ami_type=ami,
            instance_types=list(p.get("instanceTypes") or ["t3.medium"]),
            capacity_type=p.get("capacityType") or "ON_DEMAND", min_size=int(scaling.get("minSize", 1)),
            max_size=int(scaling.get("maxSize", max(desired, 2))), desired_size=desired,
            max_unavailable=int(upd.get("maxUnavailable") or 1), subnets=subnets,
            labels=dict(p.get("labels") or {}), node_role=p.get("nodeRole") or self._role("node-role"),
            created_at=now, modified_at=now, status="CREATING", disk_size=int(p.get("diskSize") or 20),
            taints=list(p.get("taints") or []), tags=dict(p.get("tags") or {}),
            max_unavailable_percentage=upd.get("maxUnavailablePercentage"))
        self.nodegroups[name] = ng

        def created(_t: float) -> None:
            if self.nodegroups.get(name) is not ng or ng.status != "CREATING":
                return
            for _ in range(ng.desired_size):
                if self._launch_node(ng, ng.version, ng.release_version) is None:
                    ng.status = "CREATE_FAILED"
                    ng.health_issues = [{"code": "InsufficientFreeAddresses",
                                         "message": "One or more of the subnets does not have enough free addresses",
                                         "resourceIds": list(ng.subnets)}]
                    break
            else:
                ng.status = "ACTIVE"
            self._place_unplaced_pods()
        self._at(self.timing.nodegroup_create_seconds, created)
        return {"nodegroup": self._nodegroup_api(ng)}

    @operation("DeleteNodegroup")
    def delete_nodegroup(self, p: dict[str, Any]) -> dict[str, Any]:
        ng = self._nodegroup(p["clusterName"], p["nodegroupName"])
        if ng.status == "DELETING":
            raise _in_use(f"Nodegroup {ng.name} is already being deleted", nodegroupName=ng.name)
        ng.status = "DELETING"
        self._rolls.pop(ng.name, None)
        answer = {"nodegroup": self._nodegroup_api(ng)}

        def gone(_t: float) -> None:
            if self.nodegroups.get(ng.name) is not ng:
                return
            for node in self.nodes_of(ng.name):
                self._delete_node(node["metadata"]["name"])
            del self.nodegroups[ng.name]
            ks.reconcile_all(self.store)
        self._at(self.timing.nodegroup_delete_seconds, gone)
        return answer

    @operation("UpdateNodegroupConfig")
    def update_nodegroup_config(self, p: dict[str, Any]) -> dict[str, Any]:
        ng = self._nodegroup(p["clusterName"], p["nodegroupName"])
        f = {"clusterName": self.scenario.cluster.name, "nodegroupName": ng.name}
        if ng.status != "ACTIVE":
            raise _in_use(f"Nodegroup {ng.name} is currently {ng.status}", **f)
        params: list[dict[str, str]] = []
        scaling = p.get("scalingConfig") or {}
        for key, attr, ptype in (("minSize", "min_size", "MinSize"), ("maxSize", "max_size", "MaxSize"),
                                 ("desiredSize", "desired_size", "DesiredSize")):
            if key in scaling:
                setattr(ng, attr, int(scaling[key]))
                params.append({"type": ptype, "value": str(scaling[key])})
        labels = p.get("labels") or {}
        for k, v in (labels.get("addOrUpdateLabels") or {}).items():
            ng.labels[k] = v
        for k in labels.get("removeLabels") or []:
            ng.labels.pop(k, None)
        if labels:
            params.append({"type": "LabelsToAdd", "value": json.dumps(labels.get("addOrUpdateLabels") or {})})
        upd = p.get("updateConfig") or {}
        if upd.get("maxUnavailable"):
            ng.max_unavailable, ng.max_unavailable_percentage = int(upd["maxUnavailable"]), None
            params.append({"type": "MaxUnavailable", "value": str(upd["maxUnavailable"])})
        if upd.get("maxUnavailablePercentage"):
            ng.max_unavailable_percentage = int(upd["maxUnavailablePercentage"])
            params.append({"type": "MaxUnavailablePercentage", "value": str(upd["maxUnavailablePercentage"])})
        if not params:
            raise _invalid("No changes needed", **f)
        u = self._new_update("nodegroup", ng.name, "ConfigUpdate", params)
        ng.status = "UPDATING"
        ng.update_id = u.id

        def done(_t: float) -> None:
            if u.status != "InProgress":
                return
            nodes = sorted(n["metadata"]["name"] for n in self.nodes_of(ng.name))
            while len(nodes) < ng.desired_size:
                name = self._launch_node(ng, ng.version, ng.release_version)
                if name is None:
                    break
                nodes.append(name)
            while len(nodes) > ng.desired_size:
                self._delete_node(nodes.pop())
            self._place_unplaced_pods()
            u.status, ng.status, ng.update_id, ng.modified_at = "Successful", "ACTIVE", None, self.wall()
        self._at(self.timing.node_launch_seconds, done)
        return {"update": u.to_api()}

    @operation("UpdateNodegroupVersion")
    def update_nodegroup_version(self, p: dict[str, Any]) -> dict[str, Any]:
        c = self._cluster(p["clusterName"])
        ng = self._nodegroup(c.name, p["nodegroupName"])
        f = {"clusterName": c.name, "nodegroupName": ng.name}
        busy = self._update_in_progress()
        if busy is not None:
            raise _in_use(f"Cannot update nodegroup {ng.name} because cluster {c.name} currently has update "
                          f"{busy.id} in progress", **f)
        if ng.status != "ACTIVE" or ng.update_id is not None:
            raise _in_use(f"Nodegroup {ng.name} cannot be updated while it is {ng.status}"
                          + (f" (update {ng.update_id} in progress)" if ng.update_id else ""), **f)
        if p.get("launchTemplate"):
            raise _invalid("The sandbox does not model launch templates: update with version or releaseVersion",
                           **f)
        release = p.get("releaseVersion")
        version = p.get("version") or (release.split(".")[0] + "." + release.split(".")[1] if release else c.version)
        if Minor.try_parse(version) is None or version_info(version) is None:
            raise _invalid(f"Requested Nodegroup version {version} is invalid. Allowed version is {c.version}", **f)
        if Minor.parse(version) > Minor.parse(c.version) or Minor.parse(version) < Minor.parse(ng.version):
            raise _invalid(f"Requested Nodegroup version {version} is invalid. Allowed version is {c.version}", **f)
        if release and not release.startswith(version + "."):
            raise _invalid(f"Requested release version {release} is not valid for kubernetes version {version}.", **f)
        self._check_ami(ng.ami_type, version, **f)
        release = release or latest_release_version(version)
        u = self._new_update("nodegroup", ng.name, "VersionUpdate",
                             [{"type": "Version", "value": version}, {"type": "ReleaseVersion", "value": release}])
        ng.status, ng.update_id = "UPDATING", u.id
        roll = _Roll(u, ng.name, version, release, bool(p.get("force")))
        self._rolls[ng.name] = roll
        self._log(f"UpdateNodegroupVersion {ng.name} {ng.version} -> {version} ({release})")
        self._at(self.timing.node_launch_seconds, lambda _t: self._roll_scale_up(roll))
        return {"update": u.to_api()}

    # -- the roll --------------------------------------------------------------------------------

    def _roll_live(self, roll: _Roll) -> Nodegroup | None:
        ng = self.nodegroups.get(roll.nodegroup)
        if ng is None or self._rolls.get(roll.nodegroup) is not roll or roll.update.status != "InProgress":
            return None
        return ng

    def _old_nodes(self, roll: _Roll) -> list[str]:
        target = (roll.version, roll.release_version)
        return sorted(n["metadata"]["name"] for n in self.nodes_of(roll.nodegroup)
                      if self._node_release.get(n["metadata"]["name"]) != target)

    def _new_nodes(self, roll: _Roll) -> list[str]:
        target = (roll.version, roll.release_version)
        return sorted(n["metadata"]["name"] for n in self.nodes_of(roll.nodegroup)
                      if self._node_release.get(n["metadata"]["name"]) == target)

    def _place_unplaced_pods(self) -> None:
        """Pods that ran before any node existed (terraform mode) move onto the first nodes."""
        for pod in self.store.list("", "pods"):
            if not (pod.get("spec") or {}).get("nodeName") and _owner_kind(pod):
                deleted = self.store.delete("", "pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
                if deleted is not None:
                    ks.pod_removed(self.store, deleted)
        ks.reconcile_all(self.store)

    def _roll_scale_up(self, roll: _Roll) -> None:
        """Launch the surge nodes on the new version, mark the old ones unschedulable."""
        ng = self._roll_live(roll)
        if ng is None:
            return
        fail = self.faults.fail_update.get("nodegroup")
        if fail is not None:
            self._roll_fail(roll, fail[0], fail[1], [])
            return
        old = self._old_nodes(roll)
        surge = min(max(1, ng.max_unavailable), max(1, len(old)), ng.desired_size)
        if not self._roll_launch(roll, ng, surge - min(surge, len(self._new_nodes(roll)))):
            return
        for name in old:
            self._cordon(name)
        ks.reconcile_all(self.store)
        self._roll_next_batch(roll)

    def _roll_launch(self, roll: _Roll, ng: Nodegroup, count: int) -> bool:
        for _ in range(max(0, count)):
            if self._launch_node(ng, roll.version, roll.release_version) is None:
                self._roll_fail(roll, "InsufficientFreeAddresses",
                                "The node group's subnets do not have enough free IP addresses to launch nodes",
                                list(ng.subnets))
                return False
        return True

    def _roll_next_batch(self, roll: _Roll) -> None:
        ng = self._roll_live(roll)
        if ng is None:
            return
        old = self._old_nodes(roll)
        if not old:
            missing = ng.desired_size - len(self._new_nodes(roll))
            if missing > 0 and not self._roll_launch(roll, ng, missing):
                return
            self._roll_finish(roll, ng)
            return
        roll.batch = old[: max(1, ng.max_unavailable)]
        roll.blocked_since = None
        self._roll_drain(roll)

    def _roll_drain(self, roll: _Roll) -> None:
        """Evict every pod (DaemonSet pods excepted) from the batch; retry while PDBs refuse."""
        ng = self._roll_live(roll)
        if ng is None:
            return
        blocked: list[str] = []
        for node in roll.batch:
            if self.faults.pdb_block and not roll.force:
                blocked.append(f"{node} (eviction refused: injected fault)")
                continue
            for pod in self.store.list("", "pods", field_selector=f"spec.nodeName={node}"):
                if _owner_kind(pod) == "DaemonSet":
                    continue
                ns, pname = pod["metadata"]["namespace"], pod["metadata"]["name"]
                if roll.force:
                    deleted = self.store.delete("", "pods", ns, pname)
                    if deleted is not None:
                        ks.pod_removed(self.store, deleted)
                    continue
                reason = ks.try_evict(self.store, ns, pname)
                if reason is not None:
                    blocked.append(f"{ns}/{pname}")
        if not blocked:
            self._at(self.timing.node_drain_seconds, lambda _t: self._roll_terminate(roll))
            return
        roll.blocked = blocked
        if roll.blocked_since is None:
            roll.blocked_since = self._t
        if self._t - roll.blocked_since >= self.scaled(self.timing.pdb_timeout_seconds):
            self._roll_fail(roll, "PodEvictionFailure",
                            f"Reached max retries while trying to evict pods from nodes in node group {ng.name}",
                            list(roll.batch))
            return
        self._at(self.timing.eviction_retry_seconds, lambda _t: self._roll_drain(roll))

    def _roll_terminate(self, roll: _Roll) -> None:
        ng = self._roll_live(roll)
        if ng is None:
            return
        for node in roll.batch:
            self._delete_node(node)
        ks.reconcile_all(self.store)
        # Replace what was terminated, counting the surge nodes already on the new version.
        want = min(len(roll.batch), max(0, ng.desired_size - len(self._new_nodes(roll))))
        roll.batch = []
        if want > 0:
            def joined(_t: float) -> None:
                live = self._roll_live(roll)
                if live is not None and self._roll_launch(roll, live, want):
                    ks.reconcile_all(self.store)
                    self._roll_next_batch(roll)
            self._at(self.timing.node_launch_seconds, joined)
        else:
            self._roll_next_batch(roll)

    def _roll_finish(self, roll: _Roll, ng: Nodegroup) -> None:
        ng.version, ng.release_version = roll.version, roll.release_version
        ng.status, ng.update_id, ng.modified_at = "ACTIVE", None, self.wall()
        roll.update.status = "Successful"
        roll.update.finished_at = self.wall()
        self._rolls.pop(ng.name, None)
        ks.reconcile_all(self.store)
        self._log(f"node group {ng.name} now on {ng.version} ({ng.release_version})")

    def _roll_fail(self, roll: _Roll, code: str, message: str, resources: list[str]) -> None:
        ng = self.nodegroups.get(roll.nodegroup)
        roll.update.status = "Failed"
        roll.update.finished_at = self.wall()
        roll.update.errors = [{"errorCode": code, "errorMessage": message, "resourceIds": resources}]
        self._rolls.pop(roll.nodegroup, None)
        if ng is not None:
            ng.status, ng.update_id, ng.modified_at = "ACTIVE", None, self.wall()
        self._log(f"node group {roll.nodegroup} update Failed: {code}: {message}")

    # == EKS: add-ons =============================================================================

    def _addon_api(self, a: Addon) -> dict[str, Any]:
        out: dict[str, Any] = {
            "addonName": a.name, "clusterName": self.scenario.cluster.name, "status": a.status,
            "addonVersion": a.version, "health": {"issues": list(a.health_issues)}, "addonArn": a.arn,
            "createdAt": a.created_at, "modifiedAt": a.modified_at, "tags": dict(a.tags),
        }
        if a.service_account_role_arn:
            out["serviceAccountRoleArn"] = a.service_account_role_arn
        if a.configuration_values:
            out["configurationValues"] = a.configuration_values
        return out

    def _check_addon_version(self, name: str, version: str, cluster_version: str, **f: str) -> None:
        if version not in addon_versions_for(name, cluster_version):
            raise _invalid("Addon version specified is not supported", **f)

    @operation("ListAddons")
    def list_addons(self, p: dict[str, Any]) -> dict[str, Any]:
        self._cluster(p["clusterName"])
        page, token = _paginate(sorted(self.addons), p)
        return {"addons": page, **({"nextToken": token} if token else {})}

    @operation("DescribeAddon")
    def describe_addon(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"addon": self._addon_api(self._addon(p["clusterName"], p["addonName"]))}

    @operation("CreateAddon")
    def create_addon(self, p: dict[str, Any]) -> dict[str, Any]:
        c = self._cluster(p["clusterName"])
        name = p["addonName"]
        f = {"clusterName": c.name, "addonName": name}
        if c.status not in ("ACTIVE", "UPDATING"):
            raise AwsApiError("InvalidRequestException", f"Cluster '{c.name}' is not in ACTIVE status", 400, **f)
        if name in self.addons:
            raise _in_use("Addon already exists.", **f)
        if name not in ADDON_NAMES:
            raise _invalid(f"Addon {name} specified is not supported in {c.version} kubernetes version", **f)
        version = p.get("addonVersion") or default_addon_version(name, c.version) or ""
        self._check_addon_version(name, version, c.version, **f)
        now = self.wall()
        a = Addon(name, self._addon_arn(name), version, now, now, status="CREATING",
                  service_account_role_arn=p.get("serviceAccountRoleArn"),
                  configuration_values=p.get("configurationValues"), tags=dict(p.get("tags") or {}))
        self.addons[name] = a

        def created(_t: float) -> None:
            if self.addons.get(name) is a and a.status == "CREATING":
                self._addon_workloads(name, a.version)
                a.status, a.modified_at = "ACTIVE", self.wall()
        self._at(self.timing.addon_create_seconds, created)
        return {"addon": self._addon_api(a)}

    @operation("DeleteAddon")
    def delete_addon(self, p: dict[str, Any]) -> dict[str, Any]:
        a = self._addon(p["clusterName"], p["addonName"])
        if a.status == "DELETING":
            raise _in_use(f"Addon {a.name} is already being deleted", addonName=a.name)
        a.status = "DELETING"
        preserve = bool(p.get("preserve"))
        answer = {"addon": self._addon_api(a)}

        def gone(_t: float) -> None:
            if self.addons.get(a.name) is a:
                del self.addons[a.name]
                if not preserve:
                    self._remove_addon_workloads(a.name)
        self._at(self.timing.addon_delete_seconds, gone)
        return answer

    @operation("UpdateAddon")
    def update_addon(self, p: dict[str, Any]) -> dict[str, Any]:
        c = self._cluster(p["clusterName"])
        a = self._addon(c.name, p["addonName"])
        f = {"clusterName": c.name, "addonName": a.name}
        if a.update_id is not None or a.status in ("CREATING", "DELETING", "UPDATING"):
            raise _in_use(f"Cannot AddonUpdate because addon {a.name} currently has update "
                          f"{a.update_id or '(creation)'} in progress", **f)
        version = p.get("addonVersion") or a.version
        self._check_addon_version(a.name, version, c.version, **f)
        if a.name == "vpc-cni" and abs(addon_minor(version)[1] - addon_minor(a.version)[1]) > 1:
            raise _invalid("Updating VPC-CNI can only go up or down 1 minor version at a time", **f)
        params = [{"type": "AddonVersion", "value": version}]
        if p.get("resolveConflicts"):
            params.append({"type": "ResolveConflicts", "value": p["resolveConflicts"]})
        if p.get("serviceAccountRoleArn"):
            params.append({"type": "ServiceAccountRoleArn", "value": p["serviceAccountRoleArn"]})
        if p.get("configurationValues") is not None:
            params.append({"type": "ConfigurationValues", "value": p["configurationValues"]})
        u = self._new_update("addon", a.name, "AddonUpdate", params)
        a.status, a.update_id = "UPDATING", u.id
        fail = self.faults.fail_update.get("addon")

        def done(_t: float) -> None:
            if u.status != "InProgress" or self.addons.get(a.name) is not a:
                return
            a.update_id, a.modified_at = None, self.wall()
            if fail is not None:
                u.status = "Failed"
                u.finished_at = self.wall()
                u.errors = [{"errorCode": fail[0], "errorMessage": fail[1], "resourceIds": [a.name]}]
                a.status = "UPDATE_FAILED"
                a.health_issues = [{"code": "ConfigurationConflict" if fail[0] == "ConfigurationConflict"
                                    else "InternalFailure", "message": fail[1], "resourceIds": []}]
                return
            a.version = version
            if p.get("serviceAccountRoleArn"):
                a.service_account_role_arn = p["serviceAccountRoleArn"]
            if p.get("configurationValues") is not None:
                a.configuration_values = p["configurationValues"]
            self._addon_workloads(a.name, version)
            a.status, a.health_issues, u.status = "ACTIVE", [], "Successful"
            u.finished_at = self.wall()
            self._log(f"add-on {a.name} now {version}")
        self._at(self.timing.addon_update_seconds, done)
        return {"update": u.to_api()}

    @operation("DescribeAddonVersions")
    def describe_addon_versions(self, p: dict[str, Any]) -> dict[str, Any]:
        kv = p.get("kubernetesVersion")
        out = []
        for info in addon_catalog():
            if p.get("addonName") and info["addonName"] != p["addonName"]:
                continue
            if p.get("types") and info["type"] not in p["types"]:
                continue
            if p.get("publishers") and info["publisher"] not in p["publishers"]:
                continue
            if p.get("owners") and info["owner"] not in p["owners"]:
                continue
            info = copy.deepcopy(info)
            if kv:
                versions = []
                for v in info["addonVersions"]:
                    compat = [c for c in v["compatibilities"] if c["clusterVersion"] == kv]
                    if compat:
                        v["compatibilities"] = compat
                        versions.append(v)
                if not versions:
                    continue
                info["addonVersions"] = versions
            out.append(info)
        page, token = _paginate(out, p)
        return {"addons": page, **({"nextToken": token} if token else {})}

    # == EKS: versions and insights ===============================================================

    def today(self) -> date:
        if self.scenario.support_date:
            return date.fromisoformat(self.scenario.support_date)
        return datetime.fromtimestamp(self.wall(self.now()), UTC).date()

    @operation("DescribeClusterVersions")
    def describe_cluster_versions(self, p: dict[str, Any]) -> dict[str, Any]:
        today = self.today()
        default = default_cluster_version()
        wanted = set(p.get("clusterVersions") or [])
        out = []
        for info in cluster_versions():
            status = support_status(info, today)
            v = info["clusterVersion"]
            if wanted and v not in wanted:
                continue
            if not wanted and not p.get("includeAll") and status == "UNSUPPORTED":
                continue
            if p.get("clusterType") and p["clusterType"] != "eks":
                continue
            if p.get("defaultOnly") and v != default:
                continue
            if p.get("versionStatus") and p["versionStatus"] != status:
                continue
            if p.get("status") and p["status"] != status.lower().replace("_", "-"):
                continue
            out.append({
                "clusterVersion": v, "clusterType": "eks", "defaultPlatformVersion": info["defaultPlatformVersion"],
                "defaultVersion": v == default, "releaseDate": _epoch_of(info["releaseDate"]),
                "endOfStandardSupportDate": _epoch_of(info["endOfStandardSupportDate"]),
                "endOfExtendedSupportDate": _epoch_of(info["endOfExtendedSupportDate"]),
                "status": status.lower().replace("_", "-"), "versionStatus": status,
                "kubernetesPatchVersion": info["kubernetesPatchVersion"]})
        out.sort(key=lambda x: Minor.parse(x["clusterVersion"]), reverse=True)
        page, token = _paginate(out, p)
        return {"clusterVersions": page, **({"nextToken": token} if token else {})}

    @operation("ListInsights")
    def list_insights(self, p: dict[str, Any]) -> dict[str, Any]:
        self._cluster(p["clusterName"])
        flt = p.get("filter") or {}
        items = []
        for ins in self._insights():
            if flt.get("categories") and ins["category"] not in flt["categories"]:
                continue
            if flt.get("kubernetesVersions") and ins["kubernetesVersion"] not in flt["kubernetesVersions"]:
                continue
            if flt.get("statuses") and ins["insightStatus"]["status"] not in flt["statuses"]:
                continue
            items.append({k: ins[k] for k in ("id", "name", "category", "kubernetesVersion", "lastRefreshTime",
                                               "lastTransitionTime", "description", "insightStatus")})
        page, token = _paginate(items, p)
        return {"insights": page, **({"nextToken": token} if token else {})}

    @operation("DescribeInsight")
    def describe_insight(self, p: dict[str, Any]) -> dict[str, Any]:
        c = self._cluster(p["clusterName"])
        for ins in self._insights():
            if ins["id"] == p["id"]:
                return {"insight": ins}
        raise _not_found(f"No insight found for id: {p['id']}", clusterName=c.name)

    def _insights(self) -> list[dict[str, Any]]:
        """UPGRADE_READINESS insights for the next minor, derived from the state as it is now."""
        c = self.cluster
        if c is None or c.status in ("CREATING", "DELETING"):
            return []
        current = Minor.parse(c.version)
        target = current.next()
        refreshed = self.wall(self.now())
        transition = round(refreshed - 3600, 3)
        out: list[dict[str, Any]] = []

        def insight(name: str, version: Minor, description: str, status: str, reason: str, recommendation: str,
                    info: dict[str, str], resources: list[dict[str, Any]] | None = None,
                    summary: dict[str, Any] | None = None) -> None:
            out.append({
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.cluster_arn(c.name)}/{name}/{version}")),
                "name": name, "category": "UPGRADE_READINESS", "kubernetesVersion": str(version),
                "lastRefreshTime": refreshed, "lastTransitionTime": transition, "description": description,
                "insightStatus": {"status": status, "reason": reason}, "recommendation": recommendation,
                "additionalInfo": info, "resources": resources or [],
                "categorySpecificSummary": summary or {"deprecationDetails": [], "addonCompatibilityDetails": []}})

        # Deprecated APIs: one insight per upcoming minor that removes APIs.
        usage: dict[Minor, dict[tuple[str, str], list[Obj]]] = {}
        for obj in self.store.all_objects():
            res = k8s_apis.lookup(str(obj.get("apiVersion")), str(obj.get("kind")))
            if res is not None and res.removed is not None and res.removed > current:
                usage.setdefault(res.removed, {}).setdefault((res.api_version, res.kind), []).append(obj)
        removals = sorted({r.removed for r in k8s_apis.RESOURCES
                           if r.removed is not None and current < r.removed <= Minor(current.major, current.minor + 3)})
        for m in removals:
            found = usage.get(m, {})
            details = []
            for (api_version, kind), objs in sorted(found.items()):
                res = k8s_apis.lookup(api_version, kind)
                assert res is not None
                agents: dict[str, int] = {}
                for o in objs:
                    ua = self._legacy_agents.get((kind, o["metadata"]["name"]), "kubectl/v1.24.17 (linux/amd64)")
                    agents[ua] = agents.get(ua, 0) + 30
                prefix = f"/apis/{res.api_version}" if res.group else f"/api/{res.version}"
                repl = res.replacement.split()[0] if res.replacement else None
                details.append({
                    "usage": f"{prefix}/{res.plural}",
                    "replacedWith": f"/apis/{repl}/{res.plural}" if repl else "",
                    "stopServingVersion": str(m),
                    "startServingReplacementVersion": str(res.deprecated) if res.deprecated else "",
                    "clientStats": [{"userAgent": ua, "numberOfRequestsLast30Days": n,
                                     "lastRequestTime": round(refreshed - 600, 3)}
                                    for ua, n in sorted(agents.items())]})
            if details:
                status = "ERROR" if m == target else "WARNING"
                reason = (f"Deprecated API usage detected within last 30 days and your cluster is on Kubernetes "
                          f"v{current}.")
            else:
                status, reason = "PASSING", "No deprecated API usage detected within the last 30 days."
            insight(f"Deprecated APIs removed in Kubernetes v{m}", m,
                    f"Checks for usage of deprecated APIs that are scheduled for removal in Kubernetes v{m}. "
                    f"Upgrading your cluster before migrating to the updated APIs supported by v{m} could cause "
                    "application impact.", status, reason,
                    "Update manifests and API clients to use newer Kubernetes APIs if applicable before upgrading "
                    f"to Kubernetes v{m}.",
                    {"EKS update cluster documentation":
                         "https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html",
                     "Kubernetes deprecated API migration guide":
                         f"https://kubernetes.io/docs/reference/using-api/deprecation-guide/#v1-{m.minor}"},
                    summary={"deprecationDetails": details, "addonCompatibilityDetails": []})

        # Kubelet skew after the upgrade.
        nodes = self.store.list("", "nodes")
        resources, worst = [], "PASSING"
        for n in nodes:
            kubelet = Minor.try_parse(((n.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion"))
            if kubelet is None:
                continue
            st = "ERROR" if not kubelet_skew_ok(target, kubelet) else ("WARNING" if kubelet < current else "PASSING")
            if st != "PASSING":
                resources.append({"insightStatus": {"status": st, "reason": f"kubelet {kubelet} on control plane "
                                                                              f"{target} after the upgrade"},
                                  "kubernetesResourceUri": f"/api/v1/nodes/{n['metadata']['name']}"})
                worst = st if st == "ERROR" or worst == "PASSING" else worst
        reasons = {"PASSING": "Node kubelet versions match the cluster control plane version.",
                   "WARNING": "Worker node kubelet versions are older than the control plane version; upgrading "
                              "the control plane widens the skew.",
                   "ERROR": "Upgrading the control plane would put one or more kubelets outside the supported "
                            "version skew."}
        insight("Kubelet version skew", target,
                "Checks for kubelet versions of worker nodes in the cluster to see if upgrade would cause "
                "noncompliance with supported Kubernetes kubelet version skew policy.", worst, reasons[worst],
                "Upgrade your worker nodes to match the Kubernetes version of your cluster control plane.",
                {"Kubelet version skew policy": "https://kubernetes.io/releases/version-skew-policy/#kubelet",
                 "Updating a managed node group":
                     "https://docs.aws.amazon.com/eks/latest/userguide/update-managed-node-group.html"},
                resources=resources)

        # kube-proxy skew after the upgrade.
        kp = self.store.get("apps", "daemonsets", "kube-system", "kube-proxy")
        status, reason = "PASSING", "kube-proxy version matches the cluster control plane version."
        if kp is not None:
            image = kp["spec"]["template"]["spec"]["containers"][0]["image"]
            kp_minor = Minor.try_parse(image.rsplit(":", 1)[-1])
            if kp_minor is not None and not kubelet_skew_ok(target, kp_minor):
                status, reason = "ERROR", f"kube-proxy {kp_minor} would be outside the supported skew of {target}."
            elif kp_minor is not None and kp_minor < current:
                status, reason = "WARNING", f"kube-proxy {kp_minor} is older than the control plane {current}."
        insight("kube-proxy version skew", target,
                "Checks version of kube-proxy in cluster to see if upgrade would cause non compliance with "
                "supported Kubernetes kube-proxy version skew policy.", status, reason,
                "Upgrade kube-proxy to match the Kubernetes version of your cluster control plane.",
                {"kube-proxy version skew policy": "https://kubernetes.io/releases/version-skew-policy/#kube-proxy"})

        # Add-on compatibility with the target.
        details, resources, status = [], [], "PASSING"
        if version_info(str(target)) is not None:
            for a in sorted(self.addons.values(), key=lambda x: x.name):
                compatible = addon_versions_for(a.name, str(target))
                details.append({"name": a.name, "compatibleVersions": compatible})
                if a.version not in compatible:
                    status = "ERROR"
                    resources.append({"insightStatus": {"status": "ERROR", "reason": f"{a.name} {a.version} is not "
                                                                                    f"compatible with {target}"},
                                      "arn": a.arn})
        insight("EKS add-on version compatibility", target,
                "Checks version of installed EKS add-ons to ensure they are compatible with the next version of "
                "Kubernetes.", status,
                "All installed EKS add-on versions are compatible with the next Kubernetes version."
                if status == "PASSING" else "One or more installed add-ons are not compatible with the next "
                                            "Kubernetes version.",
                "Upgrade the EKS add-ons to versions compatible with the next Kubernetes version before upgrading.",
                {"Amazon EKS add-ons": "https://docs.aws.amazon.com/eks/latest/userguide/eks-add-ons.html"},
                resources=resources, summary={"deprecationDetails": [], "addonCompatibilityDetails": details})

        # Cluster health.
        issues = self._cluster_health(c)
        insight("Cluster health issues", target,
                "Checks for any cluster health issues that prevent successful upgrade to the next Kubernetes "
                "version on EKS.", "ERROR" if issues else "PASSING",
                "; ".join(i["code"] for i in issues) if issues else "No cluster health issues detected.",
                "Fix the cluster health issues before upgrading.",
                {"EKS cluster health": "https://docs.aws.amazon.com/eks/latest/userguide/troubleshooting.html"})

        # Amazon Linux 2 end.
        al2 = sorted(ng.name for ng in self.nodegroups.values() if ng.ami_type.startswith("AL2_"))
        if al2 and target >= Minor(1, 33):
            status = "ERROR"
            reason = f"Node groups {', '.join(al2)} use Amazon Linux 2, which has no AMIs for {target}."
        elif al2:
            status = "WARNING"
            reason = f"Node groups {', '.join(al2)} use Amazon Linux 2; 1.32 is its last version."
        else:
            status, reason = "PASSING", "No node groups use Amazon Linux 2."
        insight("Amazon Linux 2 compatibility", target,
                "Checks if any nodes in the cluster are running Amazon Linux 2, which has no EKS optimized AMIs for "
                "Kubernetes 1.33 and later.", status, reason,
                "Migrate node groups to Amazon Linux 2023 or Bottlerocket before upgrading to 1.33.",
                {"Amazon Linux 2023": "https://docs.aws.amazon.com/eks/latest/userguide/al2023.html"},
                resources=[{"insightStatus": {"status": status, "reason": reason},
                            "arn": self.nodegroups[n].arn} for n in al2] if status != "PASSING" else [])
        return out

    # == EKS: small lists and tags ================================================================

    @operation("ListFargateProfiles")
    def list_fargate_profiles(self, p: dict[str, Any]) -> dict[str, Any]:
        self._cluster(p["clusterName"])
        return {"fargateProfileNames": []}

    @operation("ListIdentityProviderConfigs")
    def list_identity_provider_configs(self, p: dict[str, Any]) -> dict[str, Any]:
        self._cluster(p["clusterName"])
        return {"identityProviderConfigs": []}

    @operation("ListPodIdentityAssociations")
    def list_pod_identity_associations(self, p: dict[str, Any]) -> dict[str, Any]:
        self._cluster(p["clusterName"])
        return {"associations": []}

    @operation("ListAccessEntries")
    def list_access_entries(self, p: dict[str, Any]) -> dict[str, Any]:
        c = self._cluster(p["clusterName"])
        return {"accessEntries": [c.role_arn]}

    def _tagged(self, arn: str) -> dict[str, str]:
        c = self.cluster
        if c is not None and arn == self.cluster_arn(c.name):
            return c.tags
        for ng in self.nodegroups.values():
            if ng.arn == arn:
                return ng.tags
        for a in self.addons.values():
            if a.arn == arn:
                return a.tags
        raise AwsApiError("NotFoundException", f"Resource not found: {arn}", 404)

    @operation("ListTagsForResource")
    def list_tags_for_resource(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"tags": dict(self._tagged(p["resourceArn"]))}

    @operation("TagResource")
    def tag_resource(self, p: dict[str, Any]) -> dict[str, Any]:
        self._tagged(p["resourceArn"]).update(p.get("tags") or {})
        return {}

    @operation("UntagResource")
    def untag_resource(self, p: dict[str, Any]) -> dict[str, Any]:
        tags = self._tagged(p["resourceArn"])
        for k in p.get("tagKeys") or []:
            tags.pop(k, None)
        return {}

    # == EC2 and STS ==============================================================================

    def describe_subnets(self, subnet_ids: list[str], filters: list[tuple[str, list[str]]]) -> list[dict[str, Any]]:
        for sid in subnet_ids:
            if sid not in self.subnets:
                raise AwsApiError("InvalidSubnetID.NotFound", f"The subnet ID '{sid}' does not exist", 400)
        out = []
        for s in self.subnets.values():
            if subnet_ids and s.id not in subnet_ids:
                continue
            tags = {"Name": s.name or f"{self.scenario.cluster.name}-{s.az}"}
            if s.id in {x.id for x in self.scenario.cluster.subnets}:
                tags[f"kubernetes.io/cluster/{self.scenario.cluster.name}"] = "shared"
            fields = {"subnet-id": s.id, "vpc-id": s.vpc_id, "availability-zone": s.az, "cidr-block": s.cidr,
                      "cidr": s.cidr, "state": "available", "owner-id": self.account,
                      "available-ip-address-count": str(self.free_ips[s.id])}
            ok = True
            for name, values in filters:
                if name.startswith("tag:"):
                    have = tags.get(name[4:])
                elif name == "tag-key":
                    ok = ok and any(v in tags for v in values)
                    continue
                else:
                    have = fields.get(name)
                    if have is None:
                        raise AwsApiError("InvalidParameterValue", f"The filter '{name}' is invalid", 400)
                ok = ok and have is not None and any(_glob(v, have) for v in values)
            if ok:
                out.append({"id": s.id, "az": s.az, "az_id": _az_id(s.az), "cidr": s.cidr, "vpc": s.vpc_id,
                            "free": self.free_ips[s.id], "tags": tags, "owner": self.account,
                            "arn": f"arn:aws:ec2:{self.region}:{self.account}:subnet/{s.id}"})
        return out

    def caller_identity(self) -> dict[str, str]:
        return {"Account": self.account, "Arn": f"arn:aws:iam::{self.account}:user/eks-tfup-sandbox",
                "UserId": "AIDA" + _short_hash(self.account, 17).upper()}

    # == status for the control API ===============================================================

    def status(self) -> dict[str, Any]:
        with self.lock:
            self.advance()
            c = self.cluster
            nodes = [{"name": n["metadata"]["name"],
                      "nodegroup": n["metadata"]["labels"].get("eks.amazonaws.com/nodegroup"),
                      "kubelet": n["status"]["nodeInfo"]["kubeletVersion"],
                      "unschedulable": bool((n.get("spec") or {}).get("unschedulable"))}
                     for n in self.store.list("", "nodes")]
            return {
                "scenario": self.scenario.name, "seed": self.seed, "time_scale": self.time_scale,
                "cluster_source": self.cluster_source, "region": self.region, "account_id": self.account,
                "cluster": None if c is None else {
                    "name": c.name, "version": c.version, "status": c.status, "platformVersion": c.platform_version,
                    "apiServerVersion": c.api_version, "arn": self.cluster_arn(c.name)},
                "kube_available": self.kube_available(), "kube_url": self.kube_url,
                "nodegroups": [{"name": ng.name, "version": ng.version, "releaseVersion": ng.release_version,
                                "status": ng.status, "amiType": ng.ami_type} for ng in self.nodegroups.values()],
                "addons": [{"name": a.name, "version": a.version, "status": a.status} for a in self.addons.values()],
                "updates": [{"kind": u.kind, "target": u.target, **u.to_api(), "finishedAt": u.finished_at}
                            for u in self.updates.values()],
                "nodes": nodes, "subnets": {k: v for k, v in sorted(self.free_ips.items())},
                "faults": self.faults.to_dict(), "aws_requests": self.request_count,
            }

    def call(self, op: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run one EKS operation (raises KeyError for an operation the sandbox does not model)."""
        fn = OPERATIONS[op]
        with self.lock:
            self.advance()
            return fn(self, params)


# == object builders ==============================================================================


def _rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fake_ca(seed: int) -> str:
    body = base64.b64encode(hashlib.sha512(f"eks-tfup-sandbox-ca-{seed}".encode()).digest() * 9).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    pem = "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
    return base64.b64encode(pem.encode()).decode()


def _clear_store(old: ObjectStore) -> ObjectStore:
    for obj in old.all_objects():
        key = ObjectStore.key_of(obj)
        old.delete(key[0], key[1], key[2] or None, key[3])
    return old


def _glob(pattern: str, value: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(value, pattern)


def _az_id(az: str) -> str:
    region_short = "".join(part[0] for part in az[:-1].split("-")[:-1]) + az[:-1].split("-")[-1]
    return f"{region_short}-az{ord(az[-1]) - ord('a') + 1}"


def _owner_kind(obj: Obj) -> str | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("kind"))
    return None


def _corefile(upstream: bool) -> str:
    kube = ("    kubernetes cluster.local in-addr.arpa ip6.arpa {\n      pods insecure\n"
            + ("      upstream\n" if upstream else "")
            + "      fallthrough in-addr.arpa ip6.arpa\n    }\n")
    return (".:53 {\n    errors\n    health {\n        lameduck 5s\n      }\n    ready\n" + kube
            + "    prometheus :9153\n    forward . /etc/resolv.conf\n    cache 30\n    loop\n    reload\n"
              "    loadbalance\n}\n")


def _ami_facts(ami_type: str, release: str) -> dict[str, str]:
    arch = "arm64" if "ARM" in ami_type else "amd64"
    kernel_arch = "aarch64" if arch == "arm64" else "x86_64"
    date_part = release.split("-")[-1]
    if ami_type.startswith("AL2023"):
        return {"arch": arch, "os": "linux", "image": f"Amazon Linux 2023.6.{date_part}",
                "kernel": f"6.1.115-126.197.amzn2023.{kernel_arch}"}
    if ami_type.startswith("AL2_"):
        return {"arch": arch, "os": "linux", "image": "Amazon Linux 2",
                "kernel": f"5.10.228-219.884.amzn2.{kernel_arch}"}
    if ami_type.startswith("BOTTLEROCKET"):
        return {"arch": arch, "os": "linux", "image": f"Bottlerocket OS 1.26.2 (aws-k8s-{release[:4]})",
                "kernel": "6.1.112"}
    if ami_type.startswith("WINDOWS"):
        return {"arch": "amd64", "os": "windows", "image": "Windows Server 2022 Datacenter",
                "kernel": "10.0.20348.2849"}
    return {"arch": arch, "os": "linux", "image": "Custom AMI", "kernel": "6.1.0"}


def node_object(name: str, ip: str, ng: Nodegroup, version: str, release: str, az: str, region: str,
                rng: random.Random) -> Obj:
    """A Node as an EKS managed node group registers it (labels, providerID, nodeInfo, capacity)."""
    facts = _ami_facts(ng.ami_type, release)
    instance = ng.instance_types[0]
    cpu, mem, pods = _INSTANCES.get(instance, (2, 8, 29))
    instance_id = "i-0" + "".join(rng.choice("0123456789abcdef") for _ in range(16))
    kubelet = kubelet_git_version(release)
    ami_id = "ami-0" + _short_hash(ng.ami_type + release, 16)
    ts = _rfc3339(time.time())
    labels = {
        "beta.kubernetes.io/arch": facts["arch"], "beta.kubernetes.io/instance-type": instance,
        "beta.kubernetes.io/os": facts["os"], "eks.amazonaws.com/capacityType": ng.capacity_type,
        "eks.amazonaws.com/nodegroup": ng.name, "eks.amazonaws.com/nodegroup-image": ami_id,
        "eks.amazonaws.com/sourceLaunchTemplateId": "lt-0" + _short_hash(ng.arn, 16),
        "eks.amazonaws.com/sourceLaunchTemplateVersion": "1",
        "failure-domain.beta.kubernetes.io/region": region, "failure-domain.beta.kubernetes.io/zone": az,
        "k8s.io/cloud-provider-aws": _short_hash(region, 32), "kubernetes.io/arch": facts["arch"],
        "kubernetes.io/hostname": name, "kubernetes.io/os": facts["os"],
        "node.kubernetes.io/instance-type": instance, "topology.k8s.aws/zone-id": _az_id(az),
        "topology.kubernetes.io/region": region, "topology.kubernetes.io/zone": az, **ng.labels,
    }
    conditions = [
        {"type": t, "status": "False", "reason": r, "message": m, "lastHeartbeatTime": ts, "lastTransitionTime": ts}
        for t, r, m in (("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                        ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                        ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"))]
    conditions.append({"type": "Ready", "status": "True", "reason": "KubeletReady",
                       "message": "kubelet is posting ready status", "lastHeartbeatTime": ts,
                       "lastTransitionTime": ts})
    capacity = {"cpu": str(cpu), "memory": f"{mem * 1024 * 1024 - 400000}Ki", "pods": str(pods),
                "ephemeral-storage": "20959212Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0"}
    allocatable = {"cpu": f"{cpu * 1000 - 70}m", "memory": f"{mem * 1024 * 1024 - 1200000}Ki", "pods": str(pods),
                   "ephemeral-storage": "18242267924", "hugepages-1Gi": "0", "hugepages-2Mi": "0"}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels,
                     "annotations": {"alpha.kubernetes.io/provided-node-ip": ip,
                                     "node.alpha.kubernetes.io/ttl": "0",
                                     "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
        "spec": {"providerID": f"aws:///{az}/{instance_id}", "taints": [dict(t) for t in ng.taints]},
        "status": {
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "InternalDNS", "address": name},
                          {"type": "Hostname", "address": name}],
            "allocatable": allocatable, "capacity": capacity, "conditions": conditions,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"architecture": facts["arch"], "bootID": str(uuid.UUID(int=rng.getrandbits(128))),
                         "containerRuntimeVersion": "containerd://1.7.23",
                         "kernelVersion": facts["kernel"], "kubeProxyVersion": kubelet,
                         "kubeletVersion": kubelet, "machineID": _short_hash(name, 32),
                         "operatingSystem": facts["os"], "osImage": facts["image"],
                         "systemUUID": "ec2" + _short_hash(instance_id, 5) + "-" + _short_hash(name, 4) + "-"
                                       + _short_hash(ip, 4) + "-" + _short_hash(az, 4) + "-"
                                       + _short_hash(instance_id + name, 12)},
            "images": [],
        },
    }


def _pod_template(labels: dict[str, str], containers: list[dict[str, Any]], *,
                  init: list[dict[str, Any]] | None = None, host_network: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [
        {"imagePullPolicy": "IfNotPresent", "resources": {"requests": {"cpu": "25m", "memory": "64Mi"}}, **c}
        for c in containers]}
    if init:
        spec["initContainers"] = init
    if host_network:
        spec["hostNetwork"] = True
        spec["priorityClassName"] = "system-node-critical"
        spec["tolerations"] = [{"operator": "Exists"}]
    return {"metadata": {"labels": dict(labels)}, "spec": spec}


def _daemonset(name: str, ns: str, labels: dict[str, str], containers: list[dict[str, Any]], *,
               init: list[dict[str, Any]] | None = None, host_network: bool = False) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
            "spec": {"selector": {"matchLabels": dict(labels)},
                     "template": _pod_template(labels, containers, init=init, host_network=host_network)}}


def _deployment(name: str, ns: str, labels: dict[str, str], replicas: int, containers: list[dict[str, Any]]) -> Obj:
    selector = {k: v for k, v in labels.items() if k != "eks.amazonaws.com/component"}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
            "spec": {"replicas": replicas, "selector": {"matchLabels": selector},
                     "template": _pod_template(labels, containers)}}


def pdb_object(name: str, ns: str, selector: dict[str, str], min_available: int | str | None,
               max_unavailable: int | str | None, labels: dict[str, str] | None = None) -> Obj:
    spec: dict[str, Any] = {"selector": {"matchLabels": dict(selector)}}
    if min_available is not None:
        spec["minAvailable"] = min_available
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if labels:
        meta["labels"] = dict(labels)
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta, "spec": spec}


def _deep_merge(base: dict[str, Any], extra: Any) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in (extra or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def workload_objects(w: WorkloadSpec, extra_labels: dict[str, str] | None = None) -> list[Obj]:
    """The manifests for one scenario workload (and its PDB), as a user would apply them."""
    labels = dict(w.labels)
    container = _deep_merge({"name": w.name, "image": w.image,
                             "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                             "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
                             "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 10}},
                            w.container)
    pod_spec = _deep_merge({"containers": [container]}, w.pod_spec)
    meta_labels = {**labels, **(extra_labels or {})}
    template = {"metadata": {"labels": dict(meta_labels)}, "spec": pod_spec}
    spec: dict[str, Any] = {"selector": {"matchLabels": labels}, "template": template}
    if w.kind != "DaemonSet":
        spec["replicas"] = w.replicas
    if w.kind == "StatefulSet":
        spec["serviceName"] = w.name
    out: list[Obj] = [{"apiVersion": "apps/v1", "kind": w.kind,
                       "metadata": {"name": w.name, "namespace": w.namespace, "labels": meta_labels},
                       "spec": spec}]
    if w.pdb is not None:
        out.append(pdb_object(w.pdb.name, w.namespace, labels, w.pdb.min_available, w.pdb.max_unavailable,
                              labels=extra_labels))
    return out


def helm_release_secret(rel: HelmRelease, revision: int, manifest: str, templates: list[dict[str, str]],
                        deployed_at: float, *, latest: bool) -> Obj:
    """A Helm v3 release record exactly as the secrets driver stores it.

    `data.release` is base64 (the Secret encoding) of base64(gzip(release JSON)) (Helm's encoding).
    """
    status = "deployed" if latest else "superseded"
    ts = datetime.fromtimestamp(deployed_at, UTC).strftime("%Y-%m-%dT%H:%M:%S.000000000Z")
    first = datetime.fromtimestamp(deployed_at - 3600 * (revision - 1), UTC).strftime("%Y-%m-%dT%H:%M:%S.000000000Z")
    release = {
        "name": rel.name,
        "info": {"first_deployed": first, "last_deployed": ts, "deleted": "",
                 "description": "Install complete" if revision == 1 else "Upgrade complete", "status": status},
        "chart": {"metadata": {"name": rel.chart, "version": rel.chart_version,
                               "description": f"A Helm chart for {rel.chart}", "apiVersion": "v2",
                               "appVersion": rel.app_version, "type": "application"},
                  "lock": None, "templates": templates, "values": {}, "schema": None, "files": []},
        "config": {}, "manifest": manifest, "version": revision, "namespace": rel.namespace,
    }
    encoded = base64.b64encode(gzip.compress(json.dumps(release).encode(), mtime=0))
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
        "metadata": {"name": f"sh.helm.release.v1.{rel.name}.v{revision}", "namespace": rel.namespace,
                     "labels": {"name": rel.name, "owner": "helm", "status": status, "version": str(revision),
                                "modifiedAt": str(int(deployed_at))}},
        "data": {"release": base64.b64encode(encoded).decode()},
    }


def _paginate(items: list[Any], p: dict[str, Any]) -> tuple[list[Any], str | None]:
    """EKS-style pagination: `maxResults` (1-100, default 100) and an opaque `nextToken`."""
    start = 0
    token = p.get("nextToken")
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode().split(":", 1)[1])
        except (ValueError, IndexError, UnicodeDecodeError):
            raise _invalid("The nextToken provided is invalid") from None
    limit = int(p.get("maxResults") or 100)
    if not 1 <= limit <= 100:
        raise _invalid("maxResults must be between 1 and 100")
    page = items[start:start + limit]
    end = start + len(page)
    nxt = base64.urlsafe_b64encode(f"offset:{end}".encode()).decode() if end < len(items) else None
    return page, nxt


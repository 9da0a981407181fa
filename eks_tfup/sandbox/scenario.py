"""Sandbox scenarios: YAML files parsed into frozen dataclasses, with clear validation errors.

A scenario says what the simulated account holds at start (a cluster, its node groups, add-ons,
workloads, Helm releases, objects stored through APIs later versions remove), how long the
asynchronous operations take, and which faults to inject. `load(name)` reads a shipped scenario by
name; `load_file(path)` reads any file. Fault settings can be overridden per run with flat
`KEY=VALUE` pairs (`Faults.with_overrides`), the same keys the control API accepts at run time.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from eks_tfup.errors import UsageError
from eks_tfup.versions import Minor

SCENARIO_DIR = Path(str(resources.files("eks_tfup.sandbox"))) / "scenarios"

AMI_TYPES = (
    "AL2_x86_64", "AL2_x86_64_GPU", "AL2_ARM_64", "CUSTOM", "BOTTLEROCKET_ARM_64", "BOTTLEROCKET_x86_64",
    "BOTTLEROCKET_ARM_64_FIPS", "BOTTLEROCKET_x86_64_FIPS", "BOTTLEROCKET_ARM_64_NVIDIA",
    "BOTTLEROCKET_x86_64_NVIDIA", "WINDOWS_CORE_2019_x86_64", "WINDOWS_FULL_2019_x86_64",
    "WINDOWS_CORE_2022_x86_64", "WINDOWS_FULL_2022_x86_64", "AL2023_x86_64_STANDARD",
    "AL2023_ARM_64_STANDARD", "AL2023_x86_64_NEURON", "AL2023_x86_64_NVIDIA", "AL2023_ARM_64_NVIDIA",
)
ADDON_NAMES = ("vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver")
# What an error-rate fault answers with; the AWS endpoint maps each to the service's own wording.
ERROR_KINDS = ("ThrottlingException", "InternalFailure", "ServerException", "ServiceUnavailableException")
UPDATE_KINDS = ("cluster", "nodegroup", "addon")


class ScenarioError(UsageError):
    """A scenario file (or a fault override) is malformed; the message names the field."""


# -- records ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subnet:
    id: str
    az: str
    cidr: str
    free_ips: int
    vpc_id: str
    name: str = ""


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    version: str
    platform_version: str | None
    subnets: tuple[Subnet, ...]
    support_type: str = "EXTENDED"  # upgradePolicy.supportType: STANDARD | EXTENDED
    exists: bool = True
    vpc_id: str = "vpc-0a1b2c3d4e5f60718"
    role_arn: str | None = None
    corefile_upstream: bool = False  # a Corefile line that is only `upstream` (clusters from before 1.18)
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NodegroupSpec:
    name: str
    version: str
    ami_type: str
    node_count: int
    instance_type: str
    release_version: str | None = None
    capacity_type: str = "ON_DEMAND"
    max_unavailable: int = 1
    subnets: tuple[str, ...] = ()  # subnet ids; empty = the cluster's subnets
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AddonSpec:
    name: str
    version: str


@dataclass(frozen=True)
class PdbSpec:
    name: str
    namespace: str
    selector: Mapping[str, str]
    min_available: int | str | None = None
    max_unavailable: int | str | None = None


@dataclass(frozen=True)
class WorkloadSpec:
    kind: str  # Deployment | DaemonSet | StatefulSet
    name: str
    namespace: str
    replicas: int
    image: str
    labels: Mapping[str, str]
    pdb: PdbSpec | None = None
    container: Mapping[str, Any] = field(default_factory=dict)  # merged into the container spec
    pod_spec: Mapping[str, Any] = field(default_factory=dict)  # merged into the pod spec


@dataclass(frozen=True)
class LegacyObject:
    """An object last written through an API version that a later minor removes."""

    manifest: Mapping[str, Any]
    user_agent: str = "kubectl/v1.24.17 (linux/amd64) kubernetes/22a9682"


@dataclass(frozen=True)
class HelmRelease:
    name: str
    namespace: str
    chart: str
    chart_version: str
    app_version: str
    revision: int
    workloads: tuple[WorkloadSpec, ...] = ()
    objects: tuple[Mapping[str, Any], ...] = ()
    manifest: str | None = None  # literal manifest text; its documents are created too


@dataclass(frozen=True)
class Timing:
    """Simulated seconds (multiplied by the time scale to get real seconds)."""

    cluster_create_seconds: float = 600.0
    cluster_update_seconds: float = 1800.0
    cluster_delete_seconds: float = 300.0
    nodegroup_create_seconds: float = 180.0
    nodegroup_delete_seconds: float = 180.0
    node_launch_seconds: float = 90.0
    node_drain_seconds: float = 30.0
    addon_create_seconds: float = 30.0
    addon_update_seconds: float = 45.0
    addon_delete_seconds: float = 20.0
    pdb_timeout_seconds: float = 900.0
    eviction_retry_seconds: float = 15.0


@dataclass(frozen=True)
class Faults:
    error_rate: Mapping[str, float] = field(default_factory=dict)  # operation (or "*") -> probability
    error_code: Mapping[str, str] = field(default_factory=dict)  # operation (or "*") -> ERROR_KINDS
    latency: Mapping[str, float] = field(default_factory=dict)  # operation (or "*") -> real seconds
    kube_outage: bool = True  # the API server is unreachable while the control plane switches
    kube_outage_start: float = 0.6  # fraction of the cluster update at which the outage starts
    kube_outage_length: float = 0.1  # fraction of the cluster update it lasts
    fail_update: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # kind -> (code, message)
    pdb_block: bool = False  # every eviction of a node-group roll is refused: PodEvictionFailure
    kube_error_rate: Mapping[str, float] = field(default_factory=dict)  # "*", a verb or a resource
    kube_error_status: int = 503
    kube_latency: Mapping[str, float] = field(default_factory=dict)

    def with_overrides(self, flat: Mapping[str, str]) -> Faults:
        """Apply `KEY=VALUE` overrides (the keys are listed in FAULT_KEYS_HELP)."""
        changes: dict[str, Any] = {}
        maps: dict[str, Any] = {name: dict(getattr(self, name)) for name in
                ("error_rate", "error_code", "latency", "fail_update", "kube_error_rate", "kube_latency")}
        for key, raw in flat.items():
            value = str(raw).strip()
            head, dot, tail = key.partition(".")
            where = f"fault {key}={value}"
            if head in ("error_rate", "kube_error_rate") and (dot or head == "kube_error_rate"):
                maps[head][tail or "*"] = _prob(value, where)
            elif head in ("latency", "kube_latency"):
                maps[head][tail or "*"] = _nonneg(value, where)
            elif head == "error_code" and dot:
                maps[head][tail] = _error_kind(value, where)
            elif head == "fail" and tail in UPDATE_KINDS:
                if value in ("", "none", "off"):
                    maps["fail_update"].pop(tail, None)
                else:
                    code, _, message = value.partition(":")
                    maps["fail_update"][tail] = (code.strip(), message.strip() or _default_fail_message(
                        tail, code.strip()))
            elif key in ("kube_outage", "pdb_block"):
                changes[key] = _bool(value, where)
            elif key in ("kube_outage_start", "kube_outage_length"):
                changes[key] = _prob(value, where)
            elif key == "kube_error_status":
                changes[key] = _status(value, where)
            else:
                raise ScenarioError(f"unknown fault key {key!r}", hint=FAULT_KEYS_HELP)
        return dataclasses.replace(self, **{**changes, **maps})

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["fail_update"] = {k: {"code": c, "message": m} for k, (c, m) in self.fail_update.items()}
        return out


FAULT_KEYS_HELP = (
    "fault keys: error_rate.<Operation|*>=P, error_code.<Operation|*>=ThrottlingException|InternalFailure|"
    "ServerException|ServiceUnavailableException, latency.<Operation|*>=SECONDS, kube_outage=true|false, "
    "kube_outage_start=FRACTION, kube_outage_length=FRACTION, fail.cluster|fail.nodegroup|fail.addon="
    "CODE[:message] (empty clears), pdb_block=true|false, kube_error_rate[.<verb|resource>]=P, "
    "kube_error_status=HTTP_STATUS, kube_latency[.<verb|resource>]=SECONDS"
)


def _default_fail_message(kind: str, code: str) -> str:
    return {
        "NodeCreationFailure": "Instances failed to join the kubernetes cluster",
        "PodEvictionFailure": "Reached max retries while trying to evict pods from nodes in node group",
        "InsufficientFreeAddresses": "One or more of the subnets associated with your cluster does not have "
                                     "enough available IP addresses",
        "ClusterUnreachable": "Amazon EKS was unable to reach the Kubernetes API server",
        "ConfigurationConflict": "Conflicts found when trying to apply. Will not continue due to resolve "
                                 "conflicts mode.",
    }.get(code, f"The {kind} update failed ({code})")


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    region: str
    account_id: str
    cluster: ClusterSpec
    nodegroups: tuple[NodegroupSpec, ...]
    addons: tuple[AddonSpec, ...]
    workloads: tuple[WorkloadSpec, ...]
    pdbs: tuple[PdbSpec, ...]
    legacy_objects: tuple[LegacyObject, ...]
    helm_releases: tuple[HelmRelease, ...]
    extra_subnets: tuple[Subnet, ...]  # subnets in the VPC that are not the cluster's (node subnets)
    timing: Timing
    faults: Faults
    seed: int = 0
    time_scale: float = 0.002
    support_date: str | None = None  # evaluate support status as of this ISO date (default: today)
    insights_block_upgrade: bool = False  # refuse UpdateClusterVersion on ERROR insights unless force

    @property
    def subnets(self) -> tuple[Subnet, ...]:
        return self.cluster.subnets + self.extra_subnets


# -- parsing ---------------------------------------------------------------------------------------


def available() -> list[tuple[str, str]]:
    """(name, description) of every shipped scenario, sorted by name."""
    out = []
    for path in sorted(SCENARIO_DIR.glob("*.yaml")):
        try:
            sc = load_file(path)
        except ScenarioError:
            continue
        out.append((sc.name, sc.description))
    return out


def load(name: str) -> Scenario:
    """A shipped scenario by name, or a path to a scenario file."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return load_file(path)
    candidate = SCENARIO_DIR / f"{name}.yaml"
    if not candidate.exists():
        names = ", ".join(p.stem for p in sorted(SCENARIO_DIR.glob("*.yaml")))
        raise ScenarioError(f"unknown scenario {name!r}", hint=f"available: {names}")
    return load_file(candidate)


def load_file(path: Path) -> Scenario:
    import yaml  # local: the server imports this module, keep its start light

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc}") from exc
    return parse(data, source=str(path))


def parse(data: Any, *, source: str = "scenario") -> Scenario:
    r = _Reader(data, source)
    return r.scenario()


_NAME_RE = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]*$")
_K8S_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


class _Reader:
    def __init__(self, data: Any, source: str) -> None:
        self.data = data
        self.source = source

    def fail(self, where: str, message: str) -> ScenarioError:
        return ScenarioError(f"{self.source}: {where}: {message}")

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping, got {type(value).__name__}")
        return value

    def seq(self, value: Any, where: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(where, f"expected a list, got {type(value).__name__}")
        return value

    def known(self, m: dict[str, Any], where: str, keys: set[str]) -> None:
        extra = sorted(set(m) - keys)
        if extra:
            raise self.fail(where, f"unknown field(s) {', '.join(extra)} (known: {', '.join(sorted(keys))})")

    def string(self, m: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
        value = m.get(key, default)
        if value is None:
            raise self.fail(f"{where}.{key}", "required")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.fail(f"{where}.{key}", f"expected a string, got {type(value).__name__}")
        return str(value)

    def integer(self, m: dict[str, Any], key: str, where: str, default: int | None = None,
                minimum: int = 0) -> int:
        value = m.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{where}.{key}", f"expected an integer, got {value!r}")
        if value < minimum:
            raise self.fail(f"{where}.{key}", f"must be >= {minimum}")
        return value

    def number(self, m: dict[str, Any], key: str, where: str, default: float) -> float:
        value = m.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise self.fail(f"{where}.{key}", f"expected a non-negative number, got {value!r}")
        return float(value)

    def boolean(self, m: dict[str, Any], key: str, where: str, default: bool) -> bool:
        value = m.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"{where}.{key}", f"expected true or false, got {value!r}")
        return value

    def minor(self, m: dict[str, Any], key: str, where: str) -> str:
        if isinstance(m.get(key), float):
            raise self.fail(f"{where}.{key}", f"{m[key]!r} is a YAML number: quote the version "
                                              f"(\"1.30\" would otherwise read as 1.3)")
        text = self.string(m, key, where)
        if not re.match(r"^1\.\d+$", text):
            raise self.fail(f"{where}.{key}", f"{text!r} is not a Kubernetes minor like 1.28 (quote it in YAML)")
        Minor.parse(text)
        return text

    def labels(self, value: Any, where: str) -> dict[str, str]:
        m = self.mapping(value, where)
        return {str(k): str(v) for k, v in m.items()}

    # -- sections --------------------------------------------------------------------------------

    def scenario(self) -> Scenario:
        top = self.mapping(self.data, "top level")
        self.known(top, "top level", {
            "name", "description", "region", "account_id", "seed", "time_scale", "support_date",
            "insights_block_upgrade", "cluster", "nodegroups", "addons", "workloads", "pdbs",
            "legacy_objects", "helm_releases", "extra_subnets", "timing", "faults"})
        name = self.string(top, "name", "top level")
        if not re.match(r"^[a-z0-9][a-z0-9.\-]*$", name):
            raise self.fail("name", f"{name!r}: use lowercase letters, digits, '.' and '-'")
        account = self.string(top, "account_id", "top level", "111122223333")
        if not re.match(r"^\d{12}$", account):
            raise self.fail("account_id", f"{account!r} is not a 12-digit AWS account id")
        region = self.string(top, "region", "top level", "us-east-1")
        if not re.match(r"^[a-z]{2}(-[a-z]+)+-\d$", region):
            raise self.fail("region", f"{region!r} is not an AWS region name")
        cluster = self.cluster(self.mapping(top.get("cluster"), "cluster"), region)
        extra = tuple(self.subnet(s, f"extra_subnets[{i}]", cluster.vpc_id, region)
                      for i, s in enumerate(self.seq(top.get("extra_subnets"), "extra_subnets")))
        subnet_ids = {s.id for s in cluster.subnets + extra}
        if len(subnet_ids) != len(cluster.subnets) + len(extra):
            raise self.fail("subnets", "subnet ids must be unique")
        nodegroups = tuple(self.nodegroup(n, f"nodegroups[{i}]", cluster, subnet_ids)
                           for i, n in enumerate(self.seq(top.get("nodegroups"), "nodegroups")))
        _unique([n.name for n in nodegroups], lambda d: self.fail("nodegroups", f"duplicate name {d!r}"))
        addons = tuple(self.addon(a, f"addons[{i}]") for i, a in enumerate(self.seq(top.get("addons"), "addons")))
        _unique([a.name for a in addons], lambda d: self.fail("addons", f"duplicate add-on {d!r}"))
        workloads = tuple(self.workload(w, f"workloads[{i}]")
                          for i, w in enumerate(self.seq(top.get("workloads"), "workloads")))
        pdbs = tuple(self.pdb(p, f"pdbs[{i}]", None) for i, p in enumerate(self.seq(top.get("pdbs"), "pdbs")))
        legacy = tuple(self.legacy(o, f"legacy_objects[{i}]")
                       for i, o in enumerate(self.seq(top.get("legacy_objects"), "legacy_objects")))
        helm = tuple(self.helm(h, f"helm_releases[{i}]")
                     for i, h in enumerate(self.seq(top.get("helm_releases"), "helm_releases")))
        time_scale = self.number(top, "time_scale", "top level", 0.002)
        if time_scale <= 0:
            raise self.fail("time_scale", "must be > 0")
        support_date = top.get("support_date")
        if support_date is not None:
            support_date = str(support_date)
            if not re.match(r"^\d{4}-\d{2}-\d{2}$", support_date):
                raise self.fail("support_date", f"{support_date!r} is not an ISO date (YYYY-MM-DD)")
        return Scenario(
            name=name, description=self.string(top, "description", "top level", ""), region=region,
            account_id=account, cluster=cluster, nodegroups=nodegroups, addons=addons, workloads=workloads,
            pdbs=pdbs, legacy_objects=legacy, helm_releases=helm, extra_subnets=extra,
            timing=self.timing(self.mapping(top.get("timing"), "timing")),
            faults=self.faults(self.mapping(top.get("faults"), "faults")),
            seed=self.integer(top, "seed", "top level", 0), time_scale=time_scale, support_date=support_date,
            insights_block_upgrade=self.boolean(top, "insights_block_upgrade", "top level", False))

    def subnet(self, value: Any, where: str, vpc_id: str, region: str) -> Subnet:
        m = self.mapping(value, where)
        self.known(m, where, {"id", "az", "cidr", "free_ips", "name"})
        sid = self.string(m, "id", where)
        if not re.match(r"^subnet-[0-9a-f]{8,17}$", sid):
            raise self.fail(f"{where}.id", f"{sid!r} is not a subnet id like subnet-0123456789abcdef0")
        az = self.string(m, "az", where)
        if not az.startswith(region):
            raise self.fail(f"{where}.az", f"{az!r} is not in region {region}")
        cidr = self.string(m, "cidr", where)
        if not re.match(r"^\d+\.\d+\.\d+\.\d+/\d+$", cidr):
            raise self.fail(f"{where}.cidr", f"{cidr!r} is not an IPv4 CIDR")
        return Subnet(sid, az, cidr, self.integer(m, "free_ips", where), vpc_id, self.string(m, "name", where, ""))

    def cluster(self, m: dict[str, Any], region: str) -> ClusterSpec:
        self.known(m, "cluster", {"name", "version", "platform_version", "subnets", "support_type", "exists",
                                  "vpc_id", "role_arn", "corefile_upstream", "tags"})
        name = self.string(m, "name", "cluster")
        if not _NAME_RE.match(name) or len(name) > 100:
            raise self.fail("cluster.name", f"{name!r} is not a valid EKS cluster name")
        vpc = self.string(m, "vpc_id", "cluster", "vpc-0a1b2c3d4e5f60718")
        subnets = tuple(self.subnet(s, f"cluster.subnets[{i}]", vpc, region)
                        for i, s in enumerate(self.seq(m.get("subnets"), "cluster.subnets")))
        if len(subnets) < 2:
            raise self.fail("cluster.subnets", "EKS needs subnets in at least two availability zones")
        if len({s.az for s in subnets}) < 2:
            raise self.fail("cluster.subnets", "the subnets must span at least two availability zones")
        support = self.string(m, "support_type", "cluster", "EXTENDED")
        if support not in ("STANDARD", "EXTENDED"):
            raise self.fail("cluster.support_type", f"{support!r}: expected STANDARD or EXTENDED")
        pv = m.get("platform_version")
        if pv is not None and not re.match(r"^eks\.\d+$", str(pv)):
            raise self.fail("cluster.platform_version", f"{pv!r} is not like eks.12")
        return ClusterSpec(
            name=name, version=self.minor(m, "version", "cluster"), platform_version=str(pv) if pv else None,
            subnets=subnets, support_type=support, exists=self.boolean(m, "exists", "cluster", True),
            vpc_id=vpc, role_arn=m.get("role_arn"),
            corefile_upstream=self.boolean(m, "corefile_upstream", "cluster", False),
            tags=self.labels(m.get("tags"), "cluster.tags"))

    def nodegroup(self, value: Any, where: str, cluster: ClusterSpec, subnet_ids: set[str]) -> NodegroupSpec:
        m = self.mapping(value, where)
        self.known(m, where, {"name", "version", "ami_type", "node_count", "instance_type", "release_version",
                              "capacity_type", "max_unavailable", "subnets", "labels"})
        name = self.string(m, "name", where)
        if not _NAME_RE.match(name):
            raise self.fail(f"{where}.name", f"{name!r} is not a valid node group name")
        version = self.minor(m, "version", where) if "version" in m else cluster.version
        if Minor.parse(version) > Minor.parse(cluster.version):
            raise self.fail(f"{where}.version", f"{version} is newer than the cluster's {cluster.version}")
        ami = self.string(m, "ami_type", where, "AL2023_x86_64_STANDARD")
        if ami not in AMI_TYPES:
            raise self.fail(f"{where}.ami_type", f"{ami!r} is not an EKS AMI type ({', '.join(AMI_TYPES)})")
        if ami.startswith("AL2_") and Minor.parse(version) >= Minor(1, 33):
            raise self.fail(f"{where}.ami_type", "Amazon Linux 2 AMIs stop at Kubernetes 1.32")
        rel = m.get("release_version")
        if rel is not None and not str(rel).startswith(version + "."):
            raise self.fail(f"{where}.release_version", f"{rel!r} does not belong to version {version}")
        subnets = tuple(str(s) for s in self.seq(m.get("subnets"), f"{where}.subnets"))
        for s in subnets:
            if s not in subnet_ids:
                raise self.fail(f"{where}.subnets", f"{s!r} is not a subnet of this scenario")
        capacity = self.string(m, "capacity_type", where, "ON_DEMAND")
        if capacity not in ("ON_DEMAND", "SPOT", "CAPACITY_BLOCK"):
            raise self.fail(f"{where}.capacity_type", f"{capacity!r}: expected ON_DEMAND, SPOT or CAPACITY_BLOCK")
        return NodegroupSpec(
            name=name, version=version, ami_type=ami, node_count=self.integer(m, "node_count", where, 2),
            instance_type=self.string(m, "instance_type", where, "m5.large"),
            release_version=str(rel) if rel is not None else None, capacity_type=capacity,
            max_unavailable=self.integer(m, "max_unavailable", where, 1, minimum=1), subnets=subnets,
            labels=self.labels(m.get("labels"), f"{where}.labels"))

    def addon(self, value: Any, where: str) -> AddonSpec:
        m = self.mapping(value, where)
        self.known(m, where, {"name", "version"})
        name = self.string(m, "name", where)
        if name not in ADDON_NAMES:
            raise self.fail(f"{where}.name", f"{name!r}: the sandbox knows {', '.join(ADDON_NAMES)}")
        version = self.string(m, "version", where)
        if not re.match(r"^v\d+\.\d+\.\d+-eksbuild\.\d+$", version):
            raise self.fail(f"{where}.version", f"{version!r} is not like v1.18.3-eksbuild.3")
        return AddonSpec(name, version)

    def pdb(self, value: Any, where: str, owner: tuple[str, dict[str, str]] | None) -> PdbSpec:
        m = self.mapping(value, where)
        keys = {"name", "min_available", "max_unavailable"}
        if owner is None:
            keys |= {"namespace", "selector"}
        self.known(m, where, keys)
        if owner is not None:
            name = self.string(m, "name", where, f"{owner[0]}-pdb")
            namespace, selector = "", owner[1]
        else:
            name = self.string(m, "name", where)
            namespace = self.string(m, "namespace", where, "default")
            selector = self.labels(m.get("selector"), f"{where}.selector")
            if not selector:
                raise self.fail(f"{where}.selector", "required (matchLabels as a mapping)")
        mina, maxu = m.get("min_available"), m.get("max_unavailable")
        if (mina is None) == (maxu is None):
            raise self.fail(where, "set exactly one of min_available and max_unavailable")
        for key, v in (("min_available", mina), ("max_unavailable", maxu)):
            if v is not None and not ((isinstance(v, int) and not isinstance(v, bool) and v >= 0)
                                      or (isinstance(v, str) and re.match(r"^\d+%$", v))):
                raise self.fail(f"{where}.{key}", f"{v!r}: expected a non-negative integer or a percentage")
        return PdbSpec(name, namespace, selector, mina, maxu)

    def workload(self, value: Any, where: str, default_ns: str = "default") -> WorkloadSpec:
        m = self.mapping(value, where)
        self.known(m, where, {"kind", "name", "namespace", "replicas", "image", "labels", "pdb", "container",
                              "pod_spec"})
        kind = self.string(m, "kind", where, "Deployment")
        if kind not in ("Deployment", "DaemonSet", "StatefulSet"):
            raise self.fail(f"{where}.kind", f"{kind!r}: expected Deployment, DaemonSet or StatefulSet")
        name = self.string(m, "name", where)
        if not _K8S_NAME_RE.match(name):
            raise self.fail(f"{where}.name", f"{name!r} is not a valid Kubernetes name")
        namespace = self.string(m, "namespace", where, default_ns)
        labels = self.labels(m.get("labels"), f"{where}.labels") or {"app.kubernetes.io/name": name}
        pdb = None
        if m.get("pdb") is not None:
            pdb = self.pdb(m["pdb"], f"{where}.pdb", (name, labels))
            pdb = dataclasses.replace(pdb, namespace=namespace)
        return WorkloadSpec(
            kind=kind, name=name, namespace=namespace,
            replicas=self.integer(m, "replicas", where, 1 if kind != "DaemonSet" else 0),
            image=self.string(m, "image", where, "public.ecr.aws/nginx/nginx:1.27"), labels=labels, pdb=pdb,
            container=self.mapping(m.get("container"), f"{where}.container"),
            pod_spec=self.mapping(m.get("pod_spec"), f"{where}.pod_spec"))

    def manifest(self, value: Any, where: str) -> dict[str, Any]:
        m = self.mapping(value, where)
        from eks_tfup import k8s_apis

        api_version, kind = m.get("apiVersion"), m.get("kind")
        if not api_version or not kind:
            raise self.fail(where, "a manifest needs apiVersion and kind")
        if k8s_apis.lookup(str(api_version), str(kind)) is None:
            raise self.fail(where, f"{api_version} {kind} is not in the Kubernetes API table")
        if not (m.get("metadata") or {}).get("name"):
            raise self.fail(where, "a manifest needs metadata.name")
        return m

    def legacy(self, value: Any, where: str) -> LegacyObject:
        m = self.mapping(value, where)
        self.known(m, where, {"manifest", "user_agent"})
        manifest = self.manifest(m.get("manifest"), f"{where}.manifest")
        return LegacyObject(manifest, self.string(m, "user_agent", where, LegacyObject.user_agent))

    def helm(self, value: Any, where: str) -> HelmRelease:
        m = self.mapping(value, where)
        self.known(m, where, {"name", "namespace", "chart", "chart_version", "app_version", "revision",
                              "workloads", "objects", "manifest"})
        name = self.string(m, "name", where)
        if not _K8S_NAME_RE.match(name) or len(name) > 53:
            raise self.fail(f"{where}.name", f"{name!r} is not a valid Helm release name")
        namespace = self.string(m, "namespace", where, "default")
        workloads = tuple(self.workload(w, f"{where}.workloads[{i}]", namespace)
                          for i, w in enumerate(self.seq(m.get("workloads"), f"{where}.workloads")))
        objects = tuple(self.manifest(o, f"{where}.objects[{i}]")
                        for i, o in enumerate(self.seq(m.get("objects"), f"{where}.objects")))
        manifest = m.get("manifest")
        if manifest is not None and not isinstance(manifest, str):
            raise self.fail(f"{where}.manifest", "expected the manifest text as a string")
        return HelmRelease(
            name=name, namespace=namespace, chart=self.string(m, "chart", where),
            chart_version=self.string(m, "chart_version", where),
            app_version=self.string(m, "app_version", where, ""),
            revision=self.integer(m, "revision", where, 1, minimum=1), workloads=workloads, objects=objects,
            manifest=manifest)

    def timing(self, m: dict[str, Any]) -> Timing:
        names = {f.name for f in dataclasses.fields(Timing)}
        self.known(m, "timing", names)
        return Timing(**{k: self.number(m, k, "timing", getattr(Timing, k)) for k in names if k in m})

    def faults(self, m: dict[str, Any]) -> Faults:
        self.known(m, "faults", {"error_rate", "error_code", "latency", "kube_outage", "fail_update", "pdb_block",
                                 "kube_error_rate", "kube_error_status", "kube_latency"})
        flat: dict[str, str] = {}
        for section in ("error_rate", "error_code", "latency", "kube_error_rate", "kube_latency"):
            for op, v in self.mapping(m.get(section), f"faults.{section}").items():
                flat[f"{section}.{op}"] = str(v)
        outage = m.get("kube_outage")
        if isinstance(outage, bool):
            flat["kube_outage"] = str(outage)
        elif outage is not None:
            o = self.mapping(outage, "faults.kube_outage")
            self.known(o, "faults.kube_outage", {"enabled", "start", "length"})
            for k, key in (("enabled", "kube_outage"), ("start", "kube_outage_start"),
                           ("length", "kube_outage_length")):
                if k in o:
                    flat[key] = str(o[k])
        for kind, spec in self.mapping(m.get("fail_update"), "faults.fail_update").items():
            if kind not in UPDATE_KINDS:
                raise self.fail("faults.fail_update", f"{kind!r}: expected one of {', '.join(UPDATE_KINDS)}")
            s = self.mapping(spec, f"faults.fail_update.{kind}")
            flat[f"fail.{kind}"] = f"{self.string(s, 'code', f'faults.fail_update.{kind}')}:{s.get('message') or ''}"
        if "pdb_block" in m:
            flat["pdb_block"] = str(m["pdb_block"])
        if "kube_error_status" in m:
            flat["kube_error_status"] = str(m["kube_error_status"])
        try:
            return Faults().with_overrides(flat)
        except ScenarioError as exc:
            raise self.fail("faults", exc.message) from None


def _unique(names: list[str], err: Any) -> None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise err(n)
        seen.add(n)


def _prob(value: str, where: str) -> float:
    try:
        p = float(value)
    except ValueError:
        raise ScenarioError(f"{where}: expected a number between 0 and 1") from None
    if not 0 <= p <= 1:
        raise ScenarioError(f"{where}: expected a number between 0 and 1")
    return p


def _nonneg(value: str, where: str) -> float:
    try:
        v = float(value)
    except ValueError:
        raise ScenarioError(f"{where}: expected a number of seconds") from None
    if v < 0:
        raise ScenarioError(f"{where}: expected a non-negative number of seconds")
    return v


def _bool(value: str, where: str) -> bool:
    low = value.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ScenarioError(f"{where}: expected true or false")


def _status(value: str, where: str) -> int:
    if not value.isdigit() or not 400 <= int(value) <= 599:
        raise ScenarioError(f"{where}: expected an HTTP error status (400-599)")
    return int(value)


def _error_kind(value: str, where: str) -> str:
    if value not in ERROR_KINDS:
        raise ScenarioError(f"{where}: expected one of {', '.join(ERROR_KINDS)}")
    return value

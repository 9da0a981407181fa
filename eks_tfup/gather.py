"""Gather the facts the checks and the report read: once, concurrently, with paginated calls."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from eks_tfup import proc
from eks_tfup.aws import Addon, Aws, Cluster, Nodegroup, Subnet
from eks_tfup.checks import ClientInfo, Facts, PinnedNodegroup, PlanFacts, TerraformInfo
from eks_tfup.errors import AwsError, EksTfupError, RefusedError
from eks_tfup.kube import Kube, Node, Pod, failing, inventory
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
                 hcl_error: str | None = None, tf_dir: Path | None = None, plan: PlanFacts | None = None,
                 client: bool = True, kube_error: str | None = None) -> Facts:
    """The cluster first (everything else hangs off it), then the rest in parallel threads.

    Every list is paginated and read once; no call is made per Kubernetes object. `tf_dir` adds the
    Terraform facts (versions, pinned node groups); without it their checks report skipped.
    """
    cluster = describe_or_refuse(aws, cluster_name)
    missing: dict[str, str] = {}
    not_gathered: dict[str, str] = {}
    if hcl_error:
        missing["hcl_version"] = hcl_error
    if tf_dir is None:
        for name in ("hcl_version", "terraform"):
            not_gathered[name] = "no Terraform directory"
    if plan is None:
        not_gathered["plan"] = f"no saved plan for {target}"
    if kube is None:
        for name in ("kube_server_url", "nodes", "inventory"):
            # Not asked for: the kube checks skip; asked for but unreachable: they error (and block).
            if kube_error:
                missing[name] = f"{name}: {kube_error}"
            else:
                not_gathered[name] = "no Kubernetes access"

    def nodegroups_and_subnets() -> tuple[list[Nodegroup], list[Subnet] | None]:
        ngs = aws.nodegroups(cluster_name)
        ids = tuple(sorted({s for ng in ngs for s in ng.subnets}))
        try:
            return ngs, aws.subnets(ids)
        except EksTfupError as exc:
            missing["node_subnets"] = f"node_subnets: {exc}"
            return ngs, None

    jobs: dict[str, Callable[[], Any]] = {
        "updates": lambda: aws.cluster_updates(cluster_name),
        "versions": aws.cluster_versions,
        "nodegroups": nodegroups_and_subnets,
        "subnets": lambda: aws.subnets(cluster.subnet_ids),
        "insights": lambda: aws.upgrade_insights(cluster_name, str(target)),
        "addons": lambda: aws.addons(cluster_name),
        "addon_versions": lambda: aws.addon_versions(str(target)),
        "fargate_profiles": lambda: aws.fargate_profiles(cluster_name),
    }
    if kube is not None:
        jobs["kube_server_url"] = lambda: kube.server_url
        jobs["nodes"] = kube.nodes
        jobs["inventory"] = lambda: inventory(kube)
    if client:
        jobs["client"] = client_info
    if tf_dir is not None:
        jobs["terraform"] = lambda: terraform_info(tf_dir)
    results: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(fn) for name, fn in jobs.items()}
        for name, fut in futures.items():
            try:
                results[name] = fut.result()
            except EksTfupError as exc:
                missing[name] = f"{name}: {exc}"
    ngs, node_subnets = results.get("nodegroups", (None, None))
    if ngs is None and "nodegroups" in missing:
        missing["node_subnets"] = missing["nodegroups"]
    return Facts(
        cluster_name=cluster_name, target=target, cluster=cluster,
        updates=results.get("updates"), versions=results.get("versions"),
        nodegroups=ngs, subnets=results.get("subnets"),
        kube_server_url=results.get("kube_server_url"), nodes=results.get("nodes"),
        hcl_version=hcl_version, hcl_where=hcl_where,
        insights=results.get("insights"), addons=results.get("addons"),
        addon_versions=results.get("addon_versions"), fargate_profiles=results.get("fargate_profiles"),
        node_subnets=node_subnets, inventory=results.get("inventory"), client=results.get("client"),
        terraform=results.get("terraform"), plan=plan, missing=missing, not_gathered=not_gathered,
    )


# -- the client and Terraform facts (local: no API calls) --------------------------------------------

def client_info(kubectl: str = "kubectl") -> ClientInfo:
    """kubectl's client version, through the one process runner; absent is a fact, not an error."""
    path = proc.which(kubectl)
    if path is None:
        return ClientInfo(None)
    import tempfile

    # A throw-away cache directory: some kubectl builds write an HTTP cache under ~/.kube even for
    # `version --client`, and a read-only check must not leave files behind.
    with tempfile.TemporaryDirectory(prefix="eks-tfup-kubectl-") as cache:
        try:
            outcome = proc.run([path, "version", "--client", "-o", "json", f"--cache-dir={cache}"], check=False,
                               timeout=20, what="kubectl version")
        except EksTfupError as exc:
            return ClientInfo(path, None, str(exc))
    try:
        version = json.loads(outcome.stdout or "{}").get("clientVersion", {}).get("gitVersion")
    except ValueError:
        return ClientInfo(path, None, outcome.tail(2) or f"exit {outcome.returncode}")
    return ClientInfo(path, str(version) if version else None, None if version else outcome.tail(2))


_REQUIRED_VERSION = re.compile(r'required_version\s*=\s*"([^"]+)"')
_LOCKED_PROVIDER = re.compile(r'provider\s+"([^"]+)"\s*\{[^}]*?\bversion\s*=\s*"([^"]+)"', re.DOTALL)
# Where a node group's own version lives: the provider resource, and the inputs of the
# terraform-aws-modules/eks node group maps (v17..v21 spellings).
_NG_VERSION_ATTRS = ("version", "release_version")
_MODULE_NG_MAPS = ("eks_managed_node_groups", "node_groups", "self_managed_node_groups")
_MODULE_NG_DEFAULTS = ("eks_managed_node_group_defaults", "node_groups_defaults", "self_managed_node_group_defaults")
_MODULE_NG_ATTRS = ("cluster_version", "kubernetes_version", "version", "ami_release_version", "release_version")


def terraform_info(tf_dir: Path) -> TerraformInfo:
    """The versions in use and node groups pinned to a literal version, read from the files."""
    files = sorted(p for p in tf_dir.rglob("*.tf") if ".terraform" not in p.relative_to(tf_dir).parts)
    required = None
    pinned: list[PinnedNodegroup] = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        if required is None and (m := _REQUIRED_VERSION.search(text)):
            required = m.group(1)
        # Parsing HCL is slow: only the files that can define node groups are parsed.
        if "node_group" in text:
            pinned += _pinned_in(path.relative_to(tf_dir).as_posix(), text)
    providers: tuple[tuple[str, str], ...] = ()
    lock = tf_dir / ".terraform.lock.hcl"
    if lock.is_file():
        providers = tuple(sorted(_LOCKED_PROVIDER.findall(lock.read_text(encoding="utf-8", errors="replace"))))
    return TerraformInfo(required, _state_version(tf_dir), providers, tuple(pinned))


def _state_version(tf_dir: Path) -> str | None:
    for path in (tf_dir / "terraform.tfstate", tf_dir / ".terraform" / "terraform.tfstate"):
        try:
            version = json.loads(path.read_text(encoding="utf-8")).get("terraform_version")
        except (OSError, ValueError):
            continue
        if version:
            return str(version)
    return None


def _literal(value: Any) -> str | None:
    """A python-hcl2 string literal (`'"1.28"'`) without its quotes; None for expressions."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"' and "${" not in value:
        return value[1:-1]
    return None


def _pinned_in(name: str, text: str) -> list[PinnedNodegroup]:
    import hcl2
    from lark.exceptions import LarkError

    try:
        doc = hcl2.loads(text)
    except (LarkError, ValueError):
        return []  # a file that does not parse is reported by TF001's HCL reading, not here
    out: list[PinnedNodegroup] = []
    for block in doc.get("resource", []) or []:
        for rtype, named in block.items():
            if rtype.strip('"') != "aws_eks_node_group":
                continue
            for rname, body in named.items():
                for attr in _NG_VERSION_ATTRS:
                    value = _literal(body.get(attr))
                    if value:
                        out.append(PinnedNodegroup(f"{name}: aws_eks_node_group.{rname.strip(chr(34))}", attr, value))
    for block in doc.get("module", []) or []:
        for mname, body in block.items():
            label = f"{name}: module.{mname.strip(chr(34))}"
            for key in _MODULE_NG_DEFAULTS:
                defaults = body.get(key)
                if isinstance(defaults, dict):
                    out += _pinned_attrs(f"{label} {key}", defaults)
            for key in _MODULE_NG_MAPS:
                groups = body.get(key)
                if isinstance(groups, dict):
                    for gname, gbody in groups.items():
                        if isinstance(gbody, dict):
                            out += _pinned_attrs(f"{label} {key}.{gname}", gbody)
    return out


def _pinned_attrs(where: str, body: dict[str, Any]) -> list[PinnedNodegroup]:
    return [PinnedNodegroup(where, attr, value) for attr in _MODULE_NG_ATTRS
            if (value := _literal(body.get(attr)))]


def plan_facts(plan_json: dict[str, Any], file: str, target: Minor, *, address: str | None = None,
               allow_destroy: bool = False) -> PlanFacts:
    from eks_tfup import plan as planmod

    summary = planmod.analyse(plan_json, target=str(target), cluster_address=address, allow_destroy=allow_destroy)
    return PlanFacts(file, planmod.summary_line(summary), summary.refusals, summary.warnings)


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


def make_snapshot(cluster: Cluster, nodegroups: list[Nodegroup], addons: list[Addon], nodes: list[Node],
                  pods: list[Pod]) -> Snapshot:
    return Snapshot(
        control_plane=cluster.version, platform_version=cluster.platform_version, status=cluster.status,
        nodegroups=tuple(nodegroups), kubelets=kubelet_counts(nodes), addons=tuple(addons),
        failing_pods=tuple(sorted(failing(pods).items())),
    )


def snapshot(aws: Aws, kube: Kube, cluster_name: str) -> Snapshot:
    with ThreadPoolExecutor(max_workers=5) as pool:
        f_cluster = pool.submit(aws.describe_cluster, cluster_name)
        f_ngs = pool.submit(aws.nodegroups, cluster_name)
        f_addons = pool.submit(aws.addons, cluster_name)
        f_nodes = pool.submit(kube.nodes)
        f_pods = pool.submit(kube.pods)
        return make_snapshot(f_cluster.result(), f_ngs.result(), f_addons.result(), f_nodes.result(),
                             f_pods.result())

"""What the tool asks of the Kubernetes API, through the official client and a kubeconfig.

Lists are paginated (`limit`/`continue`), never one GET per object. Every call retries with
backoff through connection failures for a bounded time: during an EKS control-plane update the
API server endpoint switches IPs, and a client that gives up at the first refused connection would
fail a healthy upgrade.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from eks_tfup.errors import ConfigError, KubeError
from eks_tfup.poll import Backoff

T = TypeVar("T")

PAGE = 500
_FAILING_REASONS = frozenset({
    "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError",
    "CreateContainerError", "InvalidImageName", "RunContainerError",
})


@dataclass(frozen=True)
class Node:
    name: str
    ready: bool
    kubelet_version: str
    nodegroup: str | None
    unschedulable: bool
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    phase: str
    ready: bool
    reason: str | None  # why it is failing, if it is
    owner: str | None  # "ReplicaSet/web-5d9c", the stable identity across pod restarts
    node: str | None

    @property
    def identity(self) -> str:
        """A key that survives pod replacement: the owner when there is one (node rolls rename pods)."""
        return f"{self.namespace}/{self.owner or self.name}"


def pod_failure(pod: Any) -> str | None:
    """Why a pod (kubernetes client model) counts as failing, or None when it does not."""
    status = pod.status
    if status is None:
        return None
    if status.phase == "Failed":
        return status.reason or "Failed"
    for cs in (status.container_statuses or []) + (status.init_container_statuses or []):
        waiting = cs.state.waiting if cs.state else None
        if waiting is not None and waiting.reason in _FAILING_REASONS:
            return str(waiting.reason)
    return None


class Kube:
    def __init__(self, *, kubeconfig: Path | None = None, context: str | None = None,
                 retry_timeout: float = 300.0) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self.retry_timeout = retry_timeout
        self._api: Any = None
        self.calls = 0

    @property
    def api_client(self) -> Any:
        if self._api is None:
            from kubernetes import config
            from kubernetes.config.config_exception import ConfigException

            # The client reads $KUBECONFIG once, when it is imported; reading it here follows the
            # environment as it is now (one process may talk to several clusters, as tests do).
            path = str(self.kubeconfig) if self.kubeconfig else (os.environ.get("KUBECONFIG") or None)
            try:
                self._api = config.new_client_from_config(  # type: ignore[no-untyped-call]
                    config_file=path, context=self.context, persist_config=False)
            except (ConfigException, OSError) as exc:
                raise ConfigError(f"cannot load kubeconfig{f' context {self.context!r}' if self.context else ''}: "
                                  f"{exc}") from exc
        return self._api

    @property
    def server_url(self) -> str:
        return str(self.api_client.configuration.host)

    def _retry(self, what: str, fn: Callable[[], T]) -> T:
        """Retry connection failures, 429 and 5xx with backoff, up to `retry_timeout` seconds."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError as Urllib3Error

        deadline = time.monotonic() + self.retry_timeout
        intervals = Backoff(initial=0.5, factor=1.6, cap=10.0).intervals()
        while True:
            self.calls += 1
            try:
                return fn()
            except ApiException as exc:
                if exc.status in (401, 403):
                    raise KubeError(f"{what}: unauthorized ({exc.status}): check the kubeconfig credentials") \
                        from exc
                if exc.status not in (429, 500, 502, 503, 504):
                    raise KubeError(f"{what}: {exc.status} {exc.reason}") from exc
                last: Exception = exc
            except (Urllib3Error, ConnectionError, OSError) as exc:
                last = exc
            if time.monotonic() >= deadline:
                raise KubeError(f"{what}: the Kubernetes API did not answer for {self.retry_timeout:.0f}s: "
                                f"{type(last).__name__}: {last}") from last
            time.sleep(min(next(intervals), max(0.0, deadline - time.monotonic())))

    def _list(self, what: str, fn: Callable[..., Any], **kwargs: Any) -> Iterator[Any]:
        token: str | None = None
        while True:
            args = dict(kwargs, limit=PAGE)
            if token:
                args["_continue"] = token
            page = self._retry(what, lambda args=args: fn(**args))  # type: ignore[misc]
            yield from page.items or []
            token = page.metadata._continue if page.metadata else None
            if not token:
                return

    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api_client)

    def server_version(self) -> str:
        from kubernetes import client

        info = self._retry("GET /version", lambda: client.VersionApi(self.api_client).get_code())
        return str(info.git_version)

    def nodes(self) -> list[Node]:
        out = []
        for n in self._list("list nodes", self.core().list_node):
            labels = n.metadata.labels or {}
            ready = any(c.type == "Ready" and c.status == "True" for c in (n.status.conditions or []))
            out.append(Node(
                name=n.metadata.name, ready=ready,
                kubelet_version=n.status.node_info.kubelet_version if n.status.node_info else "",
                nodegroup=labels.get("eks.amazonaws.com/nodegroup"),
                unschedulable=bool(n.spec.unschedulable) if n.spec else False,
                labels=tuple(sorted(labels.items())),
            ))
        return out

    def pods(self) -> list[Pod]:
        out = []
        for p in self._list("list pods", self.core().list_pod_for_all_namespaces):
            owners = p.metadata.owner_references or []
            statuses = p.status.container_statuses or [] if p.status else []
            out.append(Pod(
                namespace=p.metadata.namespace, name=p.metadata.name,
                phase=(p.status.phase if p.status else "") or "",
                ready=bool(statuses) and all(cs.ready for cs in statuses),
                reason=pod_failure(p),
                owner=f"{owners[0].kind}/{owners[0].name}" if owners else None,
                node=p.spec.node_name if p.spec else None,
            ))
        return out


def failing(pods: list[Pod]) -> dict[str, str]:
    """identity -> reason, for the pods that are failing."""
    return {p.identity: p.reason for p in pods if p.reason}


def newly_failing(before: dict[str, str], after: list[Pod]) -> dict[str, str]:
    """Pods failing now that were not failing before the step (by owner identity)."""
    return {k: v for k, v in failing(after).items() if k not in before}


# -- inventory for the preflight checks ---------------------------------------------------------
# Read as raw JSON pages (`_preload_content=False`), not client models: deserialising 10,000 pods
# into models costs seconds, and the checks need a handful of fields of each object.

Labels = tuple[tuple[str, str], ...]
Expressions = tuple[tuple[str, str, tuple[str, ...]], ...]  # (key, operator, values) of matchExpressions


@dataclass(frozen=True)
class Selector:
    """A label selector (matchLabels + matchExpressions), matched without the API server."""

    match_labels: Labels = ()
    match_expressions: Expressions = ()

    @property
    def empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def matches(self, labels: Labels | dict[str, str]) -> bool:
        have = dict(labels)
        if any(have.get(k) != v for k, v in self.match_labels):
            return False
        for key, op, values in self.match_expressions:
            present = key in have
            if op == "In" and (not present or have[key] not in values):
                return False
            if op == "NotIn" and present and have[key] in values:
                return False
            if op == "Exists" and not present:
                return False
            if op == "DoesNotExist" and present:
                return False
        return True


def selector_of(raw: Any) -> Selector:
    raw = raw if isinstance(raw, dict) else {}
    labels = tuple(sorted((str(k), str(v)) for k, v in (raw.get("matchLabels") or {}).items()))
    exprs = tuple((str(e.get("key", "")), str(e.get("operator", "")), tuple(str(v) for v in e.get("values") or ()))
                  for e in raw.get("matchExpressions") or () if isinstance(e, dict))
    return Selector(labels, exprs)


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    readiness_probe: bool


@dataclass(frozen=True)
class Workload:
    """A Deployment, DaemonSet or StatefulSet: its pod template, as the checks need it."""

    kind: str
    namespace: str
    name: str
    replicas: int | None  # None for DaemonSets
    selector: Selector
    pod_labels: Labels
    containers: tuple[Container, ...]
    host_paths: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"

    def image_of(self, fragment: str) -> str | None:
        """The first container image whose repository name contains `fragment`."""
        return next((c.image for c in self.containers if fragment in image_repo(c.image)), None)


@dataclass(frozen=True)
class Pdb:
    namespace: str
    name: str
    selector: Selector
    min_available: str | None
    max_unavailable: str | None
    disruptions_allowed: int | None = None  # from the disruption controller, when it has reported
    expected_pods: int | None = None

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class HostPathPod:
    """A pod with hostPath volumes (only those pods are kept: the docker.sock check reads them)."""

    namespace: str
    name: str
    owner: str | None
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Storage:
    ebs_in_tree_volumes: tuple[str, ...]  # PVs with the in-tree awsElasticBlockStore source
    ebs_csi_volumes: tuple[str, ...]  # PVs provisioned by ebs.csi.aws.com
    in_tree_storage_classes: tuple[str, ...]  # provisioner kubernetes.io/aws-ebs
    csi_drivers: tuple[str, ...]


@dataclass(frozen=True)
class Inventory:
    """The cluster's objects the workload and add-on checks read, gathered in one pass of list calls."""

    workloads: tuple[Workload, ...]
    pdbs: tuple[Pdb, ...]
    host_path_pods: tuple[HostPathPod, ...]
    pod_count: int
    storage: Storage
    psps: tuple[str, ...]
    corefile: str | None  # kube-system/coredns ConfigMap's Corefile; None when there is none


def image_repo(image: str) -> str:
    """`602401143452.dkr.ecr.x.amazonaws.com/eks/coredns:v1.11.1-eksbuild.9` -> `eks/coredns`."""
    ref = image.split("@", 1)[0]
    path = ref.split("/", 1)[1] if "/" in ref and ("." in ref.split("/", 1)[0] or ":" in ref.split("/", 1)[0]) \
        else ref
    return path.rsplit(":", 1)[0] if ":" in path.rsplit("/", 1)[-1] else path


def image_tag(image: str) -> str | None:
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else None


def _labels(raw: Any) -> Labels:
    return tuple(sorted((str(k), str(v)) for k, v in (raw or {}).items()))


def _int_or_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _workload(kind: str, obj: dict[str, Any]) -> Workload:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    template = spec.get("template") or {}
    pod_spec = template.get("spec") or {}
    containers = tuple(Container(str(c.get("name", "")), str(c.get("image", "")), bool(c.get("readinessProbe")))
                       for c in pod_spec.get("containers") or [])
    host_paths = tuple(str((v.get("hostPath") or {}).get("path", "")) for v in pod_spec.get("volumes") or []
                       if isinstance(v, dict) and v.get("hostPath"))
    replicas = None if kind == "DaemonSet" else int(spec.get("replicas", 1) if spec.get("replicas") is not None
                                                    else 1)
    return Workload(kind, str(meta.get("namespace", "")), str(meta.get("name", "")), replicas,
                    selector_of(spec.get("selector")), _labels((template.get("metadata") or {}).get("labels")),
                    containers, host_paths)


def _pdb(obj: dict[str, Any]) -> Pdb:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    allowed = status.get("disruptionsAllowed")
    expected = status.get("expectedPods")
    return Pdb(str(meta.get("namespace", "")), str(meta.get("name", "")), selector_of(spec.get("selector")),
               _int_or_str(spec.get("minAvailable")), _int_or_str(spec.get("maxUnavailable")),
               int(allowed) if isinstance(allowed, int) else None,
               int(expected) if isinstance(expected, int) else None)


def _host_path_pod(obj: dict[str, Any]) -> HostPathPod | None:
    pod_spec = obj.get("spec") or {}
    paths = tuple(str((v.get("hostPath") or {}).get("path", "")) for v in pod_spec.get("volumes") or []
                  if isinstance(v, dict) and v.get("hostPath"))
    if not paths:
        return None
    meta = obj.get("metadata") or {}
    owners = meta.get("ownerReferences") or []
    owner = f"{owners[0].get('kind')}/{owners[0].get('name')}" if owners else None
    return HostPathPod(str(meta.get("namespace", "")), str(meta.get("name", "")), owner, paths)


def _storage(pvs: list[dict[str, Any]], classes: list[dict[str, Any]], drivers: list[dict[str, Any]]) -> Storage:
    in_tree, csi = [], []
    for pv in pvs:
        name = str((pv.get("metadata") or {}).get("name", ""))
        spec = pv.get("spec") or {}
        if spec.get("awsElasticBlockStore"):
            in_tree.append(name)
        elif (spec.get("csi") or {}).get("driver") == "ebs.csi.aws.com":
            csi.append(name)
    return Storage(tuple(in_tree), tuple(csi),
                   tuple(str((c.get("metadata") or {}).get("name", "")) for c in classes
                         if c.get("provisioner") == "kubernetes.io/aws-ebs"),
                   tuple(str((d.get("metadata") or {}).get("name", "")) for d in drivers))


def _kube_list(kube: Kube, what: str, fn: Callable[..., Any], **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Raw JSON items of a paginated list, with Kube's retry and call count."""
    import json

    token: str | None = None
    while True:
        args = dict(kwargs, limit=PAGE, _preload_content=False)
        if token:
            args["_continue"] = token
        response = kube._retry(what, lambda args=args: fn(**args))  # type: ignore[misc]
        body = json.loads(response.data)
        yield from body.get("items") or []
        token = (body.get("metadata") or {}).get("continue")
        if not token:
            return


def inventory(kube: Kube) -> Inventory:
    """Workloads, PDBs, pods with hostPath volumes, storage, PSPs and the Corefile: one list per kind,
    the kinds listed concurrently (the API server answers them in parallel)."""
    from concurrent.futures import ThreadPoolExecutor

    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    api = kube.api_client
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    policy, storage = client.PolicyV1Api(api), client.StorageV1Api(api)

    def items(what: str, fn: Callable[..., Any]) -> list[dict[str, Any]]:
        return list(_kube_list(kube, what, fn))

    def pods() -> tuple[list[HostPathPod], int]:
        found, count = [], 0
        for p in _kube_list(kube, "list pods", core.list_pod_for_all_namespaces):
            count += 1
            hp = _host_path_pod(p)
            if hp is not None:
                found.append(hp)
        return found, count

    def psps() -> list[str]:
        # policy/v1beta1 PodSecurityPolicy is served up to 1.24 only; discovery says whether to ask.
        try:
            groups = kube._retry("API discovery", lambda: client.ApisApi(api).get_api_versions())
        except KubeError:
            return []
        served = {v.version for g in groups.groups or [] if g.name == "policy" for v in g.versions or []}
        if "v1beta1" not in served:
            return []
        try:
            objs = list(_kube_list(kube, "list podsecuritypolicies", client.CustomObjectsApi(api)
                                   .list_cluster_custom_object, group="policy", version="v1beta1",
                                   plural="podsecuritypolicies"))
        except KubeError:
            return []  # discovery listed the group version, but the server does not serve the kind
        return [str((o.get("metadata") or {}).get("name", "")) for o in objs]

    def corefile() -> str | None:
        try:
            cm = kube._retry("read ConfigMap kube-system/coredns",
                             lambda: core.read_namespaced_config_map("coredns", "kube-system"))
        except KubeError as exc:
            if isinstance(exc.__cause__, ApiException) and exc.__cause__.status == 404:
                return None
            raise
        return str((cm.data or {}).get("Corefile")) if (cm.data or {}).get("Corefile") is not None else None

    with ThreadPoolExecutor(max_workers=10) as pool:
        f_dep = pool.submit(items, "list deployments", apps.list_deployment_for_all_namespaces)
        f_ds = pool.submit(items, "list daemonsets", apps.list_daemon_set_for_all_namespaces)
        f_sts = pool.submit(items, "list statefulsets", apps.list_stateful_set_for_all_namespaces)
        f_pdb = pool.submit(items, "list poddisruptionbudgets", policy.list_pod_disruption_budget_for_all_namespaces)
        f_pods = pool.submit(pods)
        f_pv = pool.submit(items, "list persistentvolumes", core.list_persistent_volume)
        f_sc = pool.submit(items, "list storageclasses", storage.list_storage_class)
        f_csi = pool.submit(items, "list csidrivers", storage.list_csi_driver)
        f_psp = pool.submit(psps)
        f_core = pool.submit(corefile)
        workloads = ([_workload("Deployment", o) for o in f_dep.result()]
                     + [_workload("DaemonSet", o) for o in f_ds.result()]
                     + [_workload("StatefulSet", o) for o in f_sts.result()])
        host_path_pods, pod_count = f_pods.result()
        return Inventory(
            workloads=tuple(workloads), pdbs=tuple(_pdb(o) for o in f_pdb.result()),
            host_path_pods=tuple(host_path_pods), pod_count=pod_count,
            storage=_storage(f_pv.result(), f_sc.result(), f_csi.result()),
            psps=tuple(f_psp.result()), corefile=f_core.result())

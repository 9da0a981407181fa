"""What the tool asks of the Kubernetes API, through the official client and a kubeconfig.

Lists are paginated (`limit`/`continue`), never one GET per object. Every call retries with
backoff through connection failures for a bounded time: during an EKS control-plane update the
API server endpoint switches IPs, and a client that gives up at the first refused connection would
fail a healthy upgrade.
"""

from __future__ import annotations

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

            try:
                self._api = config.new_client_from_config(  # type: ignore[no-untyped-call]
                    config_file=str(self.kubeconfig) if self.kubeconfig else None, context=self.context,
                    persist_config=False)
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

"""A minimal backend for the sandbox's Kubernetes API server, and a running server around it.

The sandbox's real state object implements the same protocol; this one lets the API server's
tests set the version, the outage window and faults directly.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eks_tfup.sandbox import kube_api
from eks_tfup.sandbox.store import ObjectStore
from eks_tfup.versions import Minor


@dataclass
class FakeBackend:
    store: ObjectStore = field(default_factory=ObjectStore)
    token: str = "sandbox-token"
    minor: Minor = field(default_factory=lambda: Minor(1, 28))
    available: bool = True
    # (verb, resource) -> (status, latency); "*" matches any verb.
    faults: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)
    advances: int = 0

    def advance(self) -> None:
        self.advances += 1

    def server_version(self) -> Minor:
        return self.minor

    def git_version(self) -> str:
        return f"v{self.minor}.15-eks-7f9249a"

    def kube_available(self) -> bool:
        return self.available

    def kube_fault(self, verb: str, resource: str) -> tuple[int, float] | None:
        return self.faults.get((verb, resource)) or self.faults.get(("*", resource))


@dataclass
class RunningServer:
    backend: FakeBackend
    server: kube_api.KubeApiServer
    kubeconfig: Path

    @property
    def url(self) -> str:
        return self.server.url


@contextmanager
def running_server(tmp_path: Path, backend: FakeBackend | None = None) -> Iterator[RunningServer]:
    backend = backend or FakeBackend()
    server = kube_api.make_server(backend)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    cfg = tmp_path / "kubeconfig"
    cfg.write_text(yaml.safe_dump(server.kubeconfig()))
    cfg.chmod(0o600)
    try:
        yield RunningServer(backend, server, cfg)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def node(name: str, *, ready: bool = True, unschedulable: bool = False,
         version: str = "v1.28.5-eks-1") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "spec": {"unschedulable": unschedulable},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "nodeInfo": {"kubeletVersion": version}}}

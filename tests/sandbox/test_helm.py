"""The real helm and helmfile binaries against the sandbox's Kubernetes API server."""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from kube_fixtures import FakeBackend, RunningServer, node, running_server

from eks_tfup.versions import Minor

TOOLS = Path(__file__).resolve().parents[2] / ".tools" / "bin"
HELM, HELMFILE = TOOLS / "helm", TOOLS / "helmfile"

pytestmark = pytest.mark.usefixtures("helm_tools")

CHART_YAML = "apiVersion: v2\nname: web\nversion: 0.1.0\nappVersion: '1.0'\n"
VALUES = "image: nginx:1.25\nreplicas: 2\npdbApi: policy/v1\n"
TEMPLATES = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels: {app: {{ .Release.Name }}}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
        - name: web
          image: {{ .Values.image }}
          ports: [{containerPort: 80}]
          env: [{name: MODE, value: prod}]
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  selector: {app: {{ .Release.Name }}}
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: {{ .Values.pdbApi }}
kind: PodDisruptionBudget
metadata:
  name: {{ .Release.Name }}
spec:
  minAvailable: 1
  selector:
    matchLabels: {app: {{ .Release.Name }}}
"""


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    root = tmp_path / "chart"
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text(CHART_YAML)
    (root / "values.yaml").write_text(VALUES)
    (root / "templates" / "all.yaml").write_text(TEMPLATES)
    return root


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[RunningServer]:
    with running_server(tmp_path) as rs:
        for name in ("node-a", "node-b"):
            rs.backend.store.create(node(name))
        yield rs


def tool_env(tmp_path: Path, rs: RunningServer) -> dict[str, str]:
    """Keep helm's and client-go's caches and config out of $HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELM_", "KUBE"))}
    env.update({"KUBECONFIG": str(rs.kubeconfig), "KUBECACHEDIR": str(tmp_path / "kube-cache"),
                "HELM_CACHE_HOME": str(tmp_path / "helm-cache"), "HELM_CONFIG_HOME": str(tmp_path / "helm-config"),
                "HELM_DATA_HOME": str(tmp_path / "helm-data"), "HOME": str(tmp_path),
                "PATH": f"{TOOLS}{os.pathsep}{os.environ.get('PATH', '')}"})
    return env


def helm(tmp_path: Path, rs: RunningServer, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(HELM), "--kubeconfig", str(rs.kubeconfig), "--kube-context", "sandbox", *args],
                          capture_output=True, text=True, timeout=120, env=tool_env(tmp_path, rs), check=False)
    if ok:
        assert proc.returncode == 0, f"helm {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def release(rs: RunningServer, namespace: str, name: str, revision: int) -> dict[str, object]:
    """Decode a release secret the way helm's storage driver writes it (base64(gzip(json)))."""
    secret = rs.backend.store.get("", "secrets", namespace, f"sh.helm.release.v1.{name}.v{revision}")
    assert secret is not None
    assert secret["type"] == "helm.sh/release.v1" and secret["metadata"]["labels"]["owner"] == "helm"
    payload = base64.b64decode(base64.b64decode(secret["data"]["release"]))
    data: dict[str, object] = json.loads(gzip.decompress(payload))
    return data


@pytest.mark.slow
def test_helm_install_upgrade_list_status_history(tmp_path: Path, srv: RunningServer, chart: Path) -> None:
    store = srv.backend.store
    helm(tmp_path, srv, "install", "web", str(chart), "-n", "apps", "--create-namespace", "--wait",
         "--timeout", "60s")
    assert store.get("", "namespaces", None, "apps") is not None
    dep = store.get("apps", "deployments", "apps", "web")
    assert dep is not None and dep["status"]["readyReplicas"] == 2
    assert len(store.list("", "pods", "apps", "app=web")) == 2

    helm(tmp_path, srv, "upgrade", "web", str(chart), "-n", "apps", "--set", "image=nginx:1.26",
         "--set", "replicas=3", "--wait", "--timeout", "60s")
    dep = store.get("apps", "deployments", "apps", "web")
    assert dep is not None
    container = dep["spec"]["template"]["spec"]["containers"][0]
    # helm sent a strategic merge patch: the image changed, the rest of the container survived.
    assert (container["image"], container["env"], dep["spec"]["replicas"]) == \
        ("nginx:1.26", [{"name": "MODE", "value": "prod"}], 3)
    pods = store.list("", "pods", "apps", "app=web")
    assert len(pods) == 3 and {p["spec"]["containers"][0]["image"] for p in pods} == {"nginx:1.26"}
    svc = store.get("", "services", "apps", "web")
    assert svc is not None and svc["spec"]["clusterIP"]

    listed = json.loads(helm(tmp_path, srv, "list", "-A", "-o", "json").stdout)
    assert [(r["name"], r["namespace"], r["revision"], r["status"]) for r in listed] == \
        [("web", "apps", "2", "deployed")]
    status = json.loads(helm(tmp_path, srv, "status", "web", "-n", "apps", "-o", "json").stdout)
    assert (status["version"], status["info"]["status"]) == (2, "deployed")
    history = json.loads(helm(tmp_path, srv, "history", "web", "-n", "apps", "-o", "json").stdout)
    assert [(h["revision"], h["status"]) for h in history] == [(1, "superseded"), (2, "deployed")]
    assert release(srv, "apps", "web", 1)["version"] == 1
    assert release(srv, "apps", "web", 2)["info"]["status"] == "deployed"  # type: ignore[index]

    helm(tmp_path, srv, "uninstall", "web", "-n", "apps")
    assert store.get("apps", "deployments", "apps", "web") is None
    assert store.list("", "pods", "apps") == []


@pytest.mark.slow
def test_chart_with_a_removed_api_fails_only_where_the_server_stopped_serving_it(
        tmp_path: Path, chart: Path) -> None:
    backend = FakeBackend(minor=Minor(1, 24))
    with running_server(tmp_path, backend) as rs:
        helm(tmp_path, rs, "install", "old", str(chart), "-n", "default", "--set", "pdbApi=policy/v1beta1")
        pdb = rs.backend.store.get("policy", "poddisruptionbudgets", "default", "old")
        assert pdb is not None and pdb["apiVersion"] == "policy/v1beta1"
        backend.minor = Minor(1, 25)
        proc = helm(tmp_path, rs, "install", "new", str(chart), "-n", "default", "--set", "pdbApi=policy/v1beta1",
                    ok=False)
        assert proc.returncode != 0
        assert 'no matches for kind "PodDisruptionBudget" in version "policy/v1beta1"' in proc.stderr


@pytest.mark.slow
def test_helmfile_sync_and_template(tmp_path: Path, srv: RunningServer, chart: Path) -> None:
    (tmp_path / "helmfile.yaml").write_text(
        "releases:\n"
        "  - name: api\n"
        "    namespace: backend\n"
        "    createNamespace: true\n"
        f"    chart: {chart}\n"
        "    values:\n"
        "      - replicas: 3\n")
    env = tool_env(tmp_path, srv)
    base = [str(HELMFILE), "--helm-binary", str(HELM), "--kube-context", "sandbox", "-f",
            str(tmp_path / "helmfile.yaml")]
    sync = subprocess.run([*base, "sync"], capture_output=True, text=True, timeout=180, env=env, check=False,
                          cwd=tmp_path)
    assert sync.returncode == 0, sync.stdout + sync.stderr
    dep = srv.backend.store.get("apps", "deployments", "backend", "api")
    assert dep is not None and dep["spec"]["replicas"] == 3
    assert release(srv, "backend", "api", 1)["name"] == "api"

    template = subprocess.run([*base, "template"], capture_output=True, text=True, timeout=180, env=env,
                              check=False, cwd=tmp_path)
    assert template.returncode == 0, template.stdout + template.stderr
    assert "kind: PodDisruptionBudget" in template.stdout and "replicas: 3" in template.stdout

"""The removed-API check: real helmfile/helm renders of local charts, Helm release secrets built
byte for byte as Helm stores them, and the official Kubernetes client talking HTTP to a small
local API endpoint."""

from __future__ import annotations

import base64
import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from eks_tfup import charts
from eks_tfup.errors import ExitCode, ProcessError
from eks_tfup.helmfile import HelmfileSettings
from eks_tfup.versions import Minor
from tests.charts_helpers import HELM, HELMFILE, write_chart

needs_tools = pytest.mark.usefixtures("helm_tools")

V124, V125 = Minor(1, 24), Minor(1, 25)

PDB = """apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata:
  name: {{ .Release.Name }}-pdb
spec:
  minAvailable: 1
"""
CRONJOB = """apiVersion: batch/v1beta1
kind: CronJob
metadata:
  name: {{ .Release.Name }}-cron
  namespace: batch-jobs
"""
PSP = """apiVersion: policy/v1beta1
kind: PodSecurityPolicy
metadata:
  name: {{ .Release.Name }}-psp
"""
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
"""
# The common chart idiom: the API version follows the cluster version the chart is rendered for.
HPA_BY_VERSION = """{{- if semverCompare ">=1.25-0" .Capabilities.KubeVersion.GitVersion }}
apiVersion: autoscaling/v2
{{- else }}
apiVersion: autoscaling/v2beta1
{{- end }}
kind: HorizontalPodAutoscaler
metadata:
  name: {{ .Release.Name }}
"""


def settings() -> HelmfileSettings:
    return HelmfileSettings(helmfile_bin=str(HELMFILE), helm_bin=str(HELM))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("charts")
    write_chart(root, "legacy", {"pdb.yaml": PDB, "cron.yaml": CRONJOB, "psp.yaml": PSP,
                                 "deploy.yaml": DEPLOYMENT})
    write_chart(root, "modern", {"deploy.yaml": DEPLOYMENT, "hpa.yaml": HPA_BY_VERSION})
    (root / "helmfile.yaml").write_text(
        "releases:\n"
        "  - name: legacy\n    namespace: ops\n    chart: ./charts/legacy\n"
        "  - name: modern\n    namespace: web\n    chart: ./charts/modern\n"
        "  - name: no-ns\n    chart: ./charts/modern\n"
    )
    return root


def by_kind(findings: list[charts.Finding]) -> dict[str, charts.Finding]:
    return {f.kind: f for f in findings}


# ---- charts, rendered by the real binaries ---------------------------------------------------

@needs_tools
def test_render_attributes_documents_to_releases(project: Path) -> None:
    releases = charts.render_releases(settings(), project, V125)
    assert {(r.namespace, r.name, r.chart) for r in releases} == {
        ("ops", "legacy", "legacy"), ("web", "modern", "modern"), (None, "no-ns", "modern")}
    legacy = next(r for r in releases if r.name == "legacy")
    assert {(m.kind, m.api_version) for m in legacy.manifests} == {
        ("PodDisruptionBudget", "policy/v1beta1"), ("CronJob", "batch/v1beta1"),
        ("PodSecurityPolicy", "policy/v1beta1"), ("Deployment", "apps/v1")}
    pdb = next(m for m in legacy.manifests if m.kind == "PodDisruptionBudget")
    assert (pdb.location, pdb.name, pdb.namespace) == ("legacy/templates/pdb.yaml", "legacy-pdb", "ops")
    cron = next(m for m in legacy.manifests if m.kind == "CronJob")
    assert cron.namespace == "batch-jobs"  # the object's own namespace wins over the release's


@needs_tools
def test_removed_in_target_is_required(project: Path) -> None:
    findings = charts.scan_rendered(charts.render_releases(settings(), project, V125), V125)
    legacy = by_kind([f for f in findings if f.release == "legacy"])
    assert set(legacy) == {"PodDisruptionBudget", "CronJob", "PodSecurityPolicy"}
    pdb, cron, psp = legacy["PodDisruptionBudget"], legacy["CronJob"], legacy["PodSecurityPolicy"]
    assert (pdb.level, pdb.source, pdb.removed_in, pdb.replacement) == (
        "required", "chart", V125, "policy/v1 PodDisruptionBudget")
    assert (cron.level, cron.replacement) == ("required", "batch/v1 CronJob")
    assert psp.level == "required" and psp.replacement is None
    assert "no replacement: use Pod Security Admission" in psp.note
    # Rendered for 1.25, the HPA template picks autoscaling/v2: nothing to report for it.
    assert not [f for f in findings if f.release in ("modern", "no-ns")]
    assert charts.exit_code(findings) == ExitCode.REFUSED


@needs_tools
def test_deprecated_but_still_served_is_recommended(project: Path) -> None:
    findings = charts.scan_rendered(charts.render_releases(settings(), project, V124), V124)
    legacy = by_kind([f for f in findings if f.release == "legacy"])
    assert {k: f.level for k, f in legacy.items()} == {
        "PodDisruptionBudget": "recommended", "CronJob": "recommended", "PodSecurityPolicy": "recommended"}
    assert legacy["CronJob"].removed_in == V125
    # Rendered for 1.24 the chart picks autoscaling/v2beta1: deprecated in 1.23, removed in 1.25.
    hpa = [f for f in findings if f.kind == "HorizontalPodAutoscaler"]
    assert {(f.release, f.level, f.api_version) for f in hpa} == {
        ("modern", "recommended", "autoscaling/v2beta1"), ("no-ns", "recommended", "autoscaling/v2beta1")}
    assert charts.exit_code(findings) == ExitCode.OK


@needs_tools
def test_a_chart_that_refuses_the_target_is_required_and_others_still_render(tmp_path: Path) -> None:
    write_chart(tmp_path, "old", {"deploy.yaml": DEPLOYMENT}, kube_version="<1.25.0-0")
    write_chart(tmp_path, "legacy", {"pdb.yaml": PDB})
    (tmp_path / "helmfile.yaml").write_text(
        "releases:\n  - name: aaa-old\n    chart: ./charts/old\n  - name: zzz\n    chart: ./charts/legacy\n")
    releases = charts.render_releases(settings(), tmp_path, V125, log_path=tmp_path / "log")
    findings = charts.scan_rendered(releases, V125)
    old = [f for f in findings if f.release == "aaa-old"]
    assert len(old) == 1 and old[0].level == "required" and "kubeVersion: <1.25.0-0" in old[0].note
    assert [f.kind for f in findings if f.release == "zzz"] == ["PodDisruptionBudget"]


@needs_tools
def test_any_other_render_failure_stops_the_check(tmp_path: Path) -> None:
    write_chart(tmp_path, "bad", {"cm.yaml": "kind: ConfigMap\nmetadata:\n  name: {{ .Values.no.such }}\n"})
    (tmp_path / "helmfile.yaml").write_text("releases:\n  - name: bad\n    chart: ./charts/bad\n")
    with pytest.raises(ProcessError, match=r"Error: template: bad/templates/cm\.yaml"):
        charts.render_releases(settings(), tmp_path, V125)


def test_no_helmfile_renders_nothing(tmp_path: Path) -> None:
    assert charts.render_releases(settings(), tmp_path, V125) == []
    check = charts.check_charts(V125, settings=settings(), directory=tmp_path)
    assert check.findings == () and check.notes and check.exit_code == ExitCode.OK


# ---- splitting YAML ------------------------------------------------------------------------------

def test_manifests_from_yaml_handles_the_shapes_found_in_the_wild() -> None:
    text = "\n".join([
        "---",
        "# Source: c/templates/a.yaml",
        'apiVersion: "policy/v1beta1"  # quoted, with a comment',
        "kind: PodDisruptionBudget",
        "metadata: {name: a, namespace: x}",
        "--- # a comment after the separator",
        '{"apiVersion": "batch/v1beta1", "kind": "CronJob", "metadata": {"name": "flow"}}',
        "---",
        "apiVersion: v1",
        "kind: List",
        "items:",
        "- apiVersion: extensions/v1beta1",
        "  kind: Ingress",
        "  metadata:",
        "    name: listed",
        "---",
        "apiVersion: v1",
        "kind: ConfigMap",
        "data:",
        "  inner: |",
        "    apiVersion: policy/v1beta1",  # inside a block scalar: not an object
        "---",
        "",
    ])
    docs = charts.manifests_from_yaml(text, source="chart", location="c/file.yaml", release="r", chart="c")
    assert [(d.api_version, d.kind, d.name, d.location) for d in docs] == [
        ("policy/v1beta1", "PodDisruptionBudget", "a", "c/templates/a.yaml"),
        ("batch/v1beta1", "CronJob", "flow", "c/file.yaml"),
        ("extensions/v1beta1", "Ingress", "listed", "c/file.yaml"),
        ("v1", "ConfigMap", None, "c/file.yaml"),
    ]
    findings = charts.scan_manifests(docs, V125)
    assert [(f.kind, f.level, str(f.removed_in)) for f in findings] == [
        ("PodDisruptionBudget", "required", "1.25"), ("CronJob", "required", "1.25"),
        ("Ingress", "required", "1.22")]


# ---- Helm release secrets --------------------------------------------------------------------------

def helm_release(name: str, namespace: str, revision: int, status: str, manifest: str,
                 hooks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A release as Helm 3 marshals it (pkg/release.Release, JSON field names)."""
    return {
        "name": name,
        "info": {"first_deployed": "2024-01-02T03:04:05Z", "last_deployed": "2024-01-02T03:04:05Z",
                 "deleted": "", "description": "Install complete", "status": status},
        "chart": {"metadata": {"name": "legacy", "version": "1.2.3", "apiVersion": "v2"},
                  "lock": None, "templates": [], "values": {}, "schema": None, "files": []},
        "config": {},
        "manifest": manifest,
        "hooks": hooks or [],
        "version": revision,
        "namespace": namespace,
    }


def helm_secret(release: dict[str, Any]) -> dict[str, Any]:
    """The Secret Helm's storage driver writes: data.release = base64(gzip(json)), which the API
    then serves base64-encoded once more, as every Secret's data."""
    helm_encoded = base64.b64encode(gzip.compress(json.dumps(release).encode(), compresslevel=9))
    name, ns, rev = release["name"], release["namespace"], release["version"]
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
        "metadata": {"name": f"sh.helm.release.v1.{name}.v{rev}", "namespace": ns,
                     "labels": {"name": name, "owner": "helm", "status": release["info"]["status"],
                                "version": str(rev)}},
        "data": {"release": base64.b64encode(helm_encoded).decode()},
    }


CRON_MANIFEST = ("---\n# Source: legacy/templates/cron.yaml\napiVersion: batch/v1beta1\nkind: CronJob\n"
                 "metadata:\n  name: nightly\n")
FIXED_MANIFEST = ("---\n# Source: legacy/templates/cron.yaml\napiVersion: batch/v1\nkind: CronJob\n"
                  "metadata:\n  name: nightly\n")


def test_decode_release_reads_helms_encoding() -> None:
    rel = helm_release("legacy", "ops", 1, "deployed", CRON_MANIFEST)
    assert charts.decode_release(helm_secret(rel)["data"]["release"]) == rel
    # Releases stored before Helm compressed them are plain JSON under the base64 layers.
    plain = base64.b64encode(base64.b64encode(json.dumps(rel).encode())).decode()
    assert charts.decode_release(plain)["manifest"] == CRON_MANIFEST
    with pytest.raises(ValueError, match="not a Helm release"):
        charts.decode_release(base64.b64encode(b"%%%").decode())


class FakeApiServer:
    """Just enough of the Kubernetes API over real HTTP: discovery, and paginated lists."""

    def __init__(self, lists: dict[str, list[dict[str, Any]]], groups: dict[str, list[str]]) -> None:
        self.lists = lists
        self.groups = groups
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urlparse(self.path)
                server.requests.append(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path in ("/apis", "/apis/"):
                    body: dict[str, Any] = {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                        {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs]}
                        for g, vs in server.groups.items()]}
                elif url.path in server.lists:
                    items = server.lists[url.path]
                    if "labelSelector" in query:
                        key, _, value = query["labelSelector"].partition("=")
                        items = [i for i in items if i["metadata"].get("labels", {}).get(key) == value]
                    start = int(query.get("continue") or 0)
                    limit = int(query.get("limit") or len(items) or 1)
                    page = items[start:start + limit]
                    more = start + limit < len(items)
                    body = {"kind": "List", "apiVersion": "v1", "items": page,
                            "metadata": {"continue": str(start + limit)} if more else {}}
                else:
                    self.send_response(404)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"kind":"Status","code":404,"reason":"NotFound"}')
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Any:
        from kubernetes import client

        self.thread.start()
        config = client.Configuration()
        config.host = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.api_client = client.ApiClient(config)
        return self.api_client

    def __exit__(self, *_exc: object) -> None:
        self.api_client.close()  # type: ignore[no-untyped-call,unused-ignore]
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def release_secrets() -> list[dict[str, Any]]:
    hook = {"name": "pre", "kind": "Job", "path": "legacy/templates/hook.yaml", "events": ["pre-upgrade"],
            "manifest": "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata:\n  name: hooked\n"}
    return [
        # legacy: v1 superseded, v2 deployed (still the old API), v3 failed (fixed chart, never deployed)
        helm_secret(helm_release("legacy", "ops", 1, "superseded", CRON_MANIFEST)),
        helm_secret(helm_release("legacy", "ops", 2, "deployed", CRON_MANIFEST, [hook])),
        helm_secret(helm_release("legacy", "ops", 3, "failed", FIXED_MANIFEST)),
        # fixed: the deployed revision is clean even though an older one was not
        helm_secret(helm_release("fixed", "web", 1, "superseded", CRON_MANIFEST)),
        helm_secret(helm_release("fixed", "web", 2, "deployed", FIXED_MANIFEST)),
        # never deployed: judged by its latest revision
        helm_secret(helm_release("broken", "web", 1, "failed", CRON_MANIFEST)),
        {"metadata": {"name": "unrelated", "namespace": "web", "labels": {"app": "x"}}, "data": {"x": "eA=="}},
    ]


def test_release_secrets_scan_the_latest_deployed_revision(release_secrets: list[dict[str, Any]]) -> None:
    from kubernetes import client

    with FakeApiServer({"/api/v1/secrets": release_secrets}, {}) as api:
        findings, releases = charts.release_secret_scan(client.CoreV1Api(api), V125, page_size=2)
    assert releases == 3
    got = {(f.release, f.location, f.name, f.level, f.chart) for f in findings}
    assert got == {
        ("legacy", "ops/sh.helm.release.v1.legacy.v2:legacy/templates/cron.yaml", "nightly", "required",
         "legacy-1.2.3"),
        ("legacy", "ops/sh.helm.release.v1.legacy.v2:legacy/templates/hook.yaml", "hooked", "required",
         "legacy-1.2.3"),
        ("broken", "web/sh.helm.release.v1.broken.v1:legacy/templates/cron.yaml", "nightly", "required",
         "legacy-1.2.3"),
    }
    assert all(f.source == "release-secret" and f.replacement == "batch/v1 CronJob" for f in findings)


def test_release_secrets_are_listed_one_page_at_a_time(release_secrets: list[dict[str, Any]]) -> None:
    from kubernetes import client

    server = FakeApiServer({"/api/v1/secrets": release_secrets}, {})
    with server as api:
        charts.scan_release_secrets(client.CoreV1Api(api), V124, page_size=2)
    assert len(server.requests) == 3  # six helm secrets, two per page
    assert all("labelSelector=owner%3Dhelm" in r and "limit=2" in r for r in server.requests)


@pytest.mark.slow
def test_release_secrets_in_the_sandbox_scenario(tmp_path: Path) -> None:
    """The sandbox's `removed-apis` scenario holds a Helm release with a batch/v1beta1 CronJob."""
    from kubernetes import client, config

    from eks_tfup.sandbox import control

    info = control.up("removed-apis", tmp_path / "sandbox")
    try:
        api = config.new_client_from_config(config_file=info.env["KUBECONFIG"])  # type: ignore[no-untyped-call,unused-ignore]
        try:
            findings = charts.scan_release_secrets(client.CoreV1Api(api), V125)
            live_findings = charts.scan_live_objects(api, V125)
        finally:
            api.close()
    finally:
        down = getattr(control, "down", None)
        if down is not None:
            down(tmp_path / "sandbox")
    assert any(f.kind == "CronJob" and f.api_version == "batch/v1beta1" and f.level == "required"
               for f in findings)
    assert all(f.source == "live-object" for f in live_findings)


# ---- live objects ----------------------------------------------------------------------------------

def live(kind: str, name: str, namespace: str | None, applied_api: str | None, uid: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "uid": uid, "annotations": {}}
    if namespace:
        meta["namespace"] = namespace
    if applied_api:
        applied = {"apiVersion": applied_api, "kind": kind, "metadata": {"name": name}}
        meta["annotations"][charts.LAST_APPLIED] = json.dumps(applied)
    return {"metadata": meta}


def test_live_objects_are_graded_by_their_last_applied_configuration() -> None:
    lists = {
        "/apis/policy/v1/poddisruptionbudgets": [
            live("PodDisruptionBudget", "old", "ops", "policy/v1beta1", "u1"),
            live("PodDisruptionBudget", "new", "ops", "policy/v1", "u2"),
            live("PodDisruptionBudget", "helm-made", "ops", None, "u3"),
        ],
        "/apis/batch/v1/cronjobs": [live("CronJob", "nightly", "ops", "batch/v1beta1", "u4")],
        "/apis/networking.k8s.io/v1/ingresses": [live("Ingress", "web", "web", "extensions/v1beta1", "u5")],
    }
    # The server advertises groups it then answers 404 for (storage.k8s.io lists): skipped quietly.
    groups = {"policy": ["v1"], "batch": ["v1"], "networking.k8s.io": ["v1"], "storage.k8s.io": ["v1"]}
    server = FakeApiServer(lists, groups)
    with server as api:
        findings, scanned = charts.live_object_scan(api, V125, page_size=2)
    assert scanned == 4  # objects carrying the annotation
    assert {(f.kind, f.location, f.api_version, f.level) for f in findings} == {
        ("PodDisruptionBudget", "ops/old", "policy/v1beta1", "required"),
        ("CronJob", "ops/nightly", "batch/v1beta1", "required"),
        ("Ingress", "web/web", "extensions/v1beta1", "required"),
    }
    assert all(f.source == "live-object" for f in findings)
    # One list per kind, through the stable version; nothing for groups the server does not serve.
    paths = [urlparse(r).path for r in server.requests]
    assert paths.count("/apis/policy/v1/poddisruptionbudgets") == 2  # two pages of two
    assert not any("v1beta1" in p for p in paths)
    assert not any(p.startswith("/apis/flowcontrol") for p in paths)


def test_live_list_targets_prefer_the_stable_version() -> None:
    served = {"": {"v1"}, "policy": {"v1", "v1beta1"}, "networking.k8s.io": {"v1"}, "extensions": {"v1beta1"}}
    targets = {t.kind: t for t in charts.live_list_targets(V125, served)}
    assert (targets["PodDisruptionBudget"].group, targets["PodDisruptionBudget"].version) == ("policy", "v1")
    assert targets["Ingress"].group == "networking.k8s.io"
    assert "CronJob" not in targets  # batch is not served at all here


# ---- output ----------------------------------------------------------------------------------------

def sample_findings() -> list[charts.Finding]:
    docs = [
        charts.Manifest("policy/v1beta1", "PodSecurityPolicy", "chart", "legacy/templates/psp.yaml",
                        release="legacy", chart="legacy", name="restricted"),
        charts.Manifest("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", "live-object", "catch|all",
                        name="catch|all"),
        charts.Manifest("batch/v1beta1", "CronJob", "release-secret",
                        "ops/sh.helm.release.v1.legacy.v2:legacy/templates/cron.yaml",
                        release="legacy", chart="legacy-1.2.3", name="nightly", namespace="ops"),
    ]
    return charts.scan_manifests(docs, Minor(1, 29))


def test_json_output_has_a_stable_schema() -> None:
    out = json.loads(charts.format_findings(sample_findings(), "json", target=Minor(1, 29)))
    assert out["target"] == "1.29"
    assert out["summary"] == {"required": 2, "recommended": 1}
    assert [f["level"] for f in out["findings"]] == ["required", "required", "recommended"]
    assert set(out["findings"][0]) == {"level", "source", "release", "chart", "location", "kind",
                                       "api_version", "removed_in", "replacement", "note", "name", "namespace"}
    psp = out["findings"][0]
    assert (psp["kind"], psp["removed_in"], psp["replacement"]) == ("PodSecurityPolicy", "1.25", None)
    assert out["findings"][2]["removed_in"] == "1.32"
    empty = json.loads(charts.format_findings([], "json", target=V125))
    assert empty == {"target": "1.25", "findings": [], "summary": {"required": 0, "recommended": 0}}


def test_text_output_is_an_aligned_table_required_first() -> None:
    text = charts.format_findings(sample_findings(), "text", target=Minor(1, 29))
    lines = text.splitlines()
    assert lines[0] == "Removed APIs for 1.29: 2 required, 1 recommended"
    header = lines[2]
    assert header.split()[:3] == ["LEVEL", "SOURCE", "RELEASE"]
    rows = [line for line in lines[3:] if line.startswith(("required", "recommended"))]
    assert [r.split()[0] for r in rows] == ["required", "required", "recommended"]
    col = header.index("API VERSION")
    assert {r[col:].split()[0] for r in rows} == {"policy/v1beta1", "batch/v1beta1",
                                                   "flowcontrol.apiserver.k8s.io/v1beta3"}
    assert "no replacement: use Pod Security Admission" in text
    assert not any(line != line.rstrip() for line in lines)
    assert charts.format_findings([], "text", target=V125) == "Removed APIs for 1.25: none found.\n"


def test_markdown_output_is_a_pr_ready_table() -> None:
    md = charts.format_findings(sample_findings(), "markdown", target=Minor(1, 29))
    lines = md.splitlines()
    assert lines[0] == "### Removed Kubernetes APIs for 1.29"
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 2 + 3
    assert table[1] == "|" + "---|" * 8
    assert all(line.count(" | ") == 7 for line in table[:1] + table[2:] if "\\|" not in line)
    assert "catch\\|all" in md  # a pipe in a cell does not break the table
    assert table[2].startswith("| **required** | chart | legacy |")
    with pytest.raises(ValueError, match="unknown format"):
        charts.format_findings([], "csv")


@needs_tools
def test_check_charts_runs_all_three_scans(project: Path, release_secrets: list[dict[str, Any]]) -> None:
    lists = {"/api/v1/secrets": release_secrets,
             "/apis/policy/v1/poddisruptionbudgets": [live("PodDisruptionBudget", "old", "ops", "policy/v1beta1",
                                                           "u1")]}
    with FakeApiServer(lists, {"policy": ["v1"]}) as api:
        check = charts.check_charts(V125, settings=settings(), directory=project, api_client=api)
    assert (check.releases_rendered, check.release_secrets_scanned, check.live_objects_scanned) == (3, 3, 1)
    assert {f.source for f in check.findings} == {"chart", "release-secret", "live-object"}
    assert check.required == len(check.findings) and check.recommended == 0
    assert check.exit_code == ExitCode.REFUSED
    assert check.notes == ()

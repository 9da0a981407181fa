"""The removed-API check: what the charts render, what Helm deployed, what kubectl applied.

Three places can hold an API version the target minor no longer serves, and each breaks in its
own way after the hop:
- chart: the next `helmfile apply` renders the old version and the API server rejects it;
- release-secret: Helm builds the *current* release's objects from the manifest it stored at the
  last deploy; if that manifest uses a removed version, every later `helm upgrade` fails until the
  release is repaired (helm-mapkubeapis), even when the chart itself was fixed;
- live-object: the `kubectl.kubernetes.io/last-applied-configuration` annotation shows what the
  manifest someone applies with kubectl says; re-applying it fails after the hop.
The API server itself converts stored objects, so the objects' current apiVersion says nothing.

Grades come from `eks_tfup.k8s_apis` (one table shared with everything else): removed at or before
the target -> `required`; deprecated at or before the target but removed later -> `recommended`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import gzip
import json
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from eks_tfup import helmfile as hf
from eks_tfup.errors import ExitCode, KubeError
from eks_tfup.k8s_apis import RESOURCES, ApiResource, lookup
from eks_tfup.proc import LineSink
from eks_tfup.versions import Minor

Level = Literal["required", "recommended"]
Source = Literal["chart", "release-secret", "live-object"]
Format = Literal["text", "json", "markdown"]

LEVELS: tuple[Level, ...] = ("required", "recommended")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
HELM_RELEASE_ANNOTATION = "meta.helm.sh/release-name"

# What each source means for the person fixing it (shown once per source in text and Markdown).
ADVICE: dict[str, str] = {
    "chart": "the chart renders this version: upgrade or patch the chart before the hop",
    "release-secret": "the last deployed Helm release stores this version: `helm upgrade` fails after the "
                      "hop until the release is upgraded to a fixed chart first (or repaired with "
                      "helm-mapkubeapis)",
    "live-object": "the object was last applied with kubectl from a manifest using this version: fix "
                   "that manifest before re-applying it",
}


@dataclass(frozen=True)
class Manifest:
    """One Kubernetes object as rendered or stored; only what the check needs of it."""

    api_version: str
    kind: str
    source: Source
    location: str  # template file, `namespace/secret:template`, or `namespace/name` of a live object
    release: str | None = None
    chart: str | None = None
    name: str | None = None
    namespace: str | None = None


@dataclass(frozen=True)
class Finding:
    level: Level
    source: Source
    release: str | None
    chart: str | None
    location: str
    kind: str
    api_version: str
    removed_in: Minor | None
    replacement: str | None
    note: str
    name: str | None = None
    namespace: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level, "source": self.source, "release": self.release, "chart": self.chart,
            "location": self.location, "kind": self.kind, "api_version": self.api_version,
            "removed_in": str(self.removed_in) if self.removed_in else None,
            "replacement": self.replacement, "note": self.note or None,
            "name": self.name, "namespace": self.namespace,
        }


@dataclass(frozen=True)
class RenderedRelease:
    name: str
    namespace: str | None
    chart: str | None
    manifests: tuple[Manifest, ...]
    # Set when helm refused to render for the target (the chart's `kubeVersion` excludes it).
    error: str | None = None


@dataclass(frozen=True)
class ChartCheck:
    target: Minor
    findings: tuple[Finding, ...]
    releases_rendered: int
    release_secrets_scanned: int
    live_objects_scanned: int
    notes: tuple[str, ...] = ()  # what was skipped and why

    @property
    def required(self) -> int:
        return sum(1 for f in self.findings if f.level == "required")

    @property
    def recommended(self) -> int:
        return sum(1 for f in self.findings if f.level == "recommended")

    @property
    def exit_code(self) -> ExitCode:
        return exit_code(self.findings)


def exit_code(findings: Iterable[Finding]) -> ExitCode:
    """A required finding refuses the hop (3); recommended ones alone do not."""
    return ExitCode.REFUSED if any(f.level == "required" for f in findings) else ExitCode.OK


# --------------------------------------------------------------------------------------------
# Splitting rendered YAML into manifests
# --------------------------------------------------------------------------------------------

_DOC_SEPARATOR = re.compile(r"(?m)^---[ \t]*(?:#.*)?$")
# In block-style YAML a key at column 0 can only be a top-level key (block scalars and nested
# mappings are indented), so these find apiVersion/kind without parsing the document. Parsing
# every document of 50 releases with PyYAML costs seconds; this costs milliseconds.
_API_VERSION = re.compile(r"(?m)^apiVersion:[ \t]*(.*?)[ \t]*$")
_KIND = re.compile(r"(?m)^kind:[ \t]*(.*?)[ \t]*$")
_HELM_SOURCE = re.compile(r"(?m)^# Source: (.+?)[ \t]*$")
# Every (apiVersion, kind) that is removed or deprecated in some minor: only documents with one of
# these are parsed fully (for their name and namespace).
_INTERESTING = frozenset((r.api_version, r.kind) for r in RESOURCES
                         if r.removed is not None or r.deprecated is not None)


def split_documents(text: str) -> Iterator[str]:
    for doc in _DOC_SEPARATOR.split(text):
        if doc.strip():
            yield doc


def _scalar(raw: str) -> str:
    value = raw.split(" #", 1)[0].strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return value


def _load_yaml(doc: str) -> Any:
    import yaml  # type: ignore[import-untyped,unused-ignore]

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(doc, Loader=loader)
    except yaml.YAMLError:
        # A broken document cannot be checked; helm would have refused to render it anyway, and a
        # stored manifest is not ours to fix. It is skipped rather than failing the whole check.
        return None


def _objects(body: Any) -> Iterator[dict[str, Any]]:
    """The object itself, or the items of a `List` kind (kubectl and some charts emit those)."""
    if not isinstance(body, dict):
        return
    kind = body.get("kind")
    items = body.get("items")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        for item in items:
            yield from _objects(item)
    elif isinstance(body.get("apiVersion"), str) and isinstance(kind, str):
        yield body


def manifests_from_yaml(text: str, *, source: Source, location: str, release: str | None = None,
                        chart: str | None = None, namespace: str | None = None) -> list[Manifest]:
    """Every object of a multi-document YAML text. `location` is the fallback when a document has
    no `# Source:` comment; with one, the template path is appended to it (or replaces it for
    chart renders, where it is the more precise of the two)."""
    out: list[Manifest] = []
    for doc in split_documents(text):
        src = _HELM_SOURCE.search(doc)
        if src is None:
            where = location
        elif source == "chart":
            where = src.group(1)
        else:
            where = f"{location}:{src.group(1)}"
        av = _API_VERSION.search(doc)
        kd = _KIND.search(doc)
        api_version = _scalar(av.group(1)) if av else ""
        kind = _scalar(kd.group(1)) if kd else ""
        if api_version and kind and not kind.endswith("List"):
            if (api_version, kind) not in _INTERESTING:
                out.append(Manifest(api_version, kind, source, where, release, chart, None, namespace))
                continue
            bodies: list[dict[str, Any]] = list(_objects(_load_yaml(doc)))
        else:
            # Flow style, a List, or no column-0 keys: parse it properly.
            bodies = list(_objects(_load_yaml(doc)))
        for body in bodies:
            meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
            assert isinstance(meta, dict)
            name = meta.get("name")
            ns = meta.get("namespace")
            out.append(Manifest(str(body["apiVersion"]), str(body["kind"]), source, where, release, chart,
                                str(name) if name is not None else None,
                                str(ns) if ns else namespace))
    return out


# --------------------------------------------------------------------------------------------
# Grading
# --------------------------------------------------------------------------------------------

def grade(res: ApiResource, target: Minor) -> Level | None:
    if res.removed is not None and res.removed <= target:
        return "required"
    if res.deprecated is not None and res.deprecated <= target:
        return "recommended"
    return None


def scan_manifests(docs: Iterable[Manifest], target: Minor) -> list[Finding]:
    findings: list[Finding] = []
    for doc in docs:
        res = lookup(doc.api_version, doc.kind)
        if res is None:
            continue
        level = grade(res, target)
        if level is None:
            continue
        findings.append(Finding(
            level=level, source=doc.source, release=doc.release, chart=doc.chart, location=doc.location,
            kind=doc.kind, api_version=doc.api_version, removed_in=res.removed,
            replacement=res.replacement, note=res.note, name=doc.name, namespace=doc.namespace,
        ))
    return findings


# --------------------------------------------------------------------------------------------
# Charts: one `helmfile template` for all releases
# --------------------------------------------------------------------------------------------

# `_` is allowed in neither namespace nor release names (DNS-1123), so it splits them unambiguously,
# and an empty namespace still yields one directory level.
_OUTPUT_DIR_TEMPLATE = "{{ .OutputDir }}/{{ .Release.Namespace }}_{{ .Release.Name }}"
_TEMPLATING = re.compile(r"Templating release=([^,\s]+)")
_KUBE_VERSION_REFUSED = re.compile(r"chart requires kubeVersion: .* which is incompatible with Kubernetes .*")


def template_command(target: Minor, output_dir: Path, *, skip_deps: bool) -> tuple[str, ...]:
    # --kube-version sets .Capabilities.KubeVersion, which charts use to pick API versions
    # (`semverCompare ">=1.21-0"`); rendering for the *current* version would hide exactly the
    # documents the check is for. --include-crds: CRDs in crds/ are applied by helm too.
    command = ["template", "--kube-version", f"{target}.0", "--include-crds",
               "--output-dir", str(output_dir), "--output-dir-template", _OUTPUT_DIR_TEMPLATE]
    if skip_deps:
        command.append("--skip-deps")
    return tuple(command)


def _excluding(settings: hf.HelmfileSettings, names: Sequence[str]) -> hf.HelmfileSettings:
    """The same settings with releases `names` left out (a selector group ANDs its labels)."""
    if not names:
        return settings
    exclusions = ",".join(f"name!={n}" for n in names)
    groups = settings.selectors or ("",)
    selectors = tuple(f"{g},{exclusions}" if g else exclusions for g in groups)
    extra = settings.extra_args
    if "--allow-no-matching-release" not in extra:
        extra = (*extra, "--allow-no-matching-release")
    return dataclasses.replace(settings, selectors=selectors, extra_args=extra)


def render_releases(settings: hf.HelmfileSettings, directory: Path, target: Minor, *,
                    log_path: Path | None = None, sink: LineSink | None = None,
                    skip_deps: bool = False) -> list[RenderedRelease]:
    """Render every release for `target` with one `helmfile template` and split the output.

    Releases are told apart by helmfile's `--output-dir-template`: helm writes each release into
    its own directory, `<namespace>_<release>/<chart>/templates/<file>`. A release whose chart
    refuses the target (`kubeVersion` constraint) is reported in `error` and the others rendered
    again without it; any other rendering failure raises ProcessError.
    `skip_deps`: pass when `helmfile deps` already ran, to skip helm's dependency build per release.
    """
    helmfile = hf.find_helmfile(directory, settings.file)
    if helmfile is None:
        return []
    refused: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="eks-tfup-render-") as tmp:
        out_dir = Path(tmp) / "out"
        while True:
            shutil.rmtree(out_dir, ignore_errors=True)
            run_settings = _excluding(settings, sorted(refused))
            command = template_command(target, out_dir, skip_deps=skip_deps)
            outcome = hf.run_command(run_settings, helmfile, command, log_path=log_path, sink=sink,
                                     check=False)
            if outcome.ok:
                break
            text = f"{outcome.stdout}\n{outcome.stderr}"
            refusal = _KUBE_VERSION_REFUSED.search(text)
            releases = _TEMPLATING.findall(text)
            if refusal is None or not releases or releases[-1] in refused:
                raise hf.failure("helmfile template", outcome, log_path)
            refused[releases[-1]] = refusal.group(0)
        rendered = read_output_dir(out_dir)
    rendered += [RenderedRelease(name, None, None, (), error) for name, error in sorted(refused.items())]
    return rendered


def read_output_dir(out_dir: Path) -> list[RenderedRelease]:
    releases: list[RenderedRelease] = []
    if not out_dir.is_dir():
        return releases
    for release_dir in sorted(p for p in out_dir.iterdir() if p.is_dir()):
        namespace, _, name = release_dir.name.partition("_")
        ns = namespace or None
        for chart_dir in sorted(p for p in release_dir.iterdir() if p.is_dir()):
            manifests: list[Manifest] = []
            for path in sorted(chart_dir.rglob("*")):
                if not path.is_file():
                    continue
                text = path.read_text(encoding="utf-8", errors="replace")
                manifests += manifests_from_yaml(text, source="chart",
                                                 location=str(path.relative_to(release_dir)),
                                                 release=name, chart=chart_dir.name, namespace=ns)
            releases.append(RenderedRelease(name, ns, chart_dir.name, tuple(manifests)))
    return releases


def scan_rendered(releases: Iterable[RenderedRelease], target: Minor) -> list[Finding]:
    findings: list[Finding] = []
    for rel in releases:
        if rel.error is not None:
            findings.append(Finding(
                level="required", source="chart", release=rel.name, chart=rel.chart, location="Chart.yaml",
                kind="Chart", api_version="", removed_in=None, replacement=None,
                note=f"the chart does not support {target}: {rel.error}", namespace=rel.namespace))
        findings += scan_manifests(rel.manifests, target)
    return findings


# --------------------------------------------------------------------------------------------
# Helm release secrets
# --------------------------------------------------------------------------------------------

_GZIP_MAGIC = b"\x1f\x8b\x08"


def decode_release(data_release: str | bytes) -> dict[str, Any]:
    """A Helm 3 release from a secret's `data.release` as the API returns it.

    Layers: the API's base64 of secret data, then Helm's own base64 of the gzip of the release
    JSON. Helm reads releases written before it compressed them, so plain JSON is accepted too.
    """
    try:
        helm_encoded = base64.b64decode(data_release, validate=False)
        raw = base64.b64decode(helm_encoded, validate=False)
        if raw[:3] == _GZIP_MAGIC:
            raw = gzip.decompress(raw)
        body = json.loads(raw)
    except (binascii.Error, OSError, EOFError, ValueError) as exc:
        raise ValueError(f"not a Helm release: {exc}") from exc
    if not isinstance(body, dict):
        raise ValueError("not a Helm release: JSON is not an object")
    return body


def release_manifests(release: dict[str, Any], *, location: str) -> list[Manifest]:
    """The objects of a stored release: its manifest and its hooks (stored apart, re-run on upgrade)."""
    name = release.get("name")
    namespace = release.get("namespace")
    chart_meta = (release.get("chart") or {}).get("metadata") or {}
    chart = chart_meta.get("name")
    if chart and chart_meta.get("version"):
        chart = f"{chart}-{chart_meta['version']}"
    common: dict[str, Any] = {"source": "release-secret", "release": name, "chart": chart,
                              "namespace": namespace}
    manifests = manifests_from_yaml(str(release.get("manifest") or ""), location=location, **common)
    for hook in release.get("hooks") or []:
        if isinstance(hook, dict) and hook.get("manifest"):
            where = f"{location}:{hook['path']}" if hook.get("path") else location
            manifests += manifests_from_yaml(str(hook["manifest"]), location=where, **common)
    return manifests


def _api_error(what: str, exc: Exception) -> KubeError:
    status = getattr(exc, "status", None)
    reason = getattr(exc, "reason", None) or exc
    return KubeError(f"{what}: {status} {reason}" if status else f"{what}: {reason}")


def _read_json(response: Any) -> dict[str, Any]:
    data = response.data if hasattr(response, "data") else response.read()
    body = json.loads(data)
    return body if isinstance(body, dict) else {}


def _pages(what: str, call: Any, page_size: int, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Items of a paginated list, one request per page. Raw JSON, not client models: release
    secrets reach megabytes and the models' deserialisation would dominate the check's time."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    token: str | None = None
    while True:
        args = dict(kwargs, limit=page_size, _preload_content=False)
        if token:
            args["_continue"] = token
        try:
            body = _read_json(call(**args))
        except (ApiException, HTTPError, OSError) as exc:
            raise _api_error(what, exc) from exc
        yield from body.get("items") or []
        token = (body.get("metadata") or {}).get("continue")
        if not token:
            return


def scan_release_secrets(core_v1_api: Any, target: Minor, *, page_size: int = 50) -> list[Finding]:
    return release_secret_scan(core_v1_api, target, page_size=page_size)[0]


def release_secret_scan(core_v1_api: Any, target: Minor, *,
                        page_size: int = 50) -> tuple[list[Finding], int]:
    """(findings, releases read): in the latest deployed revision of every Helm release (storage: Secrets).

    Release secrets can be up to 1 MiB each, hence the modest page size. Only the chosen revision
    of each release is decoded.
    """
    latest: dict[tuple[str, str], tuple[bool, int, str, str]] = {}
    for secret in _pages("list Helm release secrets", core_v1_api.list_secret_for_all_namespaces, page_size,
                         label_selector="owner=helm"):
        meta = secret.get("metadata") or {}
        labels = meta.get("labels") or {}
        data = (secret.get("data") or {}).get("release")
        if not data:
            continue
        try:
            revision = int(labels.get("version", "0"))
        except ValueError:
            revision = 0
        key = (str(meta.get("namespace", "")), str(labels.get("name") or meta.get("name", "")))
        # The latest *deployed* revision is what Helm diffs an upgrade against; a release with none
        # (its only install failed, or an upgrade is pending) is judged by its latest revision.
        rank = (labels.get("status") == "deployed", revision)
        current = latest.get(key)
        if current is None or rank > current[:2]:
            latest[key] = (*rank, str(meta.get("name", "")), str(data))
    findings: list[Finding] = []
    for (namespace, _release), (_deployed, _rev, secret_name, data) in sorted(latest.items()):
        location = f"{namespace}/{secret_name}"
        try:
            release = decode_release(data)
        except ValueError:
            continue  # not written by Helm 3 despite its label: nothing we can read
        findings += scan_manifests(release_manifests(release, location=location), target)
    return findings, len(latest)


# --------------------------------------------------------------------------------------------
# Live objects: the last-applied-configuration annotation
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ListTarget:
    group: str
    version: str
    plural: str
    kind: str


def live_list_targets(target: Minor, served: dict[str, set[str]]) -> list[ListTarget]:
    """One list per kind that has a version graded for `target`, through a version the server
    serves. Objects of a kind are the same whichever group/version lists them (extensions and
    networking.k8s.io Ingresses are one collection), so one list per kind is enough; a stable
    version is preferred, since it is the one that keeps being served."""
    kinds = sorted({r.kind for r in RESOURCES if grade(r, target) is not None})
    out: list[ListTarget] = []
    for kind in kinds:
        graded_groups = {r.group for r in RESOURCES if r.kind == kind and grade(r, target) is not None}
        candidates = sorted(
            (r for r in RESOURCES if r.kind == kind and r.version in served.get(r.group, set())),
            key=lambda r: (r.removed is not None, r.group not in graded_groups, r.group, r.version))
        if candidates:
            best = candidates[0]
            out.append(ListTarget(best.group, best.version, best.plural, kind))
    return out


def served_versions(api_client: Any) -> dict[str, set[str]]:
    """group -> versions the server serves, from discovery (`/api` and `/apis`)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    served: dict[str, set[str]] = {"": {"v1"}}
    try:
        body = _read_json(client.ApisApi(api_client).get_api_versions(_preload_content=False))
    except (ApiException, HTTPError, OSError) as exc:
        raise _api_error("API discovery", exc) from exc
    for group in body.get("groups") or []:
        served[str(group.get("name", ""))] = {str(v.get("version")) for v in group.get("versions") or []}
    return served


def scan_live_objects(api_client: Any, target: Minor, *, page_size: int = 500) -> list[Finding]:
    return live_object_scan(api_client, target, page_size=page_size)[0]


def live_object_scan(api_client: Any, target: Minor, *, page_size: int = 500) -> tuple[list[Finding], int]:
    """(findings, objects with a last-applied annotation read)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    custom = client.CustomObjectsApi(api_client)
    findings: list[Finding] = []
    seen: set[str] = set()
    for lt in live_list_targets(target, served_versions(api_client)):
        if not lt.group:
            continue  # every graded kind lives in a named group; the core group needs no list here
        what = f"list {lt.plural}.{lt.group}/{lt.version}"
        try:
            items = list(_pages(what, custom.list_cluster_custom_object, page_size,
                                group=lt.group, version=lt.version, plural=lt.plural))
        except KubeError as exc:
            cause = exc.__cause__
            if isinstance(cause, ApiException) and cause.status in (404, 405):
                continue  # discovery listed it but the server does not serve the list: nothing to read
            raise
        for obj in items:
            manifest = _last_applied(obj)
            if manifest is None:
                continue
            meta = obj.get("metadata") or {}
            uid = str(meta.get("uid") or f"{lt.kind}/{meta.get('namespace')}/{meta.get('name')}")
            if uid in seen:
                continue
            seen.add(uid)
            findings += scan_manifests([manifest], target)
    return findings, len(seen)


def _last_applied(obj: dict[str, Any]) -> Manifest | None:
    meta = obj.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    raw = annotations.get(LAST_APPLIED)
    if not raw:
        return None
    try:
        applied = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(applied, dict):
        return None
    api_version, kind = applied.get("apiVersion"), applied.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return None
    name, namespace = meta.get("name"), meta.get("namespace")
    location = f"{namespace}/{name}" if namespace else str(name)
    return Manifest(api_version, kind, "live-object", location,
                    release=annotations.get(HELM_RELEASE_ANNOTATION), name=name, namespace=namespace)


# --------------------------------------------------------------------------------------------
# Orchestration and output
# --------------------------------------------------------------------------------------------

def check_charts(target: Minor, *, settings: hf.HelmfileSettings | None = None, directory: Path | None = None,
                 api_client: Any = None, log_path: Path | None = None, sink: LineSink | None = None,
                 skip_deps: bool = False) -> ChartCheck:
    """All three scans. Without a helmfile (or `settings`) charts are skipped; without an
    `api_client` (a kubernetes ApiClient from the kubeconfig) the cluster scans are skipped."""
    from_charts: list[Finding] = []
    notes: list[str] = []
    rendered = 0
    if settings is not None and directory is not None:
        if hf.find_helmfile(directory, settings.file) is None:
            notes.append(f"no helmfile in {directory}: charts not rendered")
        else:
            releases = render_releases(settings, directory, target, log_path=log_path, sink=sink,
                                       skip_deps=skip_deps)
            rendered = len({(r.namespace, r.name) for r in releases})
            from_charts = scan_rendered(releases, target)
    else:
        notes.append("no helmfile configured: charts not rendered")
    from_secrets: list[Finding] = []
    from_live: list[Finding] = []
    secrets = live = 0
    if api_client is None:
        notes.append("no cluster access: Helm releases and live objects not scanned")
    else:
        from kubernetes import client

        from_secrets, secrets = release_secret_scan(client.CoreV1Api(api_client), target)
        from_live, live = live_object_scan(api_client, target)
    findings = sort_findings([*from_charts, *from_secrets, *from_live])
    return ChartCheck(target, tuple(findings), rendered, secrets, live, tuple(notes))


_SOURCE_ORDER = {"chart": 0, "release-secret": 1, "live-object": 2}


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (LEVELS.index(f.level), _SOURCE_ORDER[f.source], f.release or "",
                                           f.location, f.kind, f.api_version, f.name or ""))


def _replacement(f: Finding) -> str:
    if f.replacement:
        return f.replacement
    return f.note or "-"


def _what(f: Finding) -> str:
    return f"{f.kind} {f.name}" if f.name else f.kind


def _rows(findings: Sequence[Finding]) -> list[tuple[str, ...]]:
    return [(f.level, f.source, f.release or "-", _what(f), f.api_version or "-",
             str(f.removed_in) if f.removed_in else "-", _replacement(f), f.location) for f in findings]


_HEADERS = ("LEVEL", "SOURCE", "RELEASE", "OBJECT", "API VERSION", "REMOVED IN", "REPLACEMENT", "LOCATION")


def format_findings(findings: Sequence[Finding], fmt: Format | str = "text", *,
                    target: Minor | None = None) -> str:
    ordered = sort_findings(findings)
    required = sum(1 for f in ordered if f.level == "required")
    recommended = len(ordered) - required
    if fmt == "json":
        return json.dumps({
            "target": str(target) if target else None,
            "findings": [f.to_json() for f in ordered],
            "summary": {"required": required, "recommended": recommended},
        }, indent=2) + "\n"
    where = f" for {target}" if target else ""
    if fmt == "text":
        return _text(ordered, where, required, recommended)
    if fmt == "markdown":
        return _markdown(ordered, where, required, recommended)
    raise ValueError(f"unknown format {fmt!r}: text, json or markdown")


def _advice(findings: Sequence[Finding]) -> list[str]:
    return [f"{source}: {ADVICE[source]}" for source in _SOURCE_ORDER
            if any(f.source == source for f in findings)]


def _text(findings: Sequence[Finding], where: str, required: int, recommended: int) -> str:
    if not findings:
        return f"Removed APIs{where}: none found.\n"
    rows = [_HEADERS, *_rows(findings)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEADERS))]
    lines = [f"Removed APIs{where}: {required} required, {recommended} recommended", ""]
    previous: str | None = None
    for i, row in enumerate(rows):
        if i > 0 and previous is not None and row[0] != previous:
            lines.append("")  # a blank line between the required and the recommended group
        if i > 0:
            previous = row[0]
        # The last column is not padded: no trailing blanks.
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=False)) + "  " + row[-1])
    lines += ["", *_advice(findings)]
    return "\n".join(lines) + "\n"


def _md(cell: str) -> str:
    return cell.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _markdown(findings: Sequence[Finding], where: str, required: int, recommended: int) -> str:
    lines = [f"### Removed Kubernetes APIs{where}", ""]
    if not findings:
        return "\n".join([*lines, "No removed or deprecated API versions found.", ""])
    lines += [f"**{required} required**, {recommended} recommended.", ""]
    headers = ("Level", "Source", "Release", "Object", "API version", "Removed in", "Replacement", "Location")
    lines.append("| " + " | ".join(headers) + " |")
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    for row in _rows(findings):
        level, *rest = row
        cells = [f"**{level}**" if level == "required" else level,
                 *(f"`{c}`" if i in (3, 6) and c != "-" else c for i, c in enumerate(rest))]
        lines.append("| " + " | ".join(_md(c) for c in cells) + " |")
    lines += ["", *(f"- {line}" for line in _advice(findings)), ""]
    return "\n".join(lines)

"""A local Kubernetes API server over the sandbox's object store (HTTP on 127.0.0.1).

It speaks enough of the real API for the official Python client, `helm` and `helmfile` to work
through an ordinary kubeconfig: bearer-token auth, `/version`, discovery built from
`eks_tfup.k8s_apis` for the current control-plane minor (so a removed group-version answers 404
exactly when the real server stops serving it), and a REST layer over every resource in that table:
list (selectors, `limit`/`continue`), get, create, update, patch (merge, JSON, strategic), delete,
deletecollection, `status`/`scale` subresources, `pods/eviction` honouring PodDisruptionBudgets,
and watch (current objects as ADDED events, then live events until `timeoutSeconds`).

Deliberate limits: JSON only (no protobuf, no Table output), no server-side apply (415), OpenAPI
documents without schemas (v3: each PATCH declares `fieldValidation`, so client-go leaves
validation to the server, which does not check unknown fields; v2: empty), no aggregated
discovery (the plain documents, which client-go accepts as a fallback), no custom resources,
deletions are immediate (no finalizers or graceful termination).
"""

from __future__ import annotations

import base64
import binascii
import collections
import contextlib
import copy
import hashlib
import json
import queue
import re
import socket
import ssl
import struct
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import yaml

from eks_tfup import k8s_apis
from eks_tfup.k8s_apis import ApiResource
from eks_tfup.sandbox import kube_semantics as sem
from eks_tfup.sandbox.store import Obj, ObjectStore, StoreError, match_fields, match_labels
from eks_tfup.versions import Minor


class KubeBackend(Protocol):
    """What the API server needs from the sandbox's state."""

    store: ObjectStore
    token: str  # the bearer token the kubeconfig carries

    def advance(self) -> None: ...  # bring simulated time up to now (called before each request)

    def server_version(self) -> Minor: ...  # control-plane minor right now

    def git_version(self) -> str: ...  # e.g. "v1.28.15-eks-7f9249a"

    def kube_available(self) -> bool: ...  # False during the endpoint-switch outage window

    def kube_fault(self, verb: str, resource: str) -> tuple[int, float] | None: ...
    # an injected fault for this request: (HTTP status to answer, or 0 for none; added latency seconds)


# Namespaces every cluster has from the start.
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

# Resources with a `status` subresource: writes to the main resource keep the stored status, and
# writes to `/status` change nothing else, as in the real API server.
STATUS_SUBRESOURCE = frozenset({
    "pods", "services", "nodes", "namespaces", "deployments", "daemonsets", "statefulsets", "replicasets",
    "jobs", "cronjobs", "poddisruptionbudgets", "horizontalpodautoscalers", "persistentvolumeclaims",
    "persistentvolumes", "ingresses", "resourcequotas", "certificatesigningrequests", "apiservices",
    "customresourcedefinitions", "flowschemas", "prioritylevelconfigurations", "volumeattachments",
    "replicationcontrollers",
})
SCALE_SUBRESOURCE = frozenset({"deployments", "statefulsets", "replicasets"})
WORKLOADS = frozenset({"deployments", "daemonsets", "statefulsets", "replicasets", "jobs"})

# Extra subresources advertised in discovery (beyond status/scale): (parent, sub, kind, group, version, verbs)
_EXTRA_SUBRESOURCES: tuple[tuple[str, str, str, str, str, tuple[str, ...]], ...] = (
    ("pods", "eviction", "Eviction", "policy", "v1", ("create",)),
    ("pods", "log", "Pod", "", "", ("get",)),
    ("pods", "binding", "Binding", "", "", ("create",)),
    ("pods", "exec", "PodExecOptions", "", "", ("create", "get")),
    ("pods", "portforward", "PodPortForwardOptions", "", "", ("create", "get")),
    ("namespaces", "finalize", "Namespace", "", "", ("update",)),
    ("serviceaccounts", "token", "TokenRequest", "authentication.k8s.io", "v1", ("create",)),
    ("certificatesigningrequests", "approval", "CertificateSigningRequest", "", "", ("get", "patch", "update")),
)

_FAULT_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
                  410: "Expired", 422: "Invalid", 429: "TooManyRequests", 500: "InternalError",
                  503: "ServiceUnavailable", 504: "Timeout"}

_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")
MAX_WATCH_SECONDS = 300.0


class ApiError(Exception):
    """An answer other than success, always sent as a `Status` object."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details or {}


def status_body(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> Obj:
    body: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                 "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return body


def version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes' ordering: GA before beta before alpha, higher numbers first (sort ascending)."""
    m = _VERSION_RE.match(version)
    if not m:
        return (3, 0, 0)
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (stage, -int(m.group(1)), -int(m.group(3) or 0))


# -- discovery -------------------------------------------------------------------------------------


def served_groups(minor: Minor) -> dict[str, dict[str, list[ApiResource]]]:
    """group -> version -> resources, every version ordered by priority (preferred first)."""
    groups: dict[str, dict[str, list[ApiResource]]] = {}
    for res in k8s_apis.served(minor):
        groups.setdefault(res.group, {}).setdefault(res.version, []).append(res)
    return {g: dict(sorted(vs.items(), key=lambda kv: version_priority(kv[0]))) for g, vs in groups.items()}


def resource_list(group: str, version: str, resources: list[ApiResource]) -> Obj:
    gv = f"{group}/{version}" if group else version
    out: list[dict[str, Any]] = []
    for res in resources:
        entry: dict[str, Any] = {"name": res.plural, "singularName": res.kind.lower(),
                                 "namespaced": res.namespaced, "kind": res.kind, "verbs": list(res.verbs)}
        if res.short_names:
            entry["shortNames"] = list(res.short_names)
        if res.group == "apps" or res.plural in ("pods", "services", "deployments", "daemonsets"):
            entry["categories"] = ["all"]
        out.append(entry)
        sub = {"namespaced": res.namespaced, "singularName": ""}
        if res.plural in STATUS_SUBRESOURCE:
            out.append({**sub, "name": f"{res.plural}/status", "kind": res.kind, "verbs": ["get", "patch", "update"]})
        if res.plural in SCALE_SUBRESOURCE:
            out.append({**sub, "name": f"{res.plural}/scale", "kind": "Scale", "group": "autoscaling",
                        "version": "v1", "verbs": ["get", "patch", "update"]})
        for parent, name, kind, sgroup, sversion, verbs in _EXTRA_SUBRESOURCES:
            if parent == res.plural:
                extra: dict[str, Any] = {**sub, "name": f"{parent}/{name}", "kind": kind, "verbs": list(verbs)}
                if sgroup:
                    extra.update({"group": sgroup, "version": sversion})
                out.append(extra)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}


def api_group(group: str, versions: dict[str, list[ApiResource]]) -> Obj:
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": entries,
            "preferredVersion": entries[0]}


def kubeconfig(server_url: str, token: str, name: str = "sandbox", namespace: str | None = None,
               ca_pem: bytes | None = None) -> Obj:
    """A kubeconfig document (dump it with yaml) pointing at this server with a bearer token."""
    context: dict[str, Any] = {"cluster": name, "user": name}
    if namespace:
        context["namespace"] = namespace
    cluster: dict[str, Any] = {"server": server_url}
    if ca_pem:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    return {"apiVersion": "v1", "kind": "Config", "current-context": name, "preferences": {},
            "clusters": [{"name": name, "cluster": cluster}],
            "contexts": [{"name": name, "context": context}],
            "users": [{"name": name, "user": {"token": token}}]}


def openapi_v3_root(minor: Minor) -> Obj:
    """The /openapi/v3 index: one document per served group-version."""
    paths = {}
    for group, versions in served_groups(minor).items():
        for version in versions:
            rel = f"apis/{group}/{version}" if group else f"api/{version}"
            digest = hashlib.sha256(f"{minor}/{rel}".encode()).hexdigest()[:16].upper()
            paths[rel] = {"serverRelativeURL": f"/openapi/v3/{rel}?hash={digest}"}
    return {"paths": paths}


def openapi_v3_group_version(group: str, version: str, resources: list[ApiResource]) -> Obj:
    """A skeleton OpenAPI v3 document: each resource's PATCH declares the `fieldValidation` parameter.

    That is what client-go checks to decide the server validates objects itself; it then skips its
    client-side schema validation, so no schemas are needed. (helm refuses to install anything
    when no OpenAPI document can be downloaded at all.)
    """
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    params = [{"name": n, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
              for n in ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")]
    paths: dict[str, Any] = {}
    for res in resources:
        gvk = {"group": group, "version": version, "kind": res.kind}
        base = f"{prefix}/namespaces/{{namespace}}/{res.plural}" if res.namespaced else f"{prefix}/{res.plural}"
        ok = {"200": {"description": "OK"}}
        paths[f"{base}/{{name}}"] = {
            "get": {"x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": "get", "responses": ok},
            "patch": {"x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": "patch",
                      "parameters": params, "responses": ok},
        }
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "unversioned"}, "paths": paths,
            "components": {"schemas": {}}}


# -- request routing -------------------------------------------------------------------------------


@dataclass
class Route:
    res: ApiResource
    namespace: str | None
    name: str | None
    sub: str | None

    @property
    def resource_name(self) -> str:  # what kube_fault is told: "pods", "pods/eviction"
        return f"{self.res.plural}/{self.sub}" if self.sub else self.res.plural

    def details(self, name: str | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.res.plural}
        if name or self.name:
            d["name"] = name or self.name
        if self.res.group:
            d["group"] = self.res.group
        return d


def _not_found_path() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource")


def _encode_continue(rv: int, ns: str, name: str) -> str:
    raw = json.dumps({"rv": rv, "start": [ns, name]}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[str, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        ns, name = data["start"]
        return str(ns), str(name)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ApiError(400, "BadRequest", f"continue key is not valid: {exc}") from exc


def self_signed_certificate(host: str) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for `host`, valid for a year; the certificate is its own CA."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")])
    try:
        alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        alt = x509.DNSName(host)
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([alt, x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


class KubeApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, backend: KubeBackend, address: tuple[str, int], tls: bool = True) -> None:
        super().__init__(address, _Handler)
        self.backend = backend
        self.stopping = threading.Event()
        # The last requests served: (method, path, status), for tests and debugging.
        self.requests: collections.deque[tuple[str, str, int]] = collections.deque(maxlen=2000)
        self.ca_pem: bytes | None = None
        if tls:
            cert, key = self_signed_certificate(str(address[0]))
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            # load_cert_chain only reads files: keep them just long enough to load.
            with tempfile.TemporaryDirectory() as tmp:
                (Path(tmp) / "tls.crt").write_bytes(cert)
                (Path(tmp) / "tls.key").write_bytes(key)
                ctx.load_cert_chain(Path(tmp) / "tls.crt", Path(tmp) / "tls.key")
            # The handshake happens on first read, in the request's own thread, so a slow client
            # cannot hold up the accept loop.
            self.socket = ctx.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
            self.ca_pem = cert

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"{'https' if self.ca_pem else 'http'}://{host!s}:{port}"

    def kubeconfig(self, name: str = "sandbox", namespace: str | None = None) -> Obj:
        return kubeconfig(self.url, self.backend.token, name, namespace, self.ca_pem)

    def shutdown(self) -> None:
        self.stopping.set()  # lets open watches end promptly
        super().shutdown()

    def server_close(self) -> None:
        self.stopping.set()
        super().server_close()


def make_server(backend: KubeBackend, host: str = "127.0.0.1", port: int = 0, *, tls: bool = True) -> KubeApiServer:
    """The API server, bound but not yet serving (call `serve_forever` in a thread).

    TLS is on by default because client-go (so helm and helmfile) sends a kubeconfig's credentials
    only to https servers: over plain http every request would be anonymous. The certificate is
    self-signed; `server.kubeconfig()` carries it as certificate-authority-data.
    """
    for ns in SYSTEM_NAMESPACES:
        if backend.store.get("", "namespaces", None, ns) is None:
            backend.store.create(sem.default_object(backend.store, {
                "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
    return KubeApiServer(backend, (host, port), tls)


class _Handler(BaseHTTPRequestHandler):
    # Without TCP_NODELAY every small answer waits ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server: KubeApiServer
    server_version = "kube-apiserver"

    def log_message(self, format: str, *args: Any) -> None:  # the server keeps `requests` instead
        pass

    # -- plumbing ----------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    @property
    def backend(self) -> KubeBackend:
        return self.server.backend

    @property
    def store(self) -> ObjectStore:
        return self.server.backend.store

    def _drop(self) -> None:
        """Reset the connection without an answer: what a client sees while the endpoint switches."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.server.requests.append((self.command, self.path, 0))

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0] or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, code: int, body: Any, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.server.requests.append((self.command, self.path, code))

    def _send_error(self, err: ApiError) -> None:
        headers = {"Retry-After": "1"} if err.code == 429 else None
        self._send(err.code, status_body(err.code, err.reason, err.message, err.details), headers=headers)

    def _dispatch(self, method: str) -> None:
        backend = self.backend
        backend.advance()
        if not backend.kube_available():
            self._read_body()
            self._drop()
            return
        body = self._read_body()
        try:
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            self._authenticate(url.path)
            self._route(method, url.path.rstrip("/") or "/", query, body)
        except ApiError as err:
            self._send_error(err)
        except StoreError as err:
            self._send_error(ApiError(err.code, err.reason, err.message))
        except sem.PatchError as err:
            self._send_error(ApiError(422, "Invalid", f"the patch cannot be applied: {err}"))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except ValueError as err:  # a malformed query parameter (limit=abc, resourceVersion=x)
            self._send_error(ApiError(400, "BadRequest", str(err)))
        except Exception as err:
            # The request boundary: the real server turns a panic into a 500 Status too, and an
            # answer is easier to diagnose than a dropped connection.
            self._send_error(ApiError(500, "InternalError", f"{type(err).__name__}: {err}"))

    def _authenticate(self, path: str) -> None:
        auth = self.headers.get("Authorization", "")
        if auth == f"Bearer {self.backend.token}":
            return
        # Anonymous requests may read the public health and version endpoints (as on EKS); a token
        # that is present but wrong is refused everywhere.
        if not auth and path.rstrip("/") in ("/version", "/healthz", "/readyz", "/livez"):
            return
        raise ApiError(401, "Unauthorized", "Unauthorized")

    # -- non-resource paths and discovery ----------------------------------------------------------
    def _route(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
        backend = self.backend
        if path in ("/healthz", "/readyz", "/livez") or path.startswith(("/healthz/", "/readyz/", "/livez/")):
            self._send(200, b"ok", "text/plain; charset=utf-8")
            return
        if path == "/version":
            minor = backend.server_version()
            self._send(200, {"major": str(minor.major), "minor": str(minor.minor),
                             "gitVersion": backend.git_version(), "gitCommit": "0" * 40,
                             "gitTreeState": "clean", "buildDate": "2024-01-01T00:00:00Z",
                             "goVersion": "go1.22.5", "compiler": "gc", "platform": "linux/amd64"})
            return
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["openapi", "v3"]:
            self._openapi(parts[2:])
            return
        if parts == ["openapi", "v2"]:
            # An empty document: client-go asks for it in protobuf, where zero bytes is a valid empty
            # Document. With no definitions its client-side validation skips every kind, as it does
            # on a real server for a kind the server does not serve, so the answer for a removed
            # API is the real one ("no matches for kind ... in version ...").
            if "protobuf" in self.headers.get("Accept", ""):
                self._send(200, b"", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
            else:
                self._send(200, {"swagger": "2.0", "info": {"title": "Kubernetes", "version": "unversioned"},
                                 "paths": {}, "definitions": {}})
            return
        if not parts or parts[0] not in ("api", "apis"):
            raise _not_found_path()
        groups = served_groups(backend.server_version())
        if parts[0] == "api":
            if len(parts) == 1:
                host, port = self.server.server_address[:2]
                self._send(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": f"{host!s}:{port}"}]})
                return
            group, version, rest = "", parts[1], parts[2:]
        else:
            if len(parts) == 1:
                self._send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                    api_group(g, vs) for g, vs in sorted(groups.items()) if g]})
                return
            if len(parts) == 2:
                if parts[1] not in groups or not parts[1]:
                    raise _not_found_path()
                self._send(200, api_group(parts[1], groups[parts[1]]))
                return
            group, version, rest = parts[1], parts[2], parts[3:]
        resources = groups.get(group, {}).get(version)
        if resources is None:
            raise _not_found_path()
        if not rest:
            if method != "GET":
                raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on discovery")
            self._send(200, resource_list(group, version, resources))
            return
        route = self._resolve(resources, rest)
        self._resource(method, route, query, body)

    def _openapi(self, rest: list[str]) -> None:
        minor = self.backend.server_version()
        if not rest:
            self._send(200, openapi_v3_root(minor))
            return
        if rest[0] == "api" and len(rest) == 2:
            group, version = "", rest[1]
        elif rest[0] == "apis" and len(rest) == 3:
            group, version = rest[1], rest[2]
        else:
            raise _not_found_path()
        resources = served_groups(minor).get(group, {}).get(version)
        if resources is None:
            raise _not_found_path()
        self._send(200, openapi_v3_group_version(group, version, resources))

    def _resolve(self, resources: list[ApiResource], rest: list[str]) -> Route:
        by_plural = {r.plural: r for r in resources}
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] in by_plural:
            namespace, rest = rest[1], rest[2:]
        if len(rest) > 3 or rest[0] not in by_plural:
            raise _not_found_path()
        res = by_plural[rest[0]]
        if res.namespaced != (namespace is not None) and not (res.namespaced and len(rest) == 1):
            raise _not_found_path()  # a namespaced object named without its namespace, or vice versa
        return Route(res, namespace, rest[1] if len(rest) > 1 else None, rest[2] if len(rest) > 2 else None)

    # -- resources ---------------------------------------------------------------------------------
    def _resource(self, method: str, route: Route, query: dict[str, str], body: bytes) -> None:
        verb = self._verb(method, route, query)
        fault = self.backend.kube_fault(verb, route.resource_name)
        if fault is not None:
            code, latency = fault
            if latency > 0:
                time.sleep(latency)
            if code:
                reason = _FAULT_REASONS.get(code, "InternalError")
                raise ApiError(code, reason, f"injected fault: {reason} on {verb} {route.resource_name}")
        handler: Callable[[Route, dict[str, str], bytes], None] = getattr(self, f"_{verb}")
        handler(route, query, body)

    @staticmethod
    def _verb(method: str, route: Route, query: dict[str, str]) -> str:
        if route.sub and route.sub not in ("status", "scale", "eviction", "log", "finalize"):
            raise ApiError(404, "NotFound", f"the server could not find the requested resource "
                                             f"({route.res.plural}/{route.sub})")
        if route.sub == "eviction":
            if method != "POST" or route.res.plural != "pods":
                raise ApiError(405, "MethodNotAllowed", "eviction only accepts POST on pods")
            return "evict"
        if route.sub == "log":
            return "log"
        if route.name is None:
            if method == "GET":
                return "watch" if query.get("watch") in ("true", "1") else "list"
            if method == "POST":
                return "create"
            if method == "DELETE":
                return "deletecollection"
            raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on a collection")
        verbs = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
        if method not in verbs:
            raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on a named resource")
        return verbs[method]

    def _present(self, route: Route, obj: Obj) -> Obj:
        """The stored object as the requested group-version shows it."""
        obj["apiVersion"] = route.res.api_version
        obj["kind"] = route.res.kind
        if route.res.plural == "poddisruptionbudgets":
            sem.with_pdb_status(self.store, obj)
        return sem.complete_for_clients(obj)

    def _fetch(self, route: Route, name: str | None = None) -> Obj:
        name = name or route.name or ""
        obj = self.store.get(route.res.group, route.res.plural, route.namespace, name)
        if obj is None:
            raise ApiError(404, "NotFound", f'{route.res.plural}{"." + route.res.group if route.res.group else ""} '
                                            f'"{name}" not found', route.details(name))
        return obj

    def _parse(self, body: bytes, content_type: str = "") -> Any:
        try:
            if "yaml" in content_type:
                return yaml.safe_load(body)
            return json.loads(body or b"null")
        except (ValueError, yaml.YAMLError) as exc:
            raise ApiError(400, "BadRequest", f"the body of the request cannot be decoded: {exc}") from exc

    # list / watch
    def _list(self, route: Route, query: dict[str, str], body: bytes) -> None:
        limit = int(query.get("limit") or 0)
        after = _decode_continue(query["continue"]) if query.get("continue") else None
        items, more, rv = self.store.list_page(route.res.group, route.res.plural, route.namespace,
                                               query.get("labelSelector"), query.get("fieldSelector"),
                                               after, limit)
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if more and items:
            last = items[-1]["metadata"]
            meta["continue"] = _encode_continue(rv, last.get("namespace", ""), last["name"])
        self._send(200, {"kind": f"{route.res.kind}List", "apiVersion": route.res.api_version, "metadata": meta,
                         "items": [self._present(route, o) for o in items]})

    def _watch(self, route: Route, query: dict[str, str], body: bytes) -> None:
        res, namespace = route.res, route.namespace
        labels, fields = query.get("labelSelector"), query.get("fieldSelector")
        since = int(query.get("resourceVersion") or 0)
        events: queue.Queue[tuple[str, Obj]] = queue.Queue()

        def wanted(obj: Obj) -> bool:
            meta = obj.get("metadata") or {}
            return (match_labels(meta.get("labels") or {}, labels) and match_fields(obj, fields)
                    and (namespace is None or meta.get("namespace") == namespace))

        def listener(event: str, obj: Obj) -> None:
            if self.store.key_of(obj)[:2] == (res.group, res.plural) and wanted(obj):
                events.put((event, copy.deepcopy(obj)))

        # Snapshot and subscribe under the store lock so no change falls between the two.
        with self.store.locked():
            self.store.add_listener(listener)
            current, _, _ = self.store.list_page(res.group, res.plural, namespace, labels, fields)
        try:
            timeout = min(float(query.get("timeoutSeconds") or MAX_WATCH_SECONDS), MAX_WATCH_SECONDS)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.server.requests.append((self.command, self.path, 200))
            for obj in current:
                if int(obj["metadata"].get("resourceVersion", 0)) > since:
                    self._chunk({"type": "ADDED", "object": self._present(route, obj)})
            deadline = time.monotonic() + timeout
            while not self.server.stopping.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    event, obj = events.get(timeout=min(left, 0.5))
                except queue.Empty:
                    continue
                self._chunk({"type": event, "object": self._present(route, obj)})
            self.wfile.write(b"0\r\n\r\n")
        finally:
            self.store.remove_listener(listener)

    def _chunk(self, event: Obj) -> None:
        data = json.dumps(event, separators=(",", ":")).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    # get / log
    def _get(self, route: Route, query: dict[str, str], body: bytes) -> None:
        obj = self._fetch(route)
        if route.sub == "scale":
            self._send(200, self._scale(route, obj))
            return
        self._send(200, self._present(route, obj))

    def _log(self, route: Route, query: dict[str, str], body: bytes) -> None:
        pod = self._fetch(route)
        node = (pod.get("spec") or {}).get("nodeName", "")
        self._send(200, f"started on {node or 'a node'}\nready\n".encode(), "text/plain")

    @staticmethod
    def _scale(route: Route, obj: Obj) -> Obj:
        meta = obj["metadata"]
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {k: meta.get(k) for k in ("name", "namespace", "uid", "resourceVersion",
                                                      "creationTimestamp")},
                "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
                "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                           "selector": sem.selector_string((obj.get("spec") or {}).get("selector")) or ""}}

    # create
    def _create(self, route: Route, query: dict[str, str], body: bytes) -> None:
        obj = self._parse(body, self.headers.get("Content-Type", ""))
        if not isinstance(obj, dict):
            raise ApiError(400, "BadRequest", "the body of the request must be an object")
        res = route.res
        sent = obj.get("apiVersion")
        if sent and sent != res.api_version:
            raise ApiError(400, "BadRequest", f"the API version in the data ({sent}) does not match the "
                                              f"expected API version ({res.api_version})")
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        meta = obj.setdefault("metadata", {})
        if res.namespaced:
            ns = route.namespace or meta.get("namespace") or "default"
            if meta.get("namespace") and meta["namespace"] != ns:
                raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the "
                                                  "namespace sent on the request")
            meta["namespace"] = ns
            if self.store.get("", "namespaces", None, ns) is None:
                raise ApiError(404, "NotFound", f'namespaces "{ns}" not found',
                               {"name": ns, "kind": "namespaces"})
        for f in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation"):
            meta.pop(f, None)
        if res.plural in STATUS_SUBRESOURCE:
            obj.pop("status", None)
        sem.default_object(self.store, obj)
        if res.plural == "pods":
            sem.schedule_pod(obj, sem._Nodes(self.store))
        if "dryRun" in query:
            if meta.get("name") and self.store.get(res.group, res.plural, meta.get("namespace"), meta["name"]):
                raise ApiError(409, "AlreadyExists", f'{res.plural} "{meta["name"]}" already exists',
                               route.details(meta["name"]))
            self._send(201, self._present(route, obj))
            return
        try:
            created = self.store.create(obj)
        except StoreError as err:
            if err.code == 409:
                raise ApiError(409, "AlreadyExists", f'{res.plural}{"." + res.group if res.group else ""} '
                                                     f'"{meta.get("name")}" already exists',
                               route.details(meta.get("name"))) from err
            raise
        created = self._after_write(route, created)
        self._send(201, self._present(route, created))

    def _after_write(self, route: Route, obj: Obj) -> Obj:
        """Run the controllers a write wakes up, and return the object as it is now."""
        plural = route.res.plural
        if plural in WORKLOADS:
            sem.reconcile(self.store, obj)
        elif plural == "nodes":
            sem.reconcile_all(self.store)
        else:
            return obj
        fresh = self.store.get(route.res.group, plural, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        return fresh if fresh is not None else obj

    # update / patch
    def _merge_into(self, route: Route, old: Obj, new: Obj) -> Obj:
        """What a write of `new` over `old` stores: identity kept, status or spec per subresource."""
        if not isinstance(new, dict):
            raise ApiError(400, "BadRequest", "the body of the request must be an object")
        if route.sub == "scale":
            replicas = ((new.get("spec") or {}).get("replicas"))
            if not isinstance(replicas, int):
                raise ApiError(422, "Invalid", "spec.replicas: Required value")
            out = copy.deepcopy(old)
            out.setdefault("spec", {})["replicas"] = replicas
            return out
        if route.sub == "status":
            out = copy.deepcopy(old)
            if "status" in new:
                out["status"] = new["status"]
            new_rv = (new.get("metadata") or {}).get("resourceVersion")
            if new_rv:
                out["metadata"]["resourceVersion"] = new_rv
            return out
        meta = new.setdefault("metadata", {})
        name = meta.get("name")
        if name and name != old["metadata"]["name"]:
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        for f in ("name", "namespace", "uid", "creationTimestamp"):
            if f in old["metadata"]:
                meta[f] = old["metadata"][f]
        meta.setdefault("generation", old["metadata"].get("generation", 1))
        new["apiVersion"], new["kind"] = route.res.api_version, route.res.kind
        if route.res.plural in STATUS_SUBRESOURCE and "status" in old:
            new["status"] = old["status"]
        return sem.default_object(self.store, new, old)

    def _write(self, route: Route, query: dict[str, str], new: Obj) -> None:
        if "dryRun" in query:
            self._send(200, self._present(route, new))
            return
        updated = self.store.update(new)
        self._send(200, self._present(route, self._after_write(route, updated)))

    def _update(self, route: Route, query: dict[str, str], body: bytes) -> None:
        new = self._parse(body, self.headers.get("Content-Type", ""))
        old = self._fetch(route)
        if isinstance(new, dict):
            sent = new.get("apiVersion")
            if route.sub is None and sent and sent != route.res.api_version:
                raise ApiError(400, "BadRequest", f"the API version in the data ({sent}) does not match the "
                                                  f"expected API version ({route.res.api_version})")
        merged = self._merge_into(route, old, new)
        self._write(route, query, merged)

    def _patch(self, route: Route, query: dict[str, str], body: bytes) -> None:
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        if ctype == "application/apply-patch+yaml":
            raise ApiError(415, "UnsupportedMediaType", "server-side apply is not supported by this server; "
                                                        "use a merge, JSON or strategic merge patch")
        patchers: dict[str, Callable[[Any, Any], Any]] = {
            "application/merge-patch+json": sem.merge_patch,
            "application/json-patch+json": sem.json_patch,
            "application/strategic-merge-patch+json": sem.strategic_merge_patch,
        }
        if ctype not in patchers:
            raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
                                                        f"accepted media types include: {', '.join(patchers)}")
        patch = self._parse(body)
        for _ in range(5):  # a concurrent write between read and update: re-apply, as the server does
            old = self._fetch(route)
            base = self._scale(route, old) if route.sub == "scale" else self._present(route, copy.deepcopy(old))
            patched = patchers[ctype](base, patch)
            pinned = isinstance(patched, dict) and bool((patched.get("metadata") or {}).get("resourceVersion")) \
                and patched["metadata"]["resourceVersion"] != old["metadata"]["resourceVersion"]
            merged = self._merge_into(route, old, patched)
            if not pinned:
                merged["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            try:
                if route.sub == "scale":
                    merged["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
                self._write(route, query, merged)
                return
            except StoreError as err:
                if err.code != 409 or pinned:
                    raise
        raise ApiError(409, "Conflict", "the object kept changing while the patch was applied")

    # delete
    def _delete(self, route: Route, query: dict[str, str], body: bytes) -> None:
        obj = self._fetch(route)
        options = self._parse(body) if body else {}
        policy = query.get("propagationPolicy") or (options or {}).get("propagationPolicy") or "Background"
        if "dryRun" not in query and not (options or {}).get("dryRun"):
            self._remove(route, obj, policy)
        self._send(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                         "details": {**route.details(), "uid": obj["metadata"].get("uid")}})

    def _remove(self, route: Route, obj: Obj, policy: str) -> None:
        res = route.res
        meta = obj["metadata"]
        self.store.delete(res.group, res.plural, meta.get("namespace"), meta["name"])
        if res.plural == "namespaces":
            # Namespace deletion takes everything in it (immediately: no Terminating phase here).
            for r in {(r.group, r.plural) for r in k8s_apis.RESOURCES if r.namespaced}:
                for o in self.store.list(r[0], r[1], meta["name"]):
                    self.store.delete(r[0], r[1], meta["name"], o["metadata"]["name"])
        elif policy != "Orphan":
            sem.delete_dependents(self.store, obj)
        if res.plural == "pods":
            sem.pod_removed(self.store, obj)
        elif res.plural == "nodes":
            sem.reconcile_all(self.store)

    def _deletecollection(self, route: Route, query: dict[str, str], body: bytes) -> None:
        items = self.store.list(route.res.group, route.res.plural, route.namespace,
                                query.get("labelSelector"), query.get("fieldSelector"))
        policy = query.get("propagationPolicy") or "Background"
        if "dryRun" not in query:
            for obj in items:
                self._remove(route, obj, policy)
        self._send(200, {"kind": f"{route.res.kind}List", "apiVersion": route.res.api_version,
                         "metadata": {"resourceVersion": str(self.store.last_rv)},
                         "items": [self._present(route, o) for o in items]})

    # eviction
    def _evict(self, route: Route, query: dict[str, str], body: bytes) -> None:
        self._fetch(route)
        if "dryRun" in query:
            self._send(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                             "code": 201})
            return
        reason = sem.try_evict(self.store, route.namespace or "default", route.name or "")
        if reason is not None:
            raise ApiError(429, "TooManyRequests", reason,
                           {"causes": [{"reason": "DisruptionBudget", "message": reason}]})
        self._send(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})

"""The sandbox's AWS endpoint: EKS (rest-json), EC2 and STS (query protocol) on one local port.

boto3 reaches it through `AWS_ENDPOINT_URL`. Requests are routed by the service in the SigV4
credential scope of the `Authorization` header (`.../eks/aws4_request`). The EKS routing table is
built from botocore's own service model (each operation's `http.method` and `http.requestUri`), so
paths, path parameters, query strings and body members are exactly what boto3 sends. Answers are
shaped as the services answer: JSON bodies with epoch-second timestamps and `x-amzn-ErrorType` for
EKS; XML in the service's namespace for EC2 and STS.

`/_sandbox/...` is a small control API: `GET /_sandbox/state`, `GET /_sandbox/health`,
`POST /_sandbox/faults` (`{"faults": {KEY: VALUE}, "reset": false}`), `POST /_sandbox/advance`
(`{"seconds": N}` of scenario time).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import time
import uuid
from collections.abc import Callable
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from eks_tfup.sandbox.scenario import ScenarioError
from eks_tfup.sandbox.state import OPERATIONS, AwsApiError, SandboxState

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
_SCOPE_RE = re.compile(r"Credential=[^/,]+/\d{8}/([^/,]+)/([^/,]+)/aws4_request")


class Route:
    def __init__(self, name: str, method: str, regex: re.Pattern[str], op: dict[str, Any]) -> None:
        self.name = name
        self.method = method
        self.regex = regex
        self.op = op


@cache
def eks_model() -> dict[str, Any]:
    from botocore.loaders import Loader  # the model JSON only: no boto3 in the server

    model: dict[str, Any] = Loader().load_service_model("eks", "service-2")
    return model


@cache
def eks_routes() -> tuple[Route, ...]:
    routes = []
    for name, op in eks_model()["operations"].items():
        http = op["http"]
        path = http["requestUri"].partition("?")[0]

        def label(m: re.Match[str]) -> str:
            return f"(?P<{m.group(1)}>{'.+' if m.group(2) else '[^/]+'})"
        regex = re.compile("^" + re.sub(r"\{(\w+)(\+?)\}", label, path.rstrip("/") or "/") + "/?$")
        routes.append(Route(name, http["method"], regex, op))
    # Literal segments before labels: `/clusters/{name}/updates` is tried before looser patterns.
    routes.sort(key=lambda r: (-r.op["http"]["requestUri"].count("/"), r.op["http"]["requestUri"].count("{")))
    return tuple(routes)


def _convert(shape_name: str, values: list[str]) -> Any:
    shape = eks_model()["shapes"][shape_name]
    t = shape["type"]
    if t == "list":
        return [_convert(shape["member"]["shape"], [v]) for v in values]
    v = values[-1]
    if t == "integer" or t == "long":
        try:
            return int(v)
        except ValueError:
            raise AwsApiError("InvalidParameterException", f"{v!r} is not an integer", 400) from None
    if t == "boolean":
        return v.lower() == "true"
    return v


def parse_eks_request(route: Route, match: re.Match[str], query: dict[str, list[str]], body: bytes) -> dict[str, Any]:
    """The operation's input members by name, from the path, the query string and the JSON body."""
    model = eks_model()
    input_ref = route.op.get("input")
    params: dict[str, Any] = {}
    if input_ref is None:
        return params
    members = model["shapes"][input_ref["shape"]].get("members", {})
    doc: dict[str, Any] = {}
    if body.strip():
        try:
            doc = json.loads(body)
        except ValueError:
            raise AwsApiError("SerializationException", "Could not parse the request body as JSON", 400) from None
        if not isinstance(doc, dict):
            raise AwsApiError("SerializationException", "The request body must be a JSON object", 400)
    for name, ref in members.items():
        loc = ref.get("location")
        wire = ref.get("locationName", name)
        if loc == "uri":
            value = match.groupdict().get(wire)
            if value is not None:
                params[name] = unquote(value)
        elif loc == "querystring":
            if wire in query:
                params[name] = _convert(ref["shape"], query[wire])
        elif loc == "header":
            continue
        elif wire in doc:
            params[name] = doc[wire]
    for req in model["shapes"][input_ref["shape"]].get("required", []):
        if params.get(req) in (None, ""):
            raise AwsApiError("InvalidParameterException", f"Missing required parameter: {req}", 400)
    return params


# -- error wording per service ---------------------------------------------------------------------

_EKS_FAULTS = {"ThrottlingException": (429, "ThrottlingException", "Rate exceeded"),
               "InternalFailure": (500, "InternalFailure", "We encountered an internal error. Please try again."),
               "ServerException": (500, "ServerException", "An internal error occurred. Please try again."),
               "ServiceUnavailableException": (503, "ServiceUnavailableException", "Service unavailable. "
                                                                                  "Please try again.")}
_EC2_FAULTS = {"ThrottlingException": (503, "RequestLimitExceeded", "Request limit exceeded."),
               "InternalFailure": (500, "InternalError", "An internal error has occurred"),
               "ServerException": (500, "InternalError", "An internal error has occurred"),
               "ServiceUnavailableException": (503, "Unavailable", "The server is overloaded and can't handle "
                                                                   "the request.")}
_STS_FAULTS = {"ThrottlingException": (400, "Throttling", "Rate exceeded"),
               "InternalFailure": (500, "InternalFailure", "An internal error occurred."),
               "ServerException": (500, "InternalFailure", "An internal error occurred."),
               "ServiceUnavailableException": (503, "ServiceUnavailable", "Service is unavailable.")}


class AwsServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, state: SandboxState, address: tuple[str, int],
                 log: Callable[[str], None] | None = None) -> None:
        super().__init__(address, _Handler)
        self.state = state
        self.log = log or (lambda _m: None)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


def make_server(state: SandboxState, host: str = "127.0.0.1", port: int = 0,
                log: Callable[[str], None] | None = None) -> AwsServer:
    """The AWS endpoint, bound but not yet serving (call `serve_forever` in a thread)."""
    eks_routes()  # build the routing table before the first request
    return AwsServer(state, (host, port), log)


class _Handler(BaseHTTPRequestHandler):
    # Without TCP_NODELAY every small answer waits ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True
    server: AwsServer
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    def version_string(self) -> str:
        return "eks-tfup-sandbox"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        return

    # -- plumbing ------------------------------------------------------------------------------

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", self.request_id)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, doc: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(doc).encode(), "application/json", headers)

    def _service(self, body: bytes) -> str:
        m = _SCOPE_RE.search(self.headers.get("Authorization") or "")
        if m:
            return m.group(2)
        if body.startswith(b"Action=") or b"&Action=" in body:
            return "sts" if b"Action=GetCallerIdentity" in body else "ec2"
        return "eks"

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        self.request_id = str(uuid.uuid4())
        started = time.monotonic()
        body = self._body()
        url = urlsplit(self.path)
        what = "?"
        try:
            if url.path.startswith("/_sandbox/"):
                what = f"control {url.path}"
                self._control(url.path, body)
                return
            service = self._service(body)
            if service == "eks":
                what = self._eks(url.path, parse_qs(url.query, keep_blank_values=True), body)
            elif service in ("ec2", "sts"):
                what = self._query(service, body)
            else:
                what = f"{service} (unknown service)"
                message = escape(f"The sandbox does not simulate the {service} service")
                self._send(400, (f"<Error><Code>UnknownOperationException</Code><Message>{message}</Message>"
                                 f"<RequestId>{self.request_id}</RequestId></Error>").encode(), "application/xml",
                           {"x-amzn-ErrorType": "UnknownOperationException"})
        except Exception as exc:  # the server must answer, never hang or crash
            self.server.log(f"error handling {self.command} {self.path}: {exc!r}")
            with contextlib.suppress(OSError):
                self._json(500, {"message": f"sandbox internal error: {exc}"},
                           {"x-amzn-ErrorType": "ServerException"})
        finally:
            self.server.log(f"{self.command} {url.path} {what} {(time.monotonic() - started) * 1000:.0f}ms")

    # -- control API -----------------------------------------------------------------------------

    def _control(self, path: str, body: bytes) -> None:
        state = self.server.state
        try:
            doc = json.loads(body) if body.strip() else {}
        except ValueError:
            self._json(400, {"message": "body must be JSON"})
            return
        if path == "/_sandbox/health":
            self._json(200, {"ok": True})
        elif path == "/_sandbox/state" and self.command == "GET":
            self._json(200, state.status())
        elif path == "/_sandbox/faults" and self.command == "POST":
            flat = doc.get("faults", {k: v for k, v in doc.items() if k != "reset"})
            try:
                faults = state.set_faults({str(k): str(v) for k, v in flat.items()}, reset=bool(doc.get("reset")))
            except ScenarioError as exc:
                self._json(400, {"message": exc.message, "hint": exc.hint})
                return
            self._json(200, {"faults": faults.to_dict()})
        elif path == "/_sandbox/advance" and self.command == "POST":
            try:
                seconds = float(doc.get("seconds", 0))
            except (TypeError, ValueError):
                self._json(400, {"message": "seconds must be a number"})
                return
            state.advance_by(seconds)
            self._json(200, state.status())
        else:
            self._json(404, {"message": f"no control endpoint {self.command} {path}"})

    # -- EKS -------------------------------------------------------------------------------------

    def _eks(self, path: str, query: dict[str, list[str]], body: bytes) -> str:
        route, match = None, None
        for r in eks_routes():
            if r.method == self.command:
                match = r.regex.match(path)
                if match:
                    route = r
                    break
        if route is None or match is None:
            self._json(404, {"message": f"No operation matches {self.command} {path}"},
                       {"x-amzn-ErrorType": "UnknownOperationException"})
            return "EKS unknown operation"
        state = self.server.state
        kind, latency = state.aws_fault(route.name)
        if latency > 0:
            time.sleep(latency)
        if kind is not None:
            status, code, message = _EKS_FAULTS[kind]
            self._json(status, {"message": message}, {"x-amzn-ErrorType": code})
            return f"EKS {route.name} -> injected {code}"
        if route.name not in OPERATIONS:
            self._json(404, {"message": f"The sandbox does not implement the EKS operation {route.name}"},
                       {"x-amzn-ErrorType": "UnknownOperationException"})
            return f"EKS {route.name} (not implemented)"
        try:
            params = parse_eks_request(route, match, query, body)
            result = state.call(route.name, params)
        except AwsApiError as err:
            self._json(err.status, {"message": err.message, **err.fields},
                       {"x-amzn-ErrorType": f"{err.code}:http://internal.amazon.com/coral/com.amazonaws.eks/"})
            return f"EKS {route.name} -> {err.code}"
        self._json(int(route.op["http"].get("responseCode", 200)), result)
        return f"EKS {route.name}"

    # -- EC2 and STS (query protocol) ---------------------------------------------------------------

    def _query(self, service: str, body: bytes) -> str:
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        action = form.get("Action", "")
        state = self.server.state
        kind, latency = state.aws_fault(action)
        if latency > 0:
            time.sleep(latency)
        if kind is not None:
            status, code, message = (_EC2_FAULTS if service == "ec2" else _STS_FAULTS)[kind]
            self._query_error(service, status, code, message)
            return f"{service} {action} -> injected {code}"
        try:
            if service == "ec2" and action == "DescribeSubnets":
                self._xml(_describe_subnets_xml(state, form, self.request_id))
            elif service == "sts" and action == "GetCallerIdentity":
                with state.lock:
                    ident = state.caller_identity()
                self._xml(f'<GetCallerIdentityResponse xmlns="{STS_NS}"><GetCallerIdentityResult>'
                          f"<Arn>{escape(ident['Arn'])}</Arn><UserId>{ident['UserId']}</UserId>"
                          f"<Account>{ident['Account']}</Account></GetCallerIdentityResult>"
                          f"<ResponseMetadata><RequestId>{self.request_id}</RequestId></ResponseMetadata>"
                          "</GetCallerIdentityResponse>")
            else:
                self._query_error(service, 400, "InvalidAction",
                                  f"The action {action} is not valid for this web service.")
                return f"{service} {action} (invalid action)"
        except AwsApiError as err:
            self._query_error(service, err.status, err.code, err.message)
            return f"{service} {action} -> {err.code}"
        return f"{service} {action}"

    def _xml(self, doc: str, status: int = 200) -> None:
        self._send(status, ('<?xml version="1.0" encoding="UTF-8"?>\n' + doc).encode(), "text/xml;charset=UTF-8")

    def _query_error(self, service: str, status: int, code: str, message: str) -> None:
        if service == "ec2":
            self._xml(f"<Response><Errors><Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
                      f"</Error></Errors><RequestID>{self.request_id}</RequestID></Response>", status)
        else:
            kind = "Sender" if status < 500 else "Receiver"
            self._xml(f'<ErrorResponse xmlns="{STS_NS}"><Error><Type>{kind}</Type><Code>{escape(code)}</Code>'
                      f"<Message>{escape(message)}</Message></Error><RequestId>{self.request_id}</RequestId>"
                      "</ErrorResponse>", status)


def _indexed(form: dict[str, str], prefix: str) -> list[str]:
    """`SubnetId.1`, `SubnetId.2`, ... in index order."""
    found = []
    for k, v in form.items():
        if k.startswith(prefix + ".") and k[len(prefix) + 1:].isdigit():
            found.append((int(k[len(prefix) + 1:]), v))
    return [v for _, v in sorted(found)]


def _describe_subnets_xml(state: SandboxState, form: dict[str, str], request_id: str) -> str:
    ids = _indexed(form, "SubnetId")
    filters = []
    i = 1
    while f"Filter.{i}.Name" in form:
        filters.append((form[f"Filter.{i}.Name"], _indexed(form, f"Filter.{i}.Value")))
        i += 1
    with state.lock:
        state.advance()
        subnets = state.describe_subnets(ids, filters)
    start = int(form["NextToken"]) if form.get("NextToken", "").isdigit() else 0
    limit = int(form.get("MaxResults") or 1000)
    page = subnets[start:start + limit]
    token = f"<nextToken>{start + limit}</nextToken>" if start + limit < len(subnets) else ""
    items = "".join(
        "<item>"
        f"<subnetId>{s['id']}</subnetId><subnetArn>{escape(s['arn'])}</subnetArn><state>available</state>"
        f"<ownerId>{s['owner']}</ownerId><vpcId>{s['vpc']}</vpcId><cidrBlock>{s['cidr']}</cidrBlock>"
        f"<ipv6CidrBlockAssociationSet/><availableIpAddressCount>{s['free']}</availableIpAddressCount>"
        f"<availabilityZone>{s['az']}</availabilityZone><availabilityZoneId>{s['az_id']}</availabilityZoneId>"
        "<defaultForAz>false</defaultForAz><mapPublicIpOnLaunch>false</mapPublicIpOnLaunch>"
        "<assignIpv6AddressOnCreation>false</assignIpv6AddressOnCreation>"
        "<tagSet>" + "".join(f"<item><key>{escape(k)}</key><value>{escape(v)}</value></item>"
                             for k, v in s["tags"].items()) + "</tagSet>"
        "</item>" for s in page)
    return (f'<DescribeSubnetsResponse xmlns="{EC2_NS}"><requestId>{request_id}</requestId>'
            f"<subnetSet>{items}</subnetSet>{token}</DescribeSubnetsResponse>")

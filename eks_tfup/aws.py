"""Everything the tool asks of AWS (EKS, EC2, STS), through one boto3 session.

boto3 is imported lazily: `--help` and input errors never pay for it. Endpoints come from the
usual configuration (AWS_ENDPOINT_URL, profiles), so any EKS-compatible endpoint works unchanged.
Every list call is paginated; each record is a frozen dataclass so checks stay pure functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from eks_tfup.errors import AwsError


@dataclass(frozen=True)
class Cluster:
    name: str
    arn: str
    version: str
    status: str
    endpoint: str
    platform_version: str
    subnet_ids: tuple[str, ...]
    health_issues: tuple[str, ...] = ()
    support_type: str | None = None


@dataclass(frozen=True)
class UpdateError:
    code: str
    message: str


@dataclass(frozen=True)
class Update:
    id: str
    type: str
    status: str  # InProgress | Failed | Cancelled | Successful
    params: tuple[tuple[str, str], ...] = ()
    errors: tuple[UpdateError, ...] = ()
    created_at: datetime | None = None

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.params if k == name), None)


@dataclass(frozen=True)
class Nodegroup:
    name: str
    version: str
    release_version: str
    ami_type: str
    status: str
    desired_size: int
    subnets: tuple[str, ...] = ()
    health_issues: tuple[str, ...] = ()
    launch_template: bool = False
    max_unavailable: int | None = None  # updateConfig.maxUnavailable (None: a percentage or not set)


@dataclass(frozen=True)
class Addon:
    name: str
    version: str
    status: str


@dataclass(frozen=True)
class AddonVersion:
    version: str
    cluster_versions: tuple[str, ...]
    default_for: tuple[str, ...]  # cluster minors for which EKS marks this version the default


@dataclass(frozen=True)
class ClusterVersion:
    version: str
    status: str  # STANDARD_SUPPORT | EXTENDED_SUPPORT | UNSUPPORTED (tolerant: the service adds values)
    release_date: date | None = None
    end_of_standard_support: date | None = None
    end_of_extended_support: date | None = None
    default: bool = False


@dataclass(frozen=True)
class Subnet:
    id: str
    availability_zone: str
    free_ips: int


@dataclass(frozen=True)
class Insight:
    id: str
    name: str
    category: str
    status: str
    reason: str
    kubernetes_version: str | None = None
    recommendation: str = ""
    resources: tuple[str, ...] = field(default_factory=tuple)
    clients: tuple[str, ...] = ()  # user agents still calling deprecated APIs (deprecation insights)


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


def _opt_int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _issues(health: dict[str, Any] | None) -> tuple[str, ...]:
    return tuple(f"{i.get('code')}: {i.get('message')}" for i in (health or {}).get("issues", []) or [])


class Aws:
    """A thin, typed facade over the boto3 clients the tool needs."""

    def __init__(self, *, region: str | None = None, profile: str | None = None) -> None:
        self.region = region
        self.profile = profile
        self._clients: dict[str, Any] = {}
        self.calls = 0  # API calls made, for benchmarks and the report

    def client(self, service: str) -> Any:
        if service not in self._clients:
            import boto3
            from botocore.config import Config

            session = boto3.session.Session(profile_name=self.profile, region_name=self.region)
            # Standard retry mode retries throttling and 5xx with backoff, which EKS asks of clients.
            cfg = Config(retries={"mode": "standard", "max_attempts": 8}, connect_timeout=10, read_timeout=60)
            self._clients[service] = session.client(service, config=cfg)  # type: ignore[call-overload]
        return self._clients[service]

    def _call(self, service: str, op: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

        self.calls += 1
        try:
            return getattr(self.client(service), op)(**kwargs)
        except ClientError as exc:
            err = exc.response.get("Error", {})
            code = str(err.get("Code", "Unknown"))
            raise AwsError(f"{service} {op}: {code}: {err.get('Message', exc)}", code=code) from exc
        except NoRegionError as exc:
            raise AwsError("no AWS region configured: set region in eks-tfup.toml, --region or AWS_REGION",
                           code="NoRegion") from exc
        except BotoCoreError as exc:
            raise AwsError(f"{service} {op}: {exc}", code=type(exc).__name__) from exc

    def _paginate(self, service: str, op: str, key: str, **kwargs: Any) -> Iterator[Any]:
        token: str | None = None
        while True:
            args = dict(kwargs)
            if token:
                args["nextToken"] = token
            page = self._call(service, op, **args)
            yield from page.get(key, []) or []
            token = page.get("nextToken")
            if not token:
                return

    # -- EKS -------------------------------------------------------------------------------------
    def describe_cluster(self, name: str) -> Cluster:
        c = self._call("eks", "describe_cluster", name=name)["cluster"]
        return Cluster(
            name=c["name"], arn=c.get("arn", ""), version=c.get("version", ""), status=c.get("status", ""),
            endpoint=c.get("endpoint", ""), platform_version=c.get("platformVersion", ""),
            subnet_ids=tuple(c.get("resourcesVpcConfig", {}).get("subnetIds", []) or []),
            health_issues=_issues(c.get("health")),
            support_type=(c.get("upgradePolicy") or {}).get("supportType"),
        )

    def list_update_ids(self, name: str, *, nodegroup: str | None = None, addon: str | None = None) -> list[str]:
        kwargs: dict[str, Any] = {"name": name}
        if nodegroup:
            kwargs["nodegroupName"] = nodegroup
        if addon:
            kwargs["addonName"] = addon
        return list(self._paginate("eks", "list_updates", "updateIds", **kwargs))

    def describe_update(self, name: str, update_id: str, *, nodegroup: str | None = None,
                        addon: str | None = None) -> Update:
        kwargs: dict[str, Any] = {"name": name, "updateId": update_id}
        if nodegroup:
            kwargs["nodegroupName"] = nodegroup
        if addon:
            kwargs["addonName"] = addon
        u = self._call("eks", "describe_update", **kwargs)["update"]
        return Update(
            id=u["id"], type=u.get("type", ""), status=u.get("status", ""),
            params=tuple((p.get("type", ""), p.get("value", "")) for p in u.get("params", []) or []),
            errors=tuple(UpdateError(e.get("errorCode", ""), e.get("errorMessage", ""))
                         for e in u.get("errors", []) or []),
            created_at=u.get("createdAt"),
        )

    def cluster_updates(self, name: str) -> list[Update]:
        """The cluster's own updates, newest first. EKS has no batch describe: one call per update id."""
        updates = [self.describe_update(name, uid) for uid in self.list_update_ids(name)]
        return sorted(updates, key=lambda u: u.created_at or datetime.min, reverse=True)

    def nodegroups(self, name: str) -> list[Nodegroup]:
        out = []
        for ng_name in self._paginate("eks", "list_nodegroups", "nodegroups", clusterName=name):
            ng = self._call("eks", "describe_nodegroup", clusterName=name, nodegroupName=ng_name)["nodegroup"]
            out.append(Nodegroup(
                name=ng["nodegroupName"], version=ng.get("version", ""),
                release_version=ng.get("releaseVersion", ""), ami_type=ng.get("amiType", ""),
                status=ng.get("status", ""),
                desired_size=int((ng.get("scalingConfig") or {}).get("desiredSize", 0) or 0),
                subnets=tuple(ng.get("subnets", []) or []), health_issues=_issues(ng.get("health")),
                launch_template=bool(ng.get("launchTemplate")),
                max_unavailable=_opt_int((ng.get("updateConfig") or {}).get("maxUnavailable")),
            ))
        return out

    def addons(self, name: str) -> list[Addon]:
        out = []
        for addon_name in self._paginate("eks", "list_addons", "addons", clusterName=name):
            a = self._call("eks", "describe_addon", clusterName=name, addonName=addon_name)["addon"]
            out.append(Addon(a["addonName"], a.get("addonVersion", ""), a.get("status", "")))
        return out

    def addon_versions(self, kubernetes_version: str,
                       addon_names: list[str] | None = None) -> dict[str, list[AddonVersion]]:
        """Every add-on's versions compatible with `kubernetes_version`, in one paginated listing."""
        result: dict[str, list[AddonVersion]] = {}
        for addon in self._paginate("eks", "describe_addon_versions", "addons",
                                    kubernetesVersion=kubernetes_version):
            name = addon.get("addonName", "")
            if addon_names is not None and name not in addon_names:
                continue
            for v in addon.get("addonVersions", []) or []:
                comps = v.get("compatibilities", []) or []
                result.setdefault(name, []).append(AddonVersion(
                    version=v.get("addonVersion", ""),
                    cluster_versions=tuple(c.get("clusterVersion", "") for c in comps),
                    default_for=tuple(c.get("clusterVersion", "") for c in comps if c.get("defaultVersion")),
                ))
        return result

    def cluster_versions(self) -> list[ClusterVersion]:
        out = []
        for v in self._paginate("eks", "describe_cluster_versions", "clusterVersions", includeAll=True):
            out.append(ClusterVersion(
                version=v.get("clusterVersion", ""), status=str(v.get("versionStatus") or v.get("status") or ""),
                release_date=_date(v.get("releaseDate")),
                end_of_standard_support=_date(v.get("endOfStandardSupportDate")),
                end_of_extended_support=_date(v.get("endOfExtendedSupportDate")),
                default=bool(v.get("defaultVersion")),
            ))
        return out

    def insights(self, name: str, kubernetes_version: str | None = None) -> list[Insight]:
        flt: dict[str, Any] = {"categories": ["UPGRADE_READINESS"]}
        if kubernetes_version:
            flt["kubernetesVersions"] = [kubernetes_version]
        out = []
        for i in self._paginate("eks", "list_insights", "insights", clusterName=name, filter=flt):
            status = i.get("insightStatus") or {}
            out.append(Insight(id=i.get("id", ""), name=i.get("name", ""), category=i.get("category", ""),
                               status=str(status.get("status", "UNKNOWN")), reason=status.get("reason", ""),
                               kubernetes_version=i.get("kubernetesVersion")))
        return out

    def describe_insight(self, name: str, insight_id: str) -> Insight:
        i = self._call("eks", "describe_insight", clusterName=name, id=insight_id)["insight"]
        status = i.get("insightStatus") or {}
        resources = []
        for r in i.get("resources", []) or []:
            what = r.get("kubernetesResourceUri") or r.get("arn") or ""
            reason = (r.get("insightStatus") or {}).get("reason")
            resources.append(f"{what} ({reason})" if reason else str(what))
        clients: list[str] = []
        for d in (i.get("categorySpecificSummary") or {}).get("deprecationDetails", []) or []:
            for c in d.get("clientStats", []) or []:
                agent = f"{c.get('userAgent', '?')} ({d.get('usage', '?')}, {c.get('numberOfRequestsLast30Days', 0)} "\
                        "requests in 30 days)"
                if agent not in clients:
                    clients.append(agent)
        return Insight(id=i.get("id", insight_id), name=i.get("name", ""), category=i.get("category", ""),
                       status=str(status.get("status", "UNKNOWN")), reason=status.get("reason", ""),
                       kubernetes_version=i.get("kubernetesVersion"), recommendation=i.get("recommendation", ""),
                       resources=tuple(resources), clients=tuple(clients))

    def upgrade_insights(self, name: str, kubernetes_version: str) -> list[Insight]:
        """The UPGRADE_READINESS insights for one version; the ones not PASSING described in full (their
        recommendation, resources and the clients still calling removed APIs), since listing omits them."""
        out = []
        for i in self.insights(name, kubernetes_version):
            out.append(i if i.status == "PASSING" else self.describe_insight(name, i.id))
        return out

    def fargate_profiles(self, name: str) -> list[str]:
        return list(self._paginate("eks", "list_fargate_profiles", "fargateProfileNames", clusterName=name))

    def update_cluster_version(self, name: str, version: str) -> Update:
        u = self._call("eks", "update_cluster_version", name=name, version=version)["update"]
        return Update(id=u["id"], type=u.get("type", ""), status=u.get("status", ""))

    # -- EC2 / STS -------------------------------------------------------------------------------
    def subnets(self, subnet_ids: tuple[str, ...]) -> list[Subnet]:
        if not subnet_ids:
            return []
        out = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"SubnetIds": list(subnet_ids)}
            if token:
                kwargs["NextToken"] = token
            page = self._call("ec2", "describe_subnets", **kwargs)
            for s in page.get("Subnets", []):
                out.append(Subnet(s["SubnetId"], s.get("AvailabilityZone", ""),
                                  int(s.get("AvailableIpAddressCount", 0))))
            token = page.get("NextToken")
            if not token:
                return out

    def caller_identity(self) -> dict[str, str]:
        r = self._call("sts", "get_caller_identity")
        return {"account": r.get("Account", ""), "arn": r.get("Arn", "")}



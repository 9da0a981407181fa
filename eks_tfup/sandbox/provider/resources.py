"""`aws_eks_cluster`, `aws_eks_node_group`, `aws_eks_addon` and `data.aws_eks_addon_version`.

Attribute names, ForceNew attributes and update calls follow terraform-provider-aws, so a
configuration written for the real provider plans and applies the same way here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from tf.schema import Attribute
from tf.types import Bool, List, Map, Number, Set, String, Unknown
from tf.utils import Diagnostics

from eks_tfup.sandbox.provider import aws
from eks_tfup.sandbox.provider.plugin import EksResource, ListBlock, Obj, State, is_known, merge_planned


def _str(name: str, **kw: Any) -> Attribute:
    return Attribute(name, String(), **kw)


def _computed(name: str, typ: Any = None) -> Attribute:
    return Attribute(name, typ or String(), computed=True)


TAGS = [Attribute("tags", Map(String()), optional=True), _computed("tags_all", Map(String()))]


@contextmanager
def reporting(diags: Diagnostics) -> Iterator[None]:
    """Turn an AWS failure into a Terraform error diagnostic instead of a crashed plugin call."""
    try:
        yield
    except aws.AwsFailure as exc:
        diags.add_error(exc.summary, exc.detail)
    except (ClientError, BotoCoreError) as exc:
        failure = aws.describe("calling EKS", exc)
        diags.add_error(failure.summary, failure.detail)


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else (str(value) if value else None)


def _drop_empty(value: Any) -> Any:
    return value if value else None


def _split_id(kind: str, value: str) -> tuple[str, str]:
    parts = value.split(":")
    if len(parts) != 2 or not all(parts):
        raise aws.AwsFailure(f"unexpected format for ID ({value}), expected cluster-name:{kind}-name")
    return parts[0], parts[1]


class Base(EksResource):
    """Tag handling shared by the three resources (tags, tags_all and the provider's default_tags)."""

    @property
    def client(self) -> Any:
        return self.provider.client

    def customize_plan(self, prior: State | None, planned: State, config: State,
                       changed: set[str]) -> State:
        tags = planned.get("tags")
        if is_known(tags):
            planned["tags_all"] = {**self.provider.default_tags, **(tags or {})}
        return planned

    def own_tags(self, api_tags: dict[str, str] | None, prior_tags: Any) -> Any:
        """The resource's `tags`: what AWS holds minus the provider's default_tags."""
        defaults = self.provider.default_tags
        own = {k: v for k, v in (api_tags or {}).items() if defaults.get(k) != v}
        return own if own or prior_tags is not None else None

    def sync_tags(self, arn: str, old: dict[str, str] | None, new: dict[str, str] | None) -> None:
        old, new = old or {}, new or {}
        removed = sorted(set(old) - set(new))
        if removed:
            self.client.untag_resource(resourceArn=arn, tagKeys=removed)
        added = {k: v for k, v in new.items() if old.get(k) != v}
        if added:
            self.client.tag_resource(resourceArn=arn, tags=added)

    def refreshed(self, prior: State, observed: State) -> State:
        """Read: AWS's values, keeping configuration-only attributes and null-vs-empty as they were."""
        block_names = {b.type_name for b in self.blocks}
        out = dict(prior)
        for k, v in observed.items():
            if k in block_names:
                # A block the configuration does not use (upgrade_policy...) is not reported as drift.
                out[k] = v if prior.get(k) else (prior.get(k) or [])
            elif prior.get(k) is None and v in ({}, [], ""):
                out[k] = None
            else:
                out[k] = v
        return out


# ---------------------------------------------------------------------------------------------
# aws_eks_cluster


class Cluster(Base):
    type_name = "eks_cluster"
    attributes = [
        _computed("id"), _computed("arn"),
        _str("name", required=True), _str("role_arn", required=True),
        _str("version", optional=True, computed=True),
        _computed("endpoint"), _computed("status"), _computed("platform_version"), _computed("created_at"),
        _computed("certificate_authority", List(Obj(data=String()))),
        *TAGS,
    ]
    blocks = [
        ListBlock("vpc_config", [
            Attribute("subnet_ids", Set(String()), required=True),
            Attribute("security_group_ids", Set(String()), optional=True, computed=True),
            Attribute("endpoint_public_access", Bool(), optional=True, computed=True),
            Attribute("endpoint_private_access", Bool(), optional=True, computed=True),
            Attribute("public_access_cidrs", Set(String()), optional=True, computed=True),
            _computed("cluster_security_group_id"), _computed("vpc_id"),
        ], min_items=1),
        ListBlock("upgrade_policy", [_str("support_type", optional=True, computed=True)]),
    ]
    force_new = frozenset({"name", "role_arn"})
    create_defaults = {"vpc_config": {"endpoint_public_access": True, "endpoint_private_access": False,
                                      "public_access_cidrs": ["0.0.0.0/0"]}}

    def customize_plan(self, prior: State | None, planned: State, config: State,
                       changed: set[str]) -> State:
        planned = super().customize_plan(prior, planned, config, changed)
        if prior is not None and "version" in changed:
            # EKS starts the platform version over (eks.1) on a new minor.
            planned["platform_version"] = Unknown
        return planned

    def observe(self, name: str, prior: State | None = None) -> State | None:
        try:
            c = self.client.describe_cluster(name=name)["cluster"]
        except ClientError as exc:
            if aws.is_not_found(exc):
                return None
            raise aws.describe(f"reading EKS Cluster ({name})", exc) from exc
        vpc = c.get("resourcesVpcConfig") or {}
        policy = c.get("upgradePolicy") or {}
        return self.full_state({
            "id": c["name"], "arn": c.get("arn"), "name": c["name"], "role_arn": c.get("roleArn"),
            "version": c.get("version"), "endpoint": c.get("endpoint"), "status": c.get("status"),
            "platform_version": c.get("platformVersion"), "created_at": _iso(c.get("createdAt")),
            "certificate_authority": [{"data": (c.get("certificateAuthority") or {}).get("data")}],
            "tags": self.own_tags(c.get("tags"), (prior or {}).get("tags")), "tags_all": c.get("tags") or {},
            "vpc_config": [{
                "subnet_ids": sorted(vpc.get("subnetIds") or []),
                "security_group_ids": sorted(vpc.get("securityGroupIds") or []),
                "endpoint_public_access": vpc.get("endpointPublicAccess", True),
                "endpoint_private_access": vpc.get("endpointPrivateAccess", False),
                "public_access_cidrs": sorted(vpc.get("publicAccessCidrs") or []),
                "cluster_security_group_id": vpc.get("clusterSecurityGroupId") or "",
                "vpc_id": vpc.get("vpcId") or "",
            }],
            "upgrade_policy": [{"support_type": policy["supportType"]}] if policy.get("supportType") else [],
        })

    def wait_status(self, name: str, target: set[str], pending: set[str]) -> None:
        def probe() -> str | None:
            found = self.observe(name)
            return None if found is None else str(found["status"])
        aws.poll(f"EKS Cluster ({name})", probe, target=target, pending=pending)

    @staticmethod
    def _vpc_request(vpc: State, *, create: bool) -> dict[str, Any]:
        req: dict[str, Any] = {}
        if create:
            req["subnetIds"] = list(vpc.get("subnet_ids") or [])
        if vpc.get("security_group_ids") and is_known(vpc["security_group_ids"]):
            req["securityGroupIds"] = list(vpc["security_group_ids"])
        for key, api in (("endpoint_public_access", "endpointPublicAccess"),
                         ("endpoint_private_access", "endpointPrivateAccess")):
            if is_known(vpc.get(key)) and vpc.get(key) is not None:
                req[api] = vpc[key]
        if is_known(vpc.get("public_access_cidrs")) and vpc.get("public_access_cidrs"):
            req["publicAccessCidrs"] = list(vpc["public_access_cidrs"])
        return req

    def create(self, ctx: Any, planned: State) -> State | None:
        name = planned["name"]
        with reporting(ctx.diagnostics):
            req: dict[str, Any] = {"name": name, "roleArn": planned["role_arn"],
                                   "resourcesVpcConfig": self._vpc_request(planned["vpc_config"][0], create=True)}
            if is_known(planned.get("version")) and planned.get("version"):
                req["version"] = planned["version"]
            if planned.get("tags_all"):
                req["tags"] = planned["tags_all"]
            policy = planned.get("upgrade_policy") or []
            if policy and is_known(policy[0].get("support_type")) and policy[0].get("support_type"):
                req["upgradePolicy"] = {"supportType": policy[0]["support_type"]}
            try:
                self.client.create_cluster(**req)
            except ClientError as exc:
                raise aws.describe(f"creating EKS Cluster ({name})", exc) from exc
            self.wait_status(name, {"ACTIVE"}, {"CREATING", "PENDING"})
            observed = self.observe(name, planned)
            assert observed is not None
            return dict(merge_planned(planned, observed))
        return None

    def read(self, ctx: Any, current: State) -> State | None:
        with reporting(ctx.diagnostics):
            observed = self.observe(current["name"], current)
            return None if observed is None else self.refreshed(current, observed)
        return current

    def update(self, ctx: Any, current: State, planned: State) -> State | None:
        name = current["name"]
        with reporting(ctx.diagnostics):
            old_vpc, new_vpc = current["vpc_config"][0], planned["vpc_config"][0]
            vpc_changes = {k: v for k, v in self._vpc_request(new_vpc, create=False).items()
                           if self._vpc_request(old_vpc, create=False).get(k) != v}
            if set(old_vpc.get("subnet_ids") or []) != set(new_vpc.get("subnet_ids") or []):
                vpc_changes["subnetIds"] = list(new_vpc["subnet_ids"])
            if vpc_changes:
                self._config_update(name, resourcesVpcConfig=vpc_changes)
            old_policy, new_policy = current.get("upgrade_policy") or [], planned.get("upgrade_policy") or []
            if new_policy and is_known(new_policy[0].get("support_type")) and new_policy != old_policy:
                self._config_update(name, upgradePolicy={"supportType": new_policy[0]["support_type"]})
            if planned.get("version") != current.get("version") and is_known(planned.get("version")):
                try:
                    update = self.client.update_cluster_version(name=name, version=planned["version"])["update"]
                except ClientError as exc:
                    raise aws.describe(f"updating EKS Cluster ({name}) version", exc) from exc
                aws.wait_update(self.client, f"EKS Cluster ({name}) version", name, update["id"])
            if current.get("tags_all") != planned.get("tags_all"):
                self.sync_tags(current["arn"], current.get("tags_all"), planned.get("tags_all"))
            self.wait_status(name, {"ACTIVE"}, {"UPDATING"})
            observed = self.observe(name, planned)
            if observed is None:
                raise aws.AwsFailure(f"EKS Cluster ({name}) disappeared during the update")
            return dict(merge_planned(planned, observed))
        return current

    def _config_update(self, name: str, **changes: Any) -> None:
        try:
            update = self.client.update_cluster_config(name=name, **changes)["update"]
        except ClientError as exc:
            raise aws.describe(f"updating EKS Cluster ({name}) configuration", exc) from exc
        aws.wait_update(self.client, f"EKS Cluster ({name}) configuration", name, update["id"])

    def delete(self, ctx: Any, current: State) -> None:
        name = current["name"]
        with reporting(ctx.diagnostics):
            try:
                self.client.delete_cluster(name=name)
            except ClientError as exc:
                if aws.is_not_found(exc):
                    return
                raise aws.describe(f"deleting EKS Cluster ({name})", exc) from exc
            self.wait_status(name, {""}, {"DELETING", "ACTIVE"})

    def import_(self, ctx: Any, id: str) -> State | None:
        with reporting(ctx.diagnostics):
            observed = self.observe(id)
            if observed is None:
                raise aws.AwsFailure(f"Cannot import non-existent remote object: EKS Cluster ({id})")
            return observed
        return None


# ---------------------------------------------------------------------------------------------
# aws_eks_node_group


class NodeGroup(Base):
    type_name = "eks_node_group"
    attributes = [
        _computed("id"), _computed("arn"),
        _str("cluster_name", required=True), _str("node_group_name", required=True),
        _str("node_role_arn", required=True),
        Attribute("subnet_ids", Set(String()), required=True),
        _str("version", optional=True, computed=True), _str("release_version", optional=True, computed=True),
        _str("ami_type", optional=True, computed=True), _str("capacity_type", optional=True, computed=True),
        Attribute("disk_size", Number(), optional=True, computed=True),
        Attribute("instance_types", List(String()), optional=True, computed=True),
        Attribute("labels", Map(String()), optional=True),
        _computed("status"),
        *TAGS,
    ]
    blocks = [
        ListBlock("scaling_config", [
            Attribute("desired_size", Number(), required=True), Attribute("min_size", Number(), required=True),
            Attribute("max_size", Number(), required=True),
        ], min_items=1),
        ListBlock("update_config", [
            Attribute("max_unavailable", Number(), optional=True),
            Attribute("max_unavailable_percentage", Number(), optional=True),
        ]),
    ]
    force_new = frozenset({"cluster_name", "node_group_name", "node_role_arn", "subnet_ids", "ami_type",
                           "capacity_type", "disk_size", "instance_types"})

    def customize_plan(self, prior: State | None, planned: State, config: State,
                       changed: set[str]) -> State:
        planned = super().customize_plan(prior, planned, config, changed)
        if prior is not None and "version" in changed and config.get("release_version") is None:
            # A new minor brings the newest AMI release for it, as the real provider plans.
            planned["release_version"] = Unknown
        return planned

    def observe(self, cluster: str, name: str, prior: State | None = None) -> State | None:
        try:
            ng = self.client.describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"]
        except ClientError as exc:
            if aws.is_not_found(exc):
                return None
            raise aws.describe(f"reading EKS Node Group ({cluster}:{name})", exc) from exc
        scaling = ng.get("scalingConfig") or {}
        upd = ng.get("updateConfig") or {}
        return self.full_state({
            "id": f"{cluster}:{name}", "arn": ng.get("nodegroupArn"), "cluster_name": cluster,
            "node_group_name": name, "node_role_arn": ng.get("nodeRole"),
            "subnet_ids": sorted(ng.get("subnets") or []), "version": ng.get("version"),
            "release_version": ng.get("releaseVersion"), "ami_type": ng.get("amiType"),
            "capacity_type": ng.get("capacityType") or "ON_DEMAND", "disk_size": ng.get("diskSize") or 20,
            "instance_types": ng.get("instanceTypes") or [], "labels": ng.get("labels") or None,
            "status": ng.get("status"),
            "tags": self.own_tags(ng.get("tags"), (prior or {}).get("tags")), "tags_all": ng.get("tags") or {},
            "scaling_config": [{"desired_size": scaling.get("desiredSize"), "min_size": scaling.get("minSize"),
                                "max_size": scaling.get("maxSize")}],
            "update_config": [{"max_unavailable": upd.get("maxUnavailable"),
                               "max_unavailable_percentage": upd.get("maxUnavailablePercentage")}]
            if upd else [],
        })

    def wait_status(self, cluster: str, name: str, target: set[str], pending: set[str]) -> None:
        def probe() -> str | None:
            found = self.observe(cluster, name)
            return None if found is None else str(found["status"])
        aws.poll(f"EKS Node Group ({cluster}:{name})", probe, target=target, pending=pending)

    @staticmethod
    def _scaling(planned: State) -> dict[str, int]:
        s = planned["scaling_config"][0]
        return {"desiredSize": s["desired_size"], "minSize": s["min_size"], "maxSize": s["max_size"]}

    @staticmethod
    def _update_config(planned: State) -> dict[str, int] | None:
        items = planned.get("update_config") or []
        if not items:
            return None
        u = items[0]
        out = {api: u[key] for key, api in (("max_unavailable", "maxUnavailable"),
                                            ("max_unavailable_percentage", "maxUnavailablePercentage"))
               if u.get(key) is not None}
        return out or None

    def create(self, ctx: Any, planned: State) -> State | None:
        cluster, name = planned["cluster_name"], planned["node_group_name"]
        with reporting(ctx.diagnostics):
            req: dict[str, Any] = {"clusterName": cluster, "nodegroupName": name,
                                   "nodeRole": planned["node_role_arn"], "subnets": list(planned["subnet_ids"]),
                                   "scalingConfig": self._scaling(planned)}
            optional = (("version", "version"), ("release_version", "releaseVersion"), ("ami_type", "amiType"),
                        ("capacity_type", "capacityType"), ("disk_size", "diskSize"),
                        ("instance_types", "instanceTypes"), ("labels", "labels"))
            for key, api in optional:
                if is_known(planned.get(key)) and planned.get(key):
                    req[api] = planned[key]
            if self._update_config(planned):
                req["updateConfig"] = self._update_config(planned)
            if planned.get("tags_all"):
                req["tags"] = planned["tags_all"]
            try:
                self.client.create_nodegroup(**req)
            except ClientError as exc:
                raise aws.describe(f"creating EKS Node Group ({cluster}:{name})", exc) from exc
            self.wait_status(cluster, name, {"ACTIVE"}, {"CREATING"})
            observed = self.observe(cluster, name, planned)
            assert observed is not None
            return dict(merge_planned(planned, observed))
        return None

    def read(self, ctx: Any, current: State) -> State | None:
        with reporting(ctx.diagnostics):
            observed = self.observe(current["cluster_name"], current["node_group_name"], current)
            return None if observed is None else self.refreshed(current, observed)
        return current

    def update(self, ctx: Any, current: State, planned: State) -> State | None:
        cluster, name = current["cluster_name"], current["node_group_name"]
        what = f"EKS Node Group ({cluster}:{name})"
        with reporting(ctx.diagnostics):
            config: dict[str, Any] = {}
            if current["scaling_config"] != planned["scaling_config"]:
                config["scalingConfig"] = self._scaling(planned)
            if current.get("update_config") != planned.get("update_config") and self._update_config(planned):
                config["updateConfig"] = self._update_config(planned)
            old_labels, new_labels = current.get("labels") or {}, planned.get("labels") or {}
            if old_labels != new_labels:
                config["labels"] = {"addOrUpdateLabels": {k: v for k, v in new_labels.items()
                                                          if old_labels.get(k) != v},
                                    "removeLabels": sorted(set(old_labels) - set(new_labels))}
            if config:
                try:
                    update = self.client.update_nodegroup_config(clusterName=cluster, nodegroupName=name,
                                                                 **config)["update"]
                except ClientError as exc:
                    raise aws.describe(f"updating {what} config", exc) from exc
                aws.wait_update(self.client, f"{what} config", cluster, update["id"], nodegroup=name)
            version_req: dict[str, Any] = {}
            if planned.get("version") != current.get("version") and is_known(planned.get("version")):
                version_req["version"] = planned["version"]
            release = planned.get("release_version")
            if is_known(release) and release and release != current.get("release_version"):
                version_req["releaseVersion"] = release
            if version_req:
                try:
                    update = self.client.update_nodegroup_version(clusterName=cluster, nodegroupName=name,
                                                                  **version_req)["update"]
                except ClientError as exc:
                    raise aws.describe(f"updating {what} version", exc) from exc
                aws.wait_update(self.client, f"{what} version", cluster, update["id"], nodegroup=name)
            if current.get("tags_all") != planned.get("tags_all"):
                self.sync_tags(current["arn"], current.get("tags_all"), planned.get("tags_all"))
            self.wait_status(cluster, name, {"ACTIVE"}, {"UPDATING"})
            observed = self.observe(cluster, name, planned)
            if observed is None:
                raise aws.AwsFailure(f"{what} disappeared during the update")
            return dict(merge_planned(planned, observed))
        return current

    def delete(self, ctx: Any, current: State) -> None:
        cluster, name = current["cluster_name"], current["node_group_name"]
        with reporting(ctx.diagnostics):
            try:
                self.client.delete_nodegroup(clusterName=cluster, nodegroupName=name)
            except ClientError as exc:
                if aws.is_not_found(exc):
                    return
                raise aws.describe(f"deleting EKS Node Group ({cluster}:{name})", exc) from exc
            self.wait_status(cluster, name, {""}, {"DELETING", "ACTIVE"})

    def import_(self, ctx: Any, id: str) -> State | None:
        with reporting(ctx.diagnostics):
            cluster, name = _split_id("node-group", id)
            observed = self.observe(cluster, name)
            if observed is None:
                raise aws.AwsFailure(f"Cannot import non-existent remote object: EKS Node Group ({id})")
            return observed
        return None


# ---------------------------------------------------------------------------------------------
# aws_eks_addon


class Addon(Base):
    type_name = "eks_addon"
    attributes = [
        _computed("id"), _computed("arn"),
        _str("cluster_name", required=True), _str("addon_name", required=True),
        _str("addon_version", optional=True, computed=True),
        _str("resolve_conflicts_on_create", optional=True), _str("resolve_conflicts_on_update", optional=True),
        _str("service_account_role_arn", optional=True),
        _str("configuration_values", optional=True, computed=True),
        Attribute("preserve", Bool(), optional=True),
        _computed("created_at"),
        *TAGS,
    ]
    force_new = frozenset({"cluster_name", "addon_name"})

    def observe(self, cluster: str, name: str, prior: State | None = None) -> State | None:
        try:
            a = self.client.describe_addon(clusterName=cluster, addonName=name)["addon"]
        except ClientError as exc:
            if aws.is_not_found(exc):
                return None
            raise aws.describe(f"reading EKS Add-On ({cluster}:{name})", exc) from exc
        prior = prior or {}
        return self.full_state({
            "id": f"{cluster}:{name}", "arn": a.get("addonArn"), "cluster_name": cluster, "addon_name": name,
            "addon_version": a.get("addonVersion"),
            "resolve_conflicts_on_create": prior.get("resolve_conflicts_on_create"),
            "resolve_conflicts_on_update": prior.get("resolve_conflicts_on_update"),
            "service_account_role_arn": a.get("serviceAccountRoleArn"),
            "configuration_values": a.get("configurationValues") or "",
            "preserve": prior.get("preserve"), "created_at": _iso(a.get("createdAt")),
            "tags": self.own_tags(a.get("tags"), prior.get("tags")), "tags_all": a.get("tags") or {},
        }) | {"_status": a.get("status")}

    def wait_status(self, cluster: str, name: str, target: set[str], pending: set[str]) -> None:
        def probe() -> str | None:
            found = self.observe(cluster, name)
            return None if found is None else str(found["_status"])
        aws.poll(f"EKS Add-On ({cluster}:{name})", probe, target=target, pending=pending)

    def _observed(self, cluster: str, name: str, prior: State | None) -> State | None:
        found = self.observe(cluster, name, prior)
        if found is not None:
            found.pop("_status", None)
        return found

    def create(self, ctx: Any, planned: State) -> State | None:
        cluster, name = planned["cluster_name"], planned["addon_name"]
        with reporting(ctx.diagnostics):
            req: dict[str, Any] = {"clusterName": cluster, "addonName": name}
            for key, api in (("addon_version", "addonVersion"), ("resolve_conflicts_on_create", "resolveConflicts"),
                             ("service_account_role_arn", "serviceAccountRoleArn"),
                             ("configuration_values", "configurationValues")):
                if is_known(planned.get(key)) and planned.get(key):
                    req[api] = planned[key]
            if planned.get("tags_all"):
                req["tags"] = planned["tags_all"]
            try:
                self.client.create_addon(**req)
            except ClientError as exc:
                raise aws.describe(f"creating EKS Add-On ({cluster}:{name})", exc) from exc
            self.wait_status(cluster, name, {"ACTIVE"}, {"CREATING"})
            observed = self._observed(cluster, name, planned)
            assert observed is not None
            return dict(merge_planned(planned, observed))
        return None

    def read(self, ctx: Any, current: State) -> State | None:
        with reporting(ctx.diagnostics):
            observed = self._observed(current["cluster_name"], current["addon_name"], current)
            return None if observed is None else self.refreshed(current, observed)
        return current

    def update(self, ctx: Any, current: State, planned: State) -> State | None:
        cluster, name = current["cluster_name"], current["addon_name"]
        what = f"EKS Add-On ({cluster}:{name})"
        with reporting(ctx.diagnostics):
            req: dict[str, Any] = {}
            for key, api in (("addon_version", "addonVersion"),
                             ("service_account_role_arn", "serviceAccountRoleArn"),
                             ("configuration_values", "configurationValues")):
                if planned.get(key) != current.get(key) and is_known(planned.get(key)):
                    req[api] = planned[key] or ""
            if req:
                if planned.get("resolve_conflicts_on_update"):
                    req["resolveConflicts"] = planned["resolve_conflicts_on_update"]
                try:
                    update = self.client.update_addon(clusterName=cluster, addonName=name, **req)["update"]
                except ClientError as exc:
                    raise aws.describe(f"updating {what}", exc) from exc
                aws.wait_update(self.client, what, cluster, update["id"], addon=name)
            if current.get("tags_all") != planned.get("tags_all"):
                self.sync_tags(current["arn"], current.get("tags_all"), planned.get("tags_all"))
            observed = self._observed(cluster, name, planned)
            if observed is None:
                raise aws.AwsFailure(f"{what} disappeared during the update")
            return dict(merge_planned(planned, observed))
        return current

    def delete(self, ctx: Any, current: State) -> None:
        cluster, name = current["cluster_name"], current["addon_name"]
        with reporting(ctx.diagnostics):
            try:
                kwargs: dict[str, Any] = {"preserve": True} if current.get("preserve") else {}
                self.client.delete_addon(clusterName=cluster, addonName=name, **kwargs)
            except ClientError as exc:
                if aws.is_not_found(exc):
                    return
                raise aws.describe(f"deleting EKS Add-On ({cluster}:{name})", exc) from exc
            self.wait_status(cluster, name, {""}, {"DELETING", "ACTIVE", "DEGRADED"})

    def import_(self, ctx: Any, id: str) -> State | None:
        with reporting(ctx.diagnostics):
            cluster, name = _split_id("addon", id)
            observed = self._observed(cluster, name, None)
            if observed is None:
                raise aws.AwsFailure(f"Cannot import non-existent remote object: EKS Add-On ({id})")
            return observed
        return None


# ---------------------------------------------------------------------------------------------
# data "aws_eks_addon_version"

_NUM = re.compile(r"\d+")


def addon_version_key(version: str) -> tuple[int, ...]:
    """`v1.16.0-eksbuild.1` -> (1, 16, 0, 1): add-on versions are not PEP 440."""
    return tuple(int(n) for n in _NUM.findall(version))


class AddonVersion:
    attributes = [
        _computed("id"), _str("addon_name", required=True), _str("kubernetes_version", required=True),
        Attribute("most_recent", Bool(), optional=True), _computed("version"),
    ]

    def __init__(self, provider: Any) -> None:
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return "eks_addon_version"

    @classmethod
    def get_schema(cls) -> Any:
        from tf.schema import Schema

        return Schema(version=0, attributes=cls.attributes)

    def validate(self, diags: Diagnostics, type_name: str, config: State) -> None:
        return None

    def read(self, ctx: Any, config: State) -> State | None:
        name, k8s = config["addon_name"], config["kubernetes_version"]
        with reporting(ctx.diagnostics):
            compatible: list[tuple[str, bool]] = []
            paginator = self.provider.client.get_paginator("describe_addon_versions")
            for page in paginator.paginate(addonName=name, kubernetesVersion=k8s):
                for addon in page.get("addons") or []:
                    if addon.get("addonName") != name:
                        continue
                    for v in addon.get("addonVersions") or []:
                        for compat in v.get("compatibilities") or []:
                            if compat.get("clusterVersion") == k8s:
                                compatible.append((v["addonVersion"], bool(compat.get("defaultVersion"))))
            if not compatible:
                raise aws.AwsFailure(f"reading EKS Add-On version info ({name}, {k8s}): empty result")
            pick: Callable[[tuple[str, bool]], Any]
            if config.get("most_recent"):
                pick = lambda item: addon_version_key(item[0])  # noqa: E731
            else:
                pick = lambda item: (item[1], addon_version_key(item[0]))  # noqa: E731
            version = max(compatible, key=pick)[0]
            return {"id": name, "addon_name": name, "kubernetes_version": k8s,
                    "most_recent": config.get("most_recent"), "version": version}
        return None

"""The sandbox's AWS endpoint through plain boto3: every operation, shapes, refusals, faults.

Every parsed response is validated against botocore's output shape for the operation, and every
raw JSON answer is checked for members the model does not have, so the sandbox cannot drift from
what the real service answers. Most tests serve the AWS API from this process (`aws_sandbox`) to
move the simulated clock directly; the rest of the behaviour runs in a real sandbox process.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator

from eks_tfup.sandbox import aws_api
from eks_tfup.sandbox.state import OPERATIONS

CLUSTER = "demo"


def check(client: Any, op: str, response: dict[str, Any]) -> dict[str, Any]:
    """Assert the parsed response fits the operation's output shape; return it."""
    model = client.meta.service_model.operation_model(op)
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    report = ParamValidator().validate(body, model.output_shape)
    assert not report.has_errors(), f"{op}: {report.generate_report()}"
    return response


def unknown_members(shape: Any, value: Any, path: str = "") -> list[str]:
    """Members of a raw JSON answer that the botocore shape does not define (recursively)."""
    out: list[str] = []
    if shape.type_name == "structure" and isinstance(value, dict):
        for k, v in value.items():
            if k not in shape.members:
                out.append(f"{path}.{k}")
            else:
                out += unknown_members(shape.members[k], v, f"{path}.{k}")
    elif shape.type_name == "list" and isinstance(value, list):
        for i, v in enumerate(value):
            out += unknown_members(shape.member, v, f"{path}[{i}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for k, v in value.items():
            out += unknown_members(shape.value, v, f"{path}[{k}]")
    return out


def raw(client: Any, state: Any, op: str, **params: Any) -> dict[str, Any]:
    """Call the state directly and check the raw JSON has only modelled members."""
    result = json.loads(json.dumps(state.call(op, params)))
    shape = client.meta.service_model.operation_model(op).output_shape
    assert unknown_members(shape, result) == [], op
    return result


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = exc.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def healthy(aws_sandbox: Any, aws_client: Any) -> tuple[Any, Any]:
    sb = aws_sandbox("healthy-1.28")
    return sb, aws_client(sb, "eks", retries=False)


# -- the shape checker itself -----------------------------------------------------------------------


def test_shape_validation_catches_wrong_types_and_unknown_members(healthy: tuple[Any, Any]) -> None:
    _, eks = healthy
    with pytest.raises(AssertionError, match="version"):
        check(eks, "DescribeCluster", {"cluster": {"name": "demo", "version": 128}})
    with pytest.raises(AssertionError, match="createdAt"):
        check(eks, "DescribeCluster", {"cluster": {"createdAt": [1]}})
    shape = eks.meta.service_model.operation_model("DescribeCluster").output_shape
    assert unknown_members(shape, {"cluster": {"name": "x", "kubeVersion": "1.28"}}) == [".cluster.kubeVersion"]


def test_routing_table_comes_from_the_botocore_model() -> None:
    routes = {r.name: r for r in aws_api.eks_routes()}
    assert len(routes) == len(aws_api.eks_model()["operations"])
    m = routes["UpdateNodegroupVersion"].regex.match("/clusters/demo/node-groups/ng-1/update-version")
    assert m is not None and m.group("nodegroupName") == "ng-1"
    assert routes["DescribeCluster"].method == "GET"
    assert set(OPERATIONS) <= set(routes)


# -- read operations ------------------------------------------------------------------------------


def test_every_read_operation_fits_the_model(healthy: tuple[Any, Any], aws_client: Any) -> None:
    sb, eks = healthy
    assert check(eks, "ListClusters", eks.list_clusters())["clusters"] == [CLUSTER]
    cluster = check(eks, "DescribeCluster", eks.describe_cluster(name=CLUSTER))["cluster"]
    raw(eks, sb.state, "DescribeCluster", name=CLUSTER)
    assert cluster["version"] == "1.28" and cluster["status"] == "ACTIVE"
    assert cluster["endpoint"] == sb.state.kube_url
    assert cluster["arn"] == "arn:aws:eks:us-east-1:111122223333:cluster/demo"
    assert cluster["platformVersion"] == "eks.20"
    assert len(cluster["resourcesVpcConfig"]["subnetIds"]) == 3
    assert cluster["health"] == {"issues": []}
    assert cluster["upgradePolicy"]["supportType"] == "EXTENDED"
    assert cluster["certificateAuthority"]["data"]
    assert cluster["accessConfig"]["authenticationMode"] == "API_AND_CONFIG_MAP"
    assert cluster["kubernetesNetworkConfig"]["serviceIpv4Cidr"] == "172.20.0.0/16"
    assert cluster["createdAt"].year >= 2025 and cluster["roleArn"].startswith("arn:aws:iam::")

    ngs = check(eks, "ListNodegroups", eks.list_nodegroups(clusterName=CLUSTER))["nodegroups"]
    assert ngs == ["apps", "system"]
    ng = check(eks, "DescribeNodegroup", eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName="system"))
    raw(eks, sb.state, "DescribeNodegroup", clusterName=CLUSTER, nodegroupName="system")
    ng = ng["nodegroup"]
    assert ng["version"] == "1.28" and ng["releaseVersion"].startswith("1.28.15-")
    assert ng["amiType"] == "AL2023_x86_64_STANDARD" and ng["status"] == "ACTIVE"
    assert ng["scalingConfig"]["desiredSize"] == 2 and ng["updateConfig"] == {"maxUnavailable": 1}
    assert ng["health"] == {"issues": []} and ng["subnets"]

    assert check(eks, "ListAddons", eks.list_addons(clusterName=CLUSTER))["addons"] == \
        ["coredns", "kube-proxy", "vpc-cni"]
    addon = check(eks, "DescribeAddon", eks.describe_addon(clusterName=CLUSTER, addonName="vpc-cni"))["addon"]
    raw(eks, sb.state, "DescribeAddon", clusterName=CLUSTER, addonName="vpc-cni")
    assert addon["addonVersion"] == "v1.18.3-eksbuild.3" and addon["status"] == "ACTIVE"
    assert check(eks, "ListUpdates", eks.list_updates(name=CLUSTER))["updateIds"] == []

    for op, kwargs in (("ListFargateProfiles", {"clusterName": CLUSTER}),
                       ("ListIdentityProviderConfigs", {"clusterName": CLUSTER}),
                       ("ListPodIdentityAssociations", {"clusterName": CLUSTER}),
                       ("ListAccessEntries", {"clusterName": CLUSTER}),
                       ("ListTagsForResource", {"resourceArn": cluster["arn"]})):
        method = eks.meta.method_to_api_mapping
        name = next(k for k, v in method.items() if v == op)
        check(eks, op, getattr(eks, name)(**kwargs))


def test_describe_addon_versions_filters_and_pages(healthy: tuple[Any, Any]) -> None:
    sb, eks = healthy
    everything = check(eks, "DescribeAddonVersions", eks.describe_addon_versions())
    raw(eks, sb.state, "DescribeAddonVersions")
    names = [a["addonName"] for a in everything["addons"]]
    assert names == ["vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver"]
    for minor in [f"1.{m}" for m in range(23, 35)]:
        for name in names:
            r = eks.describe_addon_versions(kubernetesVersion=minor, addonName=name)
            (addon,) = r["addons"]
            defaults = [v["addonVersion"] for v in addon["addonVersions"]
                        if v["compatibilities"][0]["defaultVersion"]]
            assert len(defaults) == 1, (name, minor)
            assert all(c["clusterVersion"] == minor for v in addon["addonVersions"] for c in v["compatibilities"])
    kp = eks.describe_addon_versions(kubernetesVersion="1.29", addonName="kube-proxy")["addons"][0]
    assert kp["addonVersions"][0]["compatibilities"][0]["platformVersions"] == ["*"]
    assert eks.describe_addon_versions(addonName="no-such-addon")["addons"] == []
    assert [a["addonName"] for a in eks.describe_addon_versions(types=["storage"])["addons"]] == \
        ["aws-ebs-csi-driver"]
    first = eks.describe_addon_versions(maxResults=1)
    assert len(first["addons"]) == 1 and first["nextToken"]
    pages = eks.get_paginator("describe_addon_versions").paginate(PaginationConfig={"PageSize": 1})
    assert [a["addonName"] for page in pages for a in page["addons"]] == names


def test_describe_cluster_versions(healthy: tuple[Any, Any]) -> None:
    sb, eks = healthy
    allv = check(eks, "DescribeClusterVersions", eks.describe_cluster_versions(includeAll=True))
    raw(eks, sb.state, "DescribeClusterVersions", includeAll=True)
    versions = {v["clusterVersion"]: v for v in allv["clusterVersions"]}
    assert {f"1.{m}" for m in range(23, 35)} <= set(versions)
    v128 = versions["1.28"]
    assert v128["releaseDate"].date().isoformat() == "2023-09-26"
    assert v128["endOfStandardSupportDate"].date().isoformat() == "2024-11-26"
    assert v128["endOfExtendedSupportDate"].date().isoformat() == "2025-11-26"
    assert sum(v["defaultVersion"] for v in versions.values()) == 1
    today = sb.state.today()
    for v in versions.values():
        expected = ("STANDARD_SUPPORT" if today < v["endOfStandardSupportDate"].date() else
                    "EXTENDED_SUPPORT" if today < v["endOfExtendedSupportDate"].date() else "UNSUPPORTED")
        assert v["versionStatus"] == expected
        assert v["status"] == expected.lower().replace("_", "-")
    default = eks.describe_cluster_versions()["clusterVersions"]
    assert all(v["versionStatus"] != "UNSUPPORTED" for v in default)
    only = eks.describe_cluster_versions(clusterVersions=["1.24"])["clusterVersions"]
    assert [v["clusterVersion"] for v in only] == ["1.24"]
    (d,) = eks.describe_cluster_versions(defaultOnly=True)["clusterVersions"]
    assert d["defaultVersion"]
    pages = eks.get_paginator("describe_cluster_versions").paginate(includeAll=True,
                                                                   PaginationConfig={"PageSize": 5})
    assert len([v for p in pages for v in p["clusterVersions"]]) == len(versions)


def test_support_status_follows_the_scenario_date(aws_sandbox: Any, aws_client: Any) -> None:
    import dataclasses

    from eks_tfup.sandbox import scenario
    from eks_tfup.sandbox.state import SandboxState

    sc = dataclasses.replace(scenario.load("healthy-1.28"), support_date="2024-09-01")
    state = SandboxState(sc)
    versions = {v["clusterVersion"]: v["versionStatus"]
                for v in state.call("DescribeClusterVersions", {"includeAll": True})["clusterVersions"]}
    assert versions["1.28"] == "STANDARD_SUPPORT" and versions["1.25"] == "EXTENDED_SUPPORT"
    assert versions["1.23"] == "EXTENDED_SUPPORT"  # until 2024-10-11
    state = SandboxState(dataclasses.replace(sc, support_date="2024-10-11"))
    assert state.call("DescribeClusterVersions", {"clusterVersions": ["1.23"]})["clusterVersions"][0][
        "versionStatus"] == "UNSUPPORTED"


# -- EC2 and STS ----------------------------------------------------------------------------------


def test_describe_subnets_and_caller_identity(aws_sandbox: Any, aws_client: Any) -> None:
    sb = aws_sandbox("tight-subnets")
    ec2 = aws_client(sb, "ec2", retries=False)
    subnets = check(ec2, "DescribeSubnets", ec2.describe_subnets())["Subnets"]
    assert len(subnets) == 4
    cp = ec2.describe_subnets(SubnetIds=["subnet-0a1b2c3d4e5f60501", "subnet-0a1b2c3d4e5f60502"])["Subnets"]
    assert sum(s["AvailableIpAddressCount"] for s in cp) == 3
    assert {s["AvailabilityZone"] for s in cp} == {"us-east-1a", "us-east-1b"}
    assert cp[0]["VpcId"] == "vpc-0de30c1a5f3e00005" and cp[0]["CidrBlock"] == "10.4.0.0/28"
    by_az = ec2.describe_subnets(Filters=[{"Name": "availability-zone", "Values": ["us-east-1a"]},
                                          {"Name": "vpc-id", "Values": ["vpc-0de30c1a5f3e00005"]}])["Subnets"]
    assert sorted(s["SubnetId"] for s in by_az) == ["subnet-0a1b2c3d4e5f60501", "subnet-0a1b2c3d4e5f60511"]
    tagged = ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": ["demo-nodes-*"]}])["Subnets"]
    assert len(tagged) == 2
    with pytest.raises(ClientError) as exc:
        ec2.describe_subnets(SubnetIds=["subnet-00000000000000000"])
    assert error_of(exc)[:2] == ("InvalidSubnetID.NotFound", "The subnet ID 'subnet-00000000000000000' does not exist")

    sts = aws_client(sb, "sts", retries=False)
    ident = check(sts, "GetCallerIdentity", sts.get_caller_identity())
    assert ident["Account"] == "111122223333" and ident["Arn"].startswith("arn:aws:iam::111122223333:")


# -- asynchronous updates -------------------------------------------------------------------------


def test_cluster_version_update_lifecycle(healthy: tuple[Any, Any]) -> None:
    sb, eks = healthy
    update = check(eks, "UpdateClusterVersion", eks.update_cluster_version(name=CLUSTER, version="1.29"))["update"]
    assert update["status"] == "InProgress" and update["type"] == "VersionUpdate"
    assert {"type": "Version", "value": "1.29"} in update["params"]
    assert eks.describe_cluster(name=CLUSTER)["cluster"]["status"] == "UPDATING"
    assert eks.list_updates(name=CLUSTER)["updateIds"] == [update["id"]]
    with pytest.raises(ClientError) as exc:
        eks.update_cluster_version(name=CLUSTER, version="1.29")
    code, message, status = error_of(exc)
    assert (code, status) == ("ResourceInUseException", 409)
    assert message == f"Cannot VersionUpdate because cluster demo currently has update {update['id']} in progress"

    # The API server is unreachable while the endpoint switches (60%..70% of the update), then
    # answers with the new version before the update is reported Successful.
    assert sb.state.kube_available() and str(sb.state.server_version()) == "1.28"
    sb.advance(1800 * 0.65)
    assert not sb.state.kube_available()
    sb.advance(1800 * 0.1)
    assert sb.state.kube_available() and str(sb.state.server_version()) == "1.29"
    assert eks.describe_update(name=CLUSTER, updateId=update["id"])["update"]["status"] == "InProgress"
    sb.advance(1800 * 0.3)
    done = check(eks, "DescribeUpdate", eks.describe_update(name=CLUSTER, updateId=update["id"]))["update"]
    assert done["status"] == "Successful" and done["errors"] == []
    cluster = eks.describe_cluster(name=CLUSTER)["cluster"]
    assert (cluster["version"], cluster["status"], cluster["platformVersion"]) == ("1.29", "ACTIVE", "eks.48")
    assert sb.state.git_version().startswith("v1.29.15-eks-")


def test_update_takes_time_scale_real_seconds(aws_sandbox: Any, aws_client: Any) -> None:
    sb = aws_sandbox("healthy-1.28", time_scale=0.0005)  # 1800 s -> 0.9 s
    eks = aws_client(sb, "eks", retries=False)
    uid = eks.update_cluster_version(name=CLUSTER, version="1.29")["update"]["id"]
    start = time.monotonic()
    while eks.describe_update(name=CLUSTER, updateId=uid)["update"]["status"] == "InProgress":
        assert time.monotonic() - start < 5
        time.sleep(0.05)
    assert 0.85 <= time.monotonic() - start < 3
    assert eks.describe_cluster(name=CLUSTER)["cluster"]["version"] == "1.29"


def _upgrade_control_plane(sb: Any, eks: Any, version: str) -> None:
    eks.update_cluster_version(name=CLUSTER, version=version)
    sb.advance(1800)
    assert eks.describe_cluster(name=CLUSTER)["cluster"]["version"] == version


def _kubelets(state: Any, nodegroup: str) -> list[str]:
    return sorted(n["status"]["nodeInfo"]["kubeletVersion"] for n in state.nodes_of(nodegroup))


def test_nodegroup_roll_replaces_every_node(healthy: tuple[Any, Any]) -> None:
    sb, eks = healthy
    _upgrade_control_plane(sb, eks, "1.29")
    before = {n["metadata"]["name"] for n in sb.state.nodes_of("apps")}
    update = check(eks, "UpdateNodegroupVersion",
                   eks.update_nodegroup_version(clusterName=CLUSTER, nodegroupName="apps"))["update"]
    assert update["status"] == "InProgress"
    assert {"type": "Version", "value": "1.29"} in update["params"]
    assert eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName="apps")["nodegroup"]["status"] == "UPDATING"
    assert eks.list_updates(name=CLUSTER, nodegroupName="apps")["updateIds"] == [update["id"]]
    seen_cordoned = False
    for _ in range(40):
        sb.advance(30)
        nodes = sb.state.nodes_of("apps")
        seen_cordoned |= any(n["spec"].get("unschedulable") for n in nodes)
        # Workload pods keep running on schedulable nodes throughout (the PDB allows one at a time).
        web = [p for p in sb.state.store.list("", "pods", "apps") if p["metadata"]["name"].startswith("web-")]
        assert len(web) == 3
        if eks.describe_update(name=CLUSTER, updateId=update["id"], nodegroupName="apps")["update"]["status"] \
                != "InProgress":
            break
    done = check(eks, "DescribeUpdate",
                 eks.describe_update(name=CLUSTER, updateId=update["id"], nodegroupName="apps"))["update"]
    assert done["status"] == "Successful"
    assert seen_cordoned
    after = sb.state.nodes_of("apps")
    assert len(after) == 2 and not before & {n["metadata"]["name"] for n in after}
    assert all(k.startswith("v1.29.15-eks-") for k in _kubelets(sb.state, "apps"))
    assert not any(n["spec"].get("unschedulable") for n in after)
    ng = eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName="apps")["nodegroup"]
    assert (ng["version"], ng["status"]) == ("1.29", "ACTIVE") and ng["releaseVersion"].startswith("1.29.15-")
    nodes = {n["metadata"]["name"] for n in sb.state.store.list("", "nodes")}
    assert all(p["spec"].get("nodeName") in nodes for p in sb.state.store.list("", "pods"))
    # The DaemonSets follow the nodes: one aws-node pod per node.
    assert len([p for p in sb.state.store.list("", "pods", "kube-system")
                if p["metadata"]["name"].startswith("aws-node-")]) == len(nodes)


def test_blocking_pdb_ends_in_pod_eviction_failure(aws_sandbox: Any, aws_client: Any) -> None:
    sb = aws_sandbox("blocking-pdb")
    eks = aws_client(sb, "eks", retries=False)
    _upgrade_control_plane(sb, eks, "1.29")
    uid = eks.update_nodegroup_version(clusterName=CLUSTER, nodegroupName="workers", version="1.29")["update"]["id"]
    sb.advance(600)
    assert eks.describe_update(name=CLUSTER, updateId=uid, nodegroupName="workers")["update"]["status"] == \
        "InProgress"
    sb.advance(900)
    update = eks.describe_update(name=CLUSTER, updateId=uid, nodegroupName="workers")["update"]
    assert update["status"] == "Failed"
    (err,) = update["errors"]
    assert err["errorCode"] == "PodEvictionFailure"
    assert err["errorMessage"] == "Reached max retries while trying to evict pods from nodes in node group workers"
    assert err["resourceIds"] and err["resourceIds"][0].startswith("ip-10-5-")
    ng = eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName="workers")["nodegroup"]
    assert (ng["version"], ng["status"]) == ("1.28", "ACTIVE")
    # force=True drains regardless of the budget.
    uid = eks.update_nodegroup_version(clusterName=CLUSTER, nodegroupName="workers", force=True)["update"]["id"]
    sb.advance(2000)
    assert eks.describe_update(name=CLUSTER, updateId=uid, nodegroupName="workers")["update"]["status"] == \
        "Successful"
    assert all(k.startswith("v1.29.") for k in _kubelets(sb.state, "workers"))


def test_addon_update_lifecycle_moves_the_image(healthy: tuple[Any, Any]) -> None:
    sb, eks = healthy
    _upgrade_control_plane(sb, eks, "1.29")
    update = check(eks, "UpdateAddon", eks.update_addon(clusterName=CLUSTER, addonName="kube-proxy",
                                                        addonVersion="v1.29.10-eksbuild.3",
                                                        resolveConflicts="OVERWRITE"))["update"]
    assert update["type"] == "AddonUpdate" and update["status"] == "InProgress"
    assert eks.describe_addon(clusterName=CLUSTER, addonName="kube-proxy")["addon"]["status"] == "UPDATING"
    with pytest.raises(ClientError) as exc:
        eks.update_addon(clusterName=CLUSTER, addonName="kube-proxy", addonVersion="v1.29.10-eksbuild.3")
    assert error_of(exc)[0] == "ResourceInUseException"
    sb.advance(60)
    done = eks.describe_update(name=CLUSTER, updateId=update["id"], addonName="kube-proxy")["update"]
    assert done["status"] == "Successful"
    addon = eks.describe_addon(clusterName=CLUSTER, addonName="kube-proxy")["addon"]
    assert (addon["addonVersion"], addon["status"]) == ("v1.29.10-eksbuild.3", "ACTIVE")
    ds = sb.state.store.get("apps", "daemonsets", "kube-system", "kube-proxy")
    assert ds["spec"]["template"]["spec"]["containers"][0]["image"].endswith(
        "/eks/kube-proxy:v1.29.10-minimal-eksbuild.3")
    pods = [p for p in sb.state.store.list("", "pods", "kube-system") if p["metadata"]["name"].startswith("kube-proxy")]
    assert pods and all(p["spec"]["containers"][0]["image"].endswith("v1.29.10-minimal-eksbuild.3") for p in pods)
    assert eks.list_updates(name=CLUSTER, addonName="kube-proxy")["updateIds"] == [update["id"]]


def test_cluster_config_and_nodegroup_config_updates(healthy: tuple[Any, Any]) -> None:
    sb, eks = healthy
    u = check(eks, "UpdateClusterConfig",
              eks.update_cluster_config(name=CLUSTER, upgradePolicy={"supportType": "STANDARD"}))["update"]
    assert u["type"] == "UpgradePolicyUpdate"
    sb.advance(60)
    assert eks.describe_cluster(name=CLUSTER)["cluster"]["upgradePolicy"]["supportType"] == "STANDARD"
    u = check(eks, "UpdateNodegroupConfig",
              eks.update_nodegroup_config(clusterName=CLUSTER, nodegroupName="system",
                                          scalingConfig={"minSize": 1, "maxSize": 5, "desiredSize": 3}))["update"]
    sb.advance(120)
    assert eks.describe_update(name=CLUSTER, updateId=u["id"], nodegroupName="system")["update"]["status"] == \
        "Successful"
    assert len(sb.state.nodes_of("system")) == 3
    arn = eks.describe_cluster(name=CLUSTER)["cluster"]["arn"]
    eks.tag_resource(resourceArn=arn, tags={"team": "platform"})
    assert eks.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "platform"}
    eks.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert eks.list_tags_for_resource(resourceArn=arn)["tags"] == {}


# -- refusals -------------------------------------------------------------------------------------


def test_refusals_use_eks_exception_types_and_messages(healthy: tuple[Any, Any]) -> None:
    _, eks = healthy

    def refused(call: Any, **kwargs: Any) -> tuple[str, str, int]:
        with pytest.raises(ClientError) as exc:
            call(**kwargs)
        return error_of(exc)

    assert refused(eks.update_cluster_version, name=CLUSTER, version="1.30") == (
        "InvalidParameterException", "Unsupported Kubernetes minor version update from 1.28 to 1.30", 400)
    assert refused(eks.update_cluster_version, name=CLUSTER, version="1.27") == (
        "InvalidParameterException", "Unsupported Kubernetes minor version update from 1.28 to 1.27", 400)
    assert refused(eks.update_cluster_version, name=CLUSTER, version="1.28")[1] == \
        "Unsupported Kubernetes minor version update from 1.28 to 1.28"
    assert refused(eks.update_cluster_version, name=CLUSTER, version="1.99") == (
        "InvalidParameterException", "unsupported Kubernetes version 1.99", 400)
    assert refused(eks.describe_cluster, name="prod") == (
        "ResourceNotFoundException", "No cluster found for name: prod.", 404)
    assert refused(eks.describe_nodegroup, clusterName=CLUSTER, nodegroupName="gpu") == (
        "ResourceNotFoundException", "No node group found for name: gpu.", 404)
    assert refused(eks.describe_addon, clusterName=CLUSTER, addonName="aws-ebs-csi-driver") == (
        "ResourceNotFoundException", "No addon: aws-ebs-csi-driver found in cluster: demo", 404)
    assert refused(eks.describe_update, name=CLUSTER, updateId="0000")[0] == "ResourceNotFoundException"
    # A node group cannot go above the control plane.
    assert refused(eks.update_nodegroup_version, clusterName=CLUSTER, nodegroupName="apps", version="1.29") == (
        "InvalidParameterException", "Requested Nodegroup version 1.29 is invalid. Allowed version is 1.28", 400)
    assert refused(eks.update_nodegroup_version, clusterName=CLUSTER, nodegroupName="apps",
                   releaseVersion="1.29.15-20260304")[0] == "InvalidParameterException"
    # Add-ons: an incompatible version, and VPC CNI more than one minor at a time.
    assert refused(eks.update_addon, clusterName=CLUSTER, addonName="coredns",
                   addonVersion="v1.12.4-eksbuild.1") == (
        "InvalidParameterException", "Addon version specified is not supported", 400)
    assert refused(eks.update_addon, clusterName=CLUSTER, addonName="vpc-cni",
                   addonVersion="v1.20.4-eksbuild.2")[1] == \
        "Updating VPC-CNI can only go up or down 1 minor version at a time"
    assert refused(eks.create_addon, clusterName=CLUSTER, addonName="vpc-cni") == (
        "ResourceInUseException", "Addon already exists.", 409)
    assert refused(eks.create_cluster, name="other", roleArn="arn:aws:iam::111122223333:role/x",
                   resourcesVpcConfig={"subnetIds": []})[0] == "InvalidParameterException"
    assert refused(eks.delete_cluster, name=CLUSTER)[0] == "ResourceInUseException"
    assert refused(eks.update_cluster_config, name=CLUSTER, upgradePolicy={"supportType": "STANDARD"},
                   logging={"clusterLogging": []})[1] == "Only one type of update can be allowed."
    # The error body carries the fields botocore models for the exception.
    with pytest.raises(eks.exceptions.ResourceNotFoundException) as nf:
        eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName="gpu")
    assert nf.value.response.get("nodegroupName") == "gpu"


def test_control_plane_update_refused_while_a_nodegroup_is_behind(aws_sandbox: Any, aws_client: Any) -> None:
    sb = aws_sandbox("nodes-behind")
    eks = aws_client(sb, "eks", retries=False)
    with pytest.raises(ClientError) as exc:
        eks.update_cluster_version(name=CLUSTER, version="1.30")
    assert error_of(exc) == ("InvalidParameterException", "Nodegroups legacy must be updated to match cluster "
                             "version 1.29 before updating cluster version", 400)
    uid = eks.update_nodegroup_version(clusterName=CLUSTER, nodegroupName="legacy")["update"]["id"]
    sb.advance(3000)
    assert eks.describe_update(name=CLUSTER, updateId=uid, nodegroupName="legacy")["update"]["status"] == \
        "Successful"
    assert eks.update_cluster_version(name=CLUSTER, version="1.30")["update"]["status"] == "InProgress"


def test_al2_nodegroups_stop_at_1_32(aws_sandbox: Any, aws_client: Any) -> None:
    sb = aws_sandbox("al2-nodes-1.32")
    eks = aws_client(sb, "eks", retries=False)
    insights = eks.list_insights(clusterName=CLUSTER, filter={"statuses": ["ERROR"]})["insights"]
    assert [i["name"] for i in insights] == ["Amazon Linux 2 compatibility"]
    _upgrade_control_plane(sb, eks, "1.33")
    with pytest.raises(ClientError) as exc:
        eks.update_nodegroup_version(clusterName=CLUSTER, nodegroupName="legacy-al2")
    assert error_of(exc)[:2] == ("InvalidParameterException",
                                 "AMI Type AL2_x86_64 is only supported for kubernetes versions 1.32 or earlier")
    assert eks.update_nodegroup_version(clusterName=CLUSTER, nodegroupName="modern")["update"]["status"] == \
        "InProgress"


def test_tight_subnets_fail_the_control_plane_update(aws_sandbox: Any, aws_client: Any) -> None:
    sb = aws_sandbox("tight-subnets")
    eks = aws_client(sb, "eks", retries=False)
    issues = eks.describe_cluster(name=CLUSTER)["cluster"]["health"]["issues"]
    assert [i["code"] for i in issues] == ["InsufficientFreeAddresses"]
    uid = eks.update_cluster_version(name=CLUSTER, version="1.30")["update"]["id"]
    sb.advance(200)
    update = eks.describe_update(name=CLUSTER, updateId=uid)["update"]
    assert update["status"] == "Failed" and update["errors"][0]["errorCode"] == "InsufficientFreeAddresses"
    assert eks.describe_cluster(name=CLUSTER)["cluster"]["version"] == "1.29"


# -- insights -------------------------------------------------------------------------------------


def test_insights_report_removed_api_usage(aws_sandbox: Any, aws_client: Any) -> None:
    sb = aws_sandbox("removed-apis")
    eks = aws_client(sb, "eks", retries=False)
    listed = check(eks, "ListInsights", eks.list_insights(clusterName=CLUSTER))
    raw(eks, sb.state, "ListInsights", clusterName=CLUSTER)
    by_name = {(i["name"], i["kubernetesVersion"]): i for i in listed["insights"]}
    dep = by_name[("Deprecated APIs removed in Kubernetes v1.25", "1.25")]
    assert dep["insightStatus"]["status"] == "ERROR" and dep["category"] == "UPGRADE_READINESS"
    assert by_name[("Deprecated APIs removed in Kubernetes v1.26", "1.26")]["insightStatus"]["status"] == "PASSING"
    full = check(eks, "DescribeInsight", eks.describe_insight(clusterName=CLUSTER, id=dep["id"]))["insight"]
    raw(eks, sb.state, "DescribeInsight", clusterName=CLUSTER, id=dep["id"])
    usage = {d["usage"]: d for d in full["categorySpecificSummary"]["deprecationDetails"]}
    assert set(usage) == {"/apis/batch/v1beta1/cronjobs", "/apis/policy/v1beta1/podsecuritypolicies"}
    cron = usage["/apis/batch/v1beta1/cronjobs"]
    assert cron["replacedWith"] == "/apis/batch/v1/cronjobs" and cron["stopServingVersion"] == "1.25"
    agents = {c["userAgent"] for c in cron["clientStats"]}
    assert "Helm/3.15.3" in agents and any(a.startswith("kubectl/") for a in agents)
    assert full["recommendation"] and full["additionalInfo"]
    # Filters.
    errors = eks.list_insights(clusterName=CLUSTER, filter={"statuses": ["ERROR"]})["insights"]
    assert {i["insightStatus"]["status"] for i in errors} == {"ERROR"}
    only_126 = eks.list_insights(clusterName=CLUSTER, filter={"kubernetesVersions": ["1.26"]})["insights"]
    assert {i["kubernetesVersion"] for i in only_126} == {"1.26"}
    assert eks.list_insights(clusterName=CLUSTER, filter={"categories": ["MISCONFIGURATION"]})["insights"] == []
    # Migrating the objects clears the insight.
    store = sb.state.store
    store.delete("policy", "podsecuritypolicies", None, "eks.privileged")
    for cj in store.list("batch", "cronjobs"):
        cj["apiVersion"] = "batch/v1"
        store.put(cj)
    again = eks.describe_insight(clusterName=CLUSTER, id=dep["id"])["insight"]
    assert again["insightStatus"]["status"] == "PASSING"
    with pytest.raises(ClientError) as exc:
        eks.describe_insight(clusterName=CLUSTER, id="not-an-insight")
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_insights_flag_kubelet_skew_and_addon_compatibility(aws_sandbox: Any, aws_client: Any) -> None:
    sb = aws_sandbox("nodes-behind")
    eks = aws_client(sb, "eks", retries=False)
    names = {i["name"]: i for i in eks.list_insights(clusterName=CLUSTER)["insights"]}
    skew = eks.describe_insight(clusterName=CLUSTER, id=names["Kubelet version skew"]["id"])["insight"]
    assert skew["insightStatus"]["status"] == "WARNING" and skew["kubernetesVersion"] == "1.30"
    assert {r["kubernetesResourceUri"].split("/")[-1] for r in skew["resources"]} == \
        {n["metadata"]["name"] for n in sb.state.nodes_of("legacy")}
    compat = eks.describe_insight(clusterName=CLUSTER, id=names["EKS add-on version compatibility"]["id"])
    details = compat["insight"]["categorySpecificSummary"]["addonCompatibilityDetails"]
    assert {d["name"] for d in details} == {"coredns", "kube-proxy", "vpc-cni"}
    assert compat["insight"]["insightStatus"]["status"] == "PASSING"


# -- terraform-style provisioning -----------------------------------------------------------------


def test_terraform_mode_creates_everything_through_the_api(aws_sandbox: Any, aws_client: Any) -> None:
    sb = aws_sandbox("healthy-1.28", cluster_source="terraform")
    eks = aws_client(sb, "eks", retries=False)
    assert eks.list_clusters()["clusters"] == []
    assert not sb.state.kube_available()
    subnets = [s.id for s in sb.state.scenario.cluster.subnets]
    with pytest.raises(ClientError) as exc:
        eks.create_cluster(name="prod", roleArn="arn:aws:iam::111122223333:role/eks",
                           resourcesVpcConfig={"subnetIds": subnets})
    assert "name the cluster 'demo'" in error_of(exc)[1]
    created = check(eks, "CreateCluster", eks.create_cluster(
        name=CLUSTER, version="1.28", roleArn="arn:aws:iam::111122223333:role/eks",
        resourcesVpcConfig={"subnetIds": subnets}))["cluster"]
    assert created["status"] == "CREATING"
    sb.advance(600)
    assert eks.describe_cluster(name=CLUSTER)["cluster"]["status"] == "ACTIVE"
    assert sb.state.kube_available()
    ng = check(eks, "CreateNodegroup", eks.create_nodegroup(
        clusterName=CLUSTER, nodegroupName="system", scalingConfig={"minSize": 1, "maxSize": 4, "desiredSize": 3},
        subnets=subnets, nodeRole="arn:aws:iam::111122223333:role/node", amiType="AL2023_x86_64_STANDARD",
        instanceTypes=["m5.large"]))["nodegroup"]
    assert ng["status"] == "CREATING"
    addon = check(eks, "CreateAddon", eks.create_addon(clusterName=CLUSTER, addonName="coredns",
                                                       addonVersion="v1.10.1-eksbuild.18"))["addon"]
    assert addon["status"] == "CREATING"
    sb.advance(300)
    assert eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName="system")["nodegroup"]["status"] == "ACTIVE"
    assert len(sb.state.nodes_of("system")) == 3
    assert eks.describe_addon(clusterName=CLUSTER, addonName="coredns")["addon"]["status"] == "ACTIVE"
    store = sb.state.store
    assert store.get("apps", "deployments", "apps", "web") is not None  # the scenario's workloads
    assert store.get("", "secrets", "apps", "sh.helm.release.v1.podinfo.v2") is not None
    pods = store.list("", "pods")
    assert pods and all(p["spec"].get("nodeName") for p in pods)
    # Deletion: add-on, node group, then the cluster.
    check(eks, "DeleteAddon", eks.delete_addon(clusterName=CLUSTER, addonName="coredns"))
    check(eks, "DeleteNodegroup", eks.delete_nodegroup(clusterName=CLUSTER, nodegroupName="system"))
    sb.advance(300)
    assert eks.list_addons(clusterName=CLUSTER)["addons"] == []
    assert eks.list_nodegroups(clusterName=CLUSTER)["nodegroups"] == []
    assert store.get("apps", "deployments", "kube-system", "coredns") is None
    check(eks, "DeleteCluster", eks.delete_cluster(name=CLUSTER))
    sb.advance(600)
    assert eks.list_clusters()["clusters"] == []


# -- faults and unknown operations ----------------------------------------------------------------


def test_error_rate_faults_are_seen_by_the_client(aws_sandbox: Any, aws_client: Any) -> None:
    sb = aws_sandbox("healthy-1.28", faults={"error_rate.DescribeCluster": "1",
                                             "error_rate.ListNodegroups": "1",
                                             "error_code.ListNodegroups": "ServerException",
                                             "error_rate.DescribeSubnets": "1",
                                             "error_rate.GetCallerIdentity": "1",
                                             "error_code.GetCallerIdentity": "InternalFailure"})
    eks = aws_client(sb, "eks", retries=False)
    with pytest.raises(ClientError) as exc:
        eks.describe_cluster(name=CLUSTER)
    assert error_of(exc) == ("ThrottlingException", "Rate exceeded", 429)
    with pytest.raises(ClientError) as exc:
        eks.list_nodegroups(clusterName=CLUSTER)
    assert error_of(exc)[0::2] == ("ServerException", 500)
    assert eks.list_addons(clusterName=CLUSTER)["addons"]  # other operations are untouched
    with pytest.raises(ClientError) as exc:
        aws_client(sb, "ec2", retries=False).describe_subnets()
    assert error_of(exc)[0::2] == ("RequestLimitExceeded", 503)
    with pytest.raises(ClientError) as exc:
        aws_client(sb, "sts", retries=False).get_caller_identity()
    assert error_of(exc)[0::2] == ("InternalFailure", 500)
    # With retries on (standard mode) a partial error rate is absorbed by the client.
    sb.state.set_faults({"error_rate.DescribeCluster": "0.3"})
    retrying = aws_client(sb, "eks", retries=True)
    for _ in range(10):
        assert retrying.describe_cluster(name=CLUSTER)["cluster"]["name"] == CLUSTER


def test_fault_draws_are_reproducible_with_a_seed(aws_sandbox: Any, aws_client: Any) -> None:
    def outcomes(seed: int) -> list[bool]:
        sb = aws_sandbox("healthy-1.28", seed=seed, faults={"error_rate.ListClusters": "0.5"})
        eks = aws_client(sb, "eks", retries=False)
        out = []
        for _ in range(20):
            try:
                eks.list_clusters()
                out.append(True)
            except ClientError:
                out.append(False)
        return out

    first = outcomes(7)
    assert first == outcomes(7)
    assert True in first and False in first
    assert first != outcomes(8)


def test_latency_fault_delays_the_answer(aws_sandbox: Any, aws_client: Any) -> None:
    sb = aws_sandbox("healthy-1.28", faults={"latency.ListAddons": "0.3"})
    eks = aws_client(sb, "eks", retries=False)
    eks.list_clusters()
    start = time.monotonic()
    eks.list_addons(clusterName=CLUSTER)
    assert time.monotonic() - start >= 0.3
    start = time.monotonic()
    eks.list_clusters()
    assert time.monotonic() - start < 0.3


def test_failed_update_faults(aws_sandbox: Any, aws_client: Any) -> None:
    sb = aws_sandbox("healthy-1.28", faults={"fail.cluster": "ClusterUnreachable:the endpoint went away",
                                             "fail.addon": "ConfigurationConflict"})
    eks = aws_client(sb, "eks", retries=False)
    uid = eks.update_cluster_version(name=CLUSTER, version="1.29")["update"]["id"]
    sb.advance(1800)
    update = eks.describe_update(name=CLUSTER, updateId=uid)["update"]
    assert update["status"] == "Failed"
    assert update["errors"] == [{"errorCode": "ClusterUnreachable", "errorMessage": "the endpoint went away",
                                 "resourceIds": [CLUSTER]}]
    cluster = eks.describe_cluster(name=CLUSTER)["cluster"]
    assert (cluster["version"], cluster["status"]) == ("1.28", "ACTIVE")
    assert str(sb.state.server_version()) == "1.28"
    uid = eks.update_addon(clusterName=CLUSTER, addonName="coredns", addonVersion="v1.10.1-eksbuild.38")["update"]["id"]
    sb.advance(60)
    assert eks.describe_update(name=CLUSTER, updateId=uid, addonName="coredns")["update"]["errors"][0]["errorCode"] \
        == "ConfigurationConflict"
    assert eks.describe_addon(clusterName=CLUSTER, addonName="coredns")["addon"]["status"] == "UPDATE_FAILED"
    # A node-group roll that ends in PodEvictionFailure, injected on a healthy cluster.
    sb.state.set_faults({"fail.cluster": "", "pdb_block": "true"})
    _upgrade_control_plane(sb, eks, "1.29")
    uid = eks.update_nodegroup_version(clusterName=CLUSTER, nodegroupName="system")["update"]["id"]
    sb.advance(2000)
    update = eks.describe_update(name=CLUSTER, updateId=uid, nodegroupName="system")["update"]
    assert update["status"] == "Failed" and update["errors"][0]["errorCode"] == "PodEvictionFailure"


def test_unknown_and_unimplemented_operations(healthy: tuple[Any, Any], aws_client: Any) -> None:
    sb, eks = healthy
    req = urllib.request.Request(sb.url + "/no/such/path", headers={
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/eks/aws4_request, "
                         "SignedHeaders=host, Signature=0"})
    with pytest.raises(urllib.error.HTTPError) as http:
        urllib.request.urlopen(req, timeout=5)
    assert http.value.code == 404 and http.value.headers["x-amzn-ErrorType"] == "UnknownOperationException"
    assert "message" in json.loads(http.value.read())
    with pytest.raises(ClientError) as exc:
        eks.list_access_policies()  # in the model, not simulated
    assert error_of(exc)[0::2] == ("UnknownOperationException", 404)
    with pytest.raises(ClientError) as exc:
        aws_client(sb, "ec2", retries=False).describe_vpcs()
    assert error_of(exc) == ("InvalidAction", "The action DescribeVpcs is not valid for this web service.", 400)
    with pytest.raises(ClientError) as exc:
        aws_client(sb, "sts", retries=False).get_session_token()
    assert error_of(exc)[0] == "InvalidAction"
    with pytest.raises(ClientError) as exc:
        aws_client(sb, "s3", retries=False).list_buckets()
    assert error_of(exc)[0] == "UnknownOperationException"
    assert eks.list_clusters()["clusters"] == [CLUSTER]  # still serving

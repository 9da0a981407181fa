"""The sandbox's Kubernetes API server, driven by the official kubernetes client over real HTTPS."""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
import yaml
from kube_fixtures import FakeBackend, RunningServer, node, running_server
from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException

from eks_tfup import k8s_apis
from eks_tfup.sandbox import kube_semantics as sem
from eks_tfup.sandbox.store import ObjectStore
from eks_tfup.versions import Minor


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[RunningServer]:
    with running_server(tmp_path) as rs:
        for name in ("node-a", "node-b", "node-c"):
            rs.backend.store.create(node(name))
        yield rs


def api_client(rs: RunningServer) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(rs.kubeconfig))


def raw_get(rs: RunningServer, path: str, token: str | None = None) -> tuple[int, Any]:
    ctx = ssl.create_default_context(cadata=(rs.server.ca_pem or b"").decode())
    req = urllib.request.Request(rs.url + path)
    req.add_header("Authorization", f"Bearer {token or rs.backend.token}")
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            body = resp.read()
            return resp.status, json.loads(body) if resp.headers["Content-Type"] == "application/json" else body
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def deployment(name: str, replicas: int, image: str = "nginx:1.25") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "main", "image": image,
                                                           "ports": [{"containerPort": 80}],
                                                           "env": [{"name": "A", "value": "1"}]}]}}}}


# -- auth, version, health, outage, faults -------------------------------------------------------


def test_version_and_health(srv: RunningServer) -> None:
    info = client.VersionApi(api_client(srv)).get_code()
    assert (info.major, info.minor, info.git_version) == ("1", "28", "v1.28.15-eks-7f9249a")
    assert raw_get(srv, "/healthz") == (200, b"ok")
    assert srv.backend.advances >= 2  # simulated time is brought up to date on every request


def test_wrong_token_is_refused_with_a_status(srv: RunningServer, tmp_path: Path) -> None:
    cfg = yaml.safe_load(srv.kubeconfig.read_text())
    cfg["users"][0]["user"]["token"] = "wrong"
    bad = tmp_path / "bad-kubeconfig"
    bad.write_text(yaml.safe_dump(cfg))
    v1 = client.CoreV1Api(config.new_client_from_config(config_file=str(bad)))
    with pytest.raises(ApiException) as err:
        v1.list_namespace()
    assert err.value.status == 401
    body = json.loads(err.value.body)
    assert (body["kind"], body["status"], body["reason"], body["code"]) == ("Status", "Failure", "Unauthorized", 401)
    assert raw_get(srv, "/api/v1/namespaces", token="wrong")[0] == 401


def test_outage_window_refuses_connections_then_recovers(srv: RunningServer) -> None:
    api = api_client(srv)
    api.configuration.retries = 0
    v1 = client.CoreV1Api(api)
    srv.backend.available = False
    with pytest.raises((urllib3.exceptions.HTTPError, ConnectionError)):
        v1.list_namespace()
    srv.backend.available = True
    assert "default" in [ns.metadata.name for ns in v1.list_namespace().items]


def test_injected_faults_answer_status_and_latency(srv: RunningServer) -> None:
    v1 = client.CoreV1Api(api_client(srv))
    srv.backend.faults[("list", "configmaps")] = (429, 0.0)
    with pytest.raises(ApiException) as err:
        v1.list_namespaced_config_map("default")
    assert err.value.status == 429 and json.loads(err.value.body)["reason"] == "TooManyRequests"
    srv.backend.faults[("list", "configmaps")] = (0, 0.3)
    started = time.monotonic()
    v1.list_namespaced_config_map("default")
    assert time.monotonic() - started >= 0.3


# -- discovery -------------------------------------------------------------------------------------


def test_discovery_follows_the_control_plane_minor(srv: RunningServer) -> None:
    srv.backend.minor = Minor(1, 24)
    groups = {g["name"]: g for g in raw_get(srv, "/apis")[1]["groups"]}
    assert {"groupVersion": "policy/v1beta1", "version": "v1beta1"} in groups["policy"]["versions"]
    assert groups["policy"]["preferredVersion"]["version"] == "v1"
    assert raw_get(srv, "/apis/policy/v1beta1")[0] == 200

    srv.backend.minor = Minor(1, 25)
    groups = {g["name"]: g for g in raw_get(srv, "/apis")[1]["groups"]}
    assert [v["version"] for v in groups["policy"]["versions"]] == ["v1"]
    code, body = raw_get(srv, "/apis/policy/v1beta1")
    assert (code, body["kind"], body["reason"]) == (404, "Status", "NotFound")
    assert raw_get(srv, "/apis/policy/v1beta1/namespaces/default/poddisruptionbudgets")[0] == 404

    srv.backend.minor = Minor(1, 28)
    assert raw_get(srv, "/apis/flowcontrol.apiserver.k8s.io/v1beta2")[0] == 200
    srv.backend.minor = Minor(1, 29)
    assert raw_get(srv, "/apis/flowcontrol.apiserver.k8s.io/v1beta2")[0] == 404
    assert raw_get(srv, "/apis/flowcontrol.apiserver.k8s.io/v1")[0] == 200
    assert client.VersionApi(api_client(srv)).get_code().minor == "29"


def test_resource_lists_name_kinds_verbs_and_subresources(srv: RunningServer) -> None:
    core = {r["name"]: r for r in raw_get(srv, "/api/v1")[1]["resources"]}
    assert core["pods"]["kind"] == "Pod" and core["pods"]["namespaced"] is True
    assert core["pods"]["shortNames"] == ["po"] and "watch" in core["pods"]["verbs"]
    assert core["pods/eviction"]["kind"] == "Eviction" and core["pods/eviction"]["group"] == "policy"
    assert {"pods/log", "pods/status", "nodes/status", "namespaces/finalize"} <= set(core)
    assert core["nodes"]["namespaced"] is False
    apps = {r["name"]: r for r in raw_get(srv, "/apis/apps/v1")[1]["resources"]}
    assert apps["deployments/scale"]["kind"] == "Scale"


@pytest.mark.slow
def test_dynamic_client_discovers_and_serves_every_v1_kind_of_the_main_groups(
        srv: RunningServer, tmp_path: Path) -> None:
    dyn = dynamic.DynamicClient(api_client(srv), cache_file=str(tmp_path / "discovery.json"))
    groups = ("", "apps", "policy", "batch", "networking.k8s.io", "rbac.authorization.k8s.io", "storage.k8s.io")
    kinds = [r for r in k8s_apis.served(Minor(1, 28)) if r.group in groups and r.version == "v1"]
    assert len(kinds) >= 30
    for res in kinds:
        api = dyn.resources.get(api_version=res.api_version, kind=res.kind)
        name = f"t-{res.kind.lower()}"
        body = {"apiVersion": res.api_version, "kind": res.kind, "metadata": {"name": name}}
        body.update(_MINIMAL.get(res.kind, {}))
        created = api.create(body=body, namespace="default" if res.namespaced else None)
        assert created.metadata.uid and created.kind == res.kind
        got = api.get(name=name, namespace="default" if res.namespaced else None)
        assert got.metadata.name == name and got.apiVersion == res.api_version
        listed = api.get() if not res.namespaced else api.get(namespace="default")
        assert listed.kind == f"{res.kind}List" and name in [i.metadata.name for i in listed.items]


_POD_TEMPLATE = {"metadata": {"labels": {"app": "t"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
_MINIMAL: dict[str, dict[str, Any]] = {
    "Pod": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}},
    "Deployment": {"spec": {"selector": {"matchLabels": {"app": "t"}}, "template": _POD_TEMPLATE}},
    "DaemonSet": {"spec": {"selector": {"matchLabels": {"app": "t"}}, "template": _POD_TEMPLATE}},
    "StatefulSet": {"spec": {"selector": {"matchLabels": {"app": "t"}}, "template": _POD_TEMPLATE,
                             "serviceName": "t"}},
    "ReplicaSet": {"spec": {"selector": {"matchLabels": {"app": "t"}}, "template": _POD_TEMPLATE}},
    "ControllerRevision": {"revision": 1},
    "Job": {"spec": {"template": {**_POD_TEMPLATE, "spec": {**_POD_TEMPLATE["spec"], "restartPolicy": "Never"}}}},
    "CronJob": {"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": _POD_TEMPLATE}}}},
    "Event": {"involvedObject": {"kind": "Pod", "name": "x"}},
    "RoleBinding": {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"}},
    "ClusterRoleBinding": {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                       "name": "r"}},
    "StorageClass": {"provisioner": "ebs.csi.aws.com"},
    "CSIDriver": {"spec": {}},
    "CSINode": {"spec": {"drivers": []}},
    "VolumeAttachment": {"spec": {"attacher": "ebs.csi.aws.com", "nodeName": "node-a", "source": {}}},
    "CSIStorageCapacity": {"storageClassName": "gp3"},
    "PersistentVolume": {"spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                                  "hostPath": {"path": "/tmp"}}},
}


def test_typed_client_lists_every_v1_kind(srv: RunningServer) -> None:
    api = api_client(srv)
    apis = {"": client.CoreV1Api(api), "apps": client.AppsV1Api(api), "policy": client.PolicyV1Api(api),
            "batch": client.BatchV1Api(api), "networking.k8s.io": client.NetworkingV1Api(api),
            "rbac.authorization.k8s.io": client.RbacAuthorizationV1Api(api),
            "storage.k8s.io": client.StorageV1Api(api)}
    for res in k8s_apis.served(Minor(1, 28)):
        if res.group not in apis or res.version != "v1":
            continue
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", res.kind).lower().replace("c_s_i", "csi")
        method = f"list_{snake}_for_all_namespaces" if res.namespaced else f"list_{snake}"
        listed = getattr(apis[res.group], method)()
        assert listed.kind == f"{res.kind}List", method
    nodes = client.CoreV1Api(api).list_node().items
    assert [n.metadata.name for n in nodes] == ["node-a", "node-b", "node-c"]


# -- REST semantics --------------------------------------------------------------------------------


def test_create_conflicts_patches_and_delete(srv: RunningServer) -> None:
    api = api_client(srv)
    v1 = client.CoreV1Api(api)
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "1"}},
          "data": {"k": "v", "drop": "x"}}
    created = v1.create_namespaced_config_map("default", cm)
    with pytest.raises(ApiException) as err:
        v1.create_namespaced_config_map("default", cm)
    assert err.value.status == 409 and json.loads(err.value.body)["reason"] == "AlreadyExists"

    # Optimistic concurrency: a stale resourceVersion is a 409 Conflict.
    stale = dict(cm, metadata={**cm["metadata"], "resourceVersion": "1"})
    with pytest.raises(ApiException) as err:
        v1.replace_namespaced_config_map("c", "default", stale)
    assert err.value.status == 409 and json.loads(err.value.body)["reason"] == "Conflict"
    fresh = dict(cm, metadata={**cm["metadata"], "resourceVersion": created.metadata.resource_version})
    assert v1.replace_namespaced_config_map("c", "default", fresh).metadata.uid == created.metadata.uid

    merged = v1.patch_namespaced_config_map("c", "default", {"data": {"drop": None, "new": "n"}},
                                            _content_type="application/merge-patch+json")
    assert merged.data == {"k": "v", "new": "n"}
    patched = v1.patch_namespaced_config_map("c", "default", [{"op": "replace", "path": "/data/k", "value": "w"},
                                                              {"op": "add", "path": "/metadata/labels/b",
                                                               "value": "2"}],
                                            _content_type="application/json-patch+json")
    assert patched.data["k"] == "w" and patched.metadata.labels == {"a": "1", "b": "2"}
    with pytest.raises(ApiException) as err:
        v1.patch_namespaced_config_map("c", "default", [{"op": "test", "path": "/data/k", "value": "nope"}],
                                       _content_type="application/json-patch+json")
    assert err.value.status == 422

    status = v1.delete_namespaced_config_map("c", "default")
    assert (status["kind"], status["status"], status["details"]["name"]) == ("Status", "Success", "c")
    with pytest.raises(ApiException) as err:
        v1.read_namespaced_config_map("c", "default")
    assert err.value.status == 404 and json.loads(err.value.body)["details"]["name"] == "c"


def test_strategic_merge_patch_merges_containers_env_and_ports(srv: RunningServer) -> None:
    apps = client.AppsV1Api(api_client(srv))
    apps.create_namespaced_deployment("default", deployment("web", 2))
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "nginx:1.26", "env": [{"name": "B", "value": "2"}],
         "ports": [{"containerPort": 443}]},
        {"name": "sidecar", "image": "envoy:1"}],
        "$setElementOrder/containers": [{"name": "main"}, {"name": "sidecar"}]}}}}
    got = apps.patch_namespaced_deployment("web", "default", patch)  # the client's default: strategic
    main, side = got.spec.template.spec.containers
    assert (main.image, side.name) == ("nginx:1.26", "sidecar")
    assert [e.name for e in main.env] == ["A", "B"]
    assert sorted(p.container_port for p in main.ports) == [80, 443]
    assert got.metadata.generation == 2
    deleted = apps.patch_namespaced_deployment("web", "default", {"spec": {"template": {"spec": {
        "containers": [{"name": "sidecar", "$patch": "delete"}]}}}})
    assert [c.name for c in deleted.spec.template.spec.containers] == ["main"]


def test_server_side_apply_is_refused_with_415(srv: RunningServer) -> None:
    v1 = client.CoreV1Api(api_client(srv))
    v1.create_namespaced_config_map("default", {"metadata": {"name": "x"}})
    with pytest.raises(ApiException) as err:
        v1.patch_namespaced_config_map("x", "default", {"data": {"a": "b"}}, field_manager="t",
                                       _content_type="application/apply-patch+yaml")
    assert err.value.status == 415


def test_namespaced_object_in_missing_namespace_is_404(srv: RunningServer) -> None:
    v1 = client.CoreV1Api(api_client(srv))
    with pytest.raises(ApiException) as err:
        v1.create_namespaced_config_map("nowhere", {"metadata": {"name": "x"}})
    assert err.value.status == 404 and 'namespaces "nowhere" not found' in json.loads(err.value.body)["message"]
    v1.create_namespace({"metadata": {"name": "nowhere"}})
    v1.create_namespaced_config_map("nowhere", {"metadata": {"name": "x"}})
    v1.delete_namespace("nowhere")
    assert v1.list_namespaced_config_map("nowhere").items == []


def test_reading_through_a_removed_group_version_is_404(srv: RunningServer) -> None:
    client.PolicyV1Api(api_client(srv)).create_namespaced_pod_disruption_budget(
        "default", {"metadata": {"name": "p"}, "spec": {"minAvailable": 1, "selector": {}}})
    srv.backend.minor = Minor(1, 24)
    code, body = raw_get(srv, "/apis/policy/v1beta1/namespaces/default/poddisruptionbudgets/p")
    assert (code, body["apiVersion"]) == (200, "policy/v1beta1")  # same object, served in the asked version
    srv.backend.minor = Minor(1, 25)
    assert raw_get(srv, "/apis/policy/v1beta1/namespaces/default/poddisruptionbudgets/p")[0] == 404


def test_pagination_over_ten_thousand_pods_and_label_selectors(tmp_path: Path) -> None:
    backend = FakeBackend()
    for i in range(10_000):
        backend.store.create({"apiVersion": "v1", "kind": "Pod",
                              "metadata": {"name": f"p-{i:05d}", "namespace": "default",
                                           "labels": {"tier": "odd" if i % 2 else "even"}},
                              "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    with running_server(tmp_path, backend) as rs:
        v1 = client.CoreV1Api(api_client(rs))
        names: list[str] = []
        token, pages = None, 0
        started = time.monotonic()
        while True:
            page = v1.list_namespaced_pod("default", limit=1000, _continue=token)
            names += [p.metadata.name for p in page.items]
            pages += 1
            assert page.metadata.resource_version
            token = page.metadata._continue
            if not token:
                break
        elapsed = time.monotonic() - started
        assert pages == 10 and len(set(names)) == 10_000 and names == sorted(names)
        assert elapsed < 30, f"paging 10,000 pods took {elapsed:.1f}s"
        odd = v1.list_namespaced_pod("default", label_selector="tier=odd", limit=10)
        assert len(odd.items) == 10 and all(p.metadata.labels["tier"] == "odd" for p in odd.items)
        assert odd.metadata._continue
        one = v1.list_namespaced_pod("default", field_selector="metadata.name=p-00042").items
        assert [p.metadata.name for p in one] == ["p-00042"]


def test_watch_sends_current_objects_then_live_events(srv: RunningServer) -> None:
    v1 = client.CoreV1Api(api_client(srv))
    v1.create_namespaced_config_map("default", {"metadata": {"name": "before"}})
    timer = threading.Timer(0.5, lambda: v1.create_namespaced_config_map("default", {"metadata": {"name": "after"}}))
    timer.start()
    seen = [(e["type"], e["object"].metadata.name)
            for e in watch.Watch().stream(v1.list_namespaced_config_map, "default", timeout_seconds=2)]
    timer.join()
    assert seen == [("ADDED", "before"), ("ADDED", "after")]


# -- workloads, PDBs, eviction ---------------------------------------------------------------------


def test_deployment_materialises_ready_pods_spread_over_schedulable_nodes(srv: RunningServer) -> None:
    srv.backend.store.put(node("node-c", unschedulable=True))
    api = api_client(srv)
    apps, v1 = client.AppsV1Api(api), client.CoreV1Api(api)
    dep = apps.create_namespaced_deployment("default", deployment("web", 4))
    assert (dep.status.replicas, dep.status.ready_replicas, dep.status.available_replicas) == (4, 4, 4)
    pods = v1.list_namespaced_pod("default", label_selector="app=web").items
    assert sorted(p.spec.node_name for p in pods) == ["node-a", "node-a", "node-b", "node-b"]
    assert all(p.status.phase == "Running" for p in pods)
    rs = apps.list_namespaced_replica_set("default").items
    assert [r.metadata.owner_references[0].name for r in rs] == ["web"]
    assert {p.metadata.owner_references[0].name for p in pods} == {rs[0].metadata.name}

    svc = v1.create_namespaced_service("default", {"metadata": {"name": "web"},
                                                   "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    assert svc.spec.cluster_ip.startswith("10.100.")

    # A new pod template rolls every pod.
    apps.patch_namespaced_deployment("web", "default", {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "nginx:1.26"}]}}}})
    new_pods = v1.list_namespaced_pod("default", label_selector="app=web").items
    assert len(new_pods) == 4 and not {p.metadata.name for p in new_pods} & {p.metadata.name for p in pods}
    assert {p.spec.containers[0].image for p in new_pods} == {"nginx:1.26"}
    apps.delete_namespaced_deployment("web", "default")
    assert v1.list_namespaced_pod("default").items == []


def test_daemonset_runs_on_every_ready_node(srv: RunningServer) -> None:
    api = api_client(srv)
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
          "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": _POD_TEMPLATE | {
              "metadata": {"labels": {"app": "agent"}}}}}
    got = client.AppsV1Api(api).create_namespaced_daemon_set("kube-system", ds)
    assert got.status.number_ready == 3
    pods = client.CoreV1Api(api).list_namespaced_pod("kube-system").items
    assert sorted(p.spec.node_name for p in pods) == ["node-a", "node-b", "node-c"]


def test_eviction_blocked_by_a_pdb_allowing_no_disruption_answers_429(srv: RunningServer) -> None:
    api = api_client(srv)
    apps, v1, policy = client.AppsV1Api(api), client.CoreV1Api(api), client.PolicyV1Api(api)
    apps.create_namespaced_deployment("default", deployment("web", 2))
    policy.create_namespaced_pod_disruption_budget("default", {
        "metadata": {"name": "web"}, "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}})
    pdb = policy.read_namespaced_pod_disruption_budget("web", "default")
    assert (pdb.status.current_healthy, pdb.status.desired_healthy, pdb.status.disruptions_allowed,
            pdb.status.expected_pods) == (2, 2, 0, 2)
    victim = v1.list_namespaced_pod("default", label_selector="app=web").items[0].metadata.name
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": victim, "namespace": "default"}}
    with pytest.raises(ApiException) as err:
        v1.create_namespaced_pod_eviction(victim, "default", eviction)
    assert err.value.status == 429
    assert json.loads(err.value.body)["message"] == sem.BLOCKED_BY_PDB

    policy.patch_namespaced_pod_disruption_budget("web", "default", {"spec": {"minAvailable": "50%"}})
    v1.create_namespaced_pod_eviction(victim, "default", eviction)
    pods = v1.list_namespaced_pod("default", label_selector="app=web").items
    assert len(pods) == 2 and victim not in [p.metadata.name for p in pods]  # the ReplicaSet replaced it


@pytest.mark.parametrize(("spec", "allowed"), [
    ({"minAvailable": 2}, 1), ({"minAvailable": "50%"}, 1), ({"minAvailable": "30%"}, 2),
    ({"maxUnavailable": 0}, 0), ({"maxUnavailable": 1}, 1), ({"maxUnavailable": "30%"}, 1),
    ({"maxUnavailable": "100%"}, 3), ({"minAvailable": "100%"}, 0),
])
def test_pdb_math_and_try_evict(spec: dict[str, Any], allowed: int) -> None:
    store = ObjectStore()
    store.create(node("n1"))
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
    dep = store.create(sem.default_object(store, deployment("web", 3)))
    sem.reconcile(store, dep)
    pdb = store.create({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                        "metadata": {"name": "p", "namespace": "default"},
                        "spec": {**spec, "selector": {"matchLabels": {"app": "web"}}}})
    assert sem.pdb_status(store, pdb)["disruptionsAllowed"] == allowed
    pod = store.list("", "pods", "default")[0]["metadata"]["name"]
    result = sem.try_evict(store, "default", pod)
    assert (result is None) == (allowed > 0)
    assert result in (None, sem.BLOCKED_BY_PDB)


def test_strategic_merge_patch_directives() -> None:
    target = {"metadata": {"labels": {"a": "1", "b": "2"}, "finalizers": ["x"]},
              "spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}],
                       "tolerations": [{"key": "k"}], "ports": [{"port": 80, "name": "http"}]}}
    patch = {"metadata": {"labels": {"b": None, "c": "3"}, "finalizers": ["y"]},
             "spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                      "containers": [{"name": "b", "image": "2"}],
                      "tolerations": [{"key": "other"}],
                      "ports": [{"port": 443}, {"port": 80, "$patch": "delete"}]}}
    out = sem.strategic_merge_patch(target, patch)
    assert out["metadata"] == {"labels": {"a": "1", "c": "3"}, "finalizers": ["x", "y"]}
    assert out["spec"]["containers"] == [{"name": "b", "image": "2"}, {"name": "a", "image": "1"}]
    assert out["spec"]["tolerations"] == [{"key": "other"}]  # no merge key: replaced
    assert out["spec"]["ports"] == [{"port": 443}]
    replaced = sem.strategic_merge_patch(target, {"metadata": {"labels": {"$patch": "replace", "z": "9"}}})
    assert replaced["metadata"]["labels"] == {"z": "9"}
    retained = sem.strategic_merge_patch(target, {"spec": {"$retainKeys": ["tolerations"],
                                                           "tolerations": [{"key": "z"}]}})
    assert retained["spec"] == {"tolerations": [{"key": "z"}]}

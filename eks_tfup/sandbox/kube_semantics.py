"""What a Kubernetes control plane does besides storing objects, reduced to what an upgrade sees.

- Patches: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and the parts of strategic merge
  patch that `helm upgrade` and `kubectl` send for built-in kinds.
- Defaulting on create (Service clusterIP, Deployment strategy, Namespace phase...).
- Controllers, run synchronously and deterministically: Deployments own ReplicaSets that own
  Pods, DaemonSets put one Pod on every Ready node, StatefulSets own `name-<i>` Pods, Jobs
  complete at once. Pods are placed on Ready, schedulable nodes (fewest pods first) and are Ready
  at once. A store holding no Node at all models a cluster whose nodes are not simulated: Pods
  there run without a node name.
- PodDisruptionBudgets: status computed on read, and eviction honouring them (`try_evict`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from typing import Any

from eks_tfup.sandbox.store import Obj, ObjectStore, now_rfc3339

BLOCKED_BY_PDB = "Cannot evict pod as it would violate the pod's disruption budget."

# -- patches ---------------------------------------------------------------------------------------


class PatchError(ValueError):
    """The patch cannot be applied (bad path, failed `test`, wrong shape): answered 422."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: maps merge recursively, `null` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str]) -> Any:
    cur = doc
    for part in parts:
        if isinstance(cur, dict):
            if part not in cur:
                raise PatchError(f"path element {part!r} not found")
            cur = cur[part]
        elif isinstance(cur, list):
            cur = cur[_index(cur, part, allow_end=False)]
        else:
            raise PatchError(f"cannot descend into {part!r}")
    return cur


def _index(lst: list[Any], part: str, *, allow_end: bool) -> int:
    if part == "-" and allow_end:
        return len(lst)
    if not part.isdigit():
        raise PatchError(f"invalid array index {part!r}")
    idx = int(part)
    if idx > len(lst) or (idx == len(lst) and not allow_end):
        raise PatchError(f"array index {idx} out of range")
    return idx


def json_patch(doc: Any, ops: Any) -> Any:
    """RFC 6902: add, remove, replace, move, copy, test."""
    if not isinstance(ops, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"invalid JSON patch operation {op!r}")
        kind, parts = op["op"], _pointer(op["path"])
        if kind in ("move", "copy"):
            value = copy.deepcopy(_walk(doc, _pointer(op["from"])))
            if kind == "move":
                doc = _remove(doc, _pointer(op["from"]))
            doc = _add(doc, parts, value)
        elif kind == "add":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            doc = _remove(doc, parts)
        elif kind == "replace":
            _walk(doc, parts)  # must exist
            doc = _add(_remove(doc, parts), parts, copy.deepcopy(op.get("value")))
        elif kind == "test":
            if _walk(doc, parts) != op.get("value"):
                raise PatchError(f"test operation failed at {op['path']!r}")
        else:
            raise PatchError(f"unknown JSON patch operation {kind!r}")
    return doc


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent = _walk(doc, parts[:-1])
    if isinstance(parent, dict):
        parent[parts[-1]] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, parts[-1], allow_end=True), value)
    else:
        raise PatchError(f"cannot add at {'/'.join(parts)!r}")
    return doc


def _remove(doc: Any, parts: list[str]) -> Any:
    if not parts:
        return None
    parent = _walk(doc, parts[:-1])
    if isinstance(parent, dict):
        if parts[-1] not in parent:
            raise PatchError(f"path element {parts[-1]!r} not found")
        del parent[parts[-1]]
    elif isinstance(parent, list):
        del parent[_index(parent, parts[-1], allow_end=False)]
    else:
        raise PatchError(f"cannot remove at {'/'.join(parts)!r}")
    return doc


# Merge keys of the built-in types' lists (the `patchMergeKey` tags in k8s.io/api), keyed by
# field name; a few depend on the parent (`ports` in a container vs in a Service).
_MERGE_KEYS: dict[str, str] = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "volumes": "name",
    "env": "name", "imagePullSecrets": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
    "hostAliases": "ip", "conditions": "type", "ownerReferences": "uid", "resourceClaims": "name",
    "topologySpreadConstraints": "topologyKey", "secrets": "name", "subsets": "",
}
# Primitive lists with patchStrategy=merge: union instead of replace.
_MERGED_PRIMITIVE_LISTS = {"finalizers"}


def _merge_key(field: str, parent: str) -> str | None:
    if field == "ports":
        return "containerPort" if parent in ("containers", "initContainers", "ephemeralContainers") else "port"
    key = _MERGE_KEYS.get(field)
    return key or None


def strategic_merge_patch(target: Any, patch: Any, field: str = "", parent: str = "") -> Any:
    """Strategic merge patch as `kubectl`/`helm` send it for built-in kinds.

    Maps merge, `null` deletes, lists with a merge key merge element by element, other lists are
    replaced; `$patch: replace|delete|merge`, `$deleteFromPrimitiveList/<f>`, `$retainKeys` and
    `$setElementOrder/<f>` directives are honoured.
    """
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    out: dict[str, Any] = copy.deepcopy(target) if isinstance(target, dict) else {}
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key == "$patch" or key == "$retainKeys":
            continue
        if key.startswith("$setElementOrder/"):
            orders[key.partition("/")[2]] = value if isinstance(value, list) else []
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.partition("/")[2]
            if isinstance(out.get(name), list) and isinstance(value, list):
                out[name] = [v for v in out[name] if v not in value]
            continue
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict):
            merged = strategic_merge_patch(out.get(key), value, key, field)
            if merged is None:
                out.pop(key, None)
            else:
                out[key] = merged
        elif isinstance(value, list):
            out[key] = _merge_list(out.get(key), value, key, field)
        else:
            out[key] = copy.deepcopy(value)
    for name, order in orders.items():
        mkey = _merge_key(name, field)
        if mkey and isinstance(out.get(name), list):
            out[name] = _apply_order(out[name], order, mkey)
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        out = {k: v for k, v in out.items() if k in retain}
    return out


def _merge_list(current: Any, patch: list[Any], field: str, parent: str) -> list[Any]:
    if any(isinstance(e, dict) and e.get("$patch") == "replace" for e in patch):
        return [copy.deepcopy(e) for e in patch if not (isinstance(e, dict) and "$patch" in e)]
    cur = current if isinstance(current, list) else []
    if field in _MERGED_PRIMITIVE_LISTS:
        return copy.deepcopy(cur) + [v for v in patch if v not in cur]
    mkey = _merge_key(field, parent)
    if not mkey or not all(isinstance(e, dict) for e in patch):
        return copy.deepcopy(patch)
    out = [copy.deepcopy(e) for e in cur]
    for elem in patch:
        idx = next((i for i, c in enumerate(out) if isinstance(c, dict) and c.get(mkey) == elem.get(mkey)),
                   None)
        if elem.get("$patch") == "delete":
            if idx is not None:
                del out[idx]
            continue
        if idx is None:
            out.append({k: copy.deepcopy(v) for k, v in elem.items() if k != "$patch"})
        else:
            out[idx] = strategic_merge_patch(out[idx], elem, field, parent)
    return out


def _apply_order(items: list[Any], order: list[Any], mkey: str) -> list[Any]:
    rank = {(o.get(mkey) if isinstance(o, dict) else o): i for i, o in enumerate(order)}
    # Elements the order does not name keep their relative place after the named ones.
    return sorted(items, key=lambda e: rank.get(e.get(mkey) if isinstance(e, dict) else e, len(rank)))


# -- small object helpers --------------------------------------------------------------------------


def _meta(obj: Obj) -> dict[str, Any]:
    meta: dict[str, Any] = obj.setdefault("metadata", {})
    return meta


def pod_ready(pod: Obj) -> bool:
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def node_ready(node: Obj) -> bool:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def node_schedulable(node: Obj) -> bool:
    return node_ready(node) and not (node.get("spec") or {}).get("unschedulable")


def selector_string(selector: dict[str, Any] | None) -> str | None:
    """A LabelSelector object as the string form `match_labels` reads ("" selects everything)."""
    if not selector:
        return ""
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        if op == "In":
            terms.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            terms.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            terms.append(key)
        elif op == "DoesNotExist":
            terms.append(f"!{key}")
    return ",".join(terms)


def owner_ref(owner: Obj) -> dict[str, Any]:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def _owned_by(obj: Obj, owner: Obj) -> bool:
    uid = owner["metadata"].get("uid")
    return any(r.get("uid") == uid and r.get("controller") for r in _meta(obj).get("ownerReferences") or [])


_SAFE = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet Kubernetes uses for generated suffixes


def _safe_hash(text: str, length: int) -> str:
    digest = hashlib.sha256(text.encode()).digest()
    return "".join(_SAFE[b % len(_SAFE)] for b in digest[:length])


def template_hash(template: dict[str, Any]) -> str:
    return _safe_hash(json.dumps(template, sort_keys=True), 10)


# -- defaulting ------------------------------------------------------------------------------------

def _next_cluster_ip(store: ObjectStore) -> str:
    used = {s.get("spec", {}).get("clusterIP") for s in store.list("", "services")}
    n = 10
    while True:
        ip = f"10.100.{n // 250}.{n % 250 + 1}"
        if ip not in used:
            return ip
        n += 1


def default_object(store: ObjectStore, obj: Obj, old: Obj | None = None) -> Obj:
    """Fill in what the real API server defaults, on create (`old` None) and update."""
    kind = obj.get("kind")
    spec = obj.setdefault("spec", {}) if kind not in ("Namespace", "ConfigMap", "Secret", "ServiceAccount",
                                                       "Role", "ClusterRole", "RoleBinding",
                                                       "ClusterRoleBinding", "Endpoints", "Event",
                                                       "StorageClass", "PriorityClass", "Lease",
                                                       "EndpointSlice") else {}
    if kind == "Namespace":
        _meta(obj).setdefault("labels", {})["kubernetes.io/metadata.name"] = _meta(obj).get("name", "")
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active"}
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None) or {}
        if string_data:
            import base64
            data = obj.setdefault("data", {})
            for k, v in string_data.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
    elif kind == "Service":
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
        if spec["type"] != "ExternalName":
            old_ip = ((old or {}).get("spec") or {}).get("clusterIP")
            if not spec.get("clusterIP"):
                spec["clusterIP"] = old_ip or _next_cluster_ip(store)
            spec["clusterIPs"] = [spec["clusterIP"]]
        obj.setdefault("status", {"loadBalancer": {}})
    elif kind == "Deployment":
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            strategy["type"] = "RollingUpdate"
            ru = strategy.setdefault("rollingUpdate", {})
            ru.setdefault("maxUnavailable", "25%")
            ru.setdefault("maxSurge", "25%")
    elif kind == "DaemonSet":
        strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            strategy["type"] = "RollingUpdate"
            ru = strategy.setdefault("rollingUpdate", {})
            ru.setdefault("maxUnavailable", 1)
            ru.setdefault("maxSurge", 0)
        spec.setdefault("revisionHistoryLimit", 10)
    elif kind == "StatefulSet":
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            strategy["type"] = "RollingUpdate"
            strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
        spec.setdefault("revisionHistoryLimit", 10)
    elif kind == "ReplicaSet":
        spec.setdefault("replicas", 1)
    elif kind == "PersistentVolumeClaim":
        obj["status"] = {"phase": "Bound", **{k: v for k, v in (obj.get("status") or {}).items()
                                              if k != "phase"}}
    elif kind == "Pod":
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("dnsPolicy", "ClusterFirst")
        spec.setdefault("schedulerName", "default-scheduler")
        spec.setdefault("terminationGracePeriodSeconds", 30)
    return obj


# The official Python client (37.x) validates responses with pydantic and rejects a Node whose
# nodeInfo lacks any of these, so a node seeded with only a kubelet version is completed on read.
_NODE_INFO_DEFAULTS = {
    "architecture": "amd64", "bootID": "", "containerRuntimeVersion": "containerd://1.7.11",
    "kernelVersion": "5.10.219-208.866.amzn2.x86_64", "kubeProxyVersion": "", "kubeletVersion": "",
    "machineID": "", "operatingSystem": "linux", "osImage": "Amazon Linux 2", "systemUUID": "",
}


def complete_for_clients(obj: Obj) -> Obj:
    """Fill fields the clients' schemas require but a seeded object may lack (on read only)."""
    if obj.get("kind") == "Node":
        info = obj.setdefault("status", {}).setdefault("nodeInfo", {})
        for key, value in _NODE_INFO_DEFAULTS.items():
            info.setdefault(key, value)
        if not info["kubeProxyVersion"]:
            info["kubeProxyVersion"] = info["kubeletVersion"]
    return obj


# -- controllers -----------------------------------------------------------------------------------


class _Nodes:
    """Nodes and how many pods each runs, computed once per reconcile pass."""

    def __init__(self, store: ObjectStore) -> None:
        self.nodes = store.list("", "nodes")
        self.names = {n["metadata"]["name"] for n in self.nodes}
        self.load: dict[str, int] = {n["metadata"]["name"]: 0 for n in self.nodes}
        for pod in store.list("", "pods") if self.nodes else []:
            node = (pod.get("spec") or {}).get("nodeName")
            if node in self.load:
                self.load[node] += 1

    @property
    def modelled(self) -> bool:
        return bool(self.nodes)

    def pick(self) -> str | None:
        """The Ready, schedulable node running fewest pods (ties by name): deterministic spreading."""
        ok = sorted((self.load[n["metadata"]["name"]], n["metadata"]["name"])
                    for n in self.nodes if node_schedulable(n))
        if not ok:
            return None
        name = str(ok[0][1])
        self.load[name] += 1
        return name


def _running_status(node: str | None) -> dict[str, Any]:
    ts = now_rfc3339()
    conds = [{"type": t, "status": "True", "lastTransitionTime": ts}
             for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]
    status: dict[str, Any] = {"phase": "Running", "conditions": conds, "startTime": ts,
                              "qosClass": "BestEffort"}
    if node:
        status["hostIP"] = "10.0.0.1"
    return status


def _pending_status() -> dict[str, Any]:
    return {"phase": "Pending", "qosClass": "BestEffort",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                            "message": "0/0 nodes are available: no Ready, schedulable node.",
                            "lastTransitionTime": now_rfc3339()}]}


def schedule_pod(pod: Obj, nodes: _Nodes, fixed_node: str | None = None) -> Obj:
    """Bind a pod to a node and make it Ready, or leave it Pending when no node can take it."""
    spec = pod.setdefault("spec", {})
    if fixed_node:
        spec["nodeName"] = fixed_node
    elif not spec.get("nodeName") and nodes.modelled:
        picked = nodes.pick()
        if picked is None:
            pod["status"] = _pending_status()
            return pod
        spec["nodeName"] = picked
    pod["status"] = _running_status(spec.get("nodeName"))
    return pod


def _new_pod(owner: Obj, template: dict[str, Any], name: str, extra_labels: dict[str, str]) -> Obj:
    tmeta = copy.deepcopy(template.get("metadata") or {})
    labels = {**(tmeta.get("labels") or {}), **extra_labels}
    meta: dict[str, Any] = {"name": name, "namespace": owner["metadata"].get("namespace", "default"),
                            "labels": labels, "ownerReferences": [owner_ref(owner)]}
    if tmeta.get("annotations"):
        meta["annotations"] = tmeta["annotations"]
    pod: Obj = {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                "spec": copy.deepcopy(template.get("spec") or {})}
    return default_object(ObjectStore(), pod)


def _pod_name(store: ObjectStore, namespace: str, prefix: str) -> str:
    # Seeded with the store's revision so a replacement never takes the name of the pod it replaces
    # (as with the real random suffixes), yet the same history always gives the same names.
    for i in range(10_000):
        name = f"{prefix}-{_safe_hash(f'{namespace}/{prefix}/{store.last_rv}/{i}', 5)}"
        if store.get("", "pods", namespace, name) is None:
            return name
    raise RuntimeError(f"no free pod name for {prefix}")


def _owned_pods(store: ObjectStore, owner: Obj) -> list[Obj]:
    ns = owner["metadata"].get("namespace")
    return [p for p in store.list("", "pods", ns) if _owned_by(p, owner)]


def _gc_and_place(store: ObjectStore, pods: list[Obj], nodes: _Nodes) -> list[Obj]:
    """Pod GC (pods on nodes that are gone) and scheduling of Pending pods; returns live pods."""
    live = []
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName")
        if node and nodes.modelled and node not in nodes.names:
            store.delete("", "pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
            continue
        if not node and nodes.modelled and not pod_ready(pod):
            before = pod.get("status")
            schedule_pod(pod, nodes)
            if pod.get("status") != before:
                pod = store.put(pod)
        live.append(pod)
    return live


def _reconcile_replicaset(store: ObjectStore, rs: Obj, nodes: _Nodes) -> Obj:
    ns = rs["metadata"].get("namespace", "default")
    want = int((rs.get("spec") or {}).get("replicas", 1))
    pods = _gc_and_place(store, _owned_pods(store, rs), nodes)
    pods.sort(key=lambda p: (pod_ready(p), p["metadata"]["name"]))
    while len(pods) > want:  # scale down: not-ready pods first, as the ReplicaSet controller does
        victim = pods.pop(0)
        store.delete("", "pods", ns, victim["metadata"]["name"])
    template = (rs.get("spec") or {}).get("template") or {}
    hash_label = ((template.get("metadata") or {}).get("labels") or {}).get("pod-template-hash")
    while len(pods) < want:
        name = _pod_name(store, ns, rs["metadata"]["name"])
        extra = {"pod-template-hash": hash_label} if hash_label else {}
        pods.append(store.create(schedule_pod(_new_pod(rs, template, name, extra), nodes)))
    ready = sum(1 for p in pods if pod_ready(p))
    status = {"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
              "availableReplicas": ready, "observedGeneration": rs["metadata"].get("generation", 1)}
    if rs.get("status") != status:
        rs["status"] = status
        rs = store.put(rs)
    return rs


def _reconcile_deployment(store: ObjectStore, dep: Obj, nodes: _Nodes) -> None:
    ns = dep["metadata"].get("namespace", "default")
    spec = dep.get("spec") or {}
    template = copy.deepcopy(spec.get("template") or {})
    thash = template_hash(template)
    owned = [rs for rs in store.list("apps", "replicasets", ns) if _owned_by(rs, dep)]
    revisions = [int(_meta(rs).get("annotations", {}).get("deployment.kubernetes.io/revision", "0"))
                 for rs in owned]
    new_name = f"{dep['metadata']['name']}-{thash}"
    current = next((rs for rs in owned if rs["metadata"]["name"] == new_name), None)
    want = int(spec.get("replicas", 1))
    if current is None:
        template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = thash
        selector = copy.deepcopy(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})["pod-template-hash"] = thash
        current = store.create({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": new_name, "namespace": ns,
                         "labels": {**(template["metadata"].get("labels") or {})},
                         "annotations": {"deployment.kubernetes.io/revision": str(max(revisions, default=0) + 1),
                                         "deployment.kubernetes.io/desired-replicas": str(want)},
                         "ownerReferences": [owner_ref(dep)]},
            "spec": {"replicas": want, "selector": selector, "template": template},
        })
    else:
        rev = int(_meta(current).get("annotations", {}).get("deployment.kubernetes.io/revision", "0"))
        newest = max(revisions, default=0)
        if (current.get("spec") or {}).get("replicas") != want or rev < newest:
            # A rollback to an older template makes its ReplicaSet the newest revision again.
            current["spec"]["replicas"] = want
            if rev < newest:
                _meta(current).setdefault("annotations", {})["deployment.kubernetes.io/revision"] = \
                    str(newest + 1)
            current = store.put(current)
    # The rollout completes at once: old ReplicaSets go to zero (kept as history, like the real one).
    for rs in owned:
        if rs["metadata"]["name"] != new_name and (rs.get("spec") or {}).get("replicas", 0) != 0:
            rs["spec"]["replicas"] = 0
            store.put(rs)
    all_rs = [_reconcile_replicaset(store, rs, nodes)
              for rs in store.list("apps", "replicasets", ns) if _owned_by(rs, dep)]
    total = sum((rs.get("status") or {}).get("replicas", 0) for rs in all_rs)
    cur = next(rs for rs in all_rs if rs["metadata"]["name"] == new_name)
    ready = sum((rs.get("status") or {}).get("readyReplicas", 0) for rs in all_rs)
    ts = now_rfc3339()
    status: dict[str, Any] = {
        "observedGeneration": dep["metadata"].get("generation", 1), "replicas": total,
        "updatedReplicas": (cur.get("status") or {}).get("replicas", 0), "readyReplicas": ready,
        "availableReplicas": ready,
        "conditions": [
            {"type": "Available", "status": "True" if ready >= want else "False",
             "reason": "MinimumReplicasAvailable" if ready >= want else "MinimumReplicasUnavailable",
             "lastUpdateTime": ts, "lastTransitionTime": ts},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
             "message": f'ReplicaSet "{new_name}" has successfully progressed.',
             "lastUpdateTime": ts, "lastTransitionTime": ts},
        ],
    }
    if total > ready:
        status["unavailableReplicas"] = total - ready
    _put_status(store, dep, status)


def _put_status(store: ObjectStore, obj: Obj, status: dict[str, Any]) -> None:
    """Write a controller's status unless only timestamps would change (keeps resourceVersions calm)."""
    def strip(s: Any) -> Any:
        if isinstance(s, dict):
            return {k: strip(v) for k, v in s.items() if k not in ("lastUpdateTime", "lastTransitionTime")}
        if isinstance(s, list):
            return [strip(v) for v in s]
        return s
    if strip(obj.get("status")) != strip(status):
        obj["status"] = status
        store.put(obj)


def _reconcile_daemonset(store: ObjectStore, ds: Obj, nodes: _Nodes) -> None:
    ns = ds["metadata"].get("namespace", "default")
    template = (ds.get("spec") or {}).get("template") or {}
    thash = template_hash(template)
    selector = ((template.get("spec") or {}).get("nodeSelector")) or {}
    # DaemonSet pods tolerate cordoning, so every Ready node that matches the node selector gets one.
    targets = sorted(n["metadata"]["name"] for n in nodes.nodes if node_ready(n)
                     and all(((n["metadata"].get("labels") or {}).get(k) == v) for k, v in selector.items()))
    pods = _owned_pods(store, ds)
    by_node: dict[str, Obj] = {}
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName") or ""
        stale = _meta(pod).get("labels", {}).get("controller-revision-hash") != thash
        if node not in targets or node in by_node or stale:
            store.delete("", "pods", ns, pod["metadata"]["name"])
        else:
            by_node[node] = pod
    for node in targets:
        if node not in by_node:
            name = _pod_name(store, ns, ds["metadata"]["name"])
            pod = _new_pod(ds, template, name, {"controller-revision-hash": thash})
            by_node[node] = store.create(schedule_pod(pod, nodes, fixed_node=node))
    ready = sum(1 for p in by_node.values() if pod_ready(p))
    n = len(targets)
    _put_status(store, ds, {
        "currentNumberScheduled": n, "desiredNumberScheduled": n, "numberMisscheduled": 0,
        "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": n,
        "observedGeneration": ds["metadata"].get("generation", 1),
        **({"numberUnavailable": n - ready} if n > ready else {})})


def _reconcile_statefulset(store: ObjectStore, sts: Obj, nodes: _Nodes) -> None:
    ns = sts["metadata"].get("namespace", "default")
    spec = sts.get("spec") or {}
    want = int(spec.get("replicas", 1))
    template = spec.get("template") or {}
    revision = f"{sts['metadata']['name']}-{template_hash(template)}"
    pods = {p["metadata"]["name"]: p for p in _gc_and_place(store, _owned_pods(store, sts), nodes)}
    for name, pod in list(pods.items()):
        ordinal = name.rpartition("-")[2]
        stale = _meta(pod).get("labels", {}).get("controller-revision-hash") != revision
        if not ordinal.isdigit() or int(ordinal) >= want or stale:
            store.delete("", "pods", ns, name)
            del pods[name]
    for i in range(want):
        name = f"{sts['metadata']['name']}-{i}"
        if name not in pods:
            pod = _new_pod(sts, template, name, {"controller-revision-hash": revision,
                                                 "statefulset.kubernetes.io/pod-name": name})
            pods[name] = store.create(schedule_pod(pod, nodes))
    ready = sum(1 for p in pods.values() if pod_ready(p))
    _put_status(store, sts, {
        "observedGeneration": sts["metadata"].get("generation", 1), "replicas": want,
        "readyReplicas": ready, "currentReplicas": want, "updatedReplicas": want, "availableReplicas": ready,
        "currentRevision": revision, "updateRevision": revision, "collisionCount": 0})


def _reconcile_job(store: ObjectStore, job: Obj) -> None:
    if (job.get("status") or {}).get("conditions"):
        return
    ts = now_rfc3339()
    completions = int((job.get("spec") or {}).get("completions", 1) or 1)
    # Jobs (helm hooks among them) succeed at once: their pods are not simulated.
    _put_status(store, job, {"startTime": ts, "completionTime": ts, "succeeded": completions,
                             "conditions": [{"type": "Complete", "status": "True", "lastProbeTime": ts,
                                             "lastTransitionTime": ts}]})


def reconcile(store: ObjectStore, obj: Obj) -> None:
    """Run the controller for one workload object (after it was written)."""
    kind = obj.get("kind")
    if kind == "Job":
        _reconcile_job(store, obj)
        return
    if kind not in ("Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"):
        return
    group, plural = "apps", kind.lower() + "s"
    fresh = store.get(group, plural, obj["metadata"].get("namespace"), obj["metadata"]["name"])
    if fresh is None:
        return
    nodes = _Nodes(store)
    if kind == "Deployment":
        _reconcile_deployment(store, fresh, nodes)
    elif kind == "ReplicaSet":
        _reconcile_replicaset(store, fresh, nodes)
        _reconcile_parent(store, fresh)
    elif kind == "DaemonSet":
        _reconcile_daemonset(store, fresh, nodes)
    else:
        _reconcile_statefulset(store, fresh, nodes)


def _reconcile_parent(store: ObjectStore, obj: Obj) -> None:
    """Re-run the controller of whatever owns `obj` (a pod went away: its owner replaces it)."""
    ns = obj["metadata"].get("namespace")
    for ref in _meta(obj).get("ownerReferences") or []:
        if not ref.get("controller"):
            continue
        plural = {"ReplicaSet": "replicasets", "Deployment": "deployments", "DaemonSet": "daemonsets",
                  "StatefulSet": "statefulsets"}.get(ref.get("kind", ""))
        if plural is None:
            continue
        owner = store.get("apps", plural, ns, ref.get("name", ""))
        if owner is not None and owner["metadata"].get("uid") == ref.get("uid"):
            reconcile(store, owner)


def pod_removed(store: ObjectStore, pod: Obj) -> None:
    """After a pod was deleted or evicted: its controller replaces it, as it would within seconds."""
    _reconcile_parent(store, pod)


def reconcile_all(store: ObjectStore) -> None:
    """Run every controller once: after nodes appeared, were cordoned, replaced or deleted.

    Pods on nodes that no longer exist are garbage-collected and replaced on Ready nodes; Pending
    pods are scheduled when a node can take them; DaemonSets follow the node list.
    """
    for dep in store.list("apps", "deployments"):
        reconcile(store, dep)
    for rs in store.list("apps", "replicasets"):
        if not any(r.get("controller") for r in _meta(rs).get("ownerReferences") or []):
            reconcile(store, rs)
    for plural in ("daemonsets", "statefulsets"):
        for obj in store.list("apps", plural):
            reconcile(store, obj)
    nodes = _Nodes(store)
    if nodes.modelled:  # bare pods: GC and schedule them too
        bare = [p for p in store.list("", "pods") if not _meta(p).get("ownerReferences")]
        _gc_and_place(store, bare, nodes)


def delete_dependents(store: ObjectStore, owner: Obj) -> None:
    """Cascading deletion (background or foreground, done at once): objects the owner controls."""
    uid = owner["metadata"].get("uid")
    ns = owner["metadata"].get("namespace")
    if not ns:
        return
    for group, plural in (("apps", "replicasets"), ("", "pods"), ("batch", "jobs"),
                          ("apps", "controllerrevisions")):
        for obj in store.list(group, plural, ns):
            if any(r.get("uid") == uid for r in _meta(obj).get("ownerReferences") or []):
                store.delete(group, plural, ns, obj["metadata"]["name"])
                delete_dependents(store, obj)


# -- PodDisruptionBudgets and eviction -------------------------------------------------------------


def _scaled(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        frac = int(value[:-1]) * total / 100
        return math.ceil(frac) if round_up else math.floor(frac)
    return int(value)


def _pdb_pods(store: ObjectStore, pdb: Obj) -> list[Obj]:
    ns = pdb["metadata"].get("namespace")
    selector = (pdb.get("spec") or {}).get("selector")
    if not selector and str(pdb.get("apiVersion", "")).endswith("v1beta1"):
        return []  # policy/v1beta1: an empty selector matches nothing (policy/v1: everything)
    sel = selector_string(selector)
    # The store matches labels before copying: only the budget's pods are copied.
    return [p for p in store.list("", "pods", ns, label_selector=sel or None)
            if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]


def pdb_status(store: ObjectStore, pdb: Obj) -> dict[str, Any]:
    """currentHealthy / desiredHealthy / disruptionsAllowed / expectedPods as the disruption controller."""
    pods = _pdb_pods(store, pdb)
    expected = len(pods)
    healthy = sum(1 for p in pods if pod_ready(p))
    spec = pdb.get("spec") or {}
    if spec.get("maxUnavailable") is not None:
        # Percentages of maxUnavailable round up, as in the disruption controller.
        desired = max(0, expected - _scaled(spec["maxUnavailable"], expected, round_up=True))
    elif spec.get("minAvailable") is not None:
        desired = _scaled(spec["minAvailable"], expected, round_up=True)
    else:
        # Neither set: policy/v1beta1 defaults minAvailable to 1, policy/v1 allows every disruption.
        desired = min(1, expected) if str(pdb.get("apiVersion", "")).endswith("v1beta1") else 0
    allowed = max(0, healthy - desired)
    status = dict(pdb.get("status") or {})
    status.update({"currentHealthy": healthy, "desiredHealthy": desired, "disruptionsAllowed": allowed,
                   "expectedPods": expected, "observedGeneration": pdb["metadata"].get("generation", 1)})
    status.setdefault("disruptedPods", {})
    status["conditions"] = [{"type": "DisruptionAllowed", "status": "True" if allowed > 0 else "False",
                             "reason": "SufficientPods" if allowed > 0 else "InsufficientPods",
                             "message": "", "observedGeneration": pdb["metadata"].get("generation", 1),
                             "lastTransitionTime": now_rfc3339()}]
    return status


def with_pdb_status(store: ObjectStore, pdb: Obj) -> Obj:
    pdb["status"] = pdb_status(store, pdb)
    return pdb


def try_evict(store: ObjectStore, namespace: str, name: str) -> str | None:
    """Evict a pod as the policy/v1 Eviction subresource would.

    None means the pod was deleted (its controller replaces it at once); otherwise the reason the
    eviction is refused. Pods that are not Ready can always be evicted (they add nothing to any
    budget), as in the real eviction handler; pods matching no budget too.
    """
    pod = store.get("", "pods", namespace, name)
    if pod is None:
        return f'pods "{name}" not found'
    if pod_ready(pod):
        for pdb in store.list("policy", "poddisruptionbudgets", namespace):
            if pod not in _pdb_pods(store, pdb):
                continue
            if pdb_status(store, pdb)["disruptionsAllowed"] <= 0:
                return BLOCKED_BY_PDB
    store.delete("", "pods", namespace, name)
    pod_removed(store, pod)
    return None

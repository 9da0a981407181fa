"""What Kubernetes API versions each minor serves, and which ones it removed.

One table, two users: the removed-API scanners (charts, live objects, Helm releases) grade what
they find against it, and a stand-in API server can build its discovery documents from it, so a
chart that renders `policy/v1beta1` fails there exactly as it would on a real 1.25 API server.

Source: the Kubernetes deprecated-API migration guide (kubernetes.io/docs/reference/using-api/
deprecation-guide/). `removed` is the first minor that no longer serves the version.
"""

from __future__ import annotations

from dataclasses import dataclass

from eks_tfup.versions import Minor


@dataclass(frozen=True)
class ApiResource:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    namespaced: bool
    removed: Minor | None = None
    replacement: str | None = None  # "apps/v1 Deployment"; None when there is none
    note: str = ""
    deprecated: Minor | None = None
    short_names: tuple[str, ...] = ()
    # Kinds that exist only as subresources/virtual (reviews) are still listed for scanning.
    verbs: tuple[str, ...] = ("create", "delete", "deletecollection", "get", "list", "patch", "update",
                              "watch")

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def served_in(self, minor: Minor) -> bool:
        return self.removed is None or minor < self.removed


def _m(text: str) -> Minor:
    return Minor.parse(text)


def _r(gv: str, kind: str, plural: str, namespaced: bool = True, removed: str | None = None,
       replacement: str | None = None, note: str = "", deprecated: str | None = None,
       short: tuple[str, ...] = ()) -> ApiResource:
    group, _, version = gv.rpartition("/")
    return ApiResource(group, version, kind, plural, namespaced, _m(removed) if removed else None,
                       replacement, note, _m(deprecated) if deprecated else None, short)


RESOURCES: tuple[ApiResource, ...] = (
    # core/v1
    _r("v1", "Namespace", "namespaces", False, short=("ns",)),
    _r("v1", "Node", "nodes", False, short=("no",)),
    _r("v1", "Pod", "pods", short=("po",)),
    _r("v1", "Service", "services", short=("svc",)),
    _r("v1", "ServiceAccount", "serviceaccounts", short=("sa",)),
    _r("v1", "ConfigMap", "configmaps", short=("cm",)),
    _r("v1", "Secret", "secrets"),
    _r("v1", "Endpoints", "endpoints", short=("ep",)),
    _r("v1", "Event", "events", short=("ev",)),
    _r("v1", "PersistentVolume", "persistentvolumes", False, short=("pv",)),
    _r("v1", "PersistentVolumeClaim", "persistentvolumeclaims", short=("pvc",)),
    _r("v1", "ResourceQuota", "resourcequotas", short=("quota",)),
    _r("v1", "LimitRange", "limitranges", short=("limits",)),
    # apps
    _r("apps/v1", "Deployment", "deployments", short=("deploy",)),
    _r("apps/v1", "DaemonSet", "daemonsets", short=("ds",)),
    _r("apps/v1", "StatefulSet", "statefulsets", short=("sts",)),
    _r("apps/v1", "ReplicaSet", "replicasets", short=("rs",)),
    _r("apps/v1", "ControllerRevision", "controllerrevisions"),
    _r("extensions/v1beta1", "Deployment", "deployments", removed="1.16", replacement="apps/v1 Deployment"),
    _r("extensions/v1beta1", "DaemonSet", "daemonsets", removed="1.16", replacement="apps/v1 DaemonSet"),
    _r("extensions/v1beta1", "ReplicaSet", "replicasets", removed="1.16", replacement="apps/v1 ReplicaSet"),
    _r("extensions/v1beta1", "NetworkPolicy", "networkpolicies", removed="1.16",
       replacement="networking.k8s.io/v1 NetworkPolicy"),
    _r("extensions/v1beta1", "PodSecurityPolicy", "podsecuritypolicies", False, removed="1.16",
       replacement="policy/v1beta1 PodSecurityPolicy"),
    _r("apps/v1beta1", "Deployment", "deployments", removed="1.16", replacement="apps/v1 Deployment"),
    _r("apps/v1beta1", "StatefulSet", "statefulsets", removed="1.16", replacement="apps/v1 StatefulSet"),
    _r("apps/v1beta2", "Deployment", "deployments", removed="1.16", replacement="apps/v1 Deployment"),
    _r("apps/v1beta2", "DaemonSet", "daemonsets", removed="1.16", replacement="apps/v1 DaemonSet"),
    _r("apps/v1beta2", "StatefulSet", "statefulsets", removed="1.16", replacement="apps/v1 StatefulSet"),
    _r("apps/v1beta2", "ReplicaSet", "replicasets", removed="1.16", replacement="apps/v1 ReplicaSet"),
    # batch
    _r("batch/v1", "Job", "jobs"),
    _r("batch/v1", "CronJob", "cronjobs", short=("cj",)),
    _r("batch/v1beta1", "CronJob", "cronjobs", removed="1.25", replacement="batch/v1 CronJob",
       deprecated="1.21"),
    # policy
    _r("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", short=("pdb",)),
    _r("policy/v1beta1", "PodDisruptionBudget", "poddisruptionbudgets", removed="1.25",
       replacement="policy/v1 PodDisruptionBudget", deprecated="1.21"),
    _r("policy/v1beta1", "PodSecurityPolicy", "podsecuritypolicies", False, removed="1.25",
       note="no replacement: use Pod Security Admission (pod-security.kubernetes.io labels)",
       deprecated="1.21", short=("psp",)),
    # autoscaling
    _r("autoscaling/v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", short=("hpa",)),
    _r("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", short=("hpa",)),
    _r("autoscaling/v2beta1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", removed="1.25",
       replacement="autoscaling/v2 HorizontalPodAutoscaler", deprecated="1.23"),
    _r("autoscaling/v2beta2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", removed="1.26",
       replacement="autoscaling/v2 HorizontalPodAutoscaler", deprecated="1.23"),
    # networking
    _r("networking.k8s.io/v1", "Ingress", "ingresses", short=("ing",)),
    _r("networking.k8s.io/v1", "IngressClass", "ingressclasses", False),
    _r("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", short=("netpol",)),
    _r("networking.k8s.io/v1beta1", "Ingress", "ingresses", removed="1.22",
       replacement="networking.k8s.io/v1 Ingress", deprecated="1.19"),
    _r("networking.k8s.io/v1beta1", "IngressClass", "ingressclasses", False, removed="1.22",
       replacement="networking.k8s.io/v1 IngressClass", deprecated="1.19"),
    _r("extensions/v1beta1", "Ingress", "ingresses", removed="1.22",
       replacement="networking.k8s.io/v1 Ingress", deprecated="1.14"),
    # rbac
    _r("rbac.authorization.k8s.io/v1", "Role", "roles"),
    _r("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings"),
    _r("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", False),
    _r("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", False),
    _r("rbac.authorization.k8s.io/v1beta1", "Role", "roles", removed="1.22",
       replacement="rbac.authorization.k8s.io/v1 Role", deprecated="1.17"),
    _r("rbac.authorization.k8s.io/v1beta1", "RoleBinding", "rolebindings", removed="1.22",
       replacement="rbac.authorization.k8s.io/v1 RoleBinding", deprecated="1.17"),
    _r("rbac.authorization.k8s.io/v1beta1", "ClusterRole", "clusterroles", False, removed="1.22",
       replacement="rbac.authorization.k8s.io/v1 ClusterRole", deprecated="1.17"),
    _r("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding", "clusterrolebindings", False,
       removed="1.22", replacement="rbac.authorization.k8s.io/v1 ClusterRoleBinding", deprecated="1.17"),
    # apiextensions / admission / apiregistration
    _r("apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", False,
       short=("crd",)),
    _r("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition", "customresourcedefinitions", False,
       removed="1.22", replacement="apiextensions.k8s.io/v1 CustomResourceDefinition", deprecated="1.16"),
    _r("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration",
       "mutatingwebhookconfigurations", False),
    _r("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration",
       "validatingwebhookconfigurations", False),
    _r("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration",
       "mutatingwebhookconfigurations", False, removed="1.22",
       replacement="admissionregistration.k8s.io/v1 MutatingWebhookConfiguration", deprecated="1.16"),
    _r("admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfiguration",
       "validatingwebhookconfigurations", False, removed="1.22",
       replacement="admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration", deprecated="1.16"),
    _r("apiregistration.k8s.io/v1", "APIService", "apiservices", False),
    _r("apiregistration.k8s.io/v1beta1", "APIService", "apiservices", False, removed="1.22",
       replacement="apiregistration.k8s.io/v1 APIService", deprecated="1.19"),
    # scheduling / node / coordination / certificates / discovery / events
    _r("scheduling.k8s.io/v1", "PriorityClass", "priorityclasses", False, short=("pc",)),
    _r("scheduling.k8s.io/v1beta1", "PriorityClass", "priorityclasses", False, removed="1.22",
       replacement="scheduling.k8s.io/v1 PriorityClass", deprecated="1.14"),
    _r("node.k8s.io/v1", "RuntimeClass", "runtimeclasses", False),
    _r("node.k8s.io/v1beta1", "RuntimeClass", "runtimeclasses", False, removed="1.25",
       replacement="node.k8s.io/v1 RuntimeClass", deprecated="1.20"),
    _r("coordination.k8s.io/v1", "Lease", "leases"),
    _r("coordination.k8s.io/v1beta1", "Lease", "leases", removed="1.22",
       replacement="coordination.k8s.io/v1 Lease", deprecated="1.19"),
    _r("certificates.k8s.io/v1", "CertificateSigningRequest", "certificatesigningrequests", False,
       short=("csr",)),
    _r("certificates.k8s.io/v1beta1", "CertificateSigningRequest", "certificatesigningrequests", False,
       removed="1.22", replacement="certificates.k8s.io/v1 CertificateSigningRequest", deprecated="1.19"),
    _r("discovery.k8s.io/v1", "EndpointSlice", "endpointslices"),
    _r("discovery.k8s.io/v1beta1", "EndpointSlice", "endpointslices", removed="1.25",
       replacement="discovery.k8s.io/v1 EndpointSlice", deprecated="1.21"),
    _r("events.k8s.io/v1", "Event", "events"),
    _r("events.k8s.io/v1beta1", "Event", "events", removed="1.25", replacement="events.k8s.io/v1 Event",
       deprecated="1.19"),
    # storage
    _r("storage.k8s.io/v1", "StorageClass", "storageclasses", False, short=("sc",)),
    _r("storage.k8s.io/v1", "CSIDriver", "csidrivers", False),
    _r("storage.k8s.io/v1", "CSINode", "csinodes", False),
    _r("storage.k8s.io/v1", "VolumeAttachment", "volumeattachments", False),
    _r("storage.k8s.io/v1", "CSIStorageCapacity", "csistoragecapacities"),
    _r("storage.k8s.io/v1beta1", "StorageClass", "storageclasses", False, removed="1.22",
       replacement="storage.k8s.io/v1 StorageClass"),
    _r("storage.k8s.io/v1beta1", "CSIDriver", "csidrivers", False, removed="1.22",
       replacement="storage.k8s.io/v1 CSIDriver", deprecated="1.19"),
    _r("storage.k8s.io/v1beta1", "CSINode", "csinodes", False, removed="1.22",
       replacement="storage.k8s.io/v1 CSINode", deprecated="1.17"),
    _r("storage.k8s.io/v1beta1", "VolumeAttachment", "volumeattachments", False, removed="1.22",
       replacement="storage.k8s.io/v1 VolumeAttachment", deprecated="1.19"),
    _r("storage.k8s.io/v1beta1", "CSIStorageCapacity", "csistoragecapacities", removed="1.27",
       replacement="storage.k8s.io/v1 CSIStorageCapacity", deprecated="1.24"),
    # flow control
    _r("flowcontrol.apiserver.k8s.io/v1", "FlowSchema", "flowschemas", False),
    _r("flowcontrol.apiserver.k8s.io/v1", "PriorityLevelConfiguration", "prioritylevelconfigurations", False),
    _r("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema", "flowschemas", False, removed="1.26",
       replacement="flowcontrol.apiserver.k8s.io/v1 FlowSchema", deprecated="1.23"),
    _r("flowcontrol.apiserver.k8s.io/v1beta1", "PriorityLevelConfiguration",
       "prioritylevelconfigurations", False, removed="1.26",
       replacement="flowcontrol.apiserver.k8s.io/v1 PriorityLevelConfiguration", deprecated="1.23"),
    _r("flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchema", "flowschemas", False, removed="1.29",
       replacement="flowcontrol.apiserver.k8s.io/v1 FlowSchema", deprecated="1.26"),
    _r("flowcontrol.apiserver.k8s.io/v1beta2", "PriorityLevelConfiguration",
       "prioritylevelconfigurations", False, removed="1.29",
       replacement="flowcontrol.apiserver.k8s.io/v1 PriorityLevelConfiguration", deprecated="1.26"),
    _r("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", "flowschemas", False, removed="1.32",
       replacement="flowcontrol.apiserver.k8s.io/v1 FlowSchema", deprecated="1.29"),
    _r("flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfiguration",
       "prioritylevelconfigurations", False, removed="1.32",
       replacement="flowcontrol.apiserver.k8s.io/v1 PriorityLevelConfiguration", deprecated="1.29"),
)

# Versions introduced late: not served before this minor (the table covers 1.23 onwards).
INTRODUCED: dict[tuple[str, str], Minor] = {
    ("flowcontrol.apiserver.k8s.io", "v1beta3"): Minor(1, 26),
    ("flowcontrol.apiserver.k8s.io", "v1"): Minor(1, 29),
    ("autoscaling", "v2"): Minor(1, 23),
}


def served(minor: Minor) -> list[ApiResource]:
    """Every resource a `minor` API server serves (its discovery documents)."""
    out = []
    for res in RESOURCES:
        intro = INTRODUCED.get((res.group, res.version))
        if intro is not None and minor < intro:
            continue
        if res.served_in(minor):
            out.append(res)
    return out


_BY_GVK: dict[tuple[str, str], ApiResource] = {(r.api_version, r.kind): r for r in RESOURCES}


def lookup(api_version: str, kind: str) -> ApiResource | None:
    return _BY_GVK.get((api_version, kind))


def removed_by(api_version: str, kind: str, target: Minor) -> ApiResource | None:
    """The table entry if `target` (or an earlier minor) no longer serves this apiVersion/kind."""
    res = lookup(api_version, kind)
    if res is not None and res.removed is not None and res.removed <= target:
        return res
    return None

"""`eks-tfup status` and `eks-tfup init`: read-only views of the cluster, the HCL and past runs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from eks_tfup.config import CONFIG_FILE, Settings, render_template
from eks_tfup.errors import EksTfupError, UsageError
from eks_tfup.files import write_text_atomic
from eks_tfup.journal import latest_run


def collect(settings: Settings) -> dict[str, Any]:
    from eks_tfup import hcl
    from eks_tfup.aws import Aws
    from eks_tfup.gather import describe_or_refuse, kubelet_counts
    from eks_tfup.kube import Kube

    cluster_name = settings.require_cluster()
    aws = Aws(region=settings.region, profile=settings.profile)
    kube = Kube(kubeconfig=settings.kubeconfig, context=settings.kube_context, retry_timeout=20)
    cluster = describe_or_refuse(aws, cluster_name)
    out: dict[str, Any] = {"cluster": cluster_name, "control_plane": {
        "version": cluster.version, "status": cluster.status, "platform_version": cluster.platform_version,
        "endpoint": cluster.endpoint, "support_type": cluster.support_type}}

    def safe(fn: Any) -> Any:
        try:
            return fn()
        except EksTfupError as exc:
            return {"error": str(exc)}

    with ThreadPoolExecutor(max_workers=4) as pool:
        f_ngs = pool.submit(safe, lambda: aws.nodegroups(cluster_name))
        f_addons = pool.submit(safe, lambda: aws.addons(cluster_name))
        f_versions = pool.submit(safe, aws.cluster_versions)
        f_nodes = pool.submit(safe, kube.nodes)
        ngs, addons, versions, nodes = f_ngs.result(), f_addons.result(), f_versions.result(), f_nodes.result()
    out["nodegroups"] = ngs if isinstance(ngs, dict) else [
        {"name": n.name, "version": n.version, "release_version": n.release_version, "ami_type": n.ami_type,
         "status": n.status, "desired_size": n.desired_size} for n in ngs]
    out["addons"] = addons if isinstance(addons, dict) else {a.name: a.version for a in addons}
    out["nodes"] = nodes if isinstance(nodes, dict) else {
        "count": len(nodes), "ready": sum(n.ready for n in nodes), "kubelets": dict(kubelet_counts(nodes))}
    if isinstance(versions, dict):
        out["support"] = versions
    else:
        cur = next((v for v in versions if v.version == cluster.version), None)
        out["support"] = None if cur is None else {
            "status": cur.status, "release_date": cur.release_date,
            "end_of_standard_support": cur.end_of_standard_support,
            "end_of_extended_support": cur.end_of_extended_support}
    try:
        loc = hcl.locate_version(settings.tf_dir, address=settings.address, var_files=settings.var_files)
        out["hcl"] = {"value": loc.value, "where": f"{loc.file}:{loc.line}", "address": loc.cluster_address}
    except EksTfupError as exc:
        out["hcl"] = {"error": str(exc)}
    last = latest_run(settings.runs_dir, cluster=cluster_name)
    out["last_run"] = None if last is None else {
        "run_id": last.run_id, "target": last.data.get("target"), "status": last.data.get("status"),
        "error": last.data.get("error"),
        "steps_done": [k for k, v in last.data.get("steps", {}).items() if v.get("status") == "done"]}
    return out


def render(data: dict[str, Any]) -> str:
    cp = data["control_plane"]
    lines = [f"cluster {data['cluster']}: {cp['version']} {cp['status']} (platform {cp['platform_version']})"]
    sup = data.get("support")
    if isinstance(sup, dict) and "error" not in sup:
        lines.append(f"  support: {sup['status']}; standard support ends {sup['end_of_standard_support']}, "
                     f"extended support ends {sup['end_of_extended_support']}")
    hcl = data.get("hcl", {})
    lines.append(f"  HCL: {hcl.get('value')} at {hcl.get('where')}" if "value" in hcl else f"  HCL: {hcl.get('error')}")
    ngs = data.get("nodegroups")
    if isinstance(ngs, list):
        for ng in ngs:
            lines.append(f"  node group {ng['name']}: {ng['version']} ({ng['release_version']}) {ng['ami_type']} "
                         f"{ng['status']} x{ng['desired_size']}")
    nodes = data.get("nodes", {})
    if "count" in nodes:
        kub = ", ".join(f"{k} x{v}" for k, v in nodes["kubelets"].items())
        lines.append(f"  nodes: {nodes['ready']}/{nodes['count']} Ready; kubelets {kub}")
    else:
        lines.append(f"  nodes: {nodes.get('error')}")
    addons = data.get("addons", {})
    if addons:
        lines.append("  add-ons: " + ", ".join(f"{k} {v}" for k, v in addons.items()))
    last = data.get("last_run")
    if last:
        lines.append(f"  last run: {last['run_id']} -> {last['target']}: {last['status']}"
                     + (f" ({last['error']})" if last.get("error") else ""))
    return "\n".join(lines)


def write_init(tf_dir: Path, *, force: bool = False) -> Path:
    """Write a commented eks-tfup.toml with what the HCL tells: cluster address, name and region."""
    if not tf_dir.is_dir():
        raise UsageError(f"terraform directory not found: {tf_dir}")
    path = tf_dir / CONFIG_FILE
    if path.exists() and not force:
        raise UsageError(f"{path} exists: pass --force to overwrite it")
    from eks_tfup import hcl

    addresses = hcl.find_clusters(tf_dir)
    address = addresses[0] if len(addresses) > 1 else None
    name, region = guess_name_region(tf_dir)
    write_text_atomic(path, render_template(name, region, address))
    return path


def guess_name_region(tf_dir: Path) -> tuple[str | None, str | None]:
    """Best effort: the defaults/tfvars of variables named like the cluster name and the region."""
    import hcl2
    from lark.exceptions import LarkError

    unreadable = (LarkError, ValueError, OSError)  # a guess: an unreadable file just gives no hint
    values: dict[str, Any] = {}
    for f in sorted(tf_dir.glob("*.tf")):
        try:
            doc = hcl2.loads(f.read_text(encoding="utf-8"))
        except unreadable:
            continue
        for block in doc.get("variable", []):
            for var_name, body in block.items():
                if isinstance(body, dict) and isinstance(body.get("default"), str):
                    values[var_name.strip('"')] = body["default"]
    for f in [tf_dir / "terraform.tfvars", *sorted(tf_dir.glob("*.auto.tfvars"))]:
        if f.is_file():
            try:
                values.update({k: v for k, v in hcl2.loads(f.read_text(encoding="utf-8")).items()
                               if isinstance(v, str)})
            except unreadable:
                continue
    name = next((values[k] for k in ("cluster_name", "name", "eks_cluster_name") if k in values), None)
    region = next((values[k] for k in ("region", "aws_region") if k in values), None)
    return (name.strip('"') if name else None), (region.strip('"') if region else None)

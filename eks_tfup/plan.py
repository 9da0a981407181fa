"""Read a Terraform plan (`terraform show -json plan.tfplan`) for an EKS upgrade, judge it, render it.

`analyse` is pure: it never raises for what it finds in the plan, it records findings in the
returned `PlanSummary` so the summary can still be shown (terminal, PR comment) next to the reason
for refusing it. `enforce` turns the findings into a `RefusedError`.

What is refused:
- any delete or replacement of an `aws_eks_cluster`, whatever the flags: it destroys the control
  plane and everything stored in etcd;
- other deletes/replacements unless `allow_destroy` (the harmless `time_sleep` replacement of the
  terraform-aws-modules/eks module is only a warning, see `_HARMLESS_REPLACE_TYPES`);
- a plan whose cluster version change is missing or is not `before -> target` as one minor hop.

Sensitive values (`before_sensitive`/`after_sensitive`) are masked as "(sensitive)" while the
summary is built, so no renderer can leak them; values Terraform will only know at apply time
(`after_unknown`) read "(known after apply)".

The PR-comment renderer and the fingerprint live here too: they are views of the same plan.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from eks_tfup.errors import RefusedError
from eks_tfup.versions import Minor

SENSITIVE = "(sensitive)"
UNKNOWN = "(known after apply)"

CLUSTER_TYPE = "aws_eks_cluster"

# Category of a changed resource, in the order the renderers list them (the cluster first).
CATEGORIES: dict[str, str] = {
    "aws_eks_cluster": "cluster",
    "aws_eks_node_group": "node_group",
    "aws_eks_addon": "addon",
    "aws_launch_template": "launch_template",
}
_CATEGORY_RANK = {"cluster": 0, "node_group": 1, "addon": 2, "launch_template": 3, "other": 4}

# terraform-aws-modules/eks replaces `time_sleep.this` on every version change (the cluster version
# is one of its triggers). It has no remote object: replacing it only waits again. Refusing it
# would make every ordinary upgrade need allow_destroy, and a flag that is always passed protects
# nothing, so it is allowed with a warning that keeps it visible in the review.
_HARMLESS_REPLACE_TYPES = frozenset({"time_sleep"})

# How many addresses a single refusal/warning message names before saying "and N more".
_NAMES_IN_MESSAGE = 10
# Nested values deeper than this are shown as one value instead of diffed further.
_MAX_DIFF_DEPTH = 8

_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# ---------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------


class AttrChange(NamedTuple):
    """One changed attribute path, with display values already masked.

    `before`/`after` are rendered values ('"1.29"', "(sensitive)", "(known after apply)"), or None
    when the attribute is null/absent on that side (added or removed).
    """

    name: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class VersionChange:
    address: str
    before: str
    after: str


@dataclass(frozen=True)
class ResourceChange:
    address: str
    type: str
    name: str
    actions: tuple[str, ...]
    category: str
    attrs: tuple[AttrChange, ...]
    mode: str = "managed"
    action_reason: str | None = None
    forces_replacement: tuple[str, ...] = ()
    unchanged: int = 0  # top-level attributes that do not change (the diff says "N hidden")
    deposed: str | None = None

    @property
    def action(self) -> str:
        """One word: create, update, delete, replace, forget, read (Terraform's own vocabulary)."""
        acts = set(self.actions)
        if {"delete", "create"} <= acts:
            return "replace"
        if len(self.actions) == 1:
            return self.actions[0]
        return "+".join(self.actions)

    @property
    def destructive(self) -> bool:
        return "delete" in self.actions


@dataclass(frozen=True)
class PlanCounts:
    """Terraform's own summary arithmetic: a replacement is one add and one destroy."""

    add: int = 0
    change: int = 0
    destroy: int = 0
    imports: int = 0
    forget: int = 0
    read: int = 0  # data sources read during apply; Terraform's summary line does not count them


@dataclass(frozen=True)
class PlanSummary:
    version_change: VersionChange | None
    changes: tuple[ResourceChange, ...]
    counts: PlanCounts
    refusals: tuple[str, ...]
    warnings: tuple[str, ...]
    terraform_version: str | None
    format_version: str | None
    target: str = ""
    cluster_address: str | None = None  # the cluster resource that was judged, when one was found
    drift: tuple[str, ...] = ()  # addresses changed outside Terraform (`resource_drift`)

    @property
    def ok(self) -> bool:
        return not self.refusals


# ---------------------------------------------------------------------------------------------
# Analysis
# ---------------------------------------------------------------------------------------------


def analyse(plan_json: Mapping[str, Any], *, target: str, cluster_address: str | None = None,
            allow_destroy: bool = False, completing: bool = False) -> PlanSummary:
    """Judge a plan for the hop to `target` ("1.29"). Pure: findings go into the summary.

    `cluster_address` narrows the search for the cluster resource to one address or module
    (`module.eks`, `aws_eks_cluster.this`); without it the plan's only `aws_eks_cluster` is used.
    `completing`: the control plane is known (from EKS) to be on the target already, because an
    interrupted apply got that far; the plan then completes the rest (node groups, add-ons) and
    a cluster without a version change is expected rather than refused.
    """
    target_minor = Minor.parse_target(target)
    refusals: list[str] = []
    warnings: list[str] = []

    format_version = _opt_str(plan_json.get("format_version"))
    if format_version is None or ("resource_changes" not in plan_json and "planned_values" not in plan_json):
        refusals.append("this is not the JSON of a Terraform plan (`terraform show -json PLANFILE`)")
    elif format_version.split(".", 1)[0] not in ("0", "1"):
        # Terraform 0.12-1.0 write "0.x" (0.1, 0.2) and later ones "1.x": the same resource_changes
        # shape. A new major version may change it: refuse rather than misread.
        refusals.append(f"unsupported plan JSON format_version {format_version} (this tool reads 0.x and 1.x)")
    if plan_json.get("errored") is True:
        refusals.append("Terraform reported errors while planning: the plan is incomplete")
    if plan_json.get("complete") is False:
        warnings.append("Terraform marked the plan incomplete (deferred changes or -target): "
                        "another plan and apply would be needed after this one")

    raw_changes = plan_json.get("resource_changes") or []
    if not isinstance(raw_changes, list):
        refusals.append("`resource_changes` is not a list")
        raw_changes = []

    changes: list[ResourceChange] = []
    clusters: list[Mapping[str, Any]] = []
    add = change = destroy = imports = forget = read = 0
    destroyed: list[str] = []  # "address (replace)" of non-cluster destroys, one message for all
    for rc in raw_changes:
        if not isinstance(rc, Mapping):
            continue
        ch = rc.get("change")
        if not isinstance(ch, Mapping):
            continue
        actions = tuple(str(a) for a in (ch.get("actions") or ()))
        mode = str(rc.get("mode") or "managed")
        rtype = str(rc.get("type") or "")
        if ch.get("importing"):
            imports += 1
        if mode == "data":
            # A data source read during apply changes nothing remote; count it, do not list it.
            read += "read" in actions
            continue
        if rtype == CLUSTER_TYPE and not rc.get("deposed"):
            clusters.append(rc)
        if actions in (("no-op",), ("read",), ()):
            continue
        add += "create" in actions
        change += "update" in actions
        destroy += "delete" in actions
        forget += "forget" in actions
        res = _resource_change(rc, ch, actions, mode, rtype)
        changes.append(res)
        if res.destructive:
            _judge_destroy(res, allow_destroy, refusals, warnings, destroyed)
        elif "forget" in actions:
            warnings.append(f"{_label(res)} will be removed from the Terraform state (not destroyed)")

    if destroyed:
        msg = (f"{len(destroyed)} resource(s) would be destroyed or replaced: {_names(destroyed)}")
        if allow_destroy:
            warnings.append(msg + " (allowed)")
        else:
            refusals.append(msg + "; allow destroy explicitly (--allow-destroy) if this is intended")

    cluster_rc = _choose_cluster(clusters, cluster_address, refusals, warnings)
    version_change = None
    chosen_address = None
    if cluster_rc is not None:
        chosen_address = str(cluster_rc.get("address"))
        version_change = _judge_cluster(cluster_rc, target_minor, refusals, warnings, completing)
        for other in clusters:
            if other is not cluster_rc and _version_pair(other)[2]:
                refusals.append(f"another cluster changes version in the same plan: {other.get('address')} "
                                "(upgrade one cluster at a time)")
    _judge_node_groups(changes, target_minor, warnings)

    drift = tuple(str(d.get("address")) for d in (plan_json.get("resource_drift") or ())
                  if isinstance(d, Mapping))
    if drift:
        warnings.append(f"{len(drift)} resource(s) changed outside Terraform since the last apply: "
                        f"{_names(drift)}")

    # Stable sort: the cluster first, then node groups, add-ons, launch templates, the rest; plan
    # order (sorted by address by Terraform) inside each category.
    changes.sort(key=lambda c: _CATEGORY_RANK.get(c.category, 9))
    return PlanSummary(
        version_change=version_change,
        changes=tuple(changes),
        counts=PlanCounts(add=add, change=change, destroy=destroy, imports=imports, forget=forget,
                          read=read),
        refusals=tuple(refusals),
        warnings=tuple(warnings),
        terraform_version=_opt_str(plan_json.get("terraform_version")),
        format_version=format_version,
        target=str(target_minor),
        cluster_address=chosen_address,
        drift=drift,
    )


def enforce(summary: PlanSummary) -> None:
    """Raise `RefusedError` when the summary holds any refusal."""
    if not summary.refusals:
        return
    first = summary.refusals[0]
    more = len(summary.refusals) - 1
    message = f"plan refused: {first}" + (f" (and {more} more finding(s))" if more else "")
    raise RefusedError(message, hint="; ".join(summary.refusals[1:]) or None)


def _judge_destroy(res: ResourceChange, allow_destroy: bool, refusals: list[str], warnings: list[str],
                   destroyed: list[str]) -> None:
    why = f", {res.action_reason}" if res.action_reason else ""
    forced = f" [forced by: {', '.join(res.forces_replacement)}]" if res.forces_replacement else ""
    if res.type == CLUSTER_TYPE:
        # Never allowed, not even with allow_destroy: the control plane and etcd would be gone.
        verb = "replaced" if res.action == "replace" else "destroyed"
        refusals.append(f"the EKS cluster {_label(res)} would be {verb} "
                        f"({res.action_reason or 'no reason given'}){forced}: never apply this plan")
    elif res.type in _HARMLESS_REPLACE_TYPES and res.action == "replace":
        warnings.append(f"{_label(res)} will be replaced (harmless: a delay with no remote object)")
    else:
        destroyed.append(f"{_label(res)} ({res.action}{why})")


def _choose_cluster(clusters: list[Mapping[str, Any]], cluster_address: str | None, refusals: list[str],
                    warnings: list[str]) -> Mapping[str, Any] | None:
    where = f" under {cluster_address}" if cluster_address else ""
    selected = [c for c in clusters if cluster_address is None
                or _is_under(str(c.get("address", "")), cluster_address)]
    if not selected:
        refusals.append(f"no {CLUSTER_TYPE} resource{where} in the plan: the version change is missing")
        return None
    if len(selected) == 1:
        return selected[0]
    changing = [c for c in selected if _version_pair(c)[2]]
    if len(changing) == 1:
        others = [str(c.get("address")) for c in selected if c is not changing[0]]
        warnings.append(f"the plan holds {len(selected)} {CLUSTER_TYPE} resources{where}; judging the one "
                        f"whose version changes, {changing[0].get('address')} (others: {_names(others)})")
        return changing[0]
    refusals.append(f"the plan holds {len(selected)} {CLUSTER_TYPE} resources{where} "
                    f"({_names([str(c.get('address')) for c in selected])}): give the cluster's address "
                    "to say which one is upgraded")
    return None


def _version_pair(rc: Mapping[str, Any]) -> tuple[str | None, str | None, bool]:
    """(before version, after version, whether it changes); unknown after counts as a change."""
    ch: Mapping[str, Any] = rc.get("change") or {}
    before: Mapping[str, Any] = ch["before"] if isinstance(ch.get("before"), Mapping) else {}
    after: Mapping[str, Any] = ch["after"] if isinstance(ch.get("after"), Mapping) else {}
    unknown = _sub(ch.get("after_unknown"), "version") is True
    b, a = _opt_str(before.get("version")), _opt_str(after.get("version"))
    if not before or not after:
        return b, a, False
    return b, a, unknown or b != a


def _judge_cluster(rc: Mapping[str, Any], target: Minor, refusals: list[str],
                   warnings: list[str], completing: bool = False) -> VersionChange | None:
    address = str(rc.get("address"))
    ch = rc["change"]
    actions = tuple(ch.get("actions") or ())
    before_v, after_v, changes = _version_pair(rc)
    known = changes and before_v is not None and after_v is not None
    if "delete" in actions:
        # Already refused as a destroy/replacement, with the reason; still report the version it
        # would have ended at so the rendering is not misleading.
        return VersionChange(address, before_v, after_v) if known and before_v and after_v else None
    if actions == ("create",):
        refusals.append(f"the plan creates the cluster {address}: expected an in-place version update")
        return None
    if actions not in (("update",), ("no-op",)):
        refusals.append(f"unexpected action {'+'.join(actions)} on the cluster {address}")
        return None
    if _sub(ch.get("after_unknown"), "version") is True:
        refusals.append(f"the version of {address} is only known after apply: expected {target}")
        return None
    if not changes or before_v is None or after_v is None:
        if completing and before_v is not None and Minor.try_parse(before_v) == target:
            warnings.append(f"{address} is already on {before_v} (an earlier apply got that far): "
                            "this plan completes the rest of the upgrade")
            return None
        if before_v is not None and Minor.try_parse(before_v) == target:
            refusals.append(f"{address} is already at {before_v}: the plan has no version change to apply")
        else:
            refusals.append(f"the plan does not change the version of {address} "
                            f"(stays {before_v}; expected {before_v} -> {target})")
        return None
    vc = VersionChange(address, before_v, after_v)
    after_m, before_m = Minor.try_parse(after_v), Minor.try_parse(before_v)
    if after_m != target:
        refusals.append(f"the plan changes {address} to {after_v}, but the target is {target}")
    elif before_m is not None and before_m.next() != after_m:
        refusals.append(f"{address} would go {before_v} -> {after_v}: EKS upgrades one minor at a time")
    # EKS updates the version on its own (UpdateClusterVersion); other cluster changes riding along
    # are legitimate but deserve a reviewer's eye.
    before, after = ch.get("before") or {}, ch.get("after") or {}
    others = [k for k in after if k != "version" and before.get(k) != after.get(k)
              and _sub(ch.get("after_unknown"), k) is not True]
    if others:
        warnings.append(f"the cluster update also changes: {', '.join(sorted(others))}")
    return vc


def _judge_node_groups(changes: Iterable[ResourceChange], target: Minor, warnings: list[str]) -> None:
    for res in changes:
        if res.category != "node_group":
            continue
        for attr in res.attrs:
            if attr.name == "version" and attr.after not in (None, UNKNOWN, SENSITIVE):
                after_m = Minor.try_parse(attr.after.strip('"'))
                if after_m is not None and after_m != target:
                    warnings.append(f"node group {res.address} moves to {attr.after}, not {target}")


def _resource_change(rc: Mapping[str, Any], ch: Mapping[str, Any], actions: tuple[str, ...], mode: str,
                     rtype: str) -> ResourceChange:
    before, after = ch.get("before"), ch.get("after")
    bs, as_, unk = ch.get("before_sensitive"), ch.get("after_sensitive"), ch.get("after_unknown")
    attrs: list[AttrChange] = []
    unchanged = 0
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        keys = _keys(before, after, unk)
        for key in keys:
            n = len(attrs)
            _diff(key, before.get(key), after.get(key), _sub(bs, key), _sub(as_, key), _sub(unk, key),
                  attrs, 1)
            unchanged += len(attrs) == n
    elif isinstance(before, Mapping):
        # Destroyed: what is lost, as Terraform lists it (`- name = value -> null`).
        for key in sorted(before):
            value = before[key]
            if value is not None:
                attrs.append(AttrChange(key, _fmt(value, _sub(bs, key), None), None))
    elif isinstance(after, Mapping) or isinstance(unk, Mapping):
        # Created: every attribute that will have a value, as Terraform's own plan shows them.
        after_map = after if isinstance(after, Mapping) else {}
        for key in _keys({}, after_map, unk):
            value = after_map.get(key)
            if value is not None or _sub(unk, key) is True:
                attrs.append(AttrChange(key, None, _fmt(value, _sub(as_, key), _sub(unk, key))))
    forced = tuple(_path_text(p) for p in (ch.get("replace_paths") or ()) if isinstance(p, list) and p)
    return ResourceChange(
        address=str(rc.get("address") or ""),
        type=rtype,
        name=str(rc.get("name") or ""),
        actions=actions,
        category=CATEGORIES.get(rtype, "other"),
        attrs=tuple(attrs),
        mode=mode,
        action_reason=_opt_str(rc.get("action_reason")),
        forces_replacement=forced,
        unchanged=unchanged,
        deposed=_opt_str(rc.get("deposed")),
    )


def _keys(before: Mapping[str, Any], after: Mapping[str, Any], unknown: Any) -> list[str]:
    keys = set(before) | set(after)
    if isinstance(unknown, Mapping):
        keys.update(k for k, v in unknown.items() if v is True)
    return sorted(keys)


def _diff(path: str, b: Any, a: Any, bs: Any, as_: Any, unk: Any, out: list[AttrChange], depth: int) -> None:
    """Append the changed leaves under `path`; sensitive/unknown parts rendered as markers."""
    if unk is True:
        out.append(AttrChange(path, None if b is None else _fmt(b, bs, None), UNKNOWN))
        return
    if bs is True or as_ is True:
        # A wholly sensitive value: compare, never descend into it (its shape can leak too).
        if b != a:
            out.append(AttrChange(path, None if b is None else _fmt(b, bs, None),
                                  None if a is None else _fmt(a, as_, unk)))
        return
    if b == a and not _has_true(unk):
        return
    if depth < _MAX_DIFF_DEPTH:
        if isinstance(b, Mapping) and isinstance(a, Mapping):
            for k in _keys(b, a, unk):
                _diff(_join(path, k), b.get(k), a.get(k), _sub(bs, k), _sub(as_, k), _sub(unk, k), out,
                      depth + 1)
            return
        if isinstance(b, list) and isinstance(a, list) and len(b) == len(a):
            for i, (bi, ai) in enumerate(zip(b, a, strict=True)):
                _diff(f"{path}[{i}]", bi, ai, _sub(bs, i), _sub(as_, i), _sub(unk, i), out, depth + 1)
            return
    out.append(AttrChange(path, None if b is None else _fmt(b, bs, None),
                          None if a is None and not _has_true(unk) else _fmt(a, as_, unk)))


def _sub(mask: Any, key: str | int) -> Any:
    """The part of a sensitivity/unknown mask for one key or index (the mask mirrors the value)."""
    if mask is True:
        return True
    if isinstance(mask, Mapping) and isinstance(key, str):
        return mask.get(key, False)
    if isinstance(mask, list) and isinstance(key, int):
        return mask[key] if key < len(mask) else False
    return False


def _has_true(mask: Any) -> bool:
    if mask is True:
        return True
    if isinstance(mask, Mapping):
        return any(_has_true(v) for v in mask.values())
    if isinstance(mask, list):
        return any(_has_true(v) for v in mask)
    return False


def _fmt(value: Any, sens: Any, unk: Any) -> str:
    """HCL-like display of a value, with sensitive and unknown parts replaced by markers."""
    if sens is True:
        return SENSITIVE
    if unk is True:
        return UNKNOWN
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v, _sub(sens, i), _sub(unk, i)) for i, v in enumerate(value)) + "]"
    if isinstance(value, Mapping):
        keys = list(value)
        if isinstance(unk, Mapping):
            keys += [k for k, u in unk.items() if u is True and k not in value]
        items = (f"{_key_text(k)} = {_fmt(value.get(k), _sub(sens, k), _sub(unk, k))}" for k in keys)
        return "{ " + ", ".join(items) + " }" if keys else "{}"
    return json.dumps(str(value))


def _key_text(key: str) -> str:
    return key if _IDENT_RE.match(key) else json.dumps(key, ensure_ascii=False)


def _join(path: str, key: str) -> str:
    if _IDENT_RE.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def _path_text(steps: Sequence[Any]) -> str:
    path = ""
    for step in steps:
        path = f"{path}[{step}]" if isinstance(step, int) else _join(path, str(step))
    return path


def _is_under(address: str, prefix: str) -> bool:
    # `module.eks` covers `module.eks.aws_eks_cluster.this[0]` and `module.eks["a"]...`, never
    # `module.eks_blue...`; `aws_eks_cluster.this` covers `aws_eks_cluster.this[0]`.
    return address == prefix or (address.startswith(prefix) and address[len(prefix)] in ".[")


def _label(res: ResourceChange) -> str:
    return f"{res.address} (deposed object {res.deposed})" if res.deposed else res.address


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_NAMES_IN_MESSAGE])
    more = len(items) - _NAMES_IN_MESSAGE
    return shown + (f" and {more} more" if more > 0 else "")


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


# ---------------------------------------------------------------------------------------------
# Terminal renderers
# ---------------------------------------------------------------------------------------------


def summary_line(summary: PlanSummary) -> str:
    """Terraform's own wording: `Plan: 1 to add, 6 to change, 1 to destroy.`"""
    c = summary.counts
    parts = [f"{c.add} to add", f"{c.change} to change", f"{c.destroy} to destroy"]
    if c.imports:
        parts.insert(0, f"{c.imports} to import")
    if c.forget:
        parts.append(f"{c.forget} to forget")
    return "Plan: " + ", ".join(parts) + "."


def version_line(summary: PlanSummary) -> str:
    vc = summary.version_change
    if vc is None:
        return f"Cluster version: no change found (target {summary.target})"
    return f"Cluster version: {vc.before} -> {vc.after} ({vc.address})"


def _brief_attrs(res: ResourceChange, *, count: int = 3, width: int = 40) -> str:
    if res.action == "delete":
        return ""
    if res.action == "create":
        return f"{len(res.attrs)} attribute(s)"
    shown = [f"{a.name}: {_clip(a.before or 'null', width)} -> {_clip(a.after or 'null', width)}"
             for a in res.attrs[:count]]
    if len(res.attrs) > count:
        shown.append(f"(+{len(res.attrs) - count} more)")
    return "; ".join(shown)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render_table(summary: PlanSummary) -> str:
    """Aligned plain-text table, the version change and the summary line first."""
    header = ("ACTION", "CATEGORY", "ADDRESS", "CHANGES")
    rows = [(r.action, r.category, _label(r), _brief_attrs(r)) for r in summary.changes]
    # Column widths from the data, capped so one long address does not push everything off-screen.
    widths = [min(max([len(header[i]), *(len(row[i]) for row in rows)]), 70) for i in range(3)]
    lines = [version_line(summary), summary_line(summary), ""]
    for row in (header, *rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True))
                     + "  " + row[3])
    if not rows:
        lines.append("(no resource changes)")
    for text in summary.refusals:
        lines.append(f"REFUSED: {text}")
    for text in summary.warnings:
        lines.append(f"warning: {text}")
    return "\n".join(line.rstrip() for line in lines)


_HEADINGS = {
    "create": ("+", "will be created"),
    "update": ("~", "will be updated in-place"),
    "delete": ("-", "will be destroyed"),
    "forget": (".", "will no longer be managed by Terraform"),
}


def render_diff_text(summary: PlanSummary) -> str:
    """A Terraform-like diff of the summarised changes (cluster first), ending with the summary line."""
    out: list[str] = []
    for res in summary.changes:
        if res.actions == ("delete", "create"):
            symbol, what = "-/+", "must be replaced"
        elif res.actions == ("create", "delete"):
            symbol, what = "+/-", "must be replaced"
        else:
            symbol, what = _HEADINGS.get(res.action, ("~", f"will be changed ({res.action})"))
        deposed = f" (deposed object {res.deposed})" if res.deposed else ""
        out.append(f"  # {res.address}{deposed} {what}")
        kind = "data" if res.mode == "data" else "resource"
        out.append(f'  {symbol} {kind} "{res.type}" "{res.name}" {{')
        width = max((len(a.name) for a in res.attrs), default=0)
        for attr in res.attrs:
            forced = "  # forces replacement" if _forces(attr.name, res.forces_replacement) else ""
            name = attr.name.ljust(width)
            if attr.before is None:
                out.append(f"      + {name} = {attr.after}{forced}")
            elif attr.after is None:
                out.append(f"      - {name} = {attr.before} -> null{forced}")
            else:
                out.append(f"      ~ {name} = {attr.before} -> {attr.after}{forced}")
        if res.unchanged:
            out.append(f"        # ({res.unchanged} unchanged attributes hidden)")
        out.append("    }")
        out.append("")
    out.append(summary_line(summary))
    return "\n".join(out) + "\n"


def _forces(path: str, replace_paths: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith((p + ".", p + "[")) for p in replace_paths)


# ---------------------------------------------------------------------------------------------
# PR comment
# ---------------------------------------------------------------------------------------------

MARKER_PREFIX = "<!-- eks-tfup "
MARKER_SUFFIX = " -->"
_MARKER_RE = re.compile(r"^<!-- eks-tfup (\{.*\}) -->$")

_CUT_NOTICE = ("... {lines} lines ({chars} characters) cut from the middle; "
               "the full plan is in the plan artifact ...")
_SHORT_CUT_NOTICE = "... the plan is in the plan artifact ..."
# The section caps, tried in order until the comment fits; the diff gets whatever room is left.
_CAPS = ((200, 60, 20, 500), (50, 20, 10, 200), (10, 5, 5, 100), (0, 1, 3, 80))
_MIN_DIFF_ROOM = 400
_CHECK_COLUMNS = ("id", "level", "status", "message")


def marker(fingerprint: Mapping[str, Any]) -> str:
    """`<!-- eks-tfup {compact json} -->`, safe inside an HTML comment."""
    text = json.dumps(fingerprint, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    # `--`, `<` and `>` only ever occur inside JSON strings, where \u escapes mean the same thing;
    # escaping them keeps `-->` (end of comment) and `<!--` out of the marker.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("--", "-\\u002d")
    return f"{MARKER_PREFIX}{text}{MARKER_SUFFIX}"


def parse_marker(comment: str) -> dict[str, Any] | None:
    """The fingerprint carried by a comment's first line, or None when it is not ours."""
    first = comment.lstrip("\ufeff \t\r\n").split("\n", 1)[0].rstrip("\r ")
    m = _MARKER_RE.match(first)
    if not m:
        return None
    try:
        data = json.loads(m.group(1))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def render_comment(*, cluster: str, from_version: str, to_version: str, checks: list[dict[str, Any]],
                   summary: PlanSummary, diff_text: str, fingerprint: Mapping[str, Any],
                   limit: int = 60000) -> str:
    """The pull-request comment: marker, title, findings, checks, changes and the folded diff.

    Always shorter than `limit` characters (GitHub refuses comments over 65,536): the sections are
    capped and the diff is cut from the middle, keeping its head (the cluster comes first) and its
    tail (Terraform's summary line).
    """
    diff_body = _diff_for_markdown(_ANSI_RE.sub("", diff_text)).rstrip("\n")
    fence = "`" * max(3, _longest_backtick_run(diff_body) + 1)
    open_diff = f"<details><summary>Terraform plan</summary>\n\n{fence}diff\n"
    close_diff = f"\n{fence}\n\n</details>\n"
    head, room = "", -1
    for checks_cap, rows_cap, list_cap, cell_cap in _CAPS:
        head = _comment_head(cluster, from_version, to_version, checks, summary, fingerprint,
                             checks_cap, rows_cap, list_cap, cell_cap)
        room = limit - len(head) - len(open_diff) - len(close_diff) - 1
        if room >= _MIN_DIFF_ROOM:
            break
    if room < 0:
        raise ValueError(f"a comment limit of {limit} characters cannot hold the plan's summary")
    return head + open_diff + _cut_middle(diff_body, room) + close_diff


def _comment_head(cluster: str, from_version: str, to_version: str, checks: list[dict[str, Any]],
                  summary: PlanSummary, fingerprint: Mapping[str, Any], checks_cap: int, rows_cap: int,
                  list_cap: int, cell_cap: int) -> str:
    out = [marker(fingerprint),
           f"## eks-tfup: upgrade {_md(cluster)} {_md(from_version)} → {_md(to_version)}", ""]
    vc = summary.version_change
    if vc is not None:
        out.append(f"**Cluster version:** {_md(vc.before)} → {_md(vc.after)} ({_code(vc.address)})")
    else:
        out.append(f"**Cluster version:** no change found in the plan (target {_md(summary.target)})")
    out += ["", f"**{summary_line(summary)}**", ""]
    if summary.refusals:
        out.append(f":no_entry: **Refused** ({len(summary.refusals)}): this plan will not be applied.")
        out += _bullets(summary.refusals, list_cap, cell_cap)
        out.append("")
    if summary.warnings:
        out.append(f":warning: **Warnings** ({len(summary.warnings)})")
        out += _bullets(summary.warnings, list_cap, cell_cap)
        out.append("")

    out.append("### Checks")
    out.append("")
    if not checks:
        out.append("_No checks ran._")
    else:
        out += ["| id | level | status | message |", "|---|---|---|---|"]
        for check in checks[:checks_cap]:
            cells = (_md(_clip(str(check.get(k, "")), cell_cap)) for k in _CHECK_COLUMNS)
            out.append("| " + " | ".join(cells) + " |")
        if len(checks) > checks_cap:
            out.append(f"\n_… {len(checks) - checks_cap} more check(s) in the run report._")
    out.append("")

    out.append("### Changes")
    out.append("")
    if not summary.changes:
        out.append("_No resource changes._")
    else:
        out += ["| action | resource | category | changes |", "|---|---|---|---|"]
        for res in summary.changes[:rows_cap]:
            out.append(f"| {res.action} | {_code(_label(res))} | {res.category} | "
                       f"{_md(_clip(_brief_attrs(res), cell_cap))} |")
        if len(summary.changes) > rows_cap:
            out.append(f"\n_… {len(summary.changes) - rows_cap} more change(s) in the plan below._")
    out.append("")
    meta = [f"Terraform {summary.terraform_version}" if summary.terraform_version else None,
            f"plan SHA-256 `{str(fingerprint['plan_sha256'])[:12]}`" if fingerprint.get("plan_sha256")
            else None]
    if any(meta):
        out += [" · ".join(m for m in meta if m), ""]
    return "\n".join(out) + "\n"


def _bullets(items: Sequence[str], cap: int, cell_cap: int) -> list[str]:
    out = [f"- {_md(_clip(text, cell_cap))}" for text in items[:cap]]
    if len(items) > cap:
        out.append(f"- _… and {len(items) - cap} more_")
    return out


_MD_ESCAPE = {c: "\\" + c for c in "\\`*_[]|~#"}


def _md(text: str) -> str:
    """Plain text made inert in Markdown and HTML (a message holding `<!--` must not hide the rest)."""
    text = html.escape(text.replace("\r", " ").replace("\n", " "), quote=False)
    return "".join(_MD_ESCAPE.get(c, c) for c in text)


def _code(text: str) -> str:
    if "`" in text or "\n" in text:
        return _md(text)
    return "`" + text.replace("|", "\\|") + "`"


def _diff_for_markdown(text: str) -> str:
    # GitHub colours a ```diff line by its first character; Terraform indents its symbols, so put a
    # marker in the first column: + added, - removed, ! changed (orange).
    out = []
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if line.startswith(" ") and stripped:
            if stripped.startswith(("-/+", "+/-", "~")):
                line = "!" + line[1:]
            elif stripped.startswith("+ "):
                line = "+" + line[1:]
            elif stripped.startswith("- "):
                line = "-" + line[1:]
        out.append(line)
    return "\n".join(out)


def _longest_backtick_run(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)


def _cut_middle(text: str, budget: int) -> str:
    """`text` if it fits in `budget` characters, else its head and tail around a notice line."""
    if len(text) <= budget:
        return text
    # The notice is sized for the largest numbers it could hold, so the result always fits.
    notice_room = len(_CUT_NOTICE.format(lines=text.count("\n") + 1, chars=len(text))) + 2
    if budget < notice_room:
        return _SHORT_CUT_NOTICE if len(_SHORT_CUT_NOTICE) <= budget else ""
    avail = budget - notice_room
    head_len = avail * 3 // 5
    tail_len = avail - head_len
    head = text[:head_len]
    nl = head.rfind("\n")
    if nl >= 0:
        head = head[: nl + 1]
    tail = text[len(text) - tail_len:] if tail_len > 0 else ""
    nl = tail.find("\n")
    if nl >= 0:
        tail = tail[nl + 1:]
    middle = text[len(head): len(text) - len(tail)]
    lines = middle.count("\n") + (0 if middle.endswith("\n") else 1)
    notice = _CUT_NOTICE.format(lines=lines, chars=len(middle))
    if head and not head.endswith("\n"):
        head += "\n"
    return f"{head}{notice}\n{tail}"


# ---------------------------------------------------------------------------------------------
# Fingerprint: what was reviewed, so apply can refuse anything else
# ---------------------------------------------------------------------------------------------

FINGERPRINT_SCHEMA = 1


def normalised_changes_digest(plan_json: Mapping[str, Any]) -> str:
    """SHA-256 of the planned changes alone (address, type, actions, before, after), sorted.

    Stable across `terraform show -json` runs of the same plan and across re-plans with the same
    outcome; timestamps, variables and configuration are left out on purpose. A deposed object
    keeps its deposed key so it cannot collide with the current object at the same address.
    """
    items = []
    for rc in plan_json.get("resource_changes") or ():
        if not isinstance(rc, Mapping):
            continue
        ch: Mapping[str, Any] = rc["change"] if isinstance(rc.get("change"), Mapping) else {}
        item = {"address": rc.get("address"), "type": rc.get("type"), "actions": ch.get("actions"),
                "before": ch.get("before"), "after": ch.get("after")}
        if rc.get("deposed"):
            item["deposed"] = rc["deposed"]
        items.append(item)
    items.sort(key=lambda i: (str(i["address"]), str(i.get("deposed", ""))))
    blob = json.dumps(items, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def fingerprint(*, plan_path: Path, plan_json: Mapping[str, Any], git_commit: str | None,
                tree_hash: str | None, terraform_version: str, planned_from: str, cluster: str,
                target: str) -> dict[str, Any]:
    """What apply compares before applying a reviewed plan. Reads `plan_path` (the only I/O here)."""
    digest = hashlib.sha256()
    with Path(plan_path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {
        "schema": FINGERPRINT_SCHEMA,
        "plan_sha256": digest.hexdigest(),
        "changes_sha256": normalised_changes_digest(plan_json),
        "git_commit": git_commit,
        "tree_hash": tree_hash,
        "terraform_version": terraform_version,
        "planned_from": planned_from,
        "cluster": cluster,
        "target": target,
    }

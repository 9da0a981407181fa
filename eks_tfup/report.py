"""The run report: before/after table, each step's duration and outcome, warnings.

Built from the journal alone, so a report can be regenerated for any past run; written as
`report.md` and `report.json` in the run directory and printed as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eks_tfup.files import write_json_atomic, write_text_atomic
from eks_tfup.journal import Journal


@dataclass(frozen=True)
class Report:
    run_id: str
    cluster: str
    from_version: str
    target: str
    status: str
    rows: tuple[tuple[str, str, str], ...]  # (what, before, after)
    steps: tuple[tuple[str, str, float | None, str], ...]  # (step, status, seconds, detail)
    warnings: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "cluster": self.cluster, "from_version": self.from_version,
            "target": self.target, "status": self.status,
            "changes": [{"what": w, "before": b, "after": a} for w, b, a in self.rows],
            "steps": [{"step": s, "status": st, "seconds": sec, "detail": d} for s, st, sec, d in self.steps],
            "warnings": list(self.warnings),
        }


def _rows(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = [("control plane", before.get("control_plane", "?"), after.get("control_plane", "?")),
            ("platform version", before.get("platform_version", "?"), after.get("platform_version", "?"))]
    b_ng, a_ng = before.get("nodegroups", {}), after.get("nodegroups", {})
    for name in sorted(set(b_ng) | set(a_ng)):
        def fmt(ng: dict[str, Any] | None) -> str:
            return f"{ng['version']} ({ng['release_version']})" if ng else "-"
        rows.append((f"node group {name}", fmt(b_ng.get(name)), fmt(a_ng.get(name))))

    def kubelets(d: dict[str, int]) -> str:
        return ", ".join(f"{v} x{n}" for v, n in sorted(d.items())) or "-"
    rows.append(("node kubelets", kubelets(before.get("kubelets", {})), kubelets(after.get("kubelets", {}))))
    b_ad, a_ad = before.get("addons", {}), after.get("addons", {})
    for name in sorted(set(b_ad) | set(a_ad)):
        rows.append((f"add-on {name}", b_ad.get(name, "-"), a_ad.get(name, "-")))
    return rows


def build(journal: Journal) -> Report:
    from eks_tfup.workflow import STEP_NAMES

    state = journal.state
    steps = []
    for name in STEP_NAMES:
        rec = journal.data["steps"].get(name, {})
        status = rec.get("status", "pending")
        if name == "report" and status == "running":
            status = "done"  # the report is written by the step that is finishing
        steps.append((name, status, rec.get("seconds"), rec.get("detail") or rec.get("error") or ""))
    return Report(
        run_id=journal.run_id, cluster=journal.data.get("cluster", ""),
        from_version=journal.data.get("from_version", "?"), target=journal.data.get("target", ""),
        status=journal.data.get("status", ""),
        rows=tuple(_rows(state.get("before", {}), state.get("after", {}))),
        steps=tuple(steps), warnings=tuple(state.get("warnings", [])),
    )


def render_markdown(rep: Report) -> str:
    out = [f"# eks-tfup: {rep.cluster} {rep.from_version} → {rep.target}", "",
           f"Run `{rep.run_id}`", "", "| | before | after |", "|---|---|---|"]
    out += [f"| {w} | {b} | {a} |" for w, b, a in rep.rows]
    out += ["", "| step | status | seconds | detail |", "|---|---|---:|---|"]
    out += [f"| {s} | {st} | {'' if sec is None else f'{sec:.1f}'} | {d.replace('|', '/')} |"
            for s, st, sec, d in rep.steps]
    if rep.warnings:
        out += ["", "## Warnings", ""] + [f"- {w}" for w in rep.warnings]
    return "\n".join(out) + "\n"


def render_text(rep: Report) -> str:
    width = max(len(w) for w, _, _ in rep.rows) if rep.rows else 10
    bw = max((len(b) for _, b, _ in rep.rows), default=6)
    lines = [f"{rep.cluster}: {rep.from_version} -> {rep.target}", "",
             f"{'':{width}}  {'before':{bw}}  after"]
    lines += [f"{w:{width}}  {b:{bw}}  {a}" for w, b, a in rep.rows]
    lines += ["", "steps:"]
    lines += [f"  {s:15} {st:9} {'' if sec is None else f'{sec:7.1f}s'}  {d}" for s, st, sec, d in rep.steps]
    if rep.warnings:
        lines += ["", "warnings:"] + [f"  - {w}" for w in rep.warnings]
    return "\n".join(lines)


def write(rep: Report, run_dir: Path) -> None:
    write_text_atomic(run_dir / "report.md", render_markdown(rep))
    write_json_atomic(run_dir / "report.json", rep.as_dict())

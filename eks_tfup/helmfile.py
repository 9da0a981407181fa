"""The chart refresh step: `helmfile deps` then `helmfile apply`, run before and after the hop.

Facts about helmfile 0.166 this module relies on (checked against the real binary):
- `--helm-binary`, `--kube-context`, `-f`, `-e`, `-l` are global flags. We put them before the
  subcommand, where every helmfile version accepts them.
- The kube context is always passed explicitly when known: helmfile would otherwise act on
  whatever context the kubeconfig marks current, which may be another cluster.
- The kubeconfig goes through the KUBECONFIG environment variable, which helmfile, helm and any
  hook script all honour; a `--kubeconfig` flag would reach helm but not hooks.
- On a failure helmfile prints a long report (PATH, ARGS, ERROR, STDERR...) whose last line is
  rarely the useful one: the message we raise quotes helm's own `Error:` line instead.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from eks_tfup import proc
from eks_tfup.errors import ConfigError, ProcessError
from eks_tfup.proc import LineSink

# helmfile's own lookup order for a state file (`helmfile --help`, flag -f).
DEFAULT_NAMES = ("helmfile.yaml", "helmfile.yaml.gotmpl", "helmfile.d")


@dataclass(frozen=True)
class HelmfileSettings:
    helmfile_bin: str = "helmfile"
    helm_bin: str | None = None  # passed as --helm-binary when set
    # -f: a file or a helmfile.d directory. Default: looked up in the working directory.
    file: Path | None = None
    environment: str | None = None  # -e
    selectors: tuple[str, ...] = ()  # one -l per entry (helmfile ORs the groups)
    # Each entry is one helmfile invocation; subcommand flags belong here: ("apply", "--suppress-secrets").
    commands: tuple[tuple[str, ...], ...] = (("deps",), ("apply",))
    # Global flags, placed before the subcommand so they are valid for every command in `commands`.
    extra_args: tuple[str, ...] = ()
    kube_context: str | None = None  # --kube-context
    kubeconfig: Path | None = None  # KUBECONFIG
    timeout: float | None = None  # seconds per command; None waits as long as helmfile takes


class HelmfileCommand(NamedTuple):
    argv: tuple[str, ...]
    seconds: float
    returncode: int


@dataclass(frozen=True)
class HelmfileResult:
    skipped: bool
    reason: str | None
    commands: tuple[HelmfileCommand, ...] = ()
    helmfile: Path | None = None


def find_helmfile(directory: Path, configured: Path | None) -> Path | None:
    """The state file (or helmfile.d directory) to use, or None when there is none.

    A configured path must exist (a typo should not silently skip the chart upgrades); a relative
    one is taken relative to `directory`. A configured directory that is not itself a helmfile.d is
    searched like `directory` is.
    """
    if configured is not None:
        path = configured if configured.is_absolute() else directory / configured
        if not path.exists():
            raise ConfigError(f"helmfile not found: {path}",
                              hint="fix the helmfile setting or remove it to use the default lookup")
        if path.is_dir() and path.name != "helmfile.d":
            found = _lookup(path)
            if found is None:
                raise ConfigError(f"no {', '.join(DEFAULT_NAMES)} in {path}")
            return found
        return path
    return _lookup(directory)


def _lookup(directory: Path) -> Path | None:
    for name in DEFAULT_NAMES:
        candidate = directory / name
        if candidate.exists():
            return candidate
    return None


def base_argv(settings: HelmfileSettings, helmfile: Path) -> list[str]:
    """The helmfile executable and its global flags, without a subcommand."""
    argv = [settings.helmfile_bin]
    if settings.helm_bin:
        argv += ["--helm-binary", settings.helm_bin]
    if settings.kube_context:
        argv += ["--kube-context", settings.kube_context]
    argv += ["--file", str(helmfile)]
    if settings.environment:
        argv += ["--environment", settings.environment]
    for selector in settings.selectors:
        argv += ["--selector", selector]
    argv += list(settings.extra_args)
    return argv


def build_argv(settings: HelmfileSettings, helmfile: Path, command: tuple[str, ...]) -> list[str]:
    if not command:
        raise ConfigError("empty helmfile command")
    return [*base_argv(settings, helmfile), *command]


def environment(settings: HelmfileSettings) -> dict[str, str]:
    return {"KUBECONFIG": str(settings.kubeconfig)} if settings.kubeconfig is not None else {}


def working_dir(helmfile: Path) -> Path:
    # helmfile resolves chart paths against the state file's directory; hooks run from the
    # current directory, and their authors expect that to be where the helmfile lives.
    return helmfile.parent


_HELM_ERROR = re.compile(r"^\s*(Error:.*|err: .*|.*\bfailed\b.*)$")


def error_summary(output: str) -> str:
    """The line of a helmfile failure report worth showing: helm's `Error: ...` if there is one."""
    lines = [line for line in output.splitlines() if line.strip()]
    for line in lines:
        # A Go panic ends in a goroutine dump: the line that names the cause is the first one.
        if line.startswith("panic: "):
            return line.strip()
    for line in reversed(lines):
        if line.strip().startswith("Error:"):
            return line.strip()
    for line in reversed(lines):
        if _HELM_ERROR.match(line):
            return line.strip()
    return lines[-1].strip() if lines else ""


def run_command(settings: HelmfileSettings, helmfile: Path, command: tuple[str, ...], *,
                log_path: Path | None, sink: LineSink | None,
                extra: tuple[str, ...] = (), check: bool = True) -> proc.Outcome:
    """Run one helmfile command; with `check`, a non-zero exit raises ProcessError quoting helm's error."""
    argv = [*build_argv(settings, helmfile, command), *extra]
    label = f"helmfile {' '.join(command)}"
    if settings.helm_bin and proc.which(settings.helm_bin) is None:
        # helmfile 0.166 panics with a goroutine dump on a missing helm binary: say it plainly.
        raise ProcessError(f"{label}: helm binary not found: {settings.helm_bin}",
                           hint="install helm or fix the configured helm path")
    outcome = proc.run(argv, cwd=working_dir(helmfile), env=environment(settings), sink=sink,
                       log_path=log_path, timeout=settings.timeout, check=False, what=label)
    if check and not outcome.ok:
        raise failure(label, outcome, log_path)
    return outcome


def failure(label: str, outcome: proc.Outcome, log_path: Path | None) -> ProcessError:
    """The error for a failed helmfile run: helm's own message up front, the report in `tail`."""
    tail = outcome.tail(40)
    summary = error_summary(outcome.stderr or outcome.stdout)
    return ProcessError(f"{label} failed (exit {outcome.returncode})" + (f": {summary}" if summary else ""),
                        returncode=outcome.returncode, tail=tail,
                        hint=f"see the full output in {log_path}" if log_path else None)


def run_helmfile_step(settings: HelmfileSettings, directory: Path, *, log_path: Path,
                      sink: LineSink | None) -> HelmfileResult:
    """Run every configured command in order; stop at the first failure (ProcessError)."""
    helmfile = find_helmfile(directory, settings.file)
    if helmfile is None:
        return HelmfileResult(
            skipped=True,
            reason=f"no {', '.join(DEFAULT_NAMES)} in {directory}: chart refresh skipped",
        )
    done: list[HelmfileCommand] = []
    for command in settings.commands:
        started = time.monotonic()
        outcome = run_command(settings, helmfile, command, log_path=log_path, sink=sink)
        done.append(HelmfileCommand(outcome.argv, time.monotonic() - started, outcome.returncode))
    return HelmfileResult(skipped=False, reason=None, commands=tuple(done), helmfile=helmfile)

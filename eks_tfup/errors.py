"""One error hierarchy, mapped to exit codes in one place (`exit_code_for`).

Core modules raise these; only the CLI layer turns them into a one-line message and an exit code.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """The documented exit codes (README, "Exit codes")."""

    OK = 0
    STEP_FAILED = 1  # a step of the procedure failed (terraform, helmfile, AWS, verification)
    USAGE = 2  # bad input or usage; nothing was read or changed
    REFUSED = 3  # a check refused to go on; nothing was changed
    INTERRUPTED = 130  # Ctrl-C / SIGINT


class EksTfupError(Exception):
    """Base of every expected failure. `str(err)` is the one-line message shown to the user."""

    exit_code: ExitCode = ExitCode.STEP_FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(EksTfupError):
    """Bad input: a malformed version, a missing setting, a bad flag combination."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """The configuration is missing a required setting or holds a bad value."""


class HclError(UsageError):
    """The HCL cannot be read or the version cannot be located/edited unambiguously."""


class RefusedError(EksTfupError):
    """A safety check refused to continue (skip-minor, drift, nodes behind, destroy in plan...)."""

    exit_code = ExitCode.REFUSED


class LockedError(RefusedError):
    """Another run holds the lock for this cluster."""


class StepFailed(EksTfupError):
    """A step ran and failed: terraform, helmfile, an AWS call, a verification."""

    exit_code = ExitCode.STEP_FAILED


class ProcessError(StepFailed):
    """An external process exited non-zero (or could not be started)."""

    def __init__(self, message: str, *, returncode: int | None = None, tail: str = "",
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.returncode = returncode
        self.tail = tail


class AwsError(StepFailed):
    """An AWS API call failed after retries; carries the service's error code."""

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code


class KubeError(StepFailed):
    """A Kubernetes API call failed after retries."""


class VerificationError(StepFailed):
    """The cluster is not in the state a step should have left it in."""


class Interrupted(EksTfupError):
    """The user interrupted the run (Ctrl-C); the journal says where to resume."""

    exit_code = ExitCode.INTERRUPTED


def exit_code_for(exc: BaseException) -> ExitCode:
    """The single mapping from an exception to the process exit code."""
    if isinstance(exc, EksTfupError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    return ExitCode.STEP_FAILED

"""boto3 access for the provider: one EKS client per provider process and the waits around it.

The endpoint comes from boto3's own configuration (AWS_ENDPOINT_URL and friends), exactly as it
would for any AWS SDK program: nothing here reads it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

POLL_START = 0.2  # seconds; the sandbox answers fast, real EKS is polled every few seconds anyway
POLL_CAP = 3.0
DEFAULT_TIMEOUT = 3600.0  # the real provider waits 60 minutes for a cluster update


class AwsFailure(Exception):
    """A failure shown to the user as a Terraform diagnostic (summary + detail)."""

    def __init__(self, summary: str, detail: str = "") -> None:
        super().__init__(summary)
        self.summary = summary
        self.detail = detail


def make_client(region: str | None, profile: str | None, access_key: str | None,
                secret_key: str | None, token: str | None) -> Any:
    import boto3

    session = boto3.session.Session(
        region_name=region or None, profile_name=profile or None, aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None, aws_session_token=token or None,
    )
    return session.client("eks")


def error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def is_not_found(exc: BaseException) -> bool:
    return error_code(exc) in {"ResourceNotFoundException", "NotFoundException"}


def describe(what: str, exc: BaseException) -> AwsFailure:
    """A botocore ClientError as the real provider words it: `reading EKS Cluster (demo): Code: msg`."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        return AwsFailure(f"{what}: {err.get('Code', 'Error')}: {err.get('Message', '')}".rstrip(": "))
    return AwsFailure(f"{what}: {exc}")


def poll(what: str, probe: Callable[[], str | None], *, target: set[str], pending: set[str],
         timeout: float = DEFAULT_TIMEOUT, detail: Callable[[], str] | None = None) -> None:
    """Call `probe` (which returns a status, or None once the object is gone) until a target status.

    `target` may contain "" to mean "gone". An unexpected status fails at once, as the real
    provider's state-change waiters do.
    """
    delay = POLL_START
    deadline = time.monotonic() + timeout
    while True:
        status = probe() or ""
        if status in target:
            return
        if status not in pending:
            extra = detail() if detail is not None else ""
            wanted = ", ".join(repr(t) for t in sorted(target))
            raise AwsFailure(f"waiting for {what}: unexpected state {status!r}, wanted target {wanted}."
                             + (f" last error: {extra}" if extra else ""))
        if time.monotonic() > deadline:
            raise AwsFailure(f"waiting for {what}: timeout after {timeout:.0f}s (last state {status!r})")
        time.sleep(delay)
        delay = min(delay * 1.5, POLL_CAP)


def wait_update(client: Any, what: str, cluster: str, update_id: str, *, nodegroup: str | None = None,
                addon: str | None = None) -> None:
    """Poll DescribeUpdate until Successful; Failed/Cancelled carry EKS's errorCode: errorMessage."""
    kwargs: dict[str, str] = {"name": cluster, "updateId": update_id}
    if nodegroup:
        kwargs["nodegroupName"] = nodegroup
    if addon:
        kwargs["addonName"] = addon
    last: dict[str, Any] = {}

    def probe() -> str:
        last.clear()
        last.update(client.describe_update(**kwargs)["update"])
        return str(last.get("status", ""))

    def errors() -> str:
        return "; ".join(f"{e.get('errorCode', '')}: {e.get('errorMessage', '')}" for e in last.get("errors") or [])

    poll(f"{what} update ({update_id})", probe, target={"Successful"}, pending={"InProgress"}, detail=errors)

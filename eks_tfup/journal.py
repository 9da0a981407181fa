"""Run directories, the journal of completed steps, and the per-cluster lock.

A run lives in `<tf_dir>/.eks-tfup/runs/<timestamp>-<cluster>-<version>/`. The journal is rewritten
atomically whenever a step starts or succeeds, so an interrupted run can be resumed from the first
step not completed, and a step is recorded as done only after it succeeded.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eks_tfup.errors import LockedError, UsageError
from eks_tfup.files import write_json_atomic

JOURNAL = "journal.json"
FORMAT = 1


def utcnow() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Journal:
    def __init__(self, run_dir: Path, data: dict[str, Any]) -> None:
        self.run_dir = run_dir
        self.data = data

    @property
    def run_id(self) -> str:
        return self.run_dir.name

    @property
    def path(self) -> Path:
        return self.run_dir / JOURNAL

    @classmethod
    def create(cls, runs_dir: Path, *, cluster: str, target: str, kind: str, meta: dict[str, Any]) -> Journal:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        run_dir = runs_dir / f"{stamp}-{cluster}-{target}"
        n = 1
        while run_dir.exists():  # two runs in the same second (tests, retries)
            n += 1
            run_dir = runs_dir / f"{stamp}-{cluster}-{target}-{n}"
        run_dir.mkdir(parents=True)
        journal = cls(run_dir, {
            "format": FORMAT, "run_id": run_dir.name, "kind": kind, "cluster": cluster, "target": target,
            "created": utcnow(), "updated": utcnow(), "status": "running", "error": None,
            "steps": {}, "state": {}, **meta,
        })
        journal.save()
        return journal

    @classmethod
    def load(cls, run_dir: Path) -> Journal:
        try:
            data = json.loads((run_dir / JOURNAL).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise UsageError(f"no journal in {run_dir}") from exc
        except json.JSONDecodeError as exc:
            raise UsageError(f"corrupt journal {run_dir / JOURNAL}: {exc}") from exc
        if data.get("format") != FORMAT:
            raise UsageError(f"{run_dir / JOURNAL}: unsupported journal format {data.get('format')!r}")
        return cls(run_dir, data)

    def save(self) -> None:
        self.data["updated"] = utcnow()
        write_json_atomic(self.path, self.data)

    # -- steps -------------------------------------------------------------------------------------
    def step(self, name: str) -> dict[str, Any]:
        steps: dict[str, dict[str, Any]] = self.data["steps"]
        return steps.setdefault(name, {"status": "pending"})

    def is_done(self, name: str) -> bool:
        return self.step(name).get("status") == "done"

    def started(self, name: str) -> None:
        rec = self.step(name)
        rec.update(status="running", started=utcnow(), attempts=int(rec.get("attempts", 0)) + 1)
        rec["_t0"] = time.time()
        self.save()

    def finished(self, name: str, *, outcome: str = "ok", detail: str | None = None) -> None:
        rec = self.step(name)
        t0 = rec.pop("_t0", None)
        rec.update(status="done", finished=utcnow(), outcome=outcome, detail=detail)
        if t0 is not None:
            rec["seconds"] = round(time.time() - float(t0), 1)
        self.save()

    def failed(self, name: str, error: str, *, status: str = "failed") -> None:
        rec = self.step(name)
        t0 = rec.pop("_t0", None)
        rec.update(status=status, finished=utcnow(), error=error)
        if t0 is not None:
            rec["seconds"] = round(time.time() - float(t0), 1)
        self.data["status"] = status
        self.data["error"] = error
        self.save()

    def reset(self, *names: str) -> None:
        for name in names:
            self.data["steps"].pop(name, None)
        self.save()

    @property
    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.data["state"]
        return state

    def set_status(self, status: str, error: str | None = None) -> None:
        self.data["status"] = status
        self.data["error"] = error
        self.save()


def latest_run(runs_dir: Path, *, cluster: str | None = None, unfinished: bool = False) -> Journal | None:
    if not runs_dir.is_dir():
        return None
    for run_dir in sorted((p for p in runs_dir.iterdir() if (p / JOURNAL).is_file()), reverse=True):
        try:
            j = Journal.load(run_dir)
        except UsageError:
            continue
        if cluster and j.data.get("cluster") != cluster:
            continue
        if unfinished and j.data.get("status") == "done":
            continue
        return j
    return None


@dataclass
class Lock:
    """An exclusive lock per cluster: a file created with O_EXCL holding who holds it.

    A lock left by a process that no longer exists on this host is stale and taken over (with a
    warning): the users' top complaint about PR bots is locks that stay stuck.
    """

    path: Path
    run_id: str
    taken_over: str | None = None

    @classmethod
    def acquire(cls, state_dir: Path, cluster: str, run_id: str) -> Lock:
        path = state_dir / "locks" / f"{cluster}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "run_id": run_id, "since": utcnow()}
        taken_over = None
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = _read_holder(path)
                if holder and _alive(holder):
                    raise LockedError(
                        f"cluster {cluster} is locked by run {holder.get('run_id')} "
                        f"(pid {holder.get('pid')} on {holder.get('host')} since {holder.get('since')})",
                        hint=f"wait for it, or remove {path} if that process is gone") from None
                taken_over = f"took over a stale lock of run {holder.get('run_id') if holder else '?'}"
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                continue
            with os.fdopen(fd, "w") as fh:
                json.dump(me, fh)
            return cls(path, run_id, taken_over)
        raise LockedError(f"cluster {cluster}: could not take the lock {path}")

    def release(self) -> None:
        holder = _read_holder(self.path)
        if holder and holder.get("run_id") == self.run_id:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


def _read_holder(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _alive(holder: dict[str, Any]) -> bool:
    if holder.get("host") != socket.gethostname():
        return True  # cannot tell for another host: assume it is alive
    try:
        os.kill(int(holder.get("pid", 0)), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True

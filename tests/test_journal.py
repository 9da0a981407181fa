from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from eks_tfup.errors import LockedError
from eks_tfup.journal import Journal, Lock, latest_run


def test_journal_records_steps_and_survives_reload(tmp_path: Path) -> None:
    j = Journal.create(tmp_path, cluster="demo", target="1.29", kind="bump", meta={})
    j.started("check")
    assert not j.is_done("check")
    j.finished("check", detail="ok")
    j.state["x"] = 1
    j.save()
    again = Journal.load(j.run_dir)
    assert again.is_done("check") and again.state["x"] == 1
    assert latest_run(tmp_path, cluster="demo", unfinished=True) is not None
    again.set_status("done")
    assert latest_run(tmp_path, cluster="demo", unfinished=True) is None
    assert not list(j.run_dir.glob(".*.tmp")), "atomic writes leave no temp files"


def test_lock_refuses_a_live_holder_and_takes_over_a_dead_one(tmp_path: Path) -> None:
    lock = Lock.acquire(tmp_path, "demo", "run-1")
    with pytest.raises(LockedError, match="locked by run run-1"):
        Lock.acquire(tmp_path, "demo", "run-2")
    lock.release()
    assert not lock.path.exists()
    # A lock whose process is gone (pid that cannot exist) is stale.
    holder = {"pid": 2**22 + 12345, "host": os.uname().nodename, "run_id": "old"}
    lock.path.write_text(json.dumps(holder))
    taken = Lock.acquire(tmp_path, "demo", "run-3")
    assert taken.taken_over and "old" in taken.taken_over
    taken.release()

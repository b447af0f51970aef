"""Loaded by the daemon processes the ops tests start (PYTHONPATH points here), never by
Bridgework itself. It pins the wall clock and can kill the whole daemon at a chosen
durable write, which is where a crash can change what is on disk.

BW_TEST_NOW     ISO time every process starts at (time-machine, ticking)
BW_TEST_TRACE   append the name of every file os.replace moves into place
BW_TEST_KILL_AT SIGKILL the daemon's process group at the N-th os.replace of a job process,
BW_TEST_KILL_WHEN  "before" (temp file written, not renamed) or "after" the rename
BW_TEST_PAUSE_AT   after the N-th os.replace of a job process, create the file named by
                   BW_TEST_PAUSED and wait a few seconds: a test can then signal the daemon
                   in the middle of a cycle without guessing how long the cycle takes
"""

from __future__ import annotations

import datetime as dt
import os
import signal

_now = os.environ.get("BW_TEST_NOW")
if _now:
    import time_machine

    time_machine.travel(dt.datetime.fromisoformat(_now), tick=True).start()

_trace = os.environ.get("BW_TEST_TRACE")
_kill_at = int(os.environ.get("BW_TEST_KILL_AT", "0"))
_kill_before = os.environ.get("BW_TEST_KILL_WHEN", "after") == "before"
_pause_at = int(os.environ.get("BW_TEST_PAUSE_AT", "0"))
_paused = os.environ.get("BW_TEST_PAUSED", "")

if _trace or _kill_at or _pause_at:
    _real_replace = os.replace
    _count = {"pid": os.getpid(), "n": 0}

    def _kill() -> None:
        os.killpg(os.getpgrp(), signal.SIGKILL)

    def _replace(src, dst, *args, **kwargs):  # type: ignore[no-untyped-def]
        if _count["pid"] != os.getpid():  # a forked job counts its own writes
            _count.update(pid=os.getpid(), n=0)
        _count["n"] += 1
        if _kill_at and _count["n"] == _kill_at and _kill_before:
            _kill()
        result = _real_replace(src, dst, *args, **kwargs)
        if _trace:
            with open(_trace, "a") as f:
                f.write(f"{os.path.basename(os.fspath(dst))}\n")
        if _kill_at and _count["n"] == _kill_at:
            _kill()
        if _pause_at and _count["n"] == _pause_at and os.getpid() != os.getpgrp():
            import time

            open(_paused, "w").close()
            time.sleep(3)
        return result

    os.replace = _replace

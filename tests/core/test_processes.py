"""pid_alive: one liveness probe for output locks and the studio server."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from moralgap.processes import pid_alive


def test_running_and_missing_processes():
    assert pid_alive(os.getpid())
    assert not pid_alive(None) and not pid_alive(0)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert pid_alive(child.pid)
    finally:
        child.kill()
        child.wait()
    assert not pid_alive(child.pid)  # reaped by wait(): the id names nothing now


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process states from /proc")
def test_an_exited_child_is_reaped_and_counts_as_dead():
    # Popen is not waited for, so the exited child stays a zombie that kill(pid, 0) still finds.
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _is_zombie(child.pid):
        time.sleep(0.05)
    assert _is_zombie(child.pid)
    assert not pid_alive(child.pid)
    assert not os.path.exists(f"/proc/{child.pid}")


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return False

"""Whether a process id still names a running process."""
from __future__ import annotations

import contextlib
import os


def pid_alive(pid: int | None) -> bool:
    """True while ``pid`` runs (or belongs to another user, which ``kill`` may not probe).

    A child of this process that has exited stays a zombie, and ``kill(pid, 0)`` still finds it,
    until it is reaped; so a zombie child is reaped here and counts as dead. A stopped server
    started from this process (``moralgap studio``) would otherwise look alive for ever.
    """
    if not pid:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(ChildProcessError):  # not our child: nothing to reap
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True

"""What every process metakb starts shares: it ends with its parent.

Two mechanisms, for two kinds of child:

- pool workers (search, sweep and featurize pools) poll their parent's PID
  (:func:`exit_with_parent`): a pool may be started from any thread, and
  Linux's parent-death signal fires when the *thread* that forked a child
  ends, which would kill a worker while its process still runs;
- the Streamlit server, started from the main thread of ``metakb app``, gets
  the parent-death signal (:func:`die_with_parent`), so even a SIGKILLed
  ``metakb app`` takes it down at once.

The worker processes of a Dask ``LocalCluster`` (``--dask local:N``) end by
Dask's own means: each exits when the pipe from its parent closes.
``tests/test_processes.py`` checks all three kinds under SIGINT, SIGTERM and SIGKILL.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def exit_with_parent(parent: int) -> None:
    """Pool initializer: end this worker once its parent process is gone.

    A parent killed by SIGKILL (or by SIGTERM, whose default action skips all
    cleanup) cannot shut its pool down, and its workers would otherwise wait
    for work forever (they hold no knowledge-base lock, only memory).

    Parameters
    ----------
    parent : int
        The PID of the process that started the pool (``os.getpid()`` there).
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="metakb-parent-watch", daemon=True).start()


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """Return a ``preexec_fn`` that makes a child get ``sig`` when its parent dies.

    Only on Linux (``prctl(PR_SET_PDEATHSIG)``); elsewhere None. Start the child
    from the main thread: the signal fires when the forking thread ends.

    Parameters
    ----------
    sig : int
        The signal the child gets; SIGTERM lets it shut down cleanly.

    Returns
    -------
    callable or None
        For ``subprocess.Popen(..., preexec_fn=...)``.
    """
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        if libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
            os._exit(126)  # cannot promise to end with the parent: do not start
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec

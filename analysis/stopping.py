"""Stop signals: every batch command stops the same way, quickly, and leaves no orphans.

SIGINT (Ctrl-C), SIGTERM (`kill`, a job scheduler's time limit, a container stop) and
SIGHUP (a closed terminal) raise `Stopped` in the main thread, once: the code on the way
out stores what is finished and ends its worker processes (see `executors`). Later
signals are ignored while that cleanup runs, and a watchdog thread ends the process tree
and exits hard should the cleanup take longer than a few seconds. Worker processes ignore
SIGINT (a terminal's Ctrl-C reaches the whole process group): the main process stops them.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psutil

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GRACE_SECONDS = 8.0  # the longest an orderly stop (cleanup and exit) may take before the watchdog ends it


class Stopped(KeyboardInterrupt):
    """A stop signal arrived. A KeyboardInterrupt, so `except Exception` does not swallow it
    (a sweep does not record it as a failed run) and Ctrl-C handlers treat it alike."""

    def __init__(self, signum: int, note: str = "") -> None:
        super().__init__(signum)
        self.signum = signum
        self.note = note  # what was kept and how to go on, for the one-line message

    @property
    def name(self) -> str:
        """SIGINT, SIGTERM or SIGHUP."""
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """128 + the signal number, as a shell reports a process ended by that signal."""
        return 128 + self.signum


def ignore_interrupts() -> None:
    """In a worker process: leave Ctrl-C to the main process, which stops the workers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def children_ignore_interrupts() -> Iterator[None]:
    """Processes started within ignore SIGINT from their first instruction: an ignored signal
    stays ignored across exec, and Python then installs no KeyboardInterrupt handler. (A
    worker's initializer runs only after it has imported everything, too late for a Ctrl-C
    at start-up.) A SIGINT to this process within is lost, so keep it to process starts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


_deferring = 0  # depth of `deferred_stop` blocks (main thread only)
_deferred: list[int] = []  # a signal that arrived within one


@contextmanager
def deferred_stop() -> Iterator[None]:
    """A stop signal within is acted on when the block ends, not in the middle of it: for
    steps that a `Stopped` would leave half done, such as starting a Dask cluster. The
    watchdog still runs from the signal."""
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        if not _deferring and _deferred:
            raise Stopped(_deferred.pop())


@contextmanager
def stop_on_signals(grace: float = GRACE_SECONDS) -> Iterator[None]:
    """Within: the first stop signal raises `Stopped` in the main thread and starts a watchdog
    that ends the process tree and exits with 128 + signal after `grace` seconds, whatever
    the cleanup or the interpreter's exit is doing (waiting on a worker, say); later signals
    are ignored. The previous handlers come back after the block unless a signal arrived:
    then the process is on its way out and stays deaf to more."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        if stopping.is_set():
            return  # the cleanup is running; the watchdog bounds it
        stopping.set()
        for s in STOP_SIGNALS:  # ignored by the OS from now on, even while the interpreter exits
            signal.signal(s, signal.SIG_IGN)
        watchdog = threading.Timer(grace, _hard_exit, args=(signum, grace))
        watchdog.daemon = True
        watchdog.start()
        if _deferring:
            _deferred.append(signum)
            return
        raise Stopped(signum)

    # a signal ignored by whoever started this process stays ignored (nohup ignores SIGHUP)
    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS if signal.getsignal(s) != signal.SIG_IGN}
    try:
        yield
    finally:
        if not stopping.is_set():
            for s, h in previous.items():
                signal.signal(s, h)


def _hard_exit(signum: int, grace: float) -> None:
    """The watchdog: the orderly stop took too long; end the tree and exit now."""
    name = signal.Signals(signum).name
    message = f"stopped by {name}: an orderly stop took over {grace:.0f} s, so the workers were ended hard.\n"
    with suppress(OSError):
        os.write(2, message.encode())
    end_process_tree()
    os._exit(128 + signum)


def _is_resource_tracker(process: psutil.Process) -> bool:
    """multiprocessing's resource tracker ignores SIGTERM and exits by itself once every
    process holding its pipe is gone; terminating it would only cost a wait."""
    with suppress(Exception):
        return any("multiprocessing.resource_tracker" in part for part in process.cmdline())
    return False


def end_process_tree(timeout: float = 2.0) -> int:
    """End every descendant of this process: SIGTERM, then SIGKILL for what is left after
    `timeout` seconds; repeated while new ones appear (a Dask nanny restarting a worker).
    Returns how many were ended."""
    import psutil

    ended = 0
    for _ in range(3):
        try:
            children = psutil.Process().children(recursive=True)
        except psutil.Error:
            return ended
        targets = [c for c in children if not _is_resource_tracker(c)]
        if not targets:
            break
        for child in targets:
            with suppress(psutil.Error):
                child.terminate()
        _, alive = psutil.wait_procs(targets, timeout=timeout)
        for child in alive:
            with suppress(psutil.Error):
                child.kill()
        psutil.wait_procs(alive, timeout=timeout)
        ended += len(targets)
    return ended

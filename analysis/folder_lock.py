"""One writer per results folder: `DIR/.lock`, locked by the kernel and naming its holder.

The writer holds an exclusive `fcntl.flock` on `DIR/.lock` for as long as it writes, and
the file's body names it: `{"pid", "host", "started", "command"}`. A second writer's
lock attempt fails at once and it reports that holder. The kernel releases a flock when
its holder dies however it dies (SIGKILL, a crash), so a lock left behind by a killed
writer cannot block anyone and taking it over has no race: the next writer simply gets
the flock, sees the dead holder's body and writes its own. A clean release empties the
body; the file itself stays (removing a locked file would let two writers lock two files).

A body naming another host, found with the flock free, is refused: either that host's
writer crashed, or the file system (some NFS set-ups) does not share locks between hosts
and it is still writing; this host cannot tell which, so the user decides (delete the
file). Where the file system has no locks at all (flock fails with ENOLCK), the body
alone decides: a live process on this host, or any on another host, holds the folder.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import threading
from contextlib import suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: the body alone decides, as on a file system without locks
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}
_BUSY = {errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES}


class FolderLocked(RuntimeError):
    """Another writer holds the folder (or may: a lock from another host)."""


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) a folder's lock."""

    pid: int
    host: str
    started: str
    command: str = ""

    def describe(self) -> str:
        """`pid 123 on host h since 2026-05-09T18:30:00+00:00 (run.py sweep ...)`."""
        what = f" ({self.command})" if self.command else ""
        return f"pid {self.pid} on host {self.host} since {self.started}{what}"

    def is_alive(self) -> bool:
        """On this host: the process runs and started no later than the lock (not a reused pid)."""
        import psutil

        try:
            created = psutil.Process(self.pid).create_time()
        except psutil.NoSuchProcess:
            return False
        except psutil.Error:
            return True  # exists but cannot be inspected: assume it is the holder
        try:
            started = datetime.fromisoformat(self.started).timestamp()
        except ValueError:
            return True
        return created <= started + 1.0


def _read_holder(path: Path) -> Holder | None:
    """The holder a lock file names, or None for an empty (released) or unreadable body."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "null")
        return Holder(int(data["pid"]), str(data["host"]), str(data["started"]), str(data.get("command", "")))
    except (OSError, ValueError, TypeError, KeyError):
        return None


_held: dict[Path, tuple[int, int]] = {}  # folder -> (file descriptor, nesting depth) held by this process
_held_guard = threading.Lock()


class FolderLock:
    """`with FolderLock(folder):` write the folder alone; re-entrant within one process.

    Raises `FolderLocked` naming the holder, and `OSError` if the lock file cannot be
    created (the folder is missing or unwritable). `took_over` is the dead holder whose
    lock was taken over, if any.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self.took_over: Holder | None = None
        self._key = self.folder.resolve()

    def __enter__(self) -> FolderLock:
        with _held_guard:
            if self._key in _held:
                fd, depth = _held[self._key]
                _held[self._key] = (fd, depth + 1)
                return self
        fd = self._acquire()
        with _held_guard:
            _held[self._key] = (fd, 1)
        return self

    def __exit__(self, *_exc: object) -> None:
        with _held_guard:
            fd, depth = _held.pop(self._key)
            if depth > 1:
                _held[self._key] = (fd, depth - 1)
                return
        with suppress(OSError):
            os.ftruncate(fd, 0)  # released: an empty body
        os.close(fd)  # closing releases the flock

    def _refuse(self, holder: Holder | None, why: str = "") -> FolderLocked:
        who = holder.describe() if holder else "a process that has not yet written its name"
        return FolderLocked(
            f"{self.folder} is being written by another process: {who}{why}. One writer per results folder: "
            "wait for it to finish or stop it, or give another --out."
        )

    def _acquire(self) -> int:
        for _ in range(5):  # retried only if the lock file is replaced under us
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                kernel_lock = self._flock(fd)
                if kernel_lock and os.fstat(fd).st_ino != os.stat(self.path).st_ino:
                    os.close(fd)  # someone deleted and re-created the file: lock the one in place
                    continue
                previous = _read_holder(self.path)
                me = Holder(os.getpid(), socket.gethostname(), datetime.now(UTC).isoformat(), _command())
                if previous is not None and previous.pid != me.pid:
                    if previous.host != me.host:
                        raise self._refuse(
                            previous,
                            "; it is on another host, so this one cannot tell whether it still runs: if it does "
                            f"not, delete {self.path} and run again",
                        )
                    if not kernel_lock and previous.is_alive():
                        raise self._refuse(previous)
                    self.took_over = previous  # on this host and not holding the lock: it died
                os.ftruncate(fd, 0)
                os.pwrite(fd, json.dumps(asdict(me)).encode(), 0)
                os.fsync(fd)
                return fd
            except BaseException:
                os.close(fd)
                raise
        raise FolderLocked(f"{self.path} keeps being replaced while locking it; is something deleting it?")

    def _flock(self, fd: int) -> bool:
        """Take the kernel lock; False where the file system has none. Raises FolderLocked if held."""
        if fcntl is None:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in _BUSY:
                raise self._refuse(_read_holder(self.path)) from None
            if exc.errno in _NO_LOCKS:
                return False
            raise
        return True


def _command() -> str:
    """The command line of this process, shortened (for the holder's description)."""
    text = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv and sys.argv[0] else "python"
    return text if len(text) <= 200 else text[:197] + "..."

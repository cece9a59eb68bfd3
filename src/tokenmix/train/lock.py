"""One run per folder: an exclusive lock file `.tokenmix-lock` holding the owner's host and pid.

The lock is an flock(2) on that file, so the kernel drops it when its process dies, however it dies; the host
and pid inside only name the owner in messages. A file left by a dead process is therefore not held and is
taken over, with a message. After locking, the path must still name the locked file: a run that exits unlinks
the file, and a second process that had opened the old one must not believe it holds the new one.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
from pathlib import Path

from ..config import ConfigError

LOCK_NAME = ".tokenmix-lock"


class FolderInUse(ConfigError):
    """Another live process holds the run folder's lock."""


class RunLock:
    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK_NAME
        self.fd: int | None = None

    def acquire(self) -> None:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = _read_owner(fd)
                os.close(fd)
                raise FolderInUse(
                    f"run folder {self.path.parent} is in use by {owner} (lock file {self.path}); "
                    f"wait for it or choose another --output"
                ) from None
            if _same_file(fd, self.path):
                break
            os.close(fd)  # unlinked by its previous owner between our open and our lock: lock the new one
        previous = _read_owner(fd)
        if previous != "an unknown process":
            print(
                f"tokenmix train: taking over the stale lock of {previous}, which is no longer running",
                file=sys.stderr,
                flush=True,
            )
        owner = json.dumps(dict(host=socket.gethostname(), pid=os.getpid()))
        os.ftruncate(fd, 0)
        os.pwrite(fd, owner.encode(), 0)
        os.fsync(fd)
        self.fd = fd

    def release(self) -> None:
        if self.fd is None:
            return
        self.path.unlink(missing_ok=True)  # while still locked: nobody can lock the inode we unlink
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _read_owner(fd: int) -> str:
    try:
        owner = json.loads(os.pread(fd, 4096, 0) or b"null")
        return f"pid {int(owner['pid'])} on {owner['host']}"
    except (ValueError, TypeError, KeyError):
        return "an unknown process"

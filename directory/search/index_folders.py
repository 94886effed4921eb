"""Where the Whoosh index lives on disk: generation folders behind one pointer file.

`SEARCH_INDEX_DIR` holds `CURRENT` (the name of the folder searches read) and one
folder per full build. A rebuild writes a fresh folder and then replaces `CURRENT`
with `os.replace`, which is atomic: every process sees either the old index or the
new one, never a half-written or half-deleted one, and a damaged folder is replaced
without anyone writing into it. Every writer (a refresh or a rebuild, in any
process or thread) holds `write.lock`, so no write can land in a folder that a
rebuild is about to replace.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from .backend import IndexBusy

POINTER = "CURRENT"
LOCK = "write.lock"
PREFIX = "ix-"
LOCK_RETRY = 0.02  # seconds between attempts to take another writer's lock


class IndexFolders:
    """The generation folders under `root` and the pointer to the current one."""

    def __init__(self, root: Path):
        self.root = root

    def current(self) -> Path | None:
        """The folder searches read now (None: no index was ever built here)."""
        try:
            name = (self.root / POINTER).read_text().strip()
        except FileNotFoundError:
            return None
        return self.root / name if name else None

    def is_new(self) -> bool:
        """Nothing here yet: the first write may create an empty index.

        A root that holds anything but is missing its pointer (files of an older
        layout, or a deleted pointer) is not new: it needs a rebuild.
        """
        if not self.root.exists():
            return True
        return not any(p.name != LOCK for p in self.root.iterdir())

    def new_folder(self) -> Path:
        """An empty folder for a full build, named so that later builds sort later."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        folder = self.root / f"{PREFIX}{stamp}-{secrets.token_hex(4)}"
        folder.mkdir(parents=True)
        return folder

    def publish(self, folder: Path) -> None:
        """Point `CURRENT` at `folder` (atomically, durably), then remove the others.

        Processes still reading an older folder notice the pointer has moved and
        reopen; a read that meets a removed file is retried on the new folder.
        """
        pointer = self.root / POINTER
        staging = self.root / f".{POINTER}.{os.getpid()}.{secrets.token_hex(4)}"
        with open(staging, "w") as file:
            file.write(folder.name + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(staging, pointer)
        directory = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self.remove_others(folder)

    def remove_others(self, keep: Path) -> None:
        """Delete every generation folder and stray file but `keep` (and the lock)."""
        for path in self.root.iterdir():
            if path == keep or path.name in (POINTER, LOCK):
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    @contextmanager
    def write_lock(self, wait: float) -> Iterator[None]:
        """Hold the one lock every writer of this index takes, waiting up to `wait` s
        (then `IndexBusy`).

        flock locks belong to an open file, so threads of one process exclude each
        other as processes do; the kernel releases the lock of a killed process.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise IndexBusy("the search index is locked by another writer") from None
                    time.sleep(LOCK_RETRY)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

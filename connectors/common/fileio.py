"""Private, atomic file writes: state, tokens, keys, holds and digests."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def make_private_dir(directory: Path) -> None:
    """Create ``directory`` and any missing parents as 0700; existing folders are left alone.

    ``Path.mkdir(parents=True, mode=...)`` applies the mode to the last folder only, so a
    state path two levels deep would leave a world-readable parent behind.
    """
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue  # made meanwhile by another process: theirs to set
        os.chmod(folder, 0o700)  # mkdir's mode passes through the umask; be exact


def write_private(path: Path, data: bytes) -> None:
    """Write a whole file that only its owner can read; readers see the old or the new one.

    A unique temporary file in the same folder, fsync, rename, then fsync the folder
    so the rename itself survives a crash. Missing folders are made 0700.
    """
    make_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # created 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def append_private(path: Path, line: bytes) -> None:
    """Append one line to a file only its owner can read, and make it durable.

    A single ``write`` to an ``O_APPEND`` descriptor lands whole at the end, so
    processes appending at once never interleave a short line.
    """
    make_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)

"""The drop folder is not a door: which dropped entries are read, and how they are opened.

Whoever can write to the drop folder must not make the daemon read
anything else. Only regular files with one link are read (a symbolic link, a FIFO, a
socket, a device or a hard link to someone else's file is refused and reported), every
open uses ``O_NOFOLLOW`` and checks the opened file again (no swap between check and
open), and a file is loaded only once it has not changed for ``settle_seconds`` and ends
with a newline (a writer still appending is not read half-way).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO, NamedTuple

#: Default time a dropped file must stay unchanged before it is loaded.
DEFAULT_SETTLE_SECONDS = 30.0


class DropScan(NamedTuple):
    """The drop folder's matching entries, sorted by name into three lists."""

    ready: list[Path]
    #: ``(file, why)``: still changing, or not ending with a newline yet.
    waiting: list[tuple[Path, str]]
    #: ``(entry, why)``: never read (symbolic link, FIFO, hard link...).
    refused: list[tuple[Path, str]]


def _not_regular(st: os.stat_result) -> str | None:
    """Why an entry with this (l)stat is not read, or None for a plain file."""
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        return "a symbolic link; only regular files are read"
    if not stat.S_ISREG(mode):
        kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a file")
        return f"{kind}; only regular files are read"
    if st.st_nlink > 1:
        return f"a hard link ({st.st_nlink} names for one file); only single files are read"
    return None


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading, refusing anything but a plain file (``ValueError``).

    ``O_NOFOLLOW`` refuses a symbolic link in the last component, ``O_NONBLOCK`` keeps a
    FIFO from blocking the open, and the opened file itself is checked, so an entry swapped
    after it was listed is still refused.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if path.is_symlink():
            raise ValueError(f"{path.name}: a symbolic link; only regular files are read") \
                from None
        raise exc
    try:
        why = _not_regular(os.fstat(fd))
        if why is not None:
            raise ValueError(f"{path.name}: {why}")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _ends_with_newline(path: Path, size: int) -> bool:
    if size == 0:
        return True  # an empty file has no half-written line
    with open_regular(path) as f:
        f.seek(size - 1)
        return f.read(1) == b"\n"


def _linked_folder(folder: Path, path: Path) -> str | None:
    """The first folder between ``folder`` and ``path`` that is a symbolic link, if any.

    A pattern like ``*/*.csv`` walks into a linked folder (``**`` does not).
    """
    parts = path.relative_to(folder).parts[:-1]
    for i in range(1, len(parts) + 1):
        if (folder.joinpath(*parts[:i])).is_symlink():
            return "/".join(parts[:i])
    return None


def scan_drop_folder(folder: Path, patterns: Sequence[str], *,
                     settle_seconds: float = DEFAULT_SETTLE_SECONDS,
                     now: Callable[[], float] = time.time) -> DropScan:
    """Sort the matching entries of ``folder`` (dotfiles and folders left out; see above).

    A file is ready once its last change (the later of mtime and ctime, so a copy that
    keeps an old mtime still counts as new) is ``settle_seconds`` old and it ends with a
    newline. Raises ``FileNotFoundError`` / ``NotADirectoryError`` when the folder is not
    there.
    """
    if not folder.is_dir():
        if folder.exists():
            raise NotADirectoryError(f"drop folder {folder} is not a directory")
        raise FileNotFoundError(f"drop folder {folder} does not exist")
    seen: dict[str, Path] = {}
    for pattern in patterns:
        for p in folder.glob(pattern):
            if not p.name.startswith("."):
                seen[p.name] = p
    out = DropScan([], [], [])
    t = now()
    for name in sorted(seen):
        p = seen[name]
        try:
            linked = _linked_folder(folder, p)
            if linked is not None:
                out.refused.append((p, f"inside {linked}, a symbolic link to a folder; only "
                                       "files in the drop folder itself are read"))
                continue
            st = p.lstat()
            if stat.S_ISDIR(st.st_mode):
                continue
            why = _not_regular(st)
            if why is not None:
                out.refused.append((p, why))
                continue
            age = t - max(st.st_mtime, st.st_ctime)
            if age < settle_seconds:
                out.waiting.append((p, f"changed {max(age, 0):.0f}s ago; waits until "
                                       f"unchanged for {settle_seconds:g}s"))
            elif not _ends_with_newline(p, st.st_size):
                out.waiting.append((p, "does not end with a newline (still being written?)"))
            else:
                out.ready.append(p)
        except ValueError as exc:
            out.refused.append((p, str(exc).split(": ", 1)[-1]))
        except FileNotFoundError:
            continue  # moved away meanwhile
    return out

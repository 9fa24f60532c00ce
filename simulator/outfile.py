"""Output files named by the user (reports, transcripts): checked before a run, written where they point.

A report goes to the path the user gave, opened and written like any program would: a symlink's target
is written (the link stays), a device (``/dev/stdout``, a FIFO) receives the bytes (it is not replaced
by a regular file), and ``-`` means standard output. Nothing is renamed over the path. Before a run,
``check_writable`` makes sure the path can be opened for writing -- without creating or truncating
anything -- so that a mistyped directory costs a second, not a finished run. A write that still fails
(a full disk, a kernel file that refuses data) raises ``ConfigError`` with one line.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from simulator.errors import ConfigError

STDOUT = "-"


def check_writable(path: str | os.PathLike[str] | None, what: str) -> None:
    """``ConfigError`` now if ``path`` could not be written later; ``None`` and ``-`` always can."""
    if path is None or str(path) in ("", STDOUT):
        return
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{what} {str(p)!r} is a directory")
    try:
        st = p.stat()  # follows a symlink: what matters is what it points at
    except FileNotFoundError:
        parent = Path(os.path.realpath(p)).parent  # a dangling symlink creates its target
        if not parent.is_dir():
            raise ConfigError(f"cannot write {what} {str(p)!r}: directory {str(p.parent)!r} does not exist") from None
        if not os.access(parent, os.W_OK | os.X_OK):
            raise ConfigError(f"cannot write {what} {str(p)!r}: directory {str(parent)!r} is not writable") from None
        return
    except OSError as exc:
        raise ConfigError(f"cannot write {what} {str(p)!r}: {exc.strerror or exc}") from None
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode):  # opening a FIFO would wait for its reader
        return
    try:  # opened without O_TRUNC: the file stays as it is until the run writes it
        fd = os.open(p, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ConfigError(f"cannot write {what} {str(p)!r}: {exc.strerror or exc}") from None
    os.close(fd)


def write_text(path: str | os.PathLike[str], text: str, what: str) -> None:
    """Write ``text`` (already rendered: a rendering error never truncates the old file) to ``path``, or to
    standard output for ``-``; ``ConfigError`` with one line when the system refuses."""
    if str(path) == STDOUT:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except OSError as exc:
            raise ConfigError(f"cannot write {what} to standard output: {exc.strerror or exc}") from None
        return
    try:
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    except OSError as exc:
        raise ConfigError(f"cannot write {what} {str(path)!r}: {exc.strerror or exc}") from None

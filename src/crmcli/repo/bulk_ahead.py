"""The next batches of a long import parsed in a second process while this one writes.

Reading, parsing and validating customer rows is about a sixth of an import's CPU
(measured: 3 of 18 CPU seconds for 100,000 rows), and Python runs one thread at a time,
so a thread would not overlap it with the writing. After the first AFTER batches (a short
import never pays for a process) the import forks, unless the input ended: the child goes on through the same batches (the open file or standard input,
the header and the parser's state are its own copies) and sends each batch's parsed rows,
pickled, through a pipe, while this process looks up duplicates and writes the batch
before. A file known to be long (LONG_BYTES, LONG_SHEET_ROWS) forks before its first
batch: the child then inherits a smaller heap and copies less of it (measured at 100,000
rows: both processes' RSS summed peaked at 249 MiB instead of 285). The pipe bounds memory: the child blocks once the pipe is full, so at most the
batch being written, the one in the pipe and the one being parsed are held.

The child never touches the database (the importer's `apart` makes its parsing free of
it) nor the terminal: it leaves by os._exit, so no buffer, finalizer or connection of the
parent's is flushed or closed twice. It dies with the parent: killed by the kernel when
the parent dies (Linux), and otherwise at its next write into the pipe nobody reads. An
error met while parsing crosses the pipe and is raised here at the same point of the
import as without a child.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

AFTER = 2  # batches parsed in process before the rest is parsed in a forked child
LONG_BYTES = 512 * 1024  # a file at least this long forks before its first batch
LONG_SHEET_ROWS = 4000  # a sheet of at least this many rows too (AFTER batches)

T = TypeVar("T")


def known_long(format: str, total: int | None) -> bool:
    """Whether an input of `total` bytes (a sheet: rows) is long enough to fork at once."""
    return total is not None and total >= (LONG_SHEET_ROWS if format == "xlsx" else LONG_BYTES)


def ahead(batches: Iterator[T], detach: Callable[[], None], last: Callable[[T], bool],
          after: int = AFTER) -> Iterator[T]:
    """`batches`, the first `after` of them made here and the rest in a forked child that
    runs `detach` first; none is forked if one of the first is the `last`. Without
    os.fork (Windows), all are made here."""
    for _ in range(after):
        batch = next(batches, None)
        if batch is None:
            return
        yield batch
        if last(batch):
            return
    if not hasattr(os, "fork"):
        yield from batches
        return
    yield from _forked(batches, detach)


def _forked(batches: Iterator[T], detach: Callable[[], None]) -> Iterator[T]:
    read_end, write_end = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(batches, detach, write_end, parent)
    os.close(write_end)
    try:
        with os.fdopen(read_end, "rb") as pipe:
            while True:
                kind, value = pickle.load(pipe)
                if kind == "end":
                    return
                if kind == "raise":
                    raise value
                yield value
    finally:
        os.kill(pid, signal.SIGKILL)  # done or abandoned: not reaped yet, so still ours
        os.waitpid(pid, 0)


def _child(batches: Iterator[Any], detach: Callable[[], None], fd: int, parent: int) -> None:
    """Send every batch, then "end", or the error that stopped them; never returns."""
    code = 1
    try:
        _die_with(parent)
        pipe = os.fdopen(fd, "wb")
        try:
            detach()
            for batch in batches:
                _send(pipe, ("batch", batch))
            _send(pipe, ("end", None))
            code = 0
        except BrokenPipeError:
            pass  # the parent stopped reading: it ended or died
        except BaseException as error:  # noqa: BLE001 - every error is the parent's to raise
            _send(pipe, ("raise", _picklable(error)))
    finally:
        os._exit(code)


def _send(pipe: Any, message: tuple[str, Any]) -> None:
    """One whole message: pickled first, so a failure never leaves half of one."""
    pipe.write(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))
    pipe.flush()


def _picklable(error: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001 - an error that does not pickle still stops the import
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


def _die_with(parent: int) -> None:
    """Ask the kernel to kill this process when the parent dies (Linux's PR_SET_PDEATHSIG);
    if it already has, leave now."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)

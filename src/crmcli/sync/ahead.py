"""Reading ahead: the next page of a pull read by a thread while the replica writes this one.

A pull spends its time in two places that can overlap: the shared database finding and
sending the next page (and psycopg parsing it), and SQLite writing the current one (which
releases the GIL too). At most one page waits beside the one being written, so memory
still holds a bounded number of pages. psycopg's connections serialise their operations,
so the pull may use the same connection meanwhile (masks, attachment contents).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from queue import Empty, Full, Queue
from typing import TypeVar

T = TypeVar("T")
_END = object()
_POLL_S = 0.1


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """The items of `items`, each next one read by a thread while the caller works on this
    one. An error of the reader is raised to the caller; closed early (an error of the
    caller), the reader stops, closes `items` and is waited for."""
    waiting: Queue = Queue(maxsize=1)
    stop = threading.Event()

    def hand_over(item: object) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=_POLL_S)
                return True
            except Full:
                continue
        return False

    def read() -> None:
        try:
            for item in items:
                if not hand_over(item):
                    break
            else:
                hand_over(_END)
        except BaseException as error:  # noqa: BLE001 - the caller raises it
            hand_over(error)
        finally:
            try:
                items.close()  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - already failing or stopping: nothing to add
                pass

    reader = threading.Thread(target=read, name="crm-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            try:
                item = waiting.get(timeout=_POLL_S)
            except Empty:
                if not reader.is_alive() and waiting.empty():
                    return
                continue
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()

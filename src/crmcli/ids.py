"""Record ids: uuid7 (sortable by creation time) and the short form people type.

A uuid7 begins with a 48-bit millisecond timestamp, so its first eight hex digits are the
same for every record made within about a minute (a bulk import shares them all). The
short id people see is therefore the *last* eight hex digits, which are random. A reference
resolves by a prefix of either the full id or the short id.
"""

import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

SHORT_LEN = 8
MIN_PREFIX = 4
_HEX = re.compile(r"^[0-9a-f-]+$")

_lock = threading.Lock()
_last_ms = 0
_counter = 0
_RANDOM_BYTES = 9  # 62 random bits, and the counter's random start
_pool = b""  # randomness drawn from the OS for many ids at once
_taken = 0


_ahead: list[str] = []  # ids made for a bulk write about to use them, the next one last


def new_id() -> str:
    """A uuid7 (RFC 9562): Unix milliseconds, a 12-bit counter, 62 random bits; one made
    `ahead` if a bulk write asked for them."""
    if _ahead:
        try:
            return _ahead.pop()
        except IndexError:  # another thread took the last one
            pass
    return _made(1)[0]


@contextmanager
def ahead(count: int) -> Iterator[None]:
    """Make the next `count` ids at once, for a bulk write about to make that many: half
    the cost of each made alone (one lock, one clock reading). They are taken in order by
    `new_id` inside the block and the ones left are dropped at its end, so an id never
    carries a time much older than its record's (a batch is stamped with one time anyway)."""
    _ahead[:] = reversed(_made(count))
    try:
        yield
    finally:
        _ahead.clear()


def _made(count: int) -> list[str]:
    """`count` new uuid7s in increasing order.

    The counter keeps ids made in the same millisecond in creation order (RFC 9562,
    method 1), and ids keep increasing if the system clock steps back. Written here rather
    than taken from a library because bulk imports make four ids per row: this costs a
    third of a general-purpose implementation. The randomness is drawn from os.urandom
    for 512 ids at a time or more, and the text is the hex of the 128 bits put together as
    one integer, cut in five (a third less than formatting each field on its own).
    """
    global _last_ms, _counter, _pool, _taken
    made = []
    with _lock:
        need = _RANDOM_BYTES * count
        if _taken + need > len(_pool):
            _pool, _taken = os.urandom(max(need, _RANDOM_BYTES * 512)), 0
        start, _taken = _taken, _taken + need
        now_ms = time.time_ns() // 1_000_000
        for place in range(start, start + need, _RANDOM_BYTES):
            randomness = int.from_bytes(_pool[place:place + _RANDOM_BYTES], "big")
            if now_ms > _last_ms:
                # start low in the counter's range so a burst within one millisecond fits
                _last_ms, _counter = now_ms, randomness >> 62
            else:
                _counter += 1
                if _counter > 0xFFF:
                    _last_ms, _counter = _last_ms + 1, 0
            made.append(_last_ms << 80 | (0x7000 | _counter) << 64 | 0x8000_0000_0000_0000
                        | randomness & 0x3FFF_FFFF_FFFF_FFFF)
    texts = []
    for bits in made:
        text = bits.to_bytes(16, "big").hex()
        texts.append(f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}")
    return texts


def _forget_randomness() -> None:
    """A forked child draws its own: sharing the parent's pool (or its ids made ahead)
    would repeat its ids."""
    global _pool, _taken
    _pool, _taken = b"", 0
    _ahead.clear()


os.register_at_fork(after_in_child=_forget_randomness)


def short(record_id: str | None) -> str:
    return record_id[-SHORT_LEN:] if record_id else ""


def could_be_id_prefix(text: str) -> bool:
    """Whether `text` is worth looking up as an id prefix (hex, at least MIN_PREFIX long)."""
    return len(text) >= MIN_PREFIX and bool(_HEX.match(text.lower()))

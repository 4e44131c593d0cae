"""People's names compared as people compare them.

张三, 張三, "ＺＨＡＮＧ San" and "zhang  san" are written differently by different departments
(a traditional-script contract, a full-width form, a typed English name). Identity rules
(is this phone's holder the same person?) compare names through `name_key`, which folds
width (NFKC), case and spaces and writes traditional characters as simplified ones.
"""

import functools
import re
import unicodedata

_SPACES = re.compile(r"\s+")


@functools.cache
def _to_simplified():
    """OpenCC's traditional-to-simplified converter, loaded on first use (it reads a dictionary)."""
    import opencc

    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """`text` with traditional Chinese characters written as simplified ones."""
    if text.isascii():
        return text
    return _to_simplified().convert(text)


def name_key(name: str | None) -> str:
    """The form two names are compared in: width, case, spaces and script folded away."""
    folded = _SPACES.sub("", unicodedata.normalize("NFKC", name or "").casefold())
    return simplified(unicodedata.normalize("NFKC", folded))


def same_name(a: str | None, b: str | None) -> bool:
    """Whether two names are the same person's name once spelling habits are folded away."""
    return name_key(a) == name_key(b)

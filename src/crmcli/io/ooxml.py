"""Text in an xlsx cell as Excel encodes it (ECMA-376 ST_Xstring), both ways.

XML 1.0 cannot hold most control characters, and an XML reader turns a carriage return
into a line feed, so OOXML writes such a character as `_xHHHH_` (ESC is `_x001B_`, CR is
`_x000D_`, as Excel itself writes it), and an underscore that would begin such a sequence
in the text as `_x005F_`. Export escapes and import unescapes, so a value survives the
round trip exactly, whether it holds ESC or the seven characters `_x001B_`; openpyxl does
neither (its own helper misses ESC and the underscore), so we do it here.
"""

from __future__ import annotations

import re

# what XML 1.0 cannot carry (tab and line feed it can), CR, and a literal "_xHHHH_"'s "_"
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x0d\x0e-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def escape(text: str) -> str:
    return _UNSAFE.sub(lambda found: f"_x{ord(found.group()):04X}_", text)


def unescape(text: str) -> str:
    return _ESCAPED.sub(lambda found: chr(int(found.group(1), 16)), text) if "_x" in text else text

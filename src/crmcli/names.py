"""People's names compared, sorted and searched as people do it.

张三, 張三, "ＺＨＡＮＧ San" and "zhang  san" are written differently by different departments
(a traditional-script contract, a full-width form, a typed English name). Identity rules
(is this phone's holder the same person?) compare names through `name_key`, which folds
width (NFKC), case and spaces and writes traditional characters as simplified ones.

Chinese readers expect 陈 before 王 before 张 (by pinyin, as a phone's contact list), not
by code point: `sort_key` spells a name in toneless pinyin (`张三` → `zhang san`), and
customer lists order by it (a stored, indexed column). `spellings` is what search finds
a name by besides the name itself: its simplified form, its pinyin run together
(`zhangsan`) and its initials (`zs`).

Pinyin comes from pypinyin's table of characters (its first, commonest reading), read
straight from the JSON file the package ships: importing pypinyin itself takes a second
and segmenting phrases costs ~125 µs a name, too much for an import of a million rows;
a table lookup costs a few µs. A polyphonic character that begins a name is read as a
surname (曾 zeng, 单 shan).
"""

import functools
import json
import re
import unicodedata
from importlib.util import find_spec
from pathlib import Path

_SPACES = re.compile(r"\s+")
# Names met recently, remembered with their key and spellings: an import meets the same
# names again and again (a surname and one or two given characters), and converting
# script and spelling pinyin is most of what a name costs. Bounded, so memory stays flat.
NAMES_REMEMBERED = 32_768


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


@functools.lru_cache(maxsize=NAMES_REMEMBERED)
def name_key(name: str | None) -> str:
    """The form two names are compared in: width, case, spaces and script folded away."""
    folded = _SPACES.sub("", unicodedata.normalize("NFKC", name or "").casefold())
    return simplified(unicodedata.normalize("NFKC", folded))


def same_name(a: str | None, b: str | None) -> bool:
    """Whether two names are the same person's name once spelling habits are folded away."""
    return name_key(a) == name_key(b)


# Surnames read otherwise than the character's commonest reading.
_SURNAMES = {
    "曾": "zeng", "单": "shan", "單": "shan", "解": "xie", "仇": "qiu", "朴": "piao",
    "查": "zha", "区": "ou", "區": "ou", "覃": "qin", "盖": "ge", "蓋": "ge", "乐": "yue",
    "樂": "yue", "缪": "miao", "繆": "miao", "翟": "zhai", "尉": "yu", "种": "chong",
    "重": "chong", "长": "chang", "長": "chang", "沈": "shen", "藏": "zang", "宓": "mi",
}


@functools.cache
def _readings() -> dict[int, str]:
    """{code point: toneless pinyin} of every character pypinyin knows (its first reading)."""
    spec = find_spec("pypinyin")
    assert spec is not None and spec.origin is not None, "pypinyin is a dependency"
    table = json.loads((Path(spec.origin).parent / "pinyin_dict.json").read_text("utf-8"))
    return {int(point): _toneless(readings.split(",")[0]) for point, readings in table.items()}


def _toneless(syllable: str) -> str:
    """`lǜ` → `lv`, `zhāng` → `zhang` (pypinyin's own toneless style writes ü as v)."""
    decomposed = unicodedata.normalize("NFD", syllable).replace("u\u0308", "v")
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def unaccented(text: str) -> str:
    """`joão` → `joao`: accents do not move a name in a list (Chinese is left as it is)."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


@functools.lru_cache(maxsize=NAMES_REMEMBERED)
def spelled(name: str | None) -> tuple[str, str]:
    """(sort key, spellings) of a name, the two columns a customer's name fills.

    The sort key is the order Chinese readers expect: `张三` → `zhang san`, `Acme` →
    `acme` (case and width folded), so 陈, Chen and 王 sort as a contact list does. The
    spellings are what else the name is found by: its simplified form (if written in
    traditional script), its pinyin run together and its initials (`張三` → `张三 |
    zhangsan | zs`); none for a name without Chinese characters.
    """
    text = unaccented(unicodedata.normalize("NFKC", name or "").casefold().strip())
    if text.isascii():
        return " ".join(text.split()), ""
    readings = _readings()
    pieces: list[str] = []
    initials: list[str] = []
    other = False  # whether the last piece is other text, which the next char joins
    for place, char in enumerate(text):
        reading = (place == 0 and _SURNAMES.get(char)) or readings.get(ord(char))
        if reading:
            pieces.append(reading)
            initials.append(reading[0])
        elif other:
            pieces[-1] += char
        else:
            pieces.append(char)
        other = not reading
    key = " ".join(piece for piece in (p.strip() for p in pieces) if piece)
    if not initials:
        return key, ""
    simple = simplified(name or "")
    forms = [simple] if simple != name else []
    forms += ["".join(pieces).replace(" ", ""), "".join(initials)]
    return key, " | ".join(forms)

"""Turning the bytes of an import into text: which encoding, and where it breaks.

Teams bring UTF-8 (with or without a BOM), Excel's "Unicode text" (UTF-16 with a BOM) and
GBK/GB18030 exports from Chinese software, and should not have to say which. A BOM
decides; otherwise a sample that is valid UTF-8 is UTF-8. Otherwise the legacy encodings
are tried strictly on the sample. GB18030 (which contains GBK) and Big5 read almost the
same bytes, so a sample both decode is judged by what each reading holds: the share of its
characters that are the common ones of that standard (GB2312's punctuation and hanzi; Big5's
symbols and hanzi). Big5 bytes read as GB18030 give kana, private-use and rare characters,
and GBK bytes read as Big5 give rare ones, so the right reading scores near 1 and the other
well below; a tie goes to GB18030, our users' usual legacy encoding (charset-normalizer,
asked the same question, called short GBK files Big5 or Korean and stored garbled names).
Only when neither reading is plausible is cp1252 considered, with charset-normalizer
judging whether its reading is text. The sample's cut may split a character: it is
decoded as a stream whose last bytes may be incomplete, so where it ends does not matter.
The rest of the file is decoded as it streams in, so a bad byte further on stops the import
naming its offset.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import BinaryIO

from crmcli.errors import Invalid, UsageError

SAMPLE = 1 << 16
CHUNK = 1 << 20
BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
PLAUSIBLE = 0.5  # below this share of common characters a CJK reading is not believed
# (encoding, the codec that tells a character's code, lead bytes of its common characters)
CJK = (
    ("gb18030", "gb2312", frozenset(range(0xA1, 0xA4)) | frozenset(range(0xB0, 0xF8))),
    ("big5", "big5", frozenset(range(0xA1, 0xC7))),
)
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")


def detect(sample: bytes, *, whole: bool) -> str:
    """The encoding of a text whose first bytes are `sample` (`whole`: that is all of it)."""
    for bom, name in BOMS:
        if sample.startswith(bom):
            return name
    utf8 = _reading(sample, "utf-8", whole)
    if isinstance(utf8, str):
        return "utf-8"
    readings = [
        (_common_share(text, codec, leads), name)
        for name, codec, leads in CJK
        if isinstance(text := _reading(sample, name, whole), str)
    ]
    # the first best wins: a tie goes to GB18030
    score, best = max(readings, key=lambda reading: reading[0], default=(0.0, None))
    if score >= PLAUSIBLE:
        return best
    if _looks_like_cp1252(sample):
        return "cp1252"
    if best is not None:
        return best
    raise Invalid(
        f"cannot tell the text encoding: byte {utf8.start} (0x{sample[utf8.start]:02x}) "
        "is not UTF-8, and neither GB18030, Big5 nor cp1252 reads the start of the file; "
        "pass --encoding"
    )


def _reading(sample: bytes, encoding: str, whole: bool) -> str | UnicodeDecodeError:
    """`sample` decoded strictly, or the error saying where it is not `encoding`. Unless
    `whole`, a character cut off at the sample's end is left out, not an error."""
    try:
        return codecs.getincrementaldecoder(encoding)("strict").decode(sample, whole)
    except UnicodeDecodeError as error:
        return error


def _common_share(text: str, codec: str, leads: frozenset[int]) -> float:
    """The share of `text`'s non-ASCII characters that `codec` writes with a lead byte in
    `leads`: the everyday characters of that standard (1.0 when there are none)."""
    verdicts: dict[str, bool] = {}
    common = total = 0
    for char in text:
        if char < "\x80":
            continue
        if char not in verdicts:
            try:
                code = char.encode(codec)
            except UnicodeEncodeError:
                code = b""
            verdicts[char] = len(code) == 2 and code[0] in leads
        total += 1
        common += verdicts[char]
    return common / total if total else 1.0


def _looks_like_cp1252(sample: bytes) -> bool:
    from charset_normalizer import from_bytes

    return from_bytes(sample, cp_isolation=["cp1252"]).best() is not None


def check_encoding(name: str) -> str:
    """A user's --encoding, checked and given its codec's name (gbk → gbk, utf8 → utf-8)."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise UsageError(f"--encoding: unknown encoding {name!r}") from None


class Text:
    """The text of a byte stream, decoded as it is read; `position` is the bytes read so far."""

    def __init__(self, stream: BinaryIO, label: str, encoding: str | None = None):
        self.stream = stream
        self.label = label
        self.sample = stream.read(SAMPLE)
        self.encoding = encoding or detect(self.sample, whole=len(self.sample) < SAMPLE)
        self.position = 0

    def chunks(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder(self.encoding)("strict")
        data = self.sample
        while data:
            text = self._decode(decoder, data, final=False)
            self.position += len(data)
            yield text
            data = self.stream.read(CHUNK)
        yield self._decode(decoder, b"", final=True)

    def _decode(self, decoder: codecs.IncrementalDecoder, data: bytes, final: bool) -> str:
        pending = len(decoder.getstate()[0])
        try:
            return decoder.decode(data, final)
        except UnicodeDecodeError as error:
            offset = self.position - pending + error.start
            raise Invalid(
                f"{self.label} is not valid {self.encoding} at byte {offset}; "
                "pass --encoding if it is in another encoding"
            ) from None

    def lines(self) -> Iterator[str]:
        """Lines with their ends (CRLF, CR or LF), as the csv module wants them."""
        carry = ""
        for chunk in self.chunks():
            text = carry + chunk
            end = 0
            for match in _LINE.finditer(text):
                if match.end() == len(text) and text.endswith("\r"):
                    break  # may be the first half of a CRLF split across chunks
                yield match.group()
                end = match.end()
            carry = text[end:]
        if carry:
            yield carry

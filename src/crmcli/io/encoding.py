"""Turning the bytes of an import into text: which encoding, and where it breaks.

Teams bring UTF-8 (with or without a BOM), Excel's "Unicode text" (UTF-16 with a BOM) and
GBK/GB18030 exports from Chinese software, and should not have to say which. A BOM
decides; otherwise a sample that is valid UTF-8 is UTF-8; otherwise charset-normalizer
chooses among the legacy encodings such files come in (GB18030, which contains GBK; Big5;
cp1252). Unrestricted, it calls short GBK samples Korean. The rest of the file is decoded
as it streams in, so a bad byte further on stops the import naming its offset.
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
LEGACY = ["gb18030", "big5", "cp1252"]
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")


def detect(sample: bytes, *, whole: bool) -> str:
    """The encoding of a text whose first bytes are `sample` (`whole`: that is all of it)."""
    for bom, name in BOMS:
        if sample.startswith(bom):
            return name
    utf8_error = _first_error(sample, "utf-8", whole)
    if utf8_error is None:
        return "utf-8"
    from charset_normalizer import from_bytes

    best = from_bytes(sample, cp_isolation=LEGACY).best()
    if best is None:
        raise Invalid(
            f"cannot tell the text encoding: byte {utf8_error} (0x{sample[utf8_error]:02x}) "
            "is not UTF-8, and neither GB18030, Big5 nor cp1252 reads the start of the file; "
            "pass --encoding"
        )
    return "gb18030" if best.encoding in ("gbk", "gb2312") else best.encoding


def _first_error(data: bytes, encoding: str, whole: bool) -> int | None:
    try:
        codecs.getincrementaldecoder(encoding)("strict").decode(data, whole)
    except UnicodeDecodeError as error:
        return error.start
    return None


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

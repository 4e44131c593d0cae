"""The sensitive fields' values: contract amounts, ID numbers and bank accounts.

Part of the data dictionary (`fields.py` uses these parsers for contract_amount, id_number
and bank_account), kept apart because the checks are longer than a line:

- contract_amount: money (`fields.parse_decimal`: `1,234.50`, `¥1234`, `50万`), never negative.
- id_number: spaces removed, letters upper-cased (a final `x` becomes `X`).
  * 18 characters of which the first 17 are digits: a mainland resident ID
    (居民身份证), whose 18th character is the ISO 7064 MOD 11-2 check character
    (0-9 or X) and whose characters 7-14 are a birth date (YYYYMMDD) between 1900-01-01
    and today.
  * digits only (perhaps ending in X), any other length: refused (a mainland ID has 18
    characters; the old 15-digit cards are no longer valid).
  * anything else is another document (passport, Mainland Travel Permit for Hong Kong,
    Macau or Taiwan residents, foreign permanent residence card): 5 to 20 letters A-Z and
    digits, with at least one letter. Punctuation is refused (a Hong Kong card's
    `A123456(7)` is entered as `A1234567`).
- bank_account: spaces and dashes removed, then digits only, 8 to 30 of them; a number of
  16 to 19 digits is a card number (银行卡号) and must pass the Luhn check.

Two texts are refused in every sensitive field because they are what a reader who may
not see the value is shown: the word `restricted` and anything containing the mask
character `•`. An import of something a restricted reader exported or listed therefore
can never write a placeholder over a stored value.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal

from crmcli import clock
from crmcli.errors import Invalid

RESTRICTED = "restricted"
MASK = "•"

_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK_CHARACTERS = "10X98765432"
_RESIDENT_ID = re.compile(r"^[0-9]{17}[0-9X]$")
_SEVENTEEN_DIGITS = re.compile(r"^[0-9]{17}")
_DIGITS = re.compile(r"^[0-9]+X?$")
_OTHER_DOCUMENT = re.compile(r"^[A-Z0-9]{5,20}$")


def refuse_placeholder(text: str, field: str) -> None:
    """Refuse the word `restricted` and masks (`••••3445`): shown, never stored."""
    if text.strip().casefold() == RESTRICTED:
        raise Invalid(
            f"{RESTRICTED!r} is what a reader who may not see this field is shown, not a "
            "value; leave the field out to keep the stored one", field,
        )
    if MASK in text or text.strip().startswith("≥") or text.strip() == "<1":
        raise Invalid(
            f"{text!r} is a masked value as shown on screen, not a value; use "
            "`crm customer show --reveal` for the real one or leave the field out", field,
        )


def resident_id_check(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of a mainland resident ID's first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARACTERS[total % 11]


def _birth_date(number: str) -> date | None:
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None
    return born if date(1900, 1, 1) <= born <= clock.now().date() else None


def parse_id_number(text: str, field: str = "id_number") -> str | None:
    refuse_placeholder(text, field)
    value = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).upper()
    if not value:
        return None
    if len(value) == 18 and _SEVENTEEN_DIGITS.match(value):
        if not _RESIDENT_ID.match(value):
            raise Invalid(
                f"{text!r}: a mainland resident ID ends in a digit or X", field)
        if _birth_date(value) is None:
            raise Invalid(
                f"{text!r}: characters 7-14 of a mainland resident ID are a birth date "
                "(YYYYMMDD, 1900 to today)", field)
        if resident_id_check(value[:17]) != value[17]:
            raise Invalid(
                f"{text!r}: the check character of this mainland resident ID is wrong "
                "(a digit was mistyped)", field)
        return value
    if _DIGITS.match(value):
        raise Invalid(
            f"{text!r} is not an ID number: a mainland resident ID has 18 characters "
            "(17 digits and a digit or X); other documents contain a letter", field)
    if not _OTHER_DOCUMENT.match(value):
        raise Invalid(
            f"{text!r} is not an ID number: a mainland resident ID is 17 digits and a "
            "digit or X; other documents (passport, HK/Macau/Taiwan permits) are 5-20 "
            "letters and digits with at least one letter", field)
    return value


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check (card numbers)."""
    total = 0
    for place, digit in enumerate(reversed(digits)):
        value = int(digit)
        if place % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def luhn_check_digit(partial: str) -> str:
    """The digit that makes `partial` + digit pass the Luhn check."""
    return next(d for d in "0123456789" if luhn_valid(partial + d))


def parse_bank_account(text: str, field: str = "bank_account") -> str | None:
    refuse_placeholder(text, field)
    value = re.sub(r"[\s-]+", "", unicodedata.normalize("NFKC", text))
    if not value:
        return None
    if not value.isascii() or not value.isdigit():
        raise Invalid(f"{text!r}: a bank account is digits (spaces and dashes allowed)", field)
    if not 8 <= len(value) <= 30:
        raise Invalid(f"{text!r}: a bank account has 8 to 30 digits, not {len(value)}", field)
    if 16 <= len(value) <= 19 and not luhn_valid(value):
        raise Invalid(
            f"{text!r}: a card number of {len(value)} digits fails the Luhn check "
            "(a digit was mistyped)", field)
    return value


def parse_money(text: str, field: str = "contract_amount") -> Decimal | None:
    """A contract amount: `fields.parse_decimal`'s forms, never negative."""
    from crmcli.fields import parse_decimal

    refuse_placeholder(text, field)
    if not text.strip():
        return None
    value = parse_decimal(text, field)
    if value < 0:
        raise Invalid(f"{text!r}: an amount cannot be negative", field)
    return value + 0  # -0 is 0

"""Phone numbers in E.164, by the rules of phonenumbers (Google's libphonenumber).

`parse_phone` is what every writer uses (`138 0013 8000` → `+8613800138000` in region CN).
Bulk imports parse a phone per row, so the commonest case, a plainly written mobile
number, is answered from phonenumbers' own metadata without a full parse.
"""

import re
from functools import lru_cache

from crmcli.errors import Invalid


@lru_cache(maxsize=65536)
def parse_phone(text: str, region: str = "CN") -> str:
    """A phone number in E.164 (`138 0013 8000` → `+8613800138000` in region CN)."""
    fast = plain_mobile(text, region)
    if fast:
        return fast
    import phonenumbers

    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise Invalid(f"{text!r} is not a phone number", "phone") from None
    if not phonenumbers.is_valid_number(number):
        raise Invalid(f"{text!r} is not a valid phone number for region {region}", "phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_SEPARATORS = str.maketrans("", "", " -.()\u00a0")


def plain_mobile(text: str, region: str) -> str | None:
    """E.164 for the commonest case, a plainly written mobile number, without a full parse.

    Answers only when the digits (separators removed, an optional +country code) fully
    match the region's mobile pattern from phonenumbers' own metadata and no national
    prefix could be stripped from them, where a full parse gives the same result;
    anything else returns None for the full parse. A parse costs ~15 µs, which is a
    quarter of an import's time per row; a property test holds the two to agreement.
    """
    rules = _mobile_rules(region)
    if rules is None:
        return None
    country, mobile, general, national_prefix = rules
    digits = text.translate(_SEPARATORS)
    if digits.startswith("+"):
        if not digits.startswith(country, 1):
            return None
        digits = digits[len(country) + 1:]
    if not digits.isascii() or not digits.isdigit() or national_prefix.match(digits):
        return None
    if mobile.fullmatch(digits) and general.fullmatch(digits):
        return f"+{country}{digits}"
    return None


@lru_cache(maxsize=32)
def _mobile_rules(region: str):
    """(country code, mobile pattern, general pattern, national prefix) from phonenumbers."""
    from phonenumbers import PhoneMetadata

    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.mobile is None or not metadata.mobile.national_number_pattern:
        return None
    return (
        str(metadata.country_code),
        re.compile(metadata.mobile.national_number_pattern),
        re.compile(metadata.general_desc.national_number_pattern),
        re.compile(metadata.national_prefix_for_parsing or metadata.national_prefix or "(?!)"),
    )

"""The sensitive fields' values: ID numbers, bank accounts, contract amounts (documents.py)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from crmcli import documents, fields
from crmcli.errors import Invalid
from helpers import add_customer

VALID_ID = "11010519491231002X"


@st.composite
def resident_ids(draw) -> str:
    """A mainland resident ID with a real birth date and the right check character."""
    region = draw(st.from_regex(r"[1-6][0-9]{5}", fullmatch=True))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)))
    serial = draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    first17 = f"{region}{born:%Y%m%d}{serial}"
    return first17 + documents.resident_id_check(first17)


@given(resident_ids())
def test_a_resident_id_with_a_correct_check_character_is_accepted(number):
    assert documents.parse_id_number(number) == number
    assert documents.parse_id_number(number.lower()) == number


@given(resident_ids(), st.integers(0, 16), st.integers(1, 9))
def test_a_resident_id_with_one_changed_digit_is_refused(number, place, shift):
    changed = number[:place] + str((int(number[place]) + shift) % 10) + number[place + 1:]
    with pytest.raises(Invalid) as refused:
        documents.parse_id_number(changed)
    assert refused.value.field == "id_number"


@st.composite
def card_numbers(draw) -> str:
    partial = draw(st.from_regex(r"62[0-9]{13,16}", fullmatch=True))
    return partial + documents.luhn_check_digit(partial)


@given(card_numbers())
def test_a_card_number_passing_the_luhn_check_is_accepted(number):
    spaced = " ".join(number[i:i + 4] for i in range(0, len(number), 4))
    assert documents.parse_bank_account(spaced) == number


@given(card_numbers(), st.data())
def test_a_card_number_with_one_changed_digit_is_refused(number, data):
    place = data.draw(st.integers(0, len(number) - 1))
    digit = data.draw(st.sampled_from("0123456789"))
    assume(digit != number[place])
    changed = number[:place] + digit + number[place + 1:]
    with pytest.raises(Invalid, match="Luhn"):
        documents.parse_bank_account(changed)


def test_the_luhn_check_agrees_with_a_known_card_number():
    assert documents.luhn_valid("4111111111111111")
    assert not documents.luhn_valid("4111111111111112")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("11010519491231002x", VALID_ID), (" 110105 19491231 002X ", VALID_ID),
     ("E12345678", "E12345678"), ("c1234567", "C1234567"), ("H12345678", "H12345678"),
     ("ＥＡ1234567", "EA1234567")],
)
def test_id_numbers_are_normalised(typed, stored):
    assert documents.parse_id_number(typed) == stored


@pytest.mark.parametrize(
    ("typed", "why"),
    [("123", "18 characters"), ("110105194912310021", "check character"),
     ("110105194913310028", "birth date"), ("11010519491231002Y", "digit or X"),
     ("A-1234567", "5-20 letters and digits"), ("AB12", "5-20 letters and digits"),
     ("A123456(7)", "5-20 letters and digits"), ("110105491231002", "18 characters"),
     ("restricted", "not a value"), ("••••002X", "masked")],
)
def test_a_malformed_id_number_is_refused_saying_why(typed, why):
    with pytest.raises(Invalid, match=why) as refused:
        documents.parse_id_number(typed)
    assert refused.value.field == "id_number"


def test_a_resident_id_born_tomorrow_is_refused(monkeypatch):
    monkeypatch.setenv("CRM_NOW", "2026-01-01T12:00:00+00:00")
    first17 = "110105" + (date(2026, 1, 1) + timedelta(days=1)).strftime("%Y%m%d") + "001"
    with pytest.raises(Invalid, match="birth date"):
        documents.parse_id_number(first17 + documents.resident_id_check(first17))


@pytest.mark.parametrize(
    ("typed", "why"),
    [("abc", "digits"), ("1234567", "8 to 30"), ("1" * 31, "8 to 30"),
     ("6222021234567890123", "Luhn"), ("restricted", "not a value")],
)
def test_a_malformed_bank_account_is_refused_saying_why(typed, why):
    with pytest.raises(Invalid, match=why) as refused:
        documents.parse_bank_account(typed)
    assert refused.value.field == "bank_account"


def test_bank_accounts_of_other_lengths_are_not_luhn_checked():
    assert documents.parse_bank_account("6222-0000-1111") == "622200001111"
    assert documents.parse_bank_account("1" * 30) == "1" * 30


@pytest.mark.parametrize(("typed", "stored"), [("50万", Decimal(500000)), ("0", Decimal(0)),
                                                ("-0", Decimal(0)), ("¥1,234.50", Decimal("1234.50"))])
def test_a_contract_amount_is_non_negative_money(typed, stored):
    assert documents.parse_money(typed) == stored


def test_a_negative_contract_amount_is_refused_but_a_custom_decimal_may_be_negative():
    with pytest.raises(Invalid, match="negative"):
        documents.parse_money("-100")
    assert fields.CustomField("delta", "decimal").parse("-100") == "-100"


@pytest.mark.parametrize(("field", "value"), [("id_number", "123"), ("bank_account", "abc"),
                                              ("contract_amount", "-100")])
def test_the_command_line_refuses_bad_sensitive_values_with_exit_4(crm, alice, field, value):
    result = crm("customer", "add", "Acme", "--set", f"{field}={value}")
    assert result.exit_code == 4
    assert result.stderr.startswith(f"error: {field}:")
    assert crm("customer", "list", "--format", "json").stdout.strip() == "[]"


def test_an_import_refuses_bad_sensitive_values_and_writes_nothing(crm, alice, tmp_path):
    add_customer(crm, "Keep")
    path = tmp_path / "in.csv"
    path.write_text("name,证件号\nAcme,110105194912310021\n", encoding="utf-8")
    result = crm("import", "customers", str(path))
    assert result.exit_code == 4
    assert "证件号" in result.stderr and "check character" in result.stderr
    names = [row["name"] for row in __import__("json").loads(
        crm("customer", "list", "--format", "json").stdout)]
    assert names == ["Keep"]


def test_masks_show_the_last_four_characters_and_amounts_their_magnitude():
    from crmcli.repo import sensitive

    assert sensitive.mask("6222021234567890128") == "••••0128"
    assert sensitive.mask("AB12") == "••••"
    assert sensitive.mask(Decimal("500000")) == "≥100,000"
    assert sensitive.mask(Decimal("999.99")) == "≥100"
    assert sensitive.mask(Decimal("0.5")) == "<1"

"""The data dictionary: parsing, normalising and validating values (fields.py)."""

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcli import dates, fields, phones
from crmcli.errors import Invalid

MONDAY_NOON = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("138 0013 8000", "+8613800138000"),
        ("13800138000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("(010) 6552 9988", "+861065529988"),
        ("+1 650 253 0000", "+16502530000"),
    ],
)
def test_phones_are_stored_in_e164(typed, stored):
    assert fields.parse_phone(typed, "CN") == stored


SEPARATED_DIGITS = st.lists(
    st.tuples(st.sampled_from("0123456789"), st.sampled_from(["", "", "", " ", "-", "."])),
    min_size=7, max_size=13,
).map(lambda pairs: "".join(d + sep for d, sep in pairs).strip(" -."))


@given(
    region=st.sampled_from(["CN", "US", "GB", "HK", "SG", "DE", "JP"]),
    prefix=st.sampled_from(["", "+86 ", "+86", "+1 ", "+44 ", "0", "1", "13", "+852 "]),
    digits=SEPARATED_DIGITS,
)
def test_the_plain_mobile_shortcut_agrees_with_a_full_parse(region, prefix, digits):
    text = prefix + digits
    fast = phones.plain_mobile(text, region)
    if fast is None:
        return
    phones.parse_phone.cache_clear()
    import phonenumbers

    number = phonenumbers.parse(text, region)
    assert phonenumbers.is_valid_number(number)
    assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == fast


def test_the_plain_mobile_shortcut_covers_every_chinese_mobile_prefix():
    import phonenumbers

    for prefix in range(130, 200):
        for suffix in ("00138000", "12345678", "99999999"):
            text = f"{prefix}{suffix}"
            number = phonenumbers.parse(text, "CN")
            full = (phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                    if phonenumbers.is_valid_number(number) else None)
            assert phones.plain_mobile(text, "CN") in (None, full), text
    assert phones.plain_mobile("138 0013 8000", "CN") == "+8613800138000"


@pytest.mark.parametrize("typed", [
    "010-6552 1234 ext. 8001", "010-6552 1234 转8001", "010-6552 1234 x8001",
    "010-6552 1234 #8001", "(010) 65521234 分机 8001", "+861065521234;ext=8001",
    "０１０－６５５２１２３４ ＃８００１",
])
def test_a_switchboard_extension_is_kept_after_the_e164_number(typed):
    assert fields.parse_phone(typed, "CN") == "+861065521234;ext=8001"


def test_a_mobile_number_keeps_its_extension_too():
    assert fields.parse_phone("138 0013 8000 x12", "CN") == "+8613800138000;ext=12"


@pytest.mark.parametrize(("typed", "forms"), [
    ("138 0013 8000", ["13800138000"]),
    ("+86 138-0013-8000", ["+8613800138000"]),
    ("13800138000", []),
    ("010-6552 1234", ["01065521234", "1065521234"]),
    ("0086 138 0013 8000", ["008613800138000", "+8613800138000"]),
    ("010 6552 1234 x8001", ["01065521234;ext=8001", "1065521234;ext=8001"]),
    ("张三", []),
    ("acme 2026", []),
])
def test_a_phone_typed_into_search_is_also_looked_for_in_its_stored_forms(typed, forms):
    assert phones.search_forms(typed) == forms


def test_the_phone_region_decides_how_a_national_number_is_read():
    assert fields.parse_phone("650 253 0000", "US") == "+16502530000"


@pytest.mark.parametrize("typed", ["12345", "hello", "138001380001234", "x8001", "ext. 12"])
def test_a_phone_that_is_not_a_valid_number_is_refused_naming_the_field(typed):
    with pytest.raises(Invalid) as refused:
        fields.parse_phone(typed, "CN")
    assert refused.value.field == "phone"


def test_email_is_lower_cased_and_checked():
    assert fields.parse_email("  Li.Wei@Example.COM ") == "li.wei@example.com"
    with pytest.raises(Invalid):
        fields.parse_email("not-an-address")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("商机", "qualified"), ("线索", "lead"), ("方案", "proposal"), ("谈判", "negotiation"),
     ("成交", "won"), ("输单", "lost"), ("流失", "churned"), ("Won", "won"), ("LEAD", "lead")],
)
def test_stage_accepts_canonical_names_and_chinese_aliases(typed, stored):
    assert fields.parse_stage(typed) == stored


def test_a_misspelled_stage_is_refused_listing_the_allowed_values():
    with pytest.raises(Invalid) as refused:
        fields.parse_stage("qualifed")
    assert "lead, qualified" in str(refused.value)


@pytest.mark.parametrize(("typed", "stored"), [("a", "A"), ("B", "B"), ("c级", "C")])
def test_level_is_one_of_a_to_d(typed, stored):
    assert fields.parse_level(typed) == stored
    with pytest.raises(Invalid):
        fields.parse_level("E")


@pytest.mark.parametrize(
    ("typed", "minutes"),
    [("30m", 30), ("4h", 240), ("2d", 2880), ("1h30m", 90), ("1小时", 60), ("24小时", 1440),
     ("2天", 2880), ("30分钟", 30), ("1.5h", 90), ("1w", 10080)],
)
def test_sla_durations_are_stored_in_minutes(typed, minutes):
    assert fields.parse_duration(typed) == minutes


@pytest.mark.parametrize("typed", ["4", "soon", "4hours and more", "0m", "-3h", "h"])
def test_a_duration_without_a_unit_or_with_nonsense_is_refused(typed):
    with pytest.raises(Invalid):
        fields.parse_duration(typed)


@given(st.integers(min_value=1, max_value=fields.MAX_DURATION_MINUTES))
def test_a_shown_duration_reads_back_as_the_same_minutes(minutes):
    assert fields.parse_duration(fields.show_duration(minutes)) == minutes


@pytest.mark.parametrize(
    ("typed", "amount"),
    [("1234.50", Decimal("1234.50")), ("¥1,234.50", Decimal("1234.50")),
     ("50万", Decimal("500000")), ("1234元", Decimal("1234")), ("０.１", Decimal("0.1"))],
)
def test_money_is_an_exact_decimal(typed, amount):
    assert fields.parse_decimal(typed) == amount


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2,
                   min_value=Decimal("-1e12"), max_value=Decimal("1e12")))
def test_a_shown_amount_reads_back_exactly(amount):
    assert fields.parse_decimal(fields.show_decimal(amount)) == amount


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters=",，;；、",
                                                blacklist_categories=("Cs",)),
                        min_size=1, max_size=8).map(str.strip).filter(bool),
                max_size=6))
def test_tags_are_trimmed_unique_and_keep_their_order(tags):
    parsed = fields.parse_tags(tags)
    assert parsed == list(dict.fromkeys(parsed))
    assert all(tag == tag.strip() and tag for tag in parsed)
    assert set(parsed) == {t for t in tags}


def test_tags_split_on_latin_and_chinese_separators():
    assert fields.parse_tags("vip, 重点；华南、vip") == ["vip", "重点", "华南"]


@pytest.mark.parametrize(
    ("typed", "expected_local"),
    [
        ("today", "2026-11-23 23:59"),
        ("tomorrow", "2026-11-24 23:59"),
        ("+3d", "2026-11-26 23:59"),
        ("+2w", "2026-12-07 23:59"),
        ("friday", "2026-11-27 23:59"),
        ("monday", "2026-11-23 23:59"),  # today is a Monday: the coming one is today
        ("周五", "2026-11-27 23:59"),
        ("2026-12-01", "2026-12-01 23:59"),
        ("2026-12-01 10:30", "2026-12-01 10:30"),
        ("2026-12-01T10:30", "2026-12-01 10:30"),
    ],
)
def test_due_dates_accept_iso_and_relative_forms(typed, expected_local, utc):
    due = dates.parse_when(typed, MONDAY_NOON)
    assert due.astimezone().strftime("%Y-%m-%d %H:%M") == expected_local


def test_an_unreadable_due_date_is_refused_naming_the_field():
    with pytest.raises(Invalid) as refused:
        dates.parse_when("next blue moon", MONDAY_NOON)
    assert refused.value.field == "due"


@pytest.mark.parametrize(
    ("header", "field"),
    [("客户名称", "name"), ("客户", "name"), ("公司", "company"), ("手机号", "phone"),
     ("邮箱", "email"), ("ＥＭＡＩＬ", "email"), ("  Phone ", "phone"), ("客户阶段", "stage"),
     ("响应时限", "sla"), ("合同金额", "contract_amount"), ("负责人", "owner")],
)
def test_headers_and_aliases_map_to_canonical_fields(header, field):
    assert fields.canonical_field(header) == field


def test_parse_customer_splits_standard_and_custom_fields_and_refuses_unknown_ones():
    custom = {"budget": fields.CustomField("budget", "decimal")}
    standard, extra = fields.parse_customer(
        {"客户名称": " 张三 ", "阶段": "成交", "sla": "4h", "budget": "1,000"}, "CN", custom
    )
    assert standard == {"name": "张三", "stage": "won", "sla": 240}
    assert extra == {"budget": "1000"}
    with pytest.raises(Invalid) as refused:
        fields.parse_customer({"name": "x", "shoe_size": "42"}, "CN", custom)
    assert refused.value.field == "shoe_size"


@pytest.mark.parametrize(
    ("kind", "typed", "stored"),
    [("int", "1,024", 1024), ("decimal", "3.50", "3.50"), ("date", "2026/1/5", "2026-01-05"),
     ("date", "2026年1月5日", "2026-01-05"), ("text", " free ", "free")],
)
def test_custom_field_values_are_checked_against_their_declared_type(kind, typed, stored):
    assert fields.CustomField("f", kind).parse(typed) == stored


@pytest.mark.parametrize(("kind", "typed"), [("int", "many"), ("decimal", "x"),
                                             ("date", "2026-02-30"), ("date", "soon")])
def test_a_custom_value_of_the_wrong_type_is_refused(kind, typed):
    with pytest.raises(Invalid):
        fields.CustomField("f", kind).parse(typed)


def test_a_choice_field_accepts_only_its_choices():
    field = fields.CustomField("tier", "choice", ("gold", "silver"))
    assert field.parse("GOLD") == "gold"
    with pytest.raises(Invalid):
        field.parse("bronze")


@pytest.mark.parametrize(
    ("name", "type_", "choices"),
    [("phone", "text", []), ("9lives", "text", []), ("tier", "choice", []),
     ("tier", "colour", []), ("size", "int", ["a"])],
)
def test_bad_custom_field_declarations_are_refused(name, type_, choices):
    with pytest.raises(Invalid):
        fields.check_custom_definition(name, type_, choices)


def test_numbers_and_lists_from_json_pass_the_nul_check():
    custom = {"visits": fields.CustomField("visits", "int")}
    standard, extra = fields.parse_customer({"name": "x", "visits": 3, "tags": ["a", "b"]},
                                            "CN", custom)
    assert (standard["tags"], extra["visits"]) == (["a", "b"], 3)


@pytest.mark.parametrize("raw", [{"name": "Nul\x00Co"}, {"name": "x", "tags": ["a\x00b"]},
                                 {"name": "x", "id_number": "110\x00"}, {"name": "x", "city": "\x00"}])
def test_a_nul_character_is_refused_in_any_field(raw):
    with pytest.raises(Invalid) as refused:
        fields.parse_customer(raw, "CN", {})
    assert "NUL" in str(refused.value)


def test_bytes_that_were_not_utf8_are_refused_naming_the_byte():
    # Python reads a command-line argument's undecodable byte 0xff as the surrogate \udcff
    with pytest.raises(Invalid) as refused:
        fields.parse_customer({"name": "Acme", "city": "Shang\udcffhai"}, "CN", {})
    assert str(refused.value) == "city: holds bytes that are not UTF-8 text (0xff at character 6)"

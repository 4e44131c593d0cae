"""The data dictionary: every field's canonical name, import aliases, parsing and display.

One definition per field, used by every writer (the CLI's options, imports, the TUI's forms),
so a value is accepted or refused the same way wherever it comes from. Parsers take the text
a person typed and return the stored value, or raise `Invalid` naming the field and the reason.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from crmcli.dates import parse_date
from crmcli.display import show_duration, show_money
from crmcli.documents import (
    parse_bank_account,
    parse_id_number,
    parse_money,
    refuse_placeholder,
)
from crmcli.errors import Invalid
from crmcli.phones import parse_phone

# --- choices -----------------------------------------------------------------------------

STAGES = ("lead", "qualified", "proposal", "negotiation", "won", "lost", "churned")
CLOSED_STAGES = ("won", "lost", "churned")  # done with; a customer in any other stage is open
STAGE_ALIASES = {
    "线索": "lead", "商机": "qualified", "方案": "proposal", "谈判": "negotiation",
    "成交": "won", "赢单": "won", "输单": "lost", "流失": "churned",
}
LEVELS = ("A", "B", "C", "D")
NOTE_KINDS = ("call", "visit", "email", "wechat", "meeting", "complaint", "feedback", "internal")
NOTE_KIND_ALIASES = {
    "电话": "call", "拜访": "visit", "邮件": "email", "微信": "wechat", "会议": "meeting",
    "投诉": "complaint", "反馈": "feedback", "内部": "internal",
}
# A note's direction (the SLA clock, `repo/sla.py`): the customer reached us, or we answered.
NOTE_DIRECTIONS = ("in", "out")
DIRECTION_ALIASES = {"呼入": "in", "来电": "in", "来访": "in", "客户来访": "in", "来信": "in",
                     "呼出": "out", "去电": "out", "回复": "out", "回访": "out", "答复": "out"}
PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_ALIASES = {"低": "low", "普通": "normal", "中": "normal", "高": "high", "紧急": "urgent"}
TASK_STATUSES = ("open", "done", "cancelled")
TASK_STATUS_ALIASES = {
    "待办": "open", "进行中": "open", "完成": "done", "已完成": "done",
    "取消": "cancelled", "已取消": "cancelled",
}
ROLES = ("owner", "sales", "service", "marketing", "product", "finance")
ROLE_ALIASES = {
    "负责人": "owner", "销售": "sales", "客服": "service", "市场": "marketing",
    "产品": "product", "财务": "finance",
}
USER_ROLES = ("member", "manager", "admin")
CUSTOM_TYPES = ("text", "int", "decimal", "date", "choice")


def fold(text: str) -> str:
    """Fold case, width (全角 → half-width) and surrounding space: how names are compared."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


def choice(field: str, values: Iterable[str], aliases: dict[str, str] | None = None):
    """A parser accepting `values` (any case) and their aliases, returning the canonical one."""
    canonical = {fold(v): v for v in values}
    canonical.update({fold(alias): value for alias, value in (aliases or {}).items()})
    allowed = ", ".join(values)

    def parse(text: str) -> str:
        try:
            return canonical[fold(text)]
        except KeyError:
            raise Invalid(f"{text!r} is not one of {allowed}", field) from None

    return parse


parse_stage = choice("stage", STAGES, STAGE_ALIASES)
parse_level = choice("level", LEVELS, {f"{v}级": v for v in LEVELS})
parse_note_kind = choice("kind", NOTE_KINDS, NOTE_KIND_ALIASES)
parse_direction = choice("direction", NOTE_DIRECTIONS, DIRECTION_ALIASES)
parse_priority = choice("priority", PRIORITIES, PRIORITY_ALIASES)
parse_task_status = choice("status", TASK_STATUSES, TASK_STATUS_ALIASES)
parse_role = choice("role", ROLES, ROLE_ALIASES)
parse_user_role = choice("role", USER_ROLES)

# --- parsers for single values -----------------------------------------------------------

MAX_TEXT = 10_000


_UNDECODED = re.compile("[\udc80-\udcff]")


def refuse_unstorable(text: str, field: str) -> None:
    """Refuse text no database can store, everywhere.

    A NUL character: SQLite would keep it, but the team's shared PostgreSQL cannot store
    one, so it would stop every later sync. Bytes that are not UTF-8: Python reads such
    command-line arguments into lone surrogates, which no database can encode.
    """
    if "\x00" in text:
        raise Invalid("contains a NUL character (\\x00), which cannot be stored", field)
    if not text.isascii() and (undecoded := _UNDECODED.search(text)):
        byte = ord(undecoded.group()) - 0xDC00
        raise Invalid(
            f"holds bytes that are not UTF-8 text (0x{byte:02x} at character "
            f"{undecoded.start() + 1})", field,
        )


LIST_FIELDS = frozenset({"tags"})  # the fields a machine format may give as a list
_NOT_TEXT = {bool: "true or false", dict: "an object"}


def typed(value: Any, field: str) -> str | list[str] | None:
    """A value from a machine format (JSON) as the text a person would have typed, so it
    meets the same rules as typed text: a number is its digits (a phone given as
    13800138000), null is no value, and tags may be a list of such. Objects, booleans and
    other lists are refused: stored as Python's repr (`{'x': 1}`, `True`) they would be
    text nobody typed."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        if field not in LIST_FIELDS:
            raise Invalid(f"is a list; a list is only allowed for {', '.join(LIST_FIELDS)}", field)
        return [_scalar_text(item, field) for item in value if item is not None]
    return _scalar_text(value, field)


def _scalar_text(value: Any, field: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    kind = _NOT_TEXT.get(type(value), "a list" if isinstance(value, list) else type(value).__name__)
    raise Invalid(f"is not text but {kind}", field)


def parse_text(text: str, field: str = "value", limit: int = MAX_TEXT) -> str:
    refuse_unstorable(text, field)
    value = text.strip()
    if len(value) > limit:
        raise Invalid(f"is longer than {limit} characters", field)
    return value


def parse_name(text: str, field: str = "name") -> str:
    value = parse_text(text, field, limit=200)
    if not value:
        raise Invalid("is required", field)
    return value


_HANDLE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def normal_handle(text: str) -> str:
    """How a user handle is compared: trimmed, lower-case (`Alice ` is `alice`)."""
    return text.strip().lower()


def parse_handle(text: str, field: str = "handle") -> str:
    handle = normal_handle(text)
    if not _HANDLE.match(handle):
        raise Invalid(f"{text!r}: a handle is lower-case letters, digits, '.', '_' or '-'", field)
    return handle


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def parse_email(text: str) -> str:
    value = text.strip().lower()
    if not _EMAIL.match(value):
        raise Invalid(f"{text!r} is not an e-mail address", "email")
    return value


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(分钟|分|小时|时|天|日|周|min|m|h|hr|hrs|d|w)", re.I)
_MINUTES_PER = {
    "m": 1, "min": 1, "分钟": 1, "分": 1,
    "h": 60, "hr": 60, "hrs": 60, "小时": 60, "时": 60,
    "d": 1440, "天": 1440, "日": 1440,
    "w": 10080, "周": 10080,
}


MAX_DURATION_MINUTES = 366 * 1440


def parse_duration(text: str, field: str = "sla") -> int:
    """A response-time limit in minutes: `30m`, `4h`, `2d`, `1h30m`, `1小时`, `24小时`, `2天`."""
    compact = unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "")
    parts = _DURATION_PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise Invalid(f"{text!r} is not a duration (like 30m, 4h, 2d, 24小时)", field)
    minutes = sum(float(n) * _MINUTES_PER[u] for n, u in parts)
    if minutes < 1:
        raise Invalid(f"{text!r} is shorter than a minute", field)
    if minutes > MAX_DURATION_MINUTES:
        raise Invalid(f"{text!r} is longer than a year", field)
    return round(minutes)


MAX_AMOUNT = Decimal(10) ** 15
MAX_DECIMALS = 6


def parse_decimal(text: str, field: str = "contract_amount") -> Decimal:
    """Money as Decimal: `1,234.50`, `¥1234`, `1234元`, `50万` (= 500000)."""
    compact = unicodedata.normalize("NFKC", text).strip().replace(",", "").replace(" ", "")
    compact = compact.lstrip("¥$").removesuffix("元")
    factor = 1
    if compact.endswith("万"):
        compact, factor = compact[:-1], 10_000
    try:
        value = Decimal(compact) * factor
    except InvalidOperation:
        raise Invalid(f"{text!r} is not a number", field) from None
    except ArithmeticError:  # an exponent beyond what Decimal holds
        raise Invalid(f"{text!r} is too large", field) from None
    if not value.is_finite():
        raise Invalid(f"{text!r} is not a number", field)
    if abs(value) >= MAX_AMOUNT or value.as_tuple().exponent < -MAX_DECIMALS:
        raise Invalid(f"{text!r} is out of range (at most 15 digits and 6 decimals)", field)
    return value


def show_decimal(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")


def parse_int(text: str, field: str) -> int:
    try:
        value = int(unicodedata.normalize("NFKC", text).strip().replace(",", ""))
    except ValueError:
        raise Invalid(f"{text!r} is not a whole number", field) from None
    if not -(2**63) < value < 2**63:
        raise Invalid(f"{text!r} is out of range", field)
    return value


def parse_tags(values: str | Iterable[str]) -> list[str]:
    """Tags from repeated options or one `a, b；c、d` string: trimmed, unique, in order."""
    items = [values] if isinstance(values, str) else list(values)
    tags: list[str] = []
    for item in items:
        for tag in re.split(r"[,，;；、]", item):
            tag = tag.strip()
            if tag and tag not in tags:
                tags.append(tag)
    return tags


# --- the customer record -----------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """One field of the customer record as the data dictionary defines it."""

    name: str
    label: str  # the Chinese header used by `--headers zh`
    aliases: tuple[str, ...]
    group: str  # contact | sales | service | sensitive
    parse: Callable[[str, str], Any]  # (text, region) -> stored value
    meaning: str = ""
    show: Callable[[Any], str] = lambda value: "" if value is None else str(value)
    sensitive: bool = False


def _text(name: str, limit: int = MAX_TEXT):
    return lambda text, region: parse_text(text, name, limit) or None


CUSTOMER_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("name", "客户名称", ("客户", "姓名", "名称", "联系人"), "contact",
              lambda text, region: parse_name(text),
              meaning='Customer name (required).'),
    FieldSpec("company", "公司", ("公司名称", "单位"), "contact", _text("company", 200),
              meaning='Organisation.'),
    FieldSpec("phone", "电话", ("手机", "联系电话", "手机号"), "contact",
              lambda text, region: parse_phone(text.strip(), region) if text.strip() else None,
              meaning='Phone; stored in E.164 (+8613800138000), default region from CRM_REGION.'),
    FieldSpec("email", "邮箱", ("电子邮件",), "contact",
              lambda text, region: parse_email(text) if text.strip() else None,
              meaning='E-mail; stored lower-case.'),
    FieldSpec("wechat", "微信", ("微信号",), "contact", _text("wechat", 100),
              meaning='WeChat id.'),
    FieldSpec("city", "城市", (), "contact", _text("city", 100),
              meaning='City.'),
    FieldSpec("industry", "行业", (), "sales", _text("industry", 100),
              meaning='Industry.'),
    FieldSpec("source", "来源", ("线索来源", "客户来源"), "sales", _text("source", 100),
              meaning='Where the lead came from (exhibition, website, referral, ad, ...).'),
    FieldSpec("stage", "阶段", ("客户阶段",), "sales",
              lambda text, region: parse_stage(text) if text.strip() else None,
              meaning='lead, qualified, proposal, negotiation, won, lost, churned (or 线索, 商机, 方案, 谈判, 成交, 输单, 流失).'),
    FieldSpec("level", "等级", ("客户等级",), "sales",
              lambda text, region: parse_level(text) if text.strip() else None,
              meaning='Customer level A, B, C or D.'),
    FieldSpec("sla", "响应时限", (), "service",
              lambda text, region: parse_duration(text) if text.strip() else None,
              show=show_duration,
              meaning='Response-time limit: 30m, 4h, 2d, 1h30m, 24小时, 2天.'),
    FieldSpec("requirement", "需求", ("需求说明",), "service", _text("requirement"),
              meaning="What the customer needs, in the team's words."),
    FieldSpec("owner", "负责人", ("跟进人",), "sales",
              lambda text, region: parse_handle(text, "owner") if text.strip() else None,
              meaning="Responsible user's handle (default: you)."),
    FieldSpec("department", "部门", ("所属部门",), "sales", _text("department", 100),
              meaning="Owning department (default: the owner's)."),
    FieldSpec("tags", "标签", (), "sales", lambda text, region: parse_tags(text),
              show=lambda tags: ",".join(tags or []),
              meaning='Labels.'),
    FieldSpec("contract_amount", "合同金额", (), "sensitive",
              lambda text, region: parse_money(text),
              show=show_money, sensitive=True,
              meaning='Contract amount (sensitive), exact and not negative: 1234.50, ¥1,234, 50万.'),
    FieldSpec("id_number", "证件号", (), "sensitive",
              lambda text, region: parse_id_number(text), sensitive=True,
              meaning='ID number (sensitive): mainland resident ID (checked), or a passport/permit.'),
    FieldSpec("bank_account", "银行账号", (), "sensitive",
              lambda text, region: parse_bank_account(text), sensitive=True,
              meaning='Bank account (sensitive): 8-30 digits; card numbers Luhn-checked.'),
)
FIELD_BY_NAME = {spec.name: spec for spec in CUSTOMER_FIELDS}
DEFAULT_STAGE = "lead"


@lru_cache(maxsize=1)
def _alias_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for spec in CUSTOMER_FIELDS:
        for alias in (spec.name, spec.label, *spec.aliases):
            index[fold(alias)] = spec.name
    return index


@lru_cache(maxsize=4096)
def canonical_field(header: str) -> str | None:
    """The canonical customer field a header or option name means, or None."""
    return _alias_index().get(fold(header))


# --- custom fields -----------------------------------------------------------------------


@dataclass(frozen=True)
class CustomField:
    """A team-defined field, declared with a type before use (`crm field add`)."""

    name: str
    type: str
    choices: tuple[str, ...] = ()
    sensitive: bool = False  # declared --sensitive: masks are refused as values

    def parse(self, text: str) -> Any:
        if self.sensitive:
            refuse_placeholder(text, self.name)
        text = text.strip()
        if not text:
            return None
        if self.type == "int":
            return parse_int(text, self.name)
        if self.type == "decimal":
            return show_decimal(parse_decimal(text, self.name))
        if self.type == "date":
            return parse_date(text, self.name)
        if self.type == "choice":
            return choice(self.name, self.choices)(text)
        return parse_text(text, self.name)


# keys that customer records carry in JSON/CSV besides the fields (`customers.as_dict`,
# `customer show`): a custom field by one of these names would overwrite them
RESERVED_NAMES = frozenset({
    "id", "pk", "version", "created_at", "updated_at", "deleted_at", "created_by",
    "updated_by", "extra", "dedupe_key", "sort_key", "spelled", "merged_into", "notes", "tasks", "assignments",
    "history", "customer",
})
_CUSTOM_NAME = re.compile(r"^[^\W\d][\w]{0,63}$")


def check_custom_definition(name: str, type_: str, choices: Iterable[str]) -> CustomField:
    """Validate a new custom field's declaration (name, type, choices)."""
    if not _CUSTOM_NAME.match(name):
        raise Invalid("a field name is a letter followed by letters, digits or _", "name")
    if canonical_field(name):
        raise Invalid(f"{name!r} is already a standard field", "name")
    if fold(name) in RESERVED_NAMES:
        raise Invalid(f"{name!r} is a name the machine formats use already", "name")
    if type_ not in CUSTOM_TYPES:
        raise Invalid(f"{type_!r} is not one of {', '.join(CUSTOM_TYPES)}", "type")
    options = tuple(c.strip() for c in choices if c.strip())
    if type_ == "choice" and not options:
        raise Invalid("a choice field needs --choices a,b,c", "choices")
    if type_ != "choice" and options:
        raise Invalid("only a choice field takes --choices", "choices")
    return CustomField(name, type_, options)


# --- a whole record ----------------------------------------------------------------------


def parse_customer(
    raw: dict[str, Any],
    region: str,
    custom: dict[str, CustomField],
    memo: ParseMemo | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Parse typed values into (standard fields, custom fields) ready to store.

    Keys may be canonical names, Chinese aliases or declared custom field names. Empty text
    means "no value" (None). Tags may be a list. The first bad value raises `Invalid`.
    A bulk import passes a `memo` (`ParseMemo`): its columns repeat a few values (city,
    stage, tags, ...) row after row, and a standard field's text parses to the same value
    every time.
    """
    standard: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    custom_by_fold: dict[str, CustomField] | None = None
    for key, value in raw.items():
        if memo is not None and type(value) is str and key not in memo.unrepeated:
            found = memo.known.get((key, value)) or memo.learn(key, value, region)
            if type(found) is not tuple:
                raise Invalid(found.reason, found.field)
            name, parsed = found
            if name is not None:
                standard[name] = list(parsed) if type(parsed) is list else parsed
                continue
        for text in value if isinstance(value, (list, tuple)) else [value]:
            refuse_unstorable(str(text), key)
        name = canonical_field(key)
        if name:
            standard[name] = _parse_standard(name, value, region)
            continue
        if custom_by_fold is None:
            custom_by_fold = {fold(name): spec for name, spec in custom.items()}
        if fold(key) in custom_by_fold:
            spec = custom_by_fold[fold(key)]
            extra[spec.name] = None if value is None else spec.parse(str(value))
        else:
            raise Invalid("is not a field; declare it first with `crm field add`", key)
    return standard, extra


def _parse_standard(name: str, value: Any, region: str) -> Any:
    if name == "tags":
        return parse_tags(value if value is not None else [])
    return None if value is None else FIELD_BY_NAME[name].parse(str(value), region)


class ParseMemo:
    """What each (column, text) of an import parsed to as a standard field, or the
    refusal it met: `known` maps it to (field, value), or (None, None) for a column that
    is not a standard field, or to the Invalid.

    Bounded: a column is remembered until it has shown LIMIT different texts; one whose
    values do not repeat (names, phones) is then parsed afresh every time (`unrepeated`),
    so memory stays flat however long the file. Custom fields are not remembered (a date
    field may read `明天` as a new day)."""

    LIMIT = 4096

    def __init__(self) -> None:
        self.known: dict[tuple[str, str], tuple[str | None, Any] | Invalid] = {}
        self.unrepeated: set[str] = set()
        self._texts: dict[str, int] = {}

    def learn(self, key: str, text: str, region: str) -> tuple[str | None, Any] | Invalid:
        name = canonical_field(key)
        found: tuple[str | None, Any] | Invalid = (None, None)
        if name is not None:
            try:
                refuse_unstorable(text, key)
                found = (name, _parse_standard(name, text, region))
            except Invalid as refusal:
                found = refusal
        texts = self._texts[key] = self._texts.get(key, 0) + 1
        if texts >= self.LIMIT:
            self.unrepeated.add(key)
        self.known[(key, text)] = found
        return found


def show_value(name: str, value: Any) -> str:
    """A stored value as text (tables, CSV); custom values are stored as text already."""
    spec = FIELD_BY_NAME.get(name)
    if spec:
        return spec.show(value)
    return "" if value is None else str(value)

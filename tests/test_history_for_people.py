"""History, the audit list and the card's timeline read as people read them (local times,
`4h`, money, custom fields by name, conflicts as sentences); the machine formats keep the
stored forms."""

import json

import pytest
import sqlmodel

from crmcli import display, models
from helpers import add_customer


@pytest.fixture
def story(crm, alice, beijing) -> str:
    """张三 created with a 4h SLA, then given 1d, a custom field and a task due late in the
    evening (local), i.e. the next morning's date in UTC is not what is shown."""
    assert crm("field", "add", "region", "--type", "choice", "--choices", "华北,华南").exit_code == 0
    ref = add_customer(crm, "张三", "--sla", "4h", "--stage", "lead")
    assert crm("customer", "edit", ref, "--sla", "1d", "--set", "region=华北").exit_code == 0
    assert crm("task", "add", ref, "回电话", "--due", "2026-12-04 23:59").exit_code == 0
    assert crm("customer", "edit", ref, "--set", "region=华南", "--city", "").exit_code == 0
    return ref


MACHINE_FORMS = ("T15:59", "2026-12-04T", "240", "1440", "extra", "{", "due=", "sla=")


def test_history_shows_local_times_durations_and_custom_fields_by_name(crm, story):
    result = crm("history", story)
    assert result.exit_code == 0, result.output
    table = result.stdout
    assert "sla: 4h" in table and "sla: 4h → 1d" in table
    assert "region: 华北" in table and "region: 华北 → 华南" in table
    assert "due: 2026-12-04 23:59" in table
    assert not [form for form in MACHINE_FORMS if form in table]


def test_history_in_machine_formats_keeps_the_stored_forms(crm, story):
    events = json.loads(crm("history", story, "--format", "json").stdout)
    update = next(e for e in events if e["action"] == "customer.update")
    assert update["changes"]["sla"] == [240, 1440]
    assert update["changes"]["extra"] == [{}, {"region": "华北"}]
    task = next(e for e in events if e["action"] == "task.create")
    assert task["changes"]["due"] == [None, "2026-12-04T15:59:00Z"]
    csv = crm("history", story, "--format", "csv").stdout
    assert "2026-12-04T15:59:00Z" in csv and '""sla"": [240, 1440]' in csv


def test_the_audit_list_shows_changes_as_people_read_them(crm, story):
    result = crm("audit", "list", "--customer", story)
    assert result.exit_code == 0, result.output
    assert "sla: 4h → 1d" in result.stdout and "due: 2026-12-04 23:59" in result.stdout
    assert not [form for form in MACHINE_FORMS if form in result.stdout]
    rows = [json.loads(line) for line in
            crm("audit", "list", "--customer", story, "--format", "ndjson").stdout.splitlines()]
    assert any(row["changes"].get("sla") == [240, 1440] for row in rows)


def test_the_cards_timeline_reads_like_the_history(crm, story):
    card = crm("customer", "show", story).stdout
    assert "sla: 4h → 1d" in card and "region: 华北 → 华南" in card
    assert "回电话 → alice [open, due 2026-12-04 23:59]" in card
    assert not [form for form in MACHINE_FORMS if form in card]


def test_a_revealed_contract_amount_is_money_and_the_mask_stays_a_mask(crm, alice):
    ref = add_customer(crm, "Acme", "--set", "contract_amount=1234567.5")
    assert "¥1,234,567.50" in crm("customer", "show", ref, "--reveal").stdout
    shown = crm("customer", "show", ref).stdout
    assert "≥1,000,000" in shown and "1,234,567" not in shown
    history = crm("history", ref).stdout
    assert "≥1,000,000" in history and "1234567" not in history and "¥1" not in history
    assert json.loads(crm("customer", "show", ref, "--reveal", "--format", "json").stdout)[
        "contract_amount"] == "1234567.5"


def test_money_durations_and_times_as_people_read_them(utc):
    assert display.show_money("1234567.5") == "¥1,234,567.50"
    assert display.show_money("500000") == "¥500,000"
    assert display.show_money("0.125") == "¥0.125"
    assert display.show_money("≥100,000") == "≥100,000"  # a mask is shown as it is
    assert display.describe_changes({"contract_amount": [None, "1234.5"]}) == (
        "contract_amount: ¥1,234.50")
    assert display.describe_changes({"sla": [90, None], "tags": [["a"], ["a", "重点"]]}) == (
        "sla: 1h30m → (empty); tags: a → a, 重点")
    assert display.describe_changes({"done_at": [None, "2026-03-02T09:00:00Z"]}) == (
        "done_at: 2026-03-02 09:00")
    assert display.describe_changes({"customer_id": [None, "x"], "active": [True, False]}) == (
        "active: yes → no")


def test_a_conflict_entry_is_a_sentence_saying_what_was_kept_and_whose_value_was_set_aside():
    entry = {"kind": "edit", "entity": "customer", "field": "phone",
             "mine": "+8613900139000", "theirs": "+8613800138000", "actor": "bob"}
    changes = {name: [None, value] for name, value in entry.items()}
    said = display.describe_event("conflict.create", changes, {},
                                  "01a23bb0-b540-7300-a597-19b4089dccf7")
    assert said == ("phone: +8613800138000 kept, bob's +8613900139000 set aside; "
                    "see `crm conflicts show 089dccf7`")
    custom = {**changes, "field": [None, "extra.region"], "mine": [None, "华南"],
              "theirs": [None, "华北"], "entity": [None, "customer"]}
    assert display.describe_conflict(custom).startswith("region: 华北 kept, bob's 华南 set aside")
    gone = {"kind": [None, "deleted"], "entity": [None, "task"], "field": [None, "due"],
            "mine": [None, {"due": "2026-03-02T09:00:00Z"}], "actor": [None, "bob"]}
    assert "task deleted elsewhere: bob's due" in display.describe_conflict(gone)
    assert display.describe_event("conflict.resolve", {"resolution": [None, "theirs"]}, {}) == (
        "resolved: keep current")
    twice = {"kind": [None, "resolution"], "entity": [None, "conflict"],
             "theirs": [None, {"resolution": "theirs", "by": "carol"}],
             "mine": [None, {"resolution": "value", "by": "dave", "value": "上海"}]}
    assert display.describe_conflict(twice) == (
        "resolved twice: carol's keep current stands, dave's new value 上海 set aside")


def test_every_time_column_of_the_models_is_shown_as_a_local_time():
    columns = {column.name for table in sqlmodel.SQLModel.metadata.tables.values()
               for column in table.columns if isinstance(column.type, models.UTCDateTime)}
    assert columns == display.TIME_FIELDS


def test_a_custom_field_with_a_label_is_shown_by_its_label(crm, story):
    assert crm("field", "edit", "region", "--label", "销售区域").exit_code == 0
    for args in (("history", story), ("audit", "list", "--customer", story),
                 ("customer", "show", story)):
        shown = crm(*args).stdout
        assert "销售区域: 华北 → 华南" in shown and "region: 华北" not in shown, args
    events = json.loads(crm("history", story, "--format", "json").stdout)
    assert any("region" in (e["changes"].get("extra") or [{}, {}])[1] for e in events)

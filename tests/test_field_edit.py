"""`crm field edit NAME --add-choice X --label TEXT`: a custom field grows choices and gets
a label people read in place of its name; what is stored keeps its meaning."""

import json

from helpers import add_customer


def fields_of(crm) -> dict[str, dict]:
    return {f["name"]: f for f in json.loads(crm("field", "list", "--format", "json").stdout)}


def test_a_choice_field_grows_a_choice_and_a_label_shows_in_its_place(crm, team):
    assert crm("field", "add", "tier", "--type", "choice", "--choices", "gold,silver").exit_code == 0
    ref = add_customer(crm, "Acme")
    assert crm("customer", "edit", ref, "--set", "tier=bronze").exit_code == 4  # not yet
    result = crm("field", "edit", "tier", "--add-choice", "bronze", "--add-choice", "Gold",
                 "--label", "客户层级")
    assert result.exit_code == 0, result.output
    assert "changed choices, label: field tier" in result.stderr
    assert (fields_of(crm)["tier"]["choices"], fields_of(crm)["tier"]["label"]) == (
        ["gold", "silver", "bronze"], "客户层级")  # Gold is gold: no second one
    assert crm("customer", "edit", ref, "--set", "tier=bronze").exit_code == 0
    card = crm("customer", "show", ref).stdout
    assert "客户层级" in card and "bronze" in card
    shown = json.loads(crm("customer", "show", ref, "--format", "json").stdout)
    assert shown["tier"] == "bronze"  # the machine forms keep the name
    [event] = [e for e in json.loads(crm("audit", "list", "--action", "field", "--format",
                                         "json").stdout) if e["action"] == "field.update"]
    assert event["changes"] == {"choices": [["gold", "silver"], ["gold", "silver", "bronze"]],
                                "label": [None, "客户层级"]}
    assert crm("field", "edit", "tier", "--label", "").exit_code == 0  # no label again
    assert fields_of(crm)["tier"]["label"] is None
    again = crm("field", "edit", "tier", "--add-choice", "silver")
    assert again.exit_code == 0 and "nothing changed: field tier" in again.stderr


def test_managers_edit_fields_members_do_not_and_bad_edits_change_nothing(crm, team):
    crm("field", "add", "renewal", "--type", "date")
    crm("field", "add", "tier", "--type", "choice", "--choices", "gold")
    assert crm("--as", "carol", "field", "edit", "renewal", "--label", "续约日期").exit_code == 0
    before = fields_of(crm)
    denied = crm("--as", "bob", "field", "edit", "tier", "--add-choice", "bronze")
    assert denied.exit_code == 6
    assert "only an admin or a manager may change custom fields" in denied.stderr
    for options, code, said in (
        (("renewal", "--add-choice", "x"), 4, "renewal is a date field"),
        (("tier", "--add-choice", " "), 4, "a choice needs some text"),
        (("tier", "--label", "x" * 101), 4, "label"),
        (("nope", "--label", "x"), 3, "no custom field 'nope'"),
        (("tier",), 2, "say what changes"),
    ):
        result = crm("field", "edit", *options)
        assert (result.exit_code, said in result.stderr) == (code, True), result.output
    assert fields_of(crm) == before
    assert before["renewal"]["label"] == "续约日期"

"""`crm customer merge` keeps everything: the values of the customer merged away that differ
from the keeper's go into the merge's history event and an internal note, and are printed."""

import json

from helpers import add_customer


def shown(crm, ref: str) -> dict:
    result = crm("customer", "show", ref, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def merge_event(record: dict) -> dict:
    return next(e for e in record["history"] if e["action"] == "customer.merge")


def test_a_merge_keeps_the_others_differing_phone_email_and_custom_field_and_prints_them(
    crm, alice
):
    assert crm("field", "add", "budget", "--type", "text").exit_code == 0
    keep = add_customer(crm, "王经理", "--company", "华为", "--phone", "010-65521234",
                        "--email", "wang@hw.com", "--set", "budget=50万")
    other = add_customer(crm, "王总", "--company", "华为", "--phone", "010-65521235",
                         "--email", "wz@hw.com", "--set", "budget=80万", "--wechat", "wz88",
                         "--allow-duplicate")
    result = crm("customer", "merge", keep, other)
    assert result.exit_code == 0, result.output
    for line in ("name: 王总", "phone: +861065521235", "email: wz@hw.com", "budget: 80万"):
        assert line in result.stderr
    assert "fields filled: wechat" in result.stderr
    record = shown(crm, keep)
    assert (record["phone"], record["email"], record["budget"]) == (
        "+861065521234", "wang@hw.com", "50万")  # the keeper's own values stay
    assert record["wechat"] == "wz88"  # an empty field is filled, not noted
    kept = merge_event(record)["detail"]["kept"]
    assert kept == {"name": "王总", "phone": "+861065521235", "email": "wz@hw.com",
                    "budget": "80万"}
    [note] = [n for n in record["notes"] if n["kind"] == "internal"]
    assert note["author"] == "alice"
    assert note["body"].startswith(f"Merged in 王总 ({other})")
    for line in ("phone: +861065521235", "email: wz@hw.com", "budget: 80万"):
        assert line in note["body"].splitlines()
    assert "wechat" not in note["body"]


def test_the_kept_values_are_found_by_search_and_shown_in_history(crm, alice):
    keep = add_customer(crm, "Keeper", "--phone", "13800138000")
    other = add_customer(crm, "Other", "--phone", "13900139000", "--sla", "2h")
    add_sla = crm("customer", "edit", keep, "--sla", "4h")
    assert add_sla.exit_code == 0
    assert crm("customer", "merge", keep, other).exit_code == 0
    found = crm("customer", "find", "13900139000", "--format", "json")
    assert [c["name"] for c in json.loads(found.stdout)] == ["Keeper"]
    history = crm("history", keep)
    assert "merged in Other" in history.stdout and "phone: +8613900139000" in history.stdout


def test_a_merge_with_nothing_different_adds_no_note(crm, alice):
    keep = add_customer(crm, "Acme", "--city", "上海")
    other = add_customer(crm, "Acme", "--email", "a@acme.cn", "--allow-duplicate")
    result = crm("customer", "merge", keep, other)
    assert result.exit_code == 0, result.output
    assert "kept in a note" not in result.stderr
    record = shown(crm, keep)
    assert record["notes"] == [] and merge_event(record)["detail"]["kept"] == {}
    assert record["email"] == "a@acme.cn"


def test_sensitive_values_are_never_noted_or_kept_in_history(crm, alice):
    keep = add_customer(crm, "Acme", "--set", "contract_amount=1000")
    other = add_customer(crm, "Acme Ltd", "--set", "contract_amount=99999",
                         "--set", "id_number=E12345678")
    result = crm("customer", "merge", keep, other)
    assert result.exit_code == 0, result.output
    assert "99999" not in result.stderr and "contract_amount" not in result.stderr
    record = shown(crm, keep)
    assert "contract_amount" not in merge_event(record)["detail"]["kept"]
    assert all("99999" not in n["body"] for n in record["notes"])
    history = crm("history", keep, "--format", "json")
    assert "99999" not in history.stdout and "E12345678" not in history.stdout

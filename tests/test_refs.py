"""References: unique id prefixes (full or short form) and exact names."""

import json

from helpers import add_customer


def full_id(crm, ref):
    return json.loads(crm("customer", "show", ref, "--format", "json").stdout)["id"]


def test_a_customer_resolves_by_short_id_prefix_full_id_prefix_and_exact_name(crm, alice):
    short = add_customer(crm, "Acme Ltd")
    uuid = full_id(crm, short)
    for ref in (short, short[:4], uuid, uuid[:13], "Acme Ltd", short.upper()):
        result = crm("customer", "show", ref, "--format", "json")
        assert result.exit_code == 0, ref
        assert json.loads(result.stdout)["id"] == uuid


def test_an_unknown_reference_exits_3_with_one_line(crm, alice):
    add_customer(crm, "Acme Ltd")
    for ref in ("ffffffff", "Acme", "nobody at all", "ab"):
        result = crm("customer", "show", ref)
        assert result.exit_code == 3, ref
        assert result.stderr.count("\n") == 1
        assert "no customer matches" in result.stderr


def test_an_ambiguous_prefix_exits_3_and_lists_the_candidates(crm, alice):
    ids = [full_id(crm, add_customer(crm, f"Customer {i}")) for i in range(40)]
    # uuid7s made within the same minute share their first eight digits
    shared = ids[0][:8]
    result = crm("customer", "show", shared)
    assert result.exit_code == 3
    assert "matches several customers" in result.stderr
    candidates = [line for line in result.stderr.splitlines() if line.startswith("  ")]
    assert 2 <= len(candidates) <= 10
    assert all("Customer" in line for line in candidates)


def test_two_customers_with_the_same_name_are_ambiguous_by_name(crm, alice):
    add_customer(crm, "王伟", "--company", "A")
    add_customer(crm, "王伟", "--company", "B")
    result = crm("customer", "show", "王伟")
    assert result.exit_code == 3
    assert "(A)" in result.stderr and "(B)" in result.stderr


def test_a_task_resolves_by_prefix_and_unknown_tasks_exit_3(crm, alice):
    ref = add_customer(crm, "Acme")
    task = crm("task", "add", ref, "call back").stdout.strip()
    assert crm("task", "done", task[:5]).exit_code == 0
    assert crm("task", "done", "ffffffff").exit_code == 3

"""`crm audit list`: the whole trail, searched, for admins and managers."""

import csv
import io
import json

import pytest

from helpers import add_customer

ID = "11010519491231002X"


@pytest.fixture
def trail(crm, team):
    add_customer(crm, "Acme", "--set", f"id_number={ID}")
    add_customer(crm, "Globex", "--owner", "bob")  # bob's: he may edit it
    assert crm("customer", "show", "Acme", "--reveal").exit_code == 0
    assert crm("--as", "bob", "export", "customers", "--city", "上海").exit_code == 0
    assert crm("--as", "bob", "customer", "edit", "Globex", "--city", "北京").exit_code == 0


def listed(crm, *args, user="alice"):
    result = crm("--as", user, "audit", "list", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_trail_is_listed_newest_first_with_reveals_and_exports(crm, trail):
    events = listed(crm)
    assert [e["action"] for e in events[:3]] == [
        "customer.update", "customer.export", "customer.reveal"]
    assert [e["at"] for e in events] == sorted((e["at"] for e in events), reverse=True)
    export = events[1]
    assert (export["actor"], export["detail"]["rows"]) == ("bob", 0)
    assert export["detail"]["options"]["city"] == ["上海"]  # a filter may be repeated
    assert events[2]["detail"]["fields"] == ["id_number"]


def test_filters_by_actor_customer_action_and_since_and_a_limit(crm, trail):
    assert {e["actor"] for e in listed(crm, "--actor", "bob")} == {"bob"}
    about_globex = listed(crm, "--customer", "Globex")
    assert about_globex and {e["customer_id"][-8:] for e in about_globex} == {
        about_globex[0]["customer_id"][-8:]}
    assert [e["action"] for e in listed(crm, "--action", "reveal")] == ["customer.reveal"]
    assert [e["action"] for e in listed(crm, "--action", "export")] == ["customer.export"]
    assert {e["action"] for e in listed(crm, "--action", "customer")} >= {
        "customer.create", "customer.update", "customer.reveal"}
    assert listed(crm, "--since", "2999-01-01") == []
    assert len(listed(crm, "--since", "today")) == len(listed(crm))
    assert len(listed(crm, "--since", "yesterday")) == len(listed(crm))
    assert len(listed(crm, "--since", "-1h")) == len(listed(crm))
    assert len(listed(crm, "--limit", "2")) == 2


def test_every_format_is_offered_and_the_table_is_for_people(crm, trail):
    table = crm("audit", "list", "--action", "reveal")
    assert table.exit_code == 0 and "fields: id_number" in table.stdout
    rows = list(csv.DictReader(io.StringIO(crm("audit", "list", "-f", "csv").stdout)))
    assert rows[0]["action"] == "customer.update"
    lines = crm("audit", "list", "-f", "ndjson").stdout.splitlines()
    assert json.loads(lines[0])["action"] == "customer.update"


def test_a_manager_may_list_and_sees_masked_values_a_member_is_refused(crm, trail):
    created = listed(crm, "--action", "customer.create", "--customer", "Acme", user="carol")
    assert created[0]["changes"]["id_number"] == [None, "restricted"]
    refused = crm("--as", "bob", "audit", "list")
    assert refused.exit_code == 6
    assert "only an admin or a manager may read the audit trail" in refused.stderr
    assert refused.stdout == ""


def test_a_bad_since_is_refused_with_exit_4(crm, trail):
    result = crm("audit", "list", "--since", "someday")
    assert result.exit_code == 4 and result.stderr.startswith("error: since:")

"""Who may change what (README "Who may change what"): every member reads every customer
and adds notes and tasks to it; a customer's fields and hand-overs are its owner's, its
role holders', its owner's department managers' and admins'; a note is its author's,
the owner's and those managers' and admins'; deleting and merging are those managers' and
admins'; a refusal is one line naming the rule, exit 6, nothing written.

The team: alice (admin, sales), bob (member, service), carol (manager, marketing), and
here dan (manager, sales) and erin (member, sales).
"""

import json

import pytest
from sqlmodel import select

from crmcli import clock, config, permissions
from crmcli.models import Conflict, Customer, Task
from crmcli.permissions import Person
from helpers import add_customer, customers_by_name

RULE = "its fields are changed by its owner (alice), its role holders, managers of sales and admins"


@pytest.fixture
def people(crm, team) -> dict[str, str]:
    for handle, name, role in (("dan", "Dan Wu", "manager"), ("erin", "Erin Xu", "member")):
        result = crm("user", "add", handle, "--name", name, "--dept", "sales", "--role", role)
        assert result.exit_code == 0, result.output
    return {**team, "dan": "manager", "erin": "member"}


@pytest.fixture
def acme(crm, people) -> str:
    """A customer alice owns (sales)."""
    return add_customer(crm, "Acme Trading", "--city", "Shanghai")


def refused(result, *wanted: str) -> str:
    assert result.exit_code == 6, result.output
    [line] = result.stderr.strip().splitlines()
    for text in wanted:
        assert text in line
    return line


def city(database) -> str:
    return customers_by_name(database)["Acme Trading"].city


# --- customer fields ---------------------------------------------------------------------


def test_a_member_may_not_edit_a_colleagues_customer_exit_6(crm, acme, database):
    result = crm("--as", "bob", "customer", "edit", acme, "--city", "Hangzhou")
    line = refused(result)
    assert line == f"error: bob may not change customer Acme Trading: {RULE}"
    assert city(database) == "Shanghai"


def test_tags_and_custom_fields_are_the_same_right(crm, acme, database):
    assert crm("field", "add", "budget", "--type", "int").exit_code == 0
    refused(crm("--as", "erin", "customer", "edit", acme, "--tag", "vip"), "erin may not change")
    refused(crm("--as", "erin", "customer", "edit", acme, "--set", "budget=5"), RULE)
    stored = customers_by_name(database)["Acme Trading"]
    assert (stored.tags, stored.extra) == ([], {})


def test_a_manager_of_another_department_may_not_edit_and_one_of_the_owners_may(
    crm, acme, database
):
    refused(crm("--as", "carol", "customer", "edit", acme, "--city", "Hangzhou"), RULE)
    assert crm("--as", "dan", "customer", "edit", acme, "--city", "Suzhou").exit_code == 0
    assert city(database) == "Suzhou"


def test_the_owner_a_role_holder_and_an_admin_may_edit(crm, people, database):
    ref = add_customer(crm, "Acme Trading", "--owner", "erin")
    assert crm("--as", "erin", "customer", "edit", ref, "--city", "A").exit_code == 0
    assert crm("--as", "alice", "customer", "edit", ref, "--city", "B").exit_code == 0
    refused(crm("--as", "bob", "customer", "edit", ref, "--city", "C"), "its owner (erin)")
    assert crm("assign", ref, "--to", "bob", "--role", "service").exit_code == 0
    assert crm("--as", "bob", "customer", "edit", ref, "--city", "D").exit_code == 0
    assert city(database) == "D"


def test_a_role_that_ended_no_longer_gives_the_right(crm, acme, database):
    assert crm("assign", acme, "--to", "bob", "--role", "service").exit_code == 0
    assert crm("assign", acme, "--to", "erin", "--role", "service").exit_code == 0  # bob's ends
    refused(crm("--as", "bob", "customer", "edit", acme, "--city", "Hangzhou"), RULE)
    assert crm("--as", "erin", "customer", "edit", acme, "--city", "Ningbo").exit_code == 0
    assert city(database) == "Ningbo"


def test_a_customer_with_no_owner_may_be_changed_by_anyone(crm, acme, database):
    with database(write=True) as s:
        s.exec(select(Customer).where(Customer.name == "Acme Trading")).one().owner = None
    assert crm("--as", "bob", "customer", "edit", acme, "--city", "Hangzhou").exit_code == 0
    assert city(database) == "Hangzhou"


def test_every_member_reads_every_customer_and_adds_notes_and_tasks(crm, acme, database):
    assert "Acme Trading" in crm("--as", "bob", "customer", "show", acme).stdout
    assert crm("--as", "bob", "note", "add", acme, "called them").exit_code == 0
    assert crm("--as", "bob", "task", "add", acme, "send the quote").exit_code == 0
    with database() as s:
        [task] = s.exec(select(Task)).all()
        assert (task.title, task.created_by) == ("send the quote", "bob")


# --- hand-overs ---------------------------------------------------------------------------


def test_a_member_may_not_hand_over_a_colleagues_customer(crm, acme, database):
    refused(crm("--as", "bob", "assign", acme, "--to", "bob"), RULE)
    refused(crm("--as", "bob", "assign", acme, "--to", "bob", "--role", "service"), RULE)
    assert customers_by_name(database)["Acme Trading"].owner == "alice"


def test_a_role_holder_may_hand_over_and_the_new_holder_acknowledges(crm, acme, database):
    assert crm("assign", acme, "--to", "bob", "--role", "service").exit_code == 0
    assert crm("--as", "bob", "assign", acme, "--to", "erin", "--role", "sales").exit_code == 0
    assert "nothing to acknowledge" in crm("--as", "carol", "ack", acme).stderr
    assert "acknowledged sales" in crm("--as", "erin", "ack", acme).stderr


# --- tasks --------------------------------------------------------------------------------


def test_a_task_is_changed_by_its_assignee_its_creator_or_who_may_change_the_customer(
    crm, acme, database
):
    made = crm("--as", "erin", "task", "add", acme, "call back", "--assignee", "carol")
    assert made.exit_code == 0
    with database() as s:
        task_id = s.exec(select(Task)).one().id[-8:]
    line = refused(crm("--as", "bob", "task", "done", task_id))
    assert line == (
        "error: bob may not change task 'call back' of Acme Trading: a task is changed by its "
        f"assignee (carol), its creator (erin) and whoever may change its customer ({RULE})"
    )
    refused(crm("--as", "bob", "task", "cancel", task_id), "bob may not change task")
    refused(crm("--as", "bob", "task", "reassign", task_id, "--to", "bob"), "its creator (erin)")
    assert crm("--as", "carol", "task", "done", task_id).exit_code == 0  # the assignee
    assert crm("--as", "erin", "task", "reopen", task_id).exit_code == 0  # the creator
    assert crm("--as", "dan", "task", "reassign", task_id, "--to", "erin").exit_code == 0
    with database() as s:
        task = s.exec(select(Task)).one()
        assert (task.status, task.assignee) == ("open", "erin")


NOTE_RULE = ("a note is changed or deleted only by its author (erin), the customer's owner "
             "(alice), managers of sales and admins")


def test_a_role_holder_may_not_change_a_colleagues_note_its_owner_and_managers_may(
    crm, acme, database
):
    """The issue's words: only the author, the customer's owner or a manager (of the
    owner's department; admins do everything). bob and carol hold roles on Acme and may
    change its fields, not erin's note."""
    for who, role in (("bob", "service"), ("carol", "marketing")):
        assert crm("assign", acme, "--to", who, "--role", role).exit_code == 0
    assert crm("--as", "bob", "customer", "edit", acme, "--city", "Hangzhou").exit_code == 0
    note = crm("--as", "erin", "note", "add", acme, "called them").stdout.strip()
    for who in ("bob", "carol"):
        for args in (("edit", note, "--body", "never called"), ("delete", note)):
            line = refused(crm("--as", who, "note", *args))
            assert line == f"error: {who} may not change a note on Acme Trading: {NOTE_RULE}"
    assert [n["body"] for n in notes_listed(crm, acme)] == ["called them"]
    assert crm("--as", "dan", "note", "edit", note, "--body", "called, 报价 sent").exit_code == 0
    assert crm("note", "edit", note, "--kind", "visit").exit_code == 0  # the owner (an admin)
    assert [(n["body"], n["kind"]) for n in notes_listed(crm, acme)] == [
        ("called, 报价 sent", "visit")]
    bobs = crm("--as", "bob", "note", "add", acme, "bob's own").stdout.strip()
    assert crm("--as", "bob", "note", "delete", bobs).exit_code == 0  # the author
    assert crm("--as", "erin", "note", "delete", note).exit_code == 0
    assert notes_listed(crm, acme) == []


def test_a_note_on_a_customer_with_no_owner_is_changed_by_its_author_and_managers(
    crm, acme, database
):
    note = crm("--as", "erin", "note", "add", acme, "called them").stdout.strip()
    with database(write=True) as s:
        s.exec(select(Customer).where(Customer.name == "Acme Trading")).one().owner = None
    assert crm("--as", "bob", "customer", "edit", acme, "--city", "Hangzhou").exit_code == 0
    line = refused(crm("--as", "bob", "note", "delete", note))
    assert line.endswith("a note on a customer with no owner is changed or deleted only by its "
                         "author (erin), managers and admins")
    assert crm("--as", "carol", "note", "edit", note, "--body", "called").exit_code == 0
    assert [n["body"] for n in notes_listed(crm, acme)] == ["called"]


def notes_listed(crm, ref: str) -> list[dict]:
    return json.loads(crm("note", "list", ref, "--format", "json").stdout)


# --- delete and merge ---------------------------------------------------------------------


def test_only_a_manager_of_the_owners_department_or_an_admin_deletes_a_customer(
    crm, people, database
):
    ref = add_customer(crm, "Acme Trading", "--owner", "erin")
    rule = "a customer owned by erin is deleted, merged away or restored only by managers of sales and admins"
    for who in ("erin", "bob", "carol"):  # its owner, a member, another department's manager
        line = refused(crm("--as", who, "customer", "delete", ref))
        assert line == f"error: {who} may not delete customer Acme Trading: {rule}"
    assert "Acme Trading" in customers_by_name(database)
    assert crm("--as", "dan", "customer", "delete", ref).exit_code == 0
    assert "Acme Trading" not in customers_by_name(database)


def test_a_customer_with_no_owner_is_deleted_by_managers_and_admins(crm, acme, database):
    with database(write=True) as s:
        s.exec(select(Customer).where(Customer.name == "Acme Trading")).one().owner = None
    refused(crm("--as", "bob", "customer", "delete", acme), "only by managers and admins")
    assert crm("--as", "carol", "customer", "delete", acme).exit_code == 0


def test_a_merge_takes_deleting_the_one_that_goes_and_changing_the_one_that_stays(
    crm, people, database
):
    keep = add_customer(crm, "Keeper", "--owner", "carol")  # marketing
    other = add_customer(crm, "Other", "--owner", "erin")  # sales
    refused(crm("--as", "dan", "customer", "merge", keep, other),
            "dan may not merge Other into customer Keeper: its fields are changed by its owner "
            "(carol)")
    refused(crm("--as", "carol", "customer", "merge", keep, other),
            "carol may not merge away customer Other: a customer owned by erin")
    assert sorted(customers_by_name(database)) == ["Keeper", "Other"]
    assert crm("assign", keep, "--to", "dan", "--role", "sales").exit_code == 0
    assert crm("--as", "dan", "customer", "merge", keep, other).exit_code == 0
    assert sorted(customers_by_name(database)) == ["Keeper"]


def test_the_admin_may_do_everything(crm, people):
    ref = add_customer(crm, "Acme Trading", "--owner", "bob")
    other = add_customer(crm, "Acme Copy", "--owner", "carol")
    assert crm("customer", "edit", ref, "--city", "X").exit_code == 0
    assert crm("assign", ref, "--to", "erin", "--role", "sales").exit_code == 0
    assert crm("customer", "merge", ref, other).exit_code == 0
    assert crm("customer", "delete", ref).exit_code == 0


# --- imports ------------------------------------------------------------------------------


def test_an_import_updating_a_customer_the_member_may_not_change_is_refused_whole(
    crm, acme, database, tmp_path
):
    rows = tmp_path / "customers.csv"
    rows.write_text("name,company,city\nNew One,,Beijing\nAcme Trading,,Hangzhou\n")
    result = crm("--as", "bob", "import", "customers", rows)
    line = refused(result, "line 3", f"bob may not change customer Acme Trading: {RULE}",
                   "nothing imported")
    assert line.startswith("error: ")
    assert sorted(customers_by_name(database)) == ["Acme Trading"]  # not even New One
    assert city(database) == "Shanghai"
    refused(crm("--as", "bob", "import", "customers", rows, "--partial"), "line 3")
    assert sorted(customers_by_name(database)) == ["Acme Trading"]


def test_an_import_that_changes_nothing_of_a_colleagues_customer_is_no_change(
    crm, acme, database, tmp_path
):
    rows = tmp_path / "customers.csv"
    rows.write_text("name,city\nAcme Trading,Shanghai\nNew One,Beijing\n")
    result = crm("--as", "bob", "import", "customers", rows)
    assert result.exit_code == 0, result.output
    assert sorted(customers_by_name(database)) == ["Acme Trading", "New One"]


def test_an_import_of_tasks_changing_a_colleagues_task_is_refused(crm, acme, database, tmp_path):
    assert crm("task", "add", acme, "call back", "--assignee", "erin").exit_code == 0
    rows = tmp_path / "tasks.csv"
    rows.write_text(f"customer,title,status\n{acme},call back,done\n")
    refused(crm("--as", "bob", "import", "tasks", rows),
            "line 2", "bob may not change task 'call back'", "nothing imported")
    assert crm("--as", "erin", "import", "tasks", rows).exit_code == 0  # the assignee may
    with database() as s:
        assert s.exec(select(Task)).one().status == "done"


def test_an_import_of_notes_changing_a_colleagues_note_is_refused(crm, acme, database, tmp_path):
    assert crm("--as", "erin", "note", "add", acme, "called them").exit_code == 0
    rows = tmp_path / "notes.csv"
    rows.write_text(f"customer,body,kind\n{acme},called them,visit\n")
    refused(crm("--as", "bob", "import", "notes", rows),
            "line 2", f"bob may not change a note on Acme Trading: {NOTE_RULE}")
    assert crm("--as", "erin", "import", "notes", rows).exit_code == 0  # the author may
    assert json.loads(crm("note", "list", acme, "--format", "json").stdout)[0]["kind"] == "visit"


# --- conflicts ----------------------------------------------------------------------------


def test_taking_mine_in_a_conflict_takes_the_right_to_change_the_customer(crm, acme, database):
    with database(write=True) as s:
        customer = s.exec(select(Customer).where(Customer.name == "Acme Trading")).one()
        entry = Conflict(kind="edit", entity="customer", entity_id=customer.id,
                         customer_id=customer.id, field="city", base="Shanghai",
                         mine="Hangzhou", theirs="Shanghai", actor="bob",
                         made_at=clock.now(), event_id="e1")
        s.add(entry)
        s.flush()
        ref = entry.id[-8:]
    refused(crm("--as", "bob", "conflicts", "resolve", ref, "--restore-other"), RULE)
    refused(crm("--as", "bob", "conflicts", "resolve", ref, "--value", "Ningbo"), RULE)
    assert city(database) == "Shanghai"
    assert crm("--as", "bob", "conflicts", "resolve", ref, "--keep-current").exit_code == 0


# --- acting as someone else -------------------------------------------------------------


def test_acting_as_another_user_is_for_a_remembered_active_admin(crm, people, database):
    assert crm("--as", "bob", "customer", "list").exit_code == 0  # alice, an admin, remembered
    assert crm("init", "--user", "bob").exit_code == 0  # bob remembered now
    rule = ("bob may not act as alice on this database: acting as another user (--as, "
            "CRM_USER) is for an active admin remembered by `crm init` (bob is not)")
    assert refused(crm("--as", "alice", "customer", "list")) == f"error: {rule}"
    refused(crm("customer", "list", env={"CRM_USER": "alice"}), rule)
    assert crm("--as", "bob", "customer", "list").exit_code == 0  # himself


def test_a_deactivated_admin_remembered_may_no_longer_act_as_others(crm, people):
    assert crm("user", "add", "zoe", "--name", "Zoe", "--role", "admin").exit_code == 0
    assert crm("--as", "zoe", "user", "deactivate", "alice", "--transfer-to", "zoe").exit_code == 0
    refused(crm("--as", "zoe", "customer", "list"), "alice may not act as zoe")


def test_with_no_user_remembered_anyone_may_be_named(crm, people):
    config.save_file({})
    assert crm("--as", "bob", "customer", "list").exit_code == 0
    assert crm("customer", "list", env={"CRM_USER": "erin"}).exit_code == 0


# --- the pure rules -----------------------------------------------------------------------

ALICE, BOB = Person("alice", "admin", "sales"), Person("bob", "member", "service")
CAROL, DAN = Person("carol", "manager", "marketing"), Person("dan", "manager", "sales")


@pytest.mark.parametrize(("who", "allowed"), [
    (ALICE, True), (BOB, False), (CAROL, False), (DAN, True), (Person("erin"), True),
    (Person("finn"), True),
])
def test_who_may_change_a_customer(who, allowed):
    assert permissions.may_change_customer(who, "erin", "sales", {"erin", "finn"}) is allowed


def test_a_manager_without_a_department_manages_no_owner_without_one():
    nobody = Person("nia", "manager", None)
    assert not permissions.may_change_customer(nobody, "erin", None, set())
    assert not permissions.may_delete_customer(nobody, "erin", None)
    assert permissions.may_delete_customer(nobody, None, None)
    assert permissions.delete_rule("erin", None) == (
        "a customer owned by erin is deleted, merged away or restored only by admins")



def test_task_note_and_acting_rules():
    assert permissions.may_change_task(BOB, "bob", "alice", False)
    assert permissions.may_change_task(BOB, "carol", "bob", False)
    assert not permissions.may_change_task(BOB, "carol", "alice", False)
    assert permissions.may_change_note(BOB, "bob", "alice", "sales")  # its author
    assert not permissions.may_change_note(BOB, "carol", "alice", "sales")
    assert permissions.may_change_note(BOB, "carol", "bob", "service")  # the owner
    assert permissions.may_change_note(DAN, "carol", "alice", "sales")
    assert not permissions.may_change_note(CAROL, "erin", "alice", "sales")
    assert permissions.may_change_note(CAROL, "erin", None, None)  # no owner: managers
    assert not permissions.may_change_note(BOB, "erin", None, None)
    assert permissions.may_change_note(ALICE, "erin", "dan", "sales")
    assert permissions.may_act_as("bob", None, False)
    assert permissions.may_act_as("bob", "bob", False)
    assert not permissions.may_act_as("bob", "carol", False)


def test_the_task_refusal_names_the_creator_once_when_it_is_the_assignee():
    line = permissions.task_refusal(BOB, "call", "Acme", "carol", "carol", "alice", "sales")
    assert "its assignee (carol) and whoever may change" in line
    assert json.dumps(line)  # plain text, one line
    assert "\n" not in line

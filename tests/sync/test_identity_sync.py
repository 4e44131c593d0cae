"""Sync matches customers by id only: a shared phone or e-mail never merges or renames.

Two replicas that each record someone on the same switchboard number (or even the same
person twice) push two records, and every replica pulls both with their own names: a
pulled customer is matched with a local one by its id (`sync/pull.py`; customers have no
natural key in `sync/tables.py`), never by phone, e-mail or name. Joining two records is
a `crm customer merge`, a recorded act of a person.
"""

import json


def names_and_phones(member) -> list[tuple[str, str | None, str | None]]:
    rows = json.loads(member.ok("customer", "list", "--format", "json"))
    return sorted((row["name"], row["phone"], row["email"]) for row in rows)


def test_people_sharing_a_phone_or_e_mail_stay_apart_with_their_names(replica, postgres):
    alice, bob = replica("alice", "Alice Wang"), replica("bob", "Bob Li")
    alice.sync()
    bob.sync()
    alice.ok("customer", "add", "王经理", "--company", "华为", "--phone", "010-65521234",
             "--email", "office@huawei.example")
    bob.ok("customer", "add", "李经理", "--company", "华为", "--phone", "010 6552 1234",
           "--email", "OFFICE@huawei.example")
    bob.ok("customer", "add", "张三", "--phone", "13800138000")
    alice.ok("customer", "add", "張三", "--phone", "138-0013-8000")  # the same name, folded
    for _ in range(2):
        alice.sync()
        bob.sync()
    expected = [
        ("张三", "+8613800138000", None),
        ("張三", "+8613800138000", None),
        ("李经理", "+861065521234", "office@huawei.example"),
        ("王经理", "+861065521234", "office@huawei.example"),
    ]
    assert names_and_phones(alice) == names_and_phones(bob) == expected
    shared = postgres.rows("SELECT name, phone FROM customer WHERE deleted_at IS NULL "
                           "ORDER BY name")
    assert sorted(shared) == sorted((name, phone) for name, phone, _ in expected)
    for member in (alice, bob):  # no conflict entry either: nothing met on a shared field
        assert json.loads(member.ok("conflicts", "list", "--format", "json")) == []

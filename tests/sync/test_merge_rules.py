"""The merging rules on their own (pure functions, no database)."""

from dataclasses import dataclass
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from crmcli.repo import entities
from crmcli.sync import merge
from crmcli.sync.merge import Outcome

values = st.one_of(st.none(), st.sampled_from(["a", "b", "c"]), st.integers(0, 2))


@dataclass
class Event:
    id: str
    seq: int
    actor: str
    at: str
    action: str
    entity: str
    entity_id: str | None
    customer_id: str | None
    changes: dict[str, Any]


def event(seq: int, changes: dict, action: str = "customer.update", entity_id: str = "c1") -> Event:
    return Event(f"e{seq}", seq, "bob", f"t{seq}", action, "customer", entity_id, entity_id, changes)


@given(shared=values, base=values, mine=values)
def test_a_field_is_taken_only_if_the_shared_value_is_what_the_replica_had_seen(shared, base, mine):
    outcome = merge.decide(shared, base, mine)
    if shared == mine:
        assert outcome is Outcome.same
    elif shared == base:
        assert outcome is Outcome.take
    else:
        assert outcome is Outcome.conflict


def test_several_edits_of_one_field_fold_into_the_first_before_and_the_last_author():
    events = [
        event(1, {"city": ["Shanghai", "Suzhou"]}),
        event(2, {"level": [None, "A"]}),
        event(3, {"city": ["Suzhou", "Nanjing"]}),
        event(4, {"stage": ["lead", "won"]}, entity_id="c2"),
    ]
    first, second = merge.fold(events, {"customer"})
    assert (first.entity_id, second.entity_id) == ("c1", "c2")
    assert first.base == {"city": "Shanghai", "level": None}
    assert first.authors["city"].event_id == "e3" and first.authors["level"].event_id == "e2"
    assert not first.created


def test_a_json_object_field_is_split_per_key_so_custom_fields_merge_one_by_one():
    assert merge.split("extra", {"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == {
        "extra.b": (2, 3), "extra.c": (None, 4)
    }
    assert merge.split("extra", None, {"a": 1}) == {"extra.a": (None, 1)}
    assert merge.split("tags", ["x"], ["x", "y"]) == {"tags": (["x"], ["x", "y"])}
    row = {"extra": {"a": 1}}
    entities.put(row, "extra.b", 2)
    entities.put(row, "extra.a", None)
    assert row == {"extra": {"b": 2}} and entities.get(row, "extra.b") == 2


def changes_of(base: dict) -> merge.RecordChanges:
    return merge.RecordChanges("customer", "c1", "c1", base=base)


def test_an_edit_to_a_record_deleted_elsewhere_is_a_deleted_conflict_unless_nothing_would_change():
    shared = {"deleted_at": "t1", "city": "Beijing", "level": "A"}
    mine = {"deleted_at": None, "city": "Shanghai", "level": "A"}
    verdict = merge.judge(shared, mine, changes_of({"city": "Beijing", "level": None}))
    assert verdict.take == [] and verdict.conflicts == [("deleted", "city")]


def test_deleting_on_both_sides_is_agreement_and_a_delete_of_a_live_record_is_taken():
    both = merge.judge({"deleted_at": "t1"}, {"deleted_at": "t2"}, changes_of({"deleted_at": None}))
    assert both.take == [] and both.conflicts == []
    live = merge.judge(
        {"deleted_at": None, "city": "B"}, {"deleted_at": "t2", "city": "A"},
        changes_of({"deleted_at": None, "city": "B"}),
    )
    assert live.take == ["deleted_at", "city"] and live.conflicts == []


def test_a_time_stamp_agrees_when_both_sides_reached_its_state_and_conflicts_with_its_state():
    stamps = {"done_at": "status", "until": None}
    base = {"status": "open", "done_at": None, "until": None}
    both_done = merge.judge(
        {"status": "done", "done_at": "t1", "until": "t3"},
        {"status": "done", "done_at": "t2", "until": "t4"},
        changes_of(base), stamps,
    )
    assert both_done.take == [] and both_done.conflicts == []
    done_or_cancelled = merge.judge(
        {"status": "done", "done_at": "t1", "until": None},
        {"status": "cancelled", "done_at": None, "until": None},
        changes_of({"status": "open", "done_at": None}), stamps,
    )
    assert done_or_cancelled.conflicts == [("edit", "status"), ("edit", "done_at")]

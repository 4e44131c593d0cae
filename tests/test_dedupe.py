"""`crm dedupe` (README "Data quality and duplicates"): the likely duplicates walked best
first with answers read from stdin (merge, not the same, skip, quit), listed for scripts,
and the "not the same" marks, which the walk never proposes again."""

import json

import pytest

from crmcli.repo import customers, distinct_pairs
from helpers import add_customer, customers_by_name

PHONE = "13800138000"


@pytest.fixture
def twins(crm, alice) -> tuple[str, str]:
    """张伟 twice with one phone: the strongest kind of pair."""
    return (add_customer(crm, "张伟", "--phone", PHONE, "--company", "华为"),
            add_customer(crm, "张伟", "--phone", PHONE, "--city", "深圳", "--allow-duplicate"))


@pytest.fixture
def lina(crm, alice) -> tuple[str, str]:
    """李娜 twice with one e-mail: a second pair."""
    return (add_customer(crm, "李娜", "--email", "lina@example.cn"),
            add_customer(crm, "李娜", "--email", "lina@example.cn", "--allow-duplicate"))


def listed(crm, *options: str) -> list[dict]:
    result = crm("dedupe", "--list", "--format", "json", *options)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def field_row(lines: list[str], name: str) -> list[str]:
    """The words of the side-by-side table's row of field `name` (≠ first if it differs)."""
    return next(words for words in map(str.split, lines) if name in words[:2])


def pair_of(row: dict) -> set[str]:
    return {row["first"][-8:], row["second"][-8:]}


def test_the_walk_shows_both_records_side_by_side_with_differing_values_marked(crm, twins):
    result = crm("dedupe", input="q\n")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(line.startswith("Pair 1 of 1 · score ") for line in lines)
    header = next(line for line in lines if "field" in line)
    assert twins[0] in header and twins[1] in header
    company, phone = field_row(lines, "company"), field_row(lines, "phone")
    assert company[0] == "≠" and "华为" in company
    assert phone[0] == "phone" and phone.count("+8613800138000") == 2
    assert "0 merged, 0 not the same, 0 skipped" in result.stderr


def test_not_the_same_is_remembered_and_never_proposed_again(crm, twins, lina, monkeypatch):
    monkeypatch.setenv("CRM_NOW", "2026-03-02T09:00:00+00:00")
    assert len(listed(crm)) == 2
    result = crm("dedupe", input="n 两个不同的人\nq\n")
    assert result.exit_code == 0, result.output
    assert "marked not the same" in result.stderr
    assert "0 merged, 1 not the same, 0 skipped" in result.stderr
    [left] = listed(crm, "--min-score", "0")
    assert pair_of(left) == set(lina)
    [mark] = json.loads(crm("dedupe", "not-same", "list", "--format", "json").stdout)
    assert (pair_of(mark), mark["marked_by"], mark["reason"], mark["marked_at"]) == (
        set(twins), "alice", "两个不同的人", "2026-03-02T09:00:00Z")
    again = crm("dedupe", input="q\n")
    assert "Pair 1 of 1" in again.stdout and twins[0] not in again.stdout
    history = crm("history", mark["first"]).stdout
    assert "marked not the same as" in history and "两个不同的人" in history


def test_merge_keeps_the_one_named_and_moves_the_other_into_it(crm, twins, database):
    result = crm("dedupe", input="m\n2\n")
    assert result.exit_code == 0, result.output
    assert f"into {twins[1]}" in result.stderr and "1 merged" in result.stderr
    with database() as s:
        gone = customers.resolve(s, twins[0], deleted=True)
        kept = customers.resolve(s, twins[1])
        assert gone.merged_into == kept.id
        assert (kept.company, kept.city) == ("华为", "深圳")  # empty field filled from the other
    assert listed(crm, "--min-score", "0") == []


def test_m1_keeps_the_first_in_one_answer(crm, twins, database):
    assert crm("dedupe", input="m1\n").exit_code == 0
    with database() as s:
        assert customers.resolve(s, twins[1], deleted=True).merged_into.endswith(twins[0])


def test_skip_moves_on_and_changes_nothing(crm, twins, lina):
    result = crm("dedupe", input="s\ns\n")
    assert result.exit_code == 0, result.output
    assert "Pair 2 of 2" in result.stdout
    assert "0 merged, 0 not the same, 2 skipped" in result.stderr
    assert len(listed(crm)) == 2
    assert json.loads(crm("dedupe", "not-same", "list", "--format", "json").stdout) == []


def test_an_unknown_answer_is_asked_again_and_the_end_of_input_quits(crm, twins, lina):
    result = crm("dedupe", input="maybe\n")
    assert result.exit_code == 0, result.output
    assert "answer m, n, s or q" in result.stderr
    assert "Pair 2" not in result.stdout
    assert len(listed(crm)) == 2


def test_a_refused_merge_says_why_asks_again_and_ends_with_its_exit_code(crm, team, twins):
    """bob (a member) may not merge alice's customers away, but may say they differ."""
    result = crm("--as", "bob", "dedupe", input="m1\nn\n")
    assert result.exit_code == 6
    assert "error: bob may not merge away" in result.stderr
    assert "marked not the same" in result.stderr
    assert listed(crm) == []


def test_a_pair_merged_away_earlier_in_the_walk_is_skipped(crm, alice, database):
    one = add_customer(crm, "王芳", "--phone", PHONE)
    add_customer(crm, "王芳", "--phone", PHONE, "--allow-duplicate")
    add_customer(crm, "王芳", "--phone", PHONE, "--allow-duplicate")
    result = crm("dedupe", input="m1\nm1\nm1\n")  # three pairs of three customers
    assert result.exit_code == 0, result.output
    assert "pair 3 of 3 skipped: customer" in result.stderr and "was merged into" in result.stderr
    assert "2 merged" in result.stderr
    assert customers_by_name(database)["王芳"].id.endswith(one)
    with database() as s:
        assert customers.resolve(s, one).deleted_at is None


def test_list_prints_the_pairs_best_first_in_every_format(crm, twins, alice):
    add_customer(crm, "李娜")
    add_customer(crm, "李娜", "--allow-duplicate")  # the same name only: a weaker pair
    rows = listed(crm, "--min-score", "0")
    scores = [row["score"] for row in rows]
    assert scores == sorted(scores, reverse=True) and pair_of(rows[0]) == set(twins)
    assert set(rows[0]) == {"first", "first_name", "second", "second_name", "score", "reasons"}
    assert rows[0]["first_name"] == "张伟" and "phone same" in rows[0]["reasons"]
    ndjson = crm("dedupe", "--format", "ndjson", "--min-score", "0")  # --format alone lists
    assert [json.loads(line) for line in ndjson.stdout.splitlines()] == rows
    csv = crm("dedupe", "--list", "--format", "csv").stdout.splitlines()
    assert csv[0] == "first,first_name,second,second_name,score,reasons"
    table = crm("dedupe", "--list").stdout
    assert twins[0] in table and "张伟" in table and "Score" in table
    assert len(listed(crm, "--min-score", "0", "--limit", "1")) == 1
    assert all(row["score"] >= 99 for row in listed(crm, "--min-score", "99"))


def test_no_duplicates_is_said_on_stderr_and_exits_0(crm, alice):
    add_customer(crm, "独一无二")
    for args in (("dedupe",), ("dedupe", "--list")):
        result = crm(*args)
        assert (result.exit_code, result.stdout) == (0, "")
        assert "no likely duplicates" in result.stderr


def test_a_mark_follows_a_customer_merged_into_another(crm, alice):
    """A ≠ C, then A merged into K: K ≠ C too (the mark is read through the merge)."""
    a = add_customer(crm, "张伟", "--phone", PHONE)
    k = add_customer(crm, "张伟", "--phone", PHONE, "--allow-duplicate")
    c = add_customer(crm, "张伟", "--allow-duplicate")
    assert crm("dedupe", "not-same", "add", a, c).exit_code == 0
    assert crm("customer", "merge", k, a).exit_code == 0
    assert listed(crm, "--min-score", "0") == []
    assert "no likely duplicates" in crm("dedupe", "--min-score", "0").stderr


def test_not_same_add_refusals(crm, team, twins):
    first, second = twins
    assert crm("dedupe", "not-same", "add", first, first).exit_code == 4
    assert crm("dedupe", "not-same", "add", first, "nobody").exit_code == 3
    made = crm("dedupe", "not-same", "add", second, first, "--reason", "不同公司")
    assert made.exit_code == 0, made.output
    again = crm("--as", "bob", "dedupe", "not-same", "add", first, second)
    assert again.exit_code == 5 and "already, by alice" in again.stderr
    assert crm("customer", "delete", second).exit_code == 0
    third = add_customer(crm, "张伟", "--allow-duplicate")
    assert crm("dedupe", "not-same", "add", second, third).exit_code == 3  # deleted: not found


def test_a_mark_is_withdrawn_by_its_author_or_an_admin_only(crm, team, twins, database):
    first, second = twins
    mark = crm("--as", "bob", "dedupe", "not-same", "add", first, second).stdout.strip()
    refused = crm("--as", "carol", "dedupe", "not-same", "withdraw", mark)
    assert refused.exit_code == 6
    assert "only bob, who made it, or an admin withdraws it" in refused.stderr
    assert crm("--as", "bob", "dedupe", "not-same", "withdraw", mark).exit_code == 0
    assert len(listed(crm)) == 1  # proposed again
    assert crm("dedupe", "not-same", "withdraw", mark).exit_code == 3  # gone from the list
    other = crm("--as", "bob", "dedupe", "not-same", "add", first, second).stdout.strip()
    assert crm("dedupe", "not-same", "withdraw", other).exit_code == 0  # alice: an admin
    with database() as s:
        assert distinct_pairs.list_(s) == []
    history = crm("history", first).stdout  # the pair's first customer (the older one)
    assert history.count("withdrew: marked not the same as") == 2


def test_names_are_shown_literally_never_as_markup(crm, alice):
    name = "[bold red]Evil[/] \x1b[31m"
    add_customer(crm, name, "--phone", PHONE)
    add_customer(crm, name, "--phone", PHONE, "--allow-duplicate")
    result = crm("dedupe", input="q\n")
    assert "[bold red]Evil[/]" in result.stdout and "\x1b" not in result.stdout


def test_the_quality_report_leaves_out_the_pairs_marked_not_the_same(crm, twins, lina):
    def reported() -> list[set[str]]:
        result = crm("report", "quality", "--section", "duplicates", "-f", "json")
        assert result.exit_code == 0, result.output
        return [pair_of(row) for row in json.loads(result.stdout)["duplicates"]]

    assert set(twins) in reported()
    assert crm("dedupe", "not-same", "add", *twins).exit_code == 0
    assert reported() == [set(lina)]


def test_a_sensitive_value_shows_only_as_its_reader_may_see_it(crm, team):
    add_customer(crm, "张伟", "--phone", PHONE, "--set", "contract_amount=987654")
    add_customer(crm, "张伟", "--phone", PHONE, "--allow-duplicate")
    for handle, shown in (("alice", "≥100,000"), ("bob", "restricted")):
        result = crm("--as", handle, "dedupe", input="q\n")
        assert field_row(result.stdout.splitlines(), "contract_amount")[-1] == shown
        assert "987654" not in result.stdout and "987,654" not in result.stdout


def test_the_walk_reads_its_answers_from_a_real_pipe(crm_process, twins, lina):
    walked = crm_process("dedupe", input="n 两家不同的公司\ns\nq\n")
    assert walked.returncode == 0, walked.stderr
    assert "Pair 2 of 2" in walked.stdout
    assert "0 merged, 1 not the same, 1 skipped" in walked.stderr
    listed_now = crm_process("dedupe", "--format", "json")
    assert [pair_of(row) for row in json.loads(listed_now.stdout)] == [set(lina)]

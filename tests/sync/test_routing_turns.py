"""Round-robin routing on a team: turns come from the shared database, so two replicas
importing leads at the same moment never give the same turn twice nor pass anyone over,
and agree on every owner once synced."""

from __future__ import annotations

import json
import subprocess
import sys

from crmcli.sync.route_turns import SharedTurns

SALES = ("alice", "bob", "carol", "dan")  # handle order: the order of the turns
IMPORTS_EACH = 6
LEADS_EACH = 7  # per import: 2 replicas x 6 imports x 7 = 84 leads, 21 per member


def leads_file(tmp_path, replica: str, number: int) -> str:
    path = tmp_path / f"{replica}-{number}.csv"
    rows = [f"{replica}-{number}-{k},展会,上海" for k in range(LEADS_EACH)]
    path.write_text("客户名称,来源,城市\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


def importing(replica, files: list[str]) -> subprocess.Popen:
    """One process importing `files` one after another, as the replica's member."""
    script = (
        "import subprocess, sys\n"
        "for name in sys.argv[3:]:\n"
        "    done = subprocess.run([sys.executable, '-m', 'crmcli', '--db', sys.argv[1],\n"
        "                           '--as', sys.argv[2], 'import', 'customers', name])\n"
        "    if done.returncode: sys.exit(done.returncode)\n"
    )
    return subprocess.Popen([sys.executable, "-c", script, str(replica.path), replica.handle,
                             *files], stderr=subprocess.PIPE, text=True)


def owners(replica) -> dict[str, str]:
    rows = json.loads(replica.ok("customer", "list", "--format", "json", "--limit", "1000"))
    return {row["name"]: row["owner"] for row in rows}


def follows(before: str, after: str) -> bool:
    return SALES[(SALES.index(before) + 1) % len(SALES)] == after


def test_two_replicas_importing_at_once_share_the_turns_fairly_and_agree_after_sync(
        replica, member, postgres, tmp_path):
    alice = replica("alice", "Alice Wang", "sales", "admin")
    bob = replica("bob", "Bob Li", "sales", "member")
    member("carol", "Carol Zhang", "sales", "member")
    member("dan", "Dan Zhou", "sales", "member")
    alice.ok("rule", "add", "expo", "--when", "来源=展会,城市=上海", "--to", "dept:sales")
    alice.sync()
    bob.sync()
    alice.sync()
    files = {each.handle: [leads_file(tmp_path, each.handle, n) for n in range(IMPORTS_EACH)]
             for each in (alice, bob)}
    running = [importing(each, files[each.handle]) for each in (alice, bob)]
    for process in running:
        _, errors = process.communicate(timeout=300)
        assert process.returncode == 0, errors
        assert "not coordinated" not in errors
    for each in (alice, bob, alice):
        each.sync()
    seen = owners(alice)
    assert seen == owners(bob)
    leads = {name: owner for name, owner in seen.items() if name.count("-") == 2}
    total = 2 * IMPORTS_EACH * LEADS_EACH
    assert len(leads) == total and all(leads.values())
    counts = {handle: list(leads.values()).count(handle) for handle in SALES}
    assert sorted(counts.values()) in ([total // 4] * 4, sorted([total // 4, total // 4 + 1] * 2))
    for each in ("alice", "bob"):  # each import's turns are consecutive turns of the cycle
        for n in range(IMPORTS_EACH):
            got = [leads[f"{each}-{n}-{k}"] for k in range(LEADS_EACH)]
            assert all(follows(a, b) for a, b in zip(got, got[1:], strict=False)), got
    assert postgres.value("SELECT taken FROM crm_route_turn WHERE rule = 'expo'") == total


def test_a_routed_owner_is_recorded_with_the_rule_on_every_replica(replica, member):
    alice = replica("alice", "Alice Wang", "sales", "admin")
    bob = replica("bob", "Bob Li", "sales", "member")
    alice.sync()
    alice.ok("rule", "add", "expo", "--when", "source=exhibition", "--to", "bob,alice")
    alice.sync()
    bob.sync()
    ref = bob.ok("customer", "add", "上海展会客户", "--source", "Exhibition")
    bob.sync()
    alice.sync()
    history = alice.ok("history", ref)
    assert "routed to alice as owner by rule expo" in history
    assert owners(alice)["上海展会客户"] == "alice"


def test_an_unreachable_shared_database_routes_by_local_turns_and_says_so(replica, member):
    alice = replica("alice", "Alice Wang", "sales", "admin")
    member("bob", "Bob Li", "sales", "member")
    alice.ok("rule", "add", "expo", "--to", "dept:sales")
    alice.sync()
    alice.ok("remote", "set", "postgresql://nobody@127.0.0.1:1/nowhere")
    result = alice("customer", "add", "离线客户")
    assert result.exit_code == 0, result.output
    assert "not coordinated" in result.stderr
    assert owners(alice)["离线客户"] == "alice"


def test_a_rule_the_shared_database_does_not_have_yet_is_turned_locally(replica, postgres):
    alice = replica("alice", "Alice Wang", "sales", "admin")
    alice.sync()
    warned: list[str] = []
    with alice.session(write=True) as s:
        from crmcli.sync import state

        turns = SharedTurns(s, state.team_url(s), warned.append)
        try:
            assert turns.take("unsynced", ["alice"], 2) == ["alice", "alice"]
        finally:
            turns.close()
    assert "no round-robin rule unsynced" in warned[0]


def test_turns_taken_at_once_through_two_logins_are_never_given_twice(replica, member, postgres):
    """Many takes racing on the counter row (the imports above take one per batch): the
    row lock makes each see the one before it, so the members come round evenly."""
    from concurrent.futures import ThreadPoolExecutor

    from test_hostile_clients import as_member

    alice = replica("alice", "Alice Wang", "sales", "admin")
    for handle in SALES[1:]:
        member(handle, handle.title(), "sales", "member")
    alice.ok("rule", "add", "expo", "--to", "dept:sales")
    alice.sync()
    takes = 120

    def take(handle: str) -> list[str]:
        with as_member(postgres, handle) as conn:
            return [conn.execute("SELECT crm_route_take('expo', 1)").fetchone()[0][0]
                    for _ in range(takes)]

    with ThreadPoolExecutor(4) as pool:
        given = [turn for turns in pool.map(take, SALES) for turn in turns]
    assert {handle: given.count(handle) for handle in SALES} == dict.fromkeys(SALES, takes)
    assert postgres.value("SELECT taken FROM crm_route_turn") == 4 * takes

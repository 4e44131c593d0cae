"""`crm notify run` delivers each notification to its channels in the platform's
documented format, signed as documented; a refusal waits for its next try and is sent
once; two runs at the same time never send one notification twice."""

import base64
import hashlib
import hmac
import os
import re
import subprocess
import sys
from urllib.parse import quote_plus

import pytest

from chat_server import chat_server
from helpers import add_customer

NOW = "2026-03-02T09:00:00+00:00"
NOW_S = 1772442000  # NOW in seconds since the epoch


@pytest.fixture
def overdue(crm, team, utc, monkeypatch):
    """bob has an overdue task on 王芳 and ids on the three platforms; the clock is NOW."""
    monkeypatch.setenv("CRM_NOW", NOW)
    add_customer(crm, "王芳")
    result = crm("task", "add", "王芳", "回电话 call back", "--assignee", "bob",
                 "--due", "2026-03-01 10:00")
    assert result.exit_code == 0, result.output
    result = crm("notify", "id", "bob", "--wecom", "bob.li", "--feishu", "ou_bob",
                 "--dingtalk", "13800001111")
    assert result.exit_code == 0, result.output


def deliver(crm, *channel: str) -> list:
    """Add the channel (URL relative to a fresh server), run, return what arrived."""
    with chat_server() as server:
        args = [a.replace("URL", server.url) for a in channel]
        assert crm("notify", "add", *args).exit_code == 0
        result = crm("notify", "run")
        assert result.exit_code == 0, result.output
    return server.received


def test_a_wecom_robot_gets_a_markdown_message_that_mentions_the_assignee(crm, overdue):
    [got] = deliver(crm, "wecom", "--url", "URL/cgi-bin/webhook/send?key=K1")
    assert (got.path, got.query) == ("/cgi-bin/webhook/send", {"key": "K1"})
    assert got.headers["Content-Type"].startswith("application/json")
    assert list(got.json) == ["msgtype", "markdown"]
    assert got.json["msgtype"] == "markdown"
    content = got.json["markdown"]["content"]
    assert content.startswith("**Overdue: 回电话 call back**\n回电话 call back for 王芳 was due")
    assert content.endswith("\n<@bob.li>")


def test_a_feishu_bot_gets_a_text_message_signed_with_its_secret(crm, overdue):
    [got] = deliver(crm, "feishu", "--url", "URL/open-apis/bot/v2/hook/H", "--secret", "s3cr3t")
    payload = got.json
    assert list(payload) == ["timestamp", "sign", "msg_type", "content"]
    assert payload["timestamp"] == str(NOW_S)
    key = f"{NOW_S}\ns3cr3t".encode()
    assert payload["sign"] == base64.b64encode(
        hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert payload["msg_type"] == "text"
    assert payload["content"]["text"].startswith("Overdue: 回电话 call back\n")
    assert payload["content"]["text"].endswith(' <at user_id="ou_bob">bob</at>')


def test_a_dingtalk_robot_gets_a_markdown_message_at_a_signed_url(crm, overdue):
    [got] = deliver(crm, "dingtalk", "--url", "URL/robot/send?access_token=T0", "--secret",
                    "SECabc")
    timestamp = str(NOW_S * 1000)
    digest = hmac.new(b"SECabc", f"{timestamp}\nSECabc".encode(), hashlib.sha256).digest()
    sign = quote_plus(base64.b64encode(digest))
    assert got.raw_query == f"access_token=T0&timestamp={timestamp}&sign={sign}"
    payload = got.json
    assert payload["msgtype"] == "markdown"
    assert payload["markdown"]["title"] == "Overdue: 回电话 call back"
    assert payload["markdown"]["text"].startswith("### Overdue: 回电话 call back\n\n")
    assert payload["markdown"]["text"].endswith("\n\n@13800001111")
    assert payload["at"] == {"isAtAll": False, "atMobiles": ["13800001111"]}


def test_a_webhook_gets_the_notification_as_json_signed_over_its_body(crm, overdue):
    [got] = deliver(crm, "webhook", "--url", "URL/hooks/crm", "--secret", "whsec")
    expected = "sha256=" + hmac.new(b"whsec", got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Crm-Signature"] == expected
    payload = got.json
    assert set(payload) == {"id", "key", "kind", "recipient", "customer", "title", "body",
                            "due", "created_at", "read_at"}
    assert (payload["kind"], payload["recipient"], payload["due"]) == (
        "task.overdue", "bob", "2026-03-01T10:00:00Z")
    assert got.headers["X-Crm-Notification"] == payload["key"]


def test_a_customer_named_like_a_mention_mentions_nobody(crm, team, utc, monkeypatch):
    monkeypatch.setenv("CRM_NOW", NOW)
    add_customer(crm, "<@all> 王")
    crm("task", "add", "<@all> 王", "x", "--assignee", "bob", "--due", "2026-03-01")
    [got] = deliver(crm, "wecom", "--url", "URL/send?key=K")
    assert "<@all>" not in got.json["markdown"]["content"]
    assert "＜@all> 王" in got.json["markdown"]["content"]


def test_a_channel_for_a_department_or_a_user_gets_only_theirs(crm, overdue):
    crm("task", "add", "王芳", "alice's own", "--due", "2026-03-01")
    assert deliver(crm, "wecom", "--url", "URL/send?key=K", "--dept", "marketing") == []
    crm("task", "add", "王芳", "carol's", "--assignee", "carol", "--due", "2026-03-01 08:00")
    [got] = deliver(crm, "wecom", "--url", "URL/send?key=K", "--dept", "marketing")
    assert "carol's" in got.json["markdown"]["content"]
    crm("task", "add", "王芳", "bob's second", "--assignee", "bob", "--due", "2026-03-01 08:00")
    [got] = deliver(crm, "wecom", "--url", "URL/send?key=K", "--user", "bob")
    assert "bob's second" in got.json["markdown"]["content"]


@pytest.mark.parametrize("refusal, error", [
    ((200, '{"errcode":310000,"errmsg":"sign not match"}'), "errcode 310000: sign not match"),
    ((500, "upstream down"), "HTTP 500: upstream down"),
], ids=["an errcode with HTTP 200", "HTTP 500"])
def test_a_refused_delivery_is_tried_again_after_its_backoff_and_sent_once(
        crm, overdue, monkeypatch, refusal, error):
    with chat_server() as server:
        server.answers = [refusal]
        crm("notify", "add", "dingtalk", "--url", f"{server.url}/robot/send?access_token=T")
        result = crm("notify", "run")
        assert result.exit_code == 0, result.output
        assert "1 failed" in result.stderr
        status = crm("notify", "status", "--format", "json")
        [waiting] = __import__("json").loads(status.stdout)
        assert (waiting["state"], waiting["attempts"], waiting["last_error"]) == (
            "failed", 1, error)
        assert waiting["next_attempt_at"] == "2026-03-02T09:01:00Z"
        assert crm("notify", "run").exit_code == 0  # not due yet: nothing sent
        assert len(server.received) == 1
        monkeypatch.setenv("CRM_NOW", "2026-03-02T09:01:00+00:00")
        result = crm("notify", "run")
        assert "1 delivered" in result.stderr
        assert crm("notify", "run").exit_code == 0
        assert len(server.received) == 2
        assert server.received[0].json == server.received[1].json
    assert crm("notify", "status", "--format", "json").stdout.strip() == "[]"


def test_failures_wait_longer_each_time(crm, overdue):
    with chat_server() as server:
        server.answers = [(503, "busy")] * 2
        crm("notify", "add", "webhook", "--url", f"{server.url}/h")
        crm("notify", "run")
        env = {"CRM_NOW": "2026-03-02T09:01:00+00:00"}
        assert crm("notify", "run", env=env).exit_code == 0
        status = crm("notify", "status", "--format", "json", env=env)
    [waiting] = __import__("json").loads(status.stdout)
    assert (waiting["attempts"], waiting["next_attempt_at"]) == (2, "2026-03-02T09:03:00Z")


def test_an_unreachable_platform_is_no_error_of_the_run(crm, overdue):
    crm("notify", "add", "webhook", "--url", "http://127.0.0.1:9/nothing-listens")
    result = crm("notify", "run")
    assert result.exit_code == 0
    assert "1 failed" in result.stderr
    status = crm("notify", "status", "--format", "json")
    assert "ConnectError" in status.stdout


def test_two_runs_at_once_send_each_notification_exactly_once(
        crm, team, utc, monkeypatch, database, crm_home):
    monkeypatch.setenv("CRM_NOW", NOW)
    add_customer(crm, "Acme")
    from crmcli.repo import customers, tasks, users

    with database(write=True) as s:
        acme = customers.resolve(s, "Acme")
        me = users.acting(s, "alice")
        for number in range(100):
            tasks.add(s, acme, f"task {number}", by=me, assignee="bob", due="2026-03-01")
    with chat_server() as server:
        server.delay = 0.03
        crm("notify", "add", "webhook", "--url", f"{server.url}/h")
        env = {**os.environ, "CRM_NOW": NOW}
        command = [sys.executable, "-m", "crmcli", "notify", "run", "--batch", "5"]
        runs = [subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
        outputs = [run.communicate(timeout=120)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    keys = [got.headers["X-Crm-Notification"] for got in server.received]
    assert len(keys) == 100
    assert len(set(keys)) == 100
    delivered = [int(re.search(r"(\d+) delivered", output).group(1)) for output in outputs]
    assert sum(delivered) == 100


def test_status_says_when_a_limit_left_deliveries_out(crm, overdue):
    crm("task", "add", "王芳", "second", "--assignee", "bob", "--due", "2026-03-01")
    crm("notify", "add", "webhook", "--url", "http://127.0.0.1:9/nothing-listens")
    crm("notify", "run")
    result = crm("notify", "status", "--limit", "1", "--format", "ndjson")
    assert len(result.stdout.splitlines()) == 1
    assert "showing 1 of 2" in result.stderr
    assert "0 waiting, 2 failed (to be tried again), 0 sent" in result.stderr


def test_a_run_whose_lease_runs_short_sends_nothing_more_and_leaves_the_rest(
        crm, overdue, database):
    """No request begins once the lease is too short for it: another run could claim the
    delivery by then. What was claimed and not sent is released, untried."""
    from datetime import timedelta

    from crmcli import config
    from crmcli.db import Database
    from crmcli.notify import run

    with chat_server() as server:
        crm("notify", "add", "webhook", "--url", f"{server.url}/h")
        db = Database.open(config.resolve())
        try:
            report = run.run(db, lease=timedelta(seconds=run.TIMEOUT))
        finally:
            db.dispose()
        assert (report.sent, report.left) == (0, 1)
        assert server.received == []
        [waiting] = __import__("json").loads(crm("notify", "status", "-f", "json").stdout)
        assert (waiting["state"], waiting["attempts"]) == ("waiting", 0)
        result = crm("notify", "run")
        assert "1 delivered" in result.stderr
    assert len(server.received) == 1


def test_a_robot_gets_no_more_than_its_platform_takes_a_minute(crm, overdue, database,
                                                               monkeypatch):
    """企业微信 and 钉钉 robots take 20 messages a minute: the rest waits for a later run."""
    from crmcli.repo import customers, tasks, users

    with database(write=True) as s:
        wang = customers.resolve(s, "王芳")
        for number in range(24):
            tasks.add(s, wang, f"task {number}", by=users.acting(s, "alice"), assignee="bob",
                      due="2026-03-01")
    with chat_server() as server:
        crm("notify", "add", "wecom", "--url", f"{server.url}/send?key=K")
        crm("notify", "add", "webhook", "--url", f"{server.url}/hook")
        assert "45 delivered" in crm("notify", "run").stderr  # 20 + all 25 to the webhook
        assert "0 delivered" in crm("notify", "run").stderr
        monkeypatch.setenv("CRM_NOW", "2026-03-02T09:01:01+00:00")
        assert "5 delivered" in crm("notify", "run").stderr
    paths = [got.path for got in server.received]
    assert (paths.count("/send"), paths.count("/hook")) == (25, 25)


def test_a_channel_is_tested_with_one_message_that_says_what_the_platform_answered(
        crm, overdue):
    with chat_server() as server:
        crm("notify", "add", "feishu", "--url", f"{server.url}/hook", "--secret", "s")
        channel = crm("notify", "list", "-f", "json").stdout.split('"id": "')[1][:36]
        crm("notify", "id", "alice", "--feishu", "ou_alice")
        result = crm("notify", "test", channel[-8:])
        assert result.exit_code == 0, result.output
        assert "took the test message" in result.stderr
        server.answers = [(200, '{"code":19021,"msg":"sign match fail"}')]
        result = crm("notify", "test", channel[-8:])
    assert result.exit_code == 1
    assert result.stderr.strip().endswith("did not take the message: code 19021: sign match fail")
    assert server.received[0].json["content"]["text"].endswith('<at user_id="ou_alice">alice</at>')
    assert crm("notify", "status", "-f", "json").stdout.strip() == "[]"  # nothing recorded


def test_a_new_channel_gets_what_is_made_after_it_and_a_removed_one_drops_its_waiting(
        crm, overdue, monkeypatch):
    crm("notify", "inbox", "--as", "bob")  # bob's overdue task is collected: no channel yet
    monkeypatch.setenv("CRM_NOW", "2026-03-02T09:00:01+00:00")
    crm("notify", "add", "webhook", "--url", "http://127.0.0.1:9/nothing-listens")
    assert "0 delivered" in crm("notify", "run").stderr
    assert crm("notify", "status", "-f", "json").stdout.strip() == "[]"
    crm("task", "add", "王芳", "later", "--assignee", "bob", "--due", "2026-03-01")
    crm("notify", "run")
    [waiting] = __import__("json").loads(crm("notify", "status", "-f", "json").stdout)
    result = crm("notify", "remove", waiting["channel"][-8:])
    assert result.exit_code == 0 and "1 waiting deliveries dropped" in result.stderr
    assert crm("notify", "status", "-f", "json").stdout.strip() == "[]"


def test_channels_and_platform_ids_stay_out_of_the_audit_trail(crm, overdue, database):
    """They are this machine's configuration, with secrets: nothing a sync would push."""
    from sqlmodel import func, select

    from crmcli.models import AuditEvent

    def events() -> int:
        with database() as s:
            return s.exec(select(func.count()).select_from(AuditEvent)).one()

    before = events()
    crm("notify", "add", "dingtalk", "--url", "http://127.0.0.1:9/x", "--secret", "SEC")
    crm("notify", "id", "carol", "--dingtalk", "carol1")
    crm("notify", "run")
    assert events() == before


def test_the_wait_between_tries_doubles_up_to_six_hours_and_stays_there():
    from datetime import timedelta

    from crmcli.repo.deliveries import backoff

    assert [backoff(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert backoff(9) == timedelta(minutes=256)
    assert backoff(10) == backoff(1000) == timedelta(hours=6)


def test_a_run_reports_its_counts_as_json_for_scripts(crm, overdue):
    with chat_server() as server:
        crm("notify", "add", "webhook", "--url", f"{server.url}/h")
        result = crm("notify", "run", "--format", "json")
    assert result.exit_code == 0
    assert __import__("json").loads(result.stdout) == {
        "collected": 1, "routed": 1, "sent": 1, "failed": 0, "left": 0}

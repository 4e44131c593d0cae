"""A long customer import parsed ahead in a second process (repo/bulk_ahead.py) tells the
same errors, writes the same rows, reads standard input, and its parsing process dies
with it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import func, select

from crmcli.models import Assignment, Customer
from crmcli.repo import bulk, bulk_ahead

LONG = (bulk_ahead.AFTER + 1) * bulk.BATCH + 300  # rows: the last batches parsed apart


def long_csv(rows: int, bad: dict[int, str] | None = None, pad: int = 0) -> str:
    """`rows` customers (owners by handle, by name or none, a requirement `pad` long);
    `bad` replaces a row by its 1-based position with another."""
    owners = ["", "bob", "Bob Li", "alice"]
    lines = ["name,phone,owner,requirement"]
    for i in range(1, rows + 1):
        lines.append((bad or {}).get(i) or f"Person {i},138{i:08d},{owners[i % 4]},{'x' * pad}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def forks(monkeypatch) -> list[int]:
    """The processes forked by the import (in this test's process)."""
    forked: list[int] = []
    real = os.fork

    def fork() -> int:
        pid = real()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    return forked


def count(database, model) -> int:
    with database() as s:
        return s.exec(select(func.count()).select_from(model)).one()


@pytest.mark.parametrize("pad", [0, 100])  # forked after AFTER batches; a long file at once
def test_errors_in_the_part_parsed_apart_are_told_in_file_order_and_nothing_is_written(
    crm, team, database, tmp_path, forks, pad
):
    bad = {5: "Early,123,", LONG - 200: "Late,138000,", LONG - 100: "Nobody,13900000001,nobody"}
    path = tmp_path / "long.csv"
    path.write_text(long_csv(LONG, bad, pad), encoding="utf-8")
    assert (path.stat().st_size >= bulk_ahead.LONG_BYTES) == bool(pad)
    result = crm("import", "customers", path)
    assert result.exit_code == 4
    told = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert told == [
        "line 6: phone: '123' is not a valid phone number for region CN",
        f"line {LONG - 199}: phone: '138000' is not a valid phone number for region CN",
        f"line {LONG - 99}: owner: no user 'nobody'",
    ]
    assert "invalid 3" in result.stderr and "nothing imported" in result.stderr
    assert len(forks) == 1
    assert count(database, Customer) == 0

    result = crm("import", "customers", path, "--partial")
    assert result.exit_code == 4
    assert f"created {LONG - 3}" in result.stderr
    with database() as s:
        owners = dict(s.exec(select(Customer.name, Customer.owner)).all())
    assert owners[f"Person {LONG - 2}"] == "bob"  # "Bob Li", named in the part parsed apart
    assert owners[f"Person {LONG - 1}"] == "alice"
    assert count(database, Assignment) == LONG - 3


def test_a_short_import_forks_nothing(crm, team, database, tmp_path, forks):
    rows = bulk_ahead.AFTER * bulk.BATCH - 1
    path = tmp_path / "short.csv"
    path.write_text(long_csv(rows), encoding="utf-8")
    assert crm("import", "customers", path).exit_code == 0
    assert forks == []
    assert count(database, Customer) == rows


def test_standard_input_is_parsed_apart_too(crm_process, team, database):
    result = crm_process("import", "customers", "-", input=long_csv(LONG))
    assert result.returncode == 0, result.stderr
    assert f"created {LONG}" in result.stderr
    assert count(database, Customer) == LONG


def test_a_bad_byte_met_apart_stops_the_import_as_it_would_here(crm, team, database, tmp_path):
    text = long_csv(LONG).encode()
    at = len(text) - 50
    path = tmp_path / "broken.csv"
    path.write_bytes(text[:at] + b"\xff" + text[at:])
    result = crm("import", "customers", path)
    assert result.exit_code == 4
    assert f"broken.csv is not valid utf-8 at byte {at}" in result.stderr
    assert count(database, Customer) == 0


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_kill_9_of_the_import_leaves_no_parsing_process_and_nothing_written(
    crm_home, team, database, tmp_path
):
    path = tmp_path / "big.csv"
    path.write_text(long_csv(60_000), encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "crmcli", "import", "customers", str(path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (children := _children(process.pid)) and time.monotonic() < deadline:
        assert process.poll() is None, "the import ended before it forked"
        time.sleep(0.05)
    assert children, "no parsing process was started"
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while any(map(_alive, children)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(_alive, children))
    assert count(database, Customer) == 0
    with database(write=True) as s:  # the database is not left locked
        assert s.exec(select(func.count()).select_from(Customer)).one() == 0

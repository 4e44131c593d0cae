"""How fast `crm import customers` is, against sqlite-utils and a raw executemany.

    python bench/import.py [--rows 100000] [--memory 1000000]

Generates realistic rows (Chinese and Latin names, phones in mixed formats, about 2 %
repeated leads), then measures in one run, each as a fresh process on the same CSV file:

- our import into an empty database (validation, dedup, audit, owner assignment, search);
- our import into a database already holding 100,000 other customers;
- `sqlite-utils insert --csv` of the same file into an empty database (no validation,
  no dedup: the reference the targets are set against);
- a raw sqlite3 executemany of the parsed CSV rows in one transaction (the ceiling).

With --memory N it also imports N rows and prints the import's peak RSS. With --routed it
also imports into an empty database with routing rules (round-robin for 展会 leads, least-
open for 官网 ones, among five members of sales): the rows name no owner, so those two
sources' rows are routed.
Data goes to bench/.data/ (git-ignored).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).parent / ".data"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文斌婷雪琳慧晨阳宇浩然"
LATIN_FIRST = ["John", "Mary", "Wei", "Anna", "Peter", "Linda", "David", "Susan", "Tom", "Lucy"]
LATIN_LAST = ["Smith", "Brown", "Wang", "Garcia", "Miller", "Davis", "Chen", "Lopez", "Wilson"]
CITIES = ["上海", "北京", "深圳", "广州", "杭州", "成都", "Singapore", "Hong Kong"]
INDUSTRIES = ["制造", "零售", "教育", "医疗", "software", "logistics"]
SOURCES = ["展会", "官网", "转介绍", "广告", "website", "referral"]
STAGES = ["线索", "商机", "lead", "qualified", "方案", "谈判"]
HEADER = ["客户名称", "公司", "电话", "邮箱", "城市", "行业", "来源", "阶段", "等级", "标签",
          "响应时限", "需求"]


MOBILE_PREFIXES = [f"13{d}" for d in range(10)] + ["150", "151", "152", "153", "155", "156",
                                                    "157", "158", "159", "186", "188", "189"]


def phone(rng: random.Random, number: int) -> str:
    digits = f"{rng.choice(MOBILE_PREFIXES)}{number:08d}"
    style = number % 4
    if style == 1:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if style == 2:
        return f"+86 {digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if style == 3:
        return f"+86{digits}"
    return digits


def generate(path: Path, rows: int, seed: int, offset: int = 0) -> None:
    """`rows` customers; phones and e-mails are unique per `offset` block, ~2 % repeats."""
    rng = random.Random(seed)
    written: list[list[str]] = []
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for i in range(rows):
            if written and rng.random() < 0.02:
                writer.writerow(rng.choice(written))  # the same lead listed again
                continue
            n = offset + i
            if rng.random() < 0.6:
                name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2)))
            else:
                name = f"{rng.choice(LATIN_FIRST)} {rng.choice(LATIN_LAST)}"
            row = [
                name, f"{rng.choice(CITIES)}{rng.choice(INDUSTRIES)}公司{n % 9973}",
                phone(rng, n), f"user{n}@example.com" if rng.random() < 0.7 else "",
                rng.choice(CITIES), rng.choice(INDUSTRIES), rng.choice(SOURCES),
                rng.choice(STAGES), rng.choice("ABCD"), rng.choice(["vip", "展会,重点", ""]),
                rng.choice(["4h", "24小时", "2d", ""]), "需要报价，关注交期" if n % 3 else "",
            ]
            if len(written) < 5000:
                written.append(row)
            writer.writerow(row)


def run(command: list[str], env: dict[str, str]) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (MiB) and CPU seconds (user + system) of one process.

    On a shared machine the wall time of a CPU-bound process grows with the others' load
    while sqlite-utils' barely does (it waits on the disk: it commits every 100 rows), so
    the CPU seconds are printed beside the ratios."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    error = process.stderr.read().decode()
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{error}")
    return seconds, usage.ru_maxrss // 1024, usage.ru_utime + usage.ru_stime


def crm_env(home: Path, user: str = "bench") -> dict[str, str]:
    env = {**os.environ, "CRM_HOME": str(home), "CRM_USER": user}
    env.pop("CRM_DB", None)
    return env


def fresh_home(name: str) -> Path:
    home = DATA / name
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    crm = [sys.executable, "-m", "crmcli"]
    subprocess.run([*crm, "init", "--user", "bench", "--name", "Bench", "--dept", "sales"],
                   env=crm_env(home), check=True, capture_output=True)
    return home


def add_rules(home: Path) -> None:
    """Five members of sales and two routing rules (`--routed`)."""
    crm = [sys.executable, "-m", "crmcli"]
    for number in range(5):
        subprocess.run([*crm, "user", "add", f"rep{number}", "--name", f"Rep {number}",
                        "--dept", "sales"], env=crm_env(home), check=True, capture_output=True)
    for rule in (["expo", "--when", "来源=展会", "--to", "dept:sales"],
                 ["web", "--when", "来源=官网", "--to", "dept:sales", "--how", "least-open"]):
        subprocess.run([*crm, "rule", "add", *rule], env=crm_env(home), check=True,
                       capture_output=True)


def our_import(home: Path, csv_path: Path) -> tuple[float, int, float]:
    return run([sys.executable, "-m", "crmcli", "import", "customers", str(csv_path)],
               crm_env(home))


def raw_executemany(csv_path: Path, db: Path) -> float:
    db.unlink(missing_ok=True)
    started = time.perf_counter()
    with csv_path.open(newline="", encoding="utf-8") as source:
        reader = csv.reader(source)
        header = next(reader)
        connection = sqlite3.connect(db, isolation_level=None)
        columns = ", ".join(f'"{name}" TEXT' for name in header)
        connection.execute(f"CREATE TABLE customers ({columns})")
        connection.execute("BEGIN")
        marks = ", ".join("?" * len(header))
        connection.executemany(f"INSERT INTO customers VALUES ({marks})", reader)
        connection.execute("COMMIT")
        connection.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--memory", type=int, default=0, metavar="N",
                        help="also import N rows and print the peak RSS")
    parser.add_argument("--routed", action="store_true",
                        help="also import into an empty database with routing rules")
    args = parser.parse_args()
    DATA.mkdir(exist_ok=True)
    rows = args.rows
    sample = DATA / f"customers-{rows}.csv"
    generate(sample, rows, seed=1)
    print(f"{rows:,} rows, {sample.stat().st_size / 1e6:.1f} MB: {sample}")

    empty = fresh_home("empty")
    ours_empty, rss_empty, cpu_empty = our_import(empty, sample)

    full = fresh_home("full")
    prefill = DATA / "prefill-100000.csv"
    generate(prefill, 100_000, seed=2, offset=50_000_000)
    our_import(full, prefill)
    ours_full, _, cpu_full = our_import(full, sample)

    sqlite_utils_db = DATA / "sqlite-utils.db"
    sqlite_utils_db.unlink(missing_ok=True)
    sqlite_utils = shutil.which("sqlite-utils") or str(Path(sys.executable).parent / "sqlite-utils")
    reference, _, cpu_reference = run([sqlite_utils, "insert", str(sqlite_utils_db), "customers", str(sample),
                        "--csv"], os.environ.copy())
    ceiling = raw_executemany(sample, DATA / "raw.db")

    def line(label: str, seconds: float, cpu: float | None = None) -> str:
        used = f"  {cpu:6.2f} s CPU" if cpu is not None else ""
        return (f"  {label:<44} {seconds:7.2f} s  {rows / seconds:9,.0f} rows/s  "
                f"{reference / seconds:5.2f} x sqlite-utils{used}")

    print(line("crm import customers, empty database", ours_empty, cpu_empty))
    print(line("crm import customers, 100,000 customers in db", ours_full, cpu_full))
    print(line("sqlite-utils insert --csv (reference)", reference, cpu_reference))
    print(line("raw executemany, one transaction (ceiling)", ceiling))
    print(f"  targets: empty >= 1.00 x ({reference / ours_empty:.2f}), "
          f"100k >= 0.70 x ({reference / ours_full:.2f}); peak RSS {rss_empty} MiB")

    if args.routed:
        routed = fresh_home("routed")
        add_rules(routed)
        seconds, _, cpu = our_import(routed, sample)
        print(line("crm import customers, empty, routing rules", seconds, cpu))

    if args.memory:
        big = DATA / f"customers-{args.memory}.csv"
        generate(big, args.memory, seed=3)
        seconds, rss, _ = our_import(fresh_home("memory"), big)
        print(f"  {args.memory:,} rows: {seconds:.1f} s ({args.memory / seconds:,.0f} rows/s), "
              f"peak RSS {rss} MiB (target < 300)")


if __name__ == "__main__":
    main()

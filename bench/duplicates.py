"""How fast the duplicate scan is at 100,000 customers, and what it finds of planted ones.

    python bench/duplicates.py                  # 100,000 customers, 2,000 planted pairs
    python bench/duplicates.py --size 20000 --planted 400

Makes a database (bench/.data/, not committed) of customers with realistic names: Chinese
ones (surnames weighted as they are common, one or two given characters: 王伟 recurs by
itself, as it does), Latin ones, companies with their legal form, a unique phone for 90 %
and a unique e-mail for 60 %. Then it plants copies of some customers as another
department would have typed them: the name in traditional script, in pinyin ("Zhang
San", "zhangsan", "San Zhang"), with a typo (a Latin letter, a Chinese character); the company with another legal form or
city; the same phone or e-mail, or none of them. It times `duplicates.scan` (the scan
`crm report quality` and `crm dedupe` run) and prints the candidate pairs compared, the
pairs found, the recall on the planted pairs (found at the default minimum score) by
kind of copy, and how many found pairs were not planted (same-named strangers mostly);
then the time of the whole `crm report quality` (missing, stale, invalid values too).
The target: the scan under 30 s at 100,000 customers.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

DATA = Path(__file__).parent / ".data"
BATCH = 20_000
SURNAMES = {  # the commonest surnames, weighted roughly by how common they are
    "王": 72, "李": 72, "张": 69, "刘": 54, "陈": 45, "杨": 31, "黄": 22, "赵": 22, "吴": 20,
    "周": 19, "徐": 15, "孙": 15, "马": 14, "朱": 13, "胡": 13, "郭": 12, "何": 12, "高": 11,
    "林": 11, "罗": 10, "郑": 10, "梁": 9, "谢": 8, "宋": 7, "唐": 7, "许": 7, "韩": 6,
    "冯": 6, "邓": 6, "曹": 6, "彭": 5, "曾": 5, "肖": 5, "田": 5, "董": 5, "袁": 4, "潘": 4,
    "于": 4, "蒋": 4, "蔡": 4, "余": 4, "杜": 4, "叶": 4, "程": 4, "苏": 3, "魏": 3, "吕": 3,
    "丁": 3, "任": 3, "沈": 3, "姚": 3, "卢": 3, "姜": 3, "崔": 3, "钟": 3, "谭": 3, "陆": 3,
    "汪": 2, "范": 2, "金": 2, "石": 2, "廖": 2, "贾": 2, "夏": 2, "韦": 2, "傅": 2, "方": 2,
    "白": 2, "邹": 2, "孟": 2, "熊": 2, "秦": 2, "邱": 2, "江": 2, "尹": 2, "薛": 2, "闫": 2,
    "段": 2, "雷": 2, "侯": 2, "龙": 2, "史": 2, "陶": 2, "黎": 2, "贺": 2, "顾": 2, "毛": 2,
}
GIVEN = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文斌婷雪琳慧晨阳宇浩然欣怡子涵"
         "梓萱一诺佳琪雨泽思远俊博嘉鹏飞海燕红梅玉兰志刚永福德金宝春秋冬梦婉清晓东南北天成")
LATIN_FIRST = ("John", "Mary", "Anna", "Peter", "Linda", "David", "Susan", "Tom", "Lucy",
               "James", "Robert", "Maria", "Elena", "Paul", "Laura", "Mark", "Sarah", "Kevin",
               "Emma", "Oliver", "Sophie", "Lukas", "Chloé", "Mateo", "Yuki", "Arjun", "Fatima")
LATIN_LAST = ("Smith", "Brown", "Garcia", "Miller", "Davis", "Lopez", "Wilson", "Müller",
              "Rossi", "Dubois", "Silva", "Tanaka", "Kowalski", "Johnson", "Martin", "Nguyen",
              "Novak", "Jensen", "Costa", "Ivanova", "Schmidt", "Moreau", "Kumar", "Ali")
CITIES = ("上海", "北京", "深圳", "广州", "杭州", "成都", "苏州", "南京", "武汉", "西安")
TRADES = ("科技", "贸易", "制造", "电子", "物流", "教育", "医疗", "信息技术", "机械", "食品")
WORDS = ("华", "泰", "恒", "信", "达", "鑫", "瑞", "博", "创", "宏", "远", "通", "盛", "安",
         "丰", "德", "新", "力", "中", "天", "海", "金", "星", "源")
LATIN_FIRMS = ("Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay",
               "Soylent", "Cyberdyne", "Tyrell", "Wonka", "Aperture", "Massive", "Oscorp")
HAN_FORMS = ("有限公司", "股份有限公司", "有限责任公司", "集团有限公司")
LATIN_FORMS = (" Co., Ltd.", " Inc.", " LLC", " Ltd", " Corporation", " GmbH")
KINDS = ("traditional", "pinyin", "pinyin reversed", "latin typo", "company form",
         "same phone only", "same e-mail", "city prefix", "pinyin, nothing else",
         "character typo, phone")


def chinese_name(rng: random.Random) -> str:
    surname = rng.choices(list(SURNAMES), weights=list(SURNAMES.values()))[0]
    return surname + "".join(rng.choices(GIVEN, k=rng.choice((1, 2, 2, 2))))


def company(rng: random.Random, number: int) -> str:
    if number % 4 == 0:
        return f"{rng.choice(LATIN_FIRMS)} {rng.choice(('Trading', 'Systems', 'Labs', 'Foods'))} {number % 97}"
    base = "".join(rng.choices(WORDS, k=2)) + rng.choice(TRADES)
    return f"{rng.choice(CITIES)}{base}{rng.choice(HAN_FORMS)}"


def customer(rng: random.Random, number: int) -> dict:
    han = rng.random() < 0.75
    name = chinese_name(rng) if han else f"{rng.choice(LATIN_FIRST)} {rng.choice(LATIN_LAST)}"
    return {
        "name": name, "company": company(rng, rng.randrange(3000)),
        "phone": f"+861{rng.choice('3589')}{number:09d}" if rng.random() < 0.9 else None,
        "email": f"u{number}@{rng.choice(('qq.com', '163.com', 'example.com'))}"
        if rng.random() < 0.6 else None,
    }


@functools.cache
def _to_traditional():
    import opencc

    return opencc.OpenCC("s2t")


def traditional(text: str) -> str:
    return _to_traditional().convert(text)


def copy_of(rng: random.Random, original: dict, kind: str) -> dict:
    """A planted copy of `original` as another department would have typed it."""
    from crmcli.names import spelled

    copy = dict(original, phone=None, email=None)
    pinyin = spelled(original["name"])[0].split()
    if kind == "traditional":
        copy.update(name=traditional(original["name"]), phone=original["phone"])
    elif kind == "pinyin":
        copy.update(name=" ".join(p.capitalize() for p in pinyin[:1] + ["".join(pinyin[1:])]),
                    company=None, email=original["email"], phone=original["phone"])
    elif kind == "pinyin reversed":
        copy.update(name=f"{''.join(pinyin[1:]).capitalize()} {pinyin[0].capitalize()}")
    elif kind == "latin typo":
        name = original["name"]
        cut = rng.randrange(1, len(name) - 1)
        copy.update(name=name[:cut] + name[cut + 1:], email=original["email"],
                    phone=original["phone"])
    elif kind == "company form":
        firm = original["company"]
        for form in sorted(HAN_FORMS + LATIN_FORMS, key=len, reverse=True):
            firm = firm.removesuffix(form)
        copy.update(company=firm + rng.choice(LATIN_FORMS if firm.isascii() else HAN_FORMS))
    elif kind == "same phone only":
        copy.update(name=traditional(original["name"]), company=None,
                    phone=original["phone"])
    elif kind == "same e-mail":
        copy.update(company=None, email=original["email"])
    elif kind == "pinyin, nothing else":
        copy.update(name="".join(pinyin), company=None)
    elif kind == "character typo, phone":  # another given character: 张三丰 as 张五丰
        name = original["name"]
        copy.update(name=name[:-1] + rng.choice(GIVEN.replace(name[-1], "")),
                    phone=original["phone"])
    elif kind == "city prefix":  # 上海华泰科技有限公司 as 上海市华泰… or 华泰…
        copy.update(company=rng.choice((f"{original['company'][:2]}市", "")) + original["company"][2:])
    return copy


def plantable(original: dict, kind: str) -> bool:
    han = not original["name"].isascii()
    needs = {"traditional": han and original["phone"], "pinyin": han,
             "pinyin, nothing else": han, "character typo, phone": han and original["phone"],
             "pinyin reversed": han, "latin typo": not han and original["email"],
             "same phone only": han and original["phone"], "same e-mail": original["email"],
             "city prefix": not original["company"].isascii()}
    return bool(needs.get(kind, True))


def make(path: Path, size: int, planted: int, seed: int) -> list[tuple[int, int, str]]:
    """Write `size` customers (planted copies among them); return (original, copy, kind)
    by row number."""
    from sqlalchemy import insert

    from crmcli import clock, config
    from crmcli.db import Database, session_scope
    from crmcli.ids import new_id
    from crmcli.models import Customer
    from crmcli.repo import search, users
    from crmcli.repo.customers import derived

    rng = random.Random(seed)
    rows = [customer(rng, number) for number in range(size - planted)]
    plants = []
    while len(plants) < planted:
        original, kind = rng.randrange(len(rows) - len(plants)), KINDS[len(plants) % len(KINDS)]
        if plantable(rows[original], kind):
            plants.append((original, len(rows), kind))
            rows.append(copy_of(rng, rows[original], kind))
    database = Database.create(config.Settings(db_path=path, user="bench", region="CN"))
    with session_scope(database) as s:
        users.create_first_admin(s, "bench", name="Bench Mark", department="sales")
    now = clock.now()
    with session_scope(database) as s, search.deferred(s):
        for first in range(0, len(rows), BATCH):
            s.connection().execute(insert(Customer.__table__), [
                {**row, "id": new_id(), "stage": "lead", "owner": "bench", "department": "sales",
                 "tags": [], "extra": {}, **derived(row["name"], row["company"]),
                 "created_at": now, "updated_at": now, "version": 1, "created_by": "bench",
                 "updated_by": "bench"} for row in rows[first:first + BATCH]])
    database.dispose()
    return plants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--planted", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=12)
    options = parser.parse_args()
    os.environ["CRM_HOME"] = tempfile.mkdtemp(prefix="crm-bench-")
    DATA.mkdir(exist_ok=True)
    path = DATA / f"duplicates-{options.size}-{options.planted}-{options.seed}.db"
    for leftover in DATA.glob(f"{path.name}*"):
        leftover.unlink()
    started = time.perf_counter()
    plants = make(path, options.size, options.planted, options.seed)
    print(f"made {options.size:,} customers ({len(plants):,} planted copies) in "
          f"{time.perf_counter() - started:.1f} s", flush=True)

    from sqlmodel import select

    from crmcli import config, likeness, names
    from crmcli.db import Database, session_scope
    from crmcli.models import Customer
    from crmcli.repo import duplicates, users
    from crmcli.repo.reports import quality
    from crmcli.repo.reports.table import Options

    database = Database.open(config.Settings(db_path=path, user="bench", region="CN"))
    with session_scope(database, write=False) as s:
        ids = list(s.exec(select(Customer.id).order_by(Customer.pk)))
        started = time.perf_counter()
        scan = duplicates.scan(s)
        took = time.perf_counter() - started
        for cached in (likeness.name, likeness.firm, names.spelled, names.name_key):
            cached.cache_clear()  # as cold as the scan was
        started = time.perf_counter()
        quality.build(s, users.acting(s, "bench"), Options())
        whole = time.perf_counter() - started
    database.dispose()
    found = {frozenset((pair.first, pair.second)) for pair in scan.pairs}
    print(f"scan: {took:.1f} s for {scan.customers:,} customers; {scan.compared:,} candidate "
          f"pairs compared; {len(scan.pairs):,} pairs at score >= {duplicates.DEFAULT_MIN:g}")
    for what, members in scan.crowded:
        print(f"  not paired: {members:,} customers share {what}")
    print(f"crm report quality, every section (the scan included): {whole:.1f} s")
    report(plants, ids, found)


def report(plants: list[tuple[int, int, str]], ids: list[str], found: set[frozenset]) -> None:
    planted = {frozenset((ids[a], ids[b])): kind for a, b, kind in plants}
    caught = Counter(kind for pair, kind in planted.items() if pair in found)
    total = Counter(planted.values())
    print(f"recall on planted pairs: {sum(caught.values()) / len(planted):.1%} "
          f"({sum(caught.values()):,} of {len(planted):,})")
    for kind in KINDS:
        print(f"  {kind:22} {caught[kind] / total[kind]:6.1%}  ({caught[kind]} of {total[kind]})")
    print(f"found pairs not planted: {len(found - set(planted)):,}")


if __name__ == "__main__":
    sys.exit(main())

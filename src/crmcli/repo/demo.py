"""Demo data for a first look: a small team, customers with Chinese and Latin names, notes
with the customer's own words, tasks, hand-overs and a few changes made by colleagues.

Everything is written through the repository functions, so the demo has the same audit
trail, assignments and search index as data typed by hand.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from crmcli import clock
from crmcli.errors import NotFound
from crmcli.repo import assignments, customers, notes, tasks, users
from crmcli.repo.users import Actor

COLLEAGUES = (
    ("bob", "Bob Li", "service", "member"),
    ("carol", "Carol Zhang", "marketing", "manager"),
)

# name, company, phone, city, industry, source, stage, level, sla, requirement, tags, owner
CUSTOMERS = (
    ("王芳", "上海远航科技有限公司", "13800138000", "上海", "制造", "展会", "negotiation", "A",
     "4h", "订单系统要与现有 ERP 对接", "重点,ERP", None),
    ("李伟", "北京青禾教育", "13912345678", "北京", "教育", "官网", "proposal", "B", "24h",
     "三十个校区统一管理学员", "教育", None),
    ("张敏", "深圳星河电子", "13712345679", "深圳", "电子", "转介绍", "lead", "C", None,
     "询价：年度维保", "", None),
    ("陈静", "杭州云栖茶业", "15888886666", "杭州", "零售", "广告", "won", "A", "2h",
     "门店会员积分", "重点,零售", "bob"),
    ("刘洋", "成都蜀山物流", "18611112222", "成都", "物流", "展会", "qualified", "B", "1d",
     "车队调度看板", "物流", None),
    ("周杰", "苏州精密模具厂", "13566667777", "苏州", "制造", "官网", "churned", "D", None,
     "", "", "carol"),
    ("Emma Schmidt", "Nordwind Logistik GmbH", "+49 30 12345678", "Berlin", "logistics",
     "referral", "proposal", "B", "1d", "Track 40 trucks across the EU", "logistics", None),
    ("Olivia Brown", "Brightside Dental", "+44 20 7946 0958", "London", "healthcare",
     "website", "lead", "C", "24h", "Appointment reminders by SMS", "", "bob"),
    ("Lucas Martin", "Boulangerie Martin", "+33 1 23 45 67 89", "Paris", "retail", "ad",
     "won", "B", None, "Loyalty cards for 3 shops", "retail", None),
    ("Aiko Tanaka", "Sakura Trading", "+81 3-1234-5678", "Tokyo", "trade", "exhibition",
     "negotiation", "A", "4h", "Bilingual quotes (JP/EN)", "重点", None),
    ("João Silva", "Atlântico Pescados", "+351 21 123 4567", "Lisboa", "food", "referral",
     "lost", "C", None, "Cold-chain tracking", "", "carol"),
)
FIELD_NAMES = ("name", "company", "phone", "city", "industry", "source", "stage", "level",
               "sla", "requirement", "tags", "owner")

# customer, kind, body, quote, author (None: the person loading the demo)
NOTES = (
    ("王芳", "call", "确认下月上线；担心数据迁移周期",
     "如果三月底前迁移不完，我们只能推迟上线。", None),
    ("王芳", "visit", "现场演示订单同步，IT 负责人在场", None, "bob"),
    ("陈静", "complaint", "积分没有同步到小程序", "我昨天买的茶，积分到现在还没到账！", "bob"),
    ("Emma Schmidt", "email", "Sent the pilot proposal for 10 trucks",
     "We need German invoices, otherwise procurement will not sign.", None),
    ("Aiko Tanaka", "meeting", "Price review with their purchasing team",
     "If you can match last year's price we will sign for two more years.", None),
    ("李伟", "wechat", "发了校区管理方案，等待反馈", None, None),
)

# customer, title, assignee (None: the loader), due ("yesterday" is computed), priority
TASKS = (
    ("王芳", "回访确认迁移方案", None, "yesterday", "urgent"),
    ("Emma Schmidt", "Send the German invoice sample", None, "today", "high"),
    ("李伟", "准备校区报价单", None, "+3d", "normal"),
    ("Aiko Tanaka", "Draft the two-year renewal offer", None, "tomorrow", "high"),
    ("陈静", "补发积分并回电", "bob", "today", "urgent"),
    ("刘洋", "安排调度看板演示", None, None, "low"),
)


def _colleague(s: Session, handle: str, by: Actor) -> Actor:
    try:
        user = users.get(s, handle)
    except NotFound:
        spec = next(c for c in COLLEAGUES if c[0] == handle)
        user = users.add(s, spec[0], name=spec[1], department=spec[2], role=spec[3], by=by)
    return Actor(user.handle, user.role, user.department)


def load(s: Session, *, by: Actor) -> int:
    """Add the demo team and customers as `by` (an admin); returns how many customers."""
    team = {handle: _colleague(s, handle, by) for handle, *_ in COLLEAGUES}
    team[by.handle] = by
    made = {}
    for values in CUSTOMERS:
        raw = {key: value for key, value in zip(FIELD_NAMES, values, strict=True) if value}
        made[raw["name"]] = customers.create(s, raw, by=by)
    for name, kind, body, quote, author in NOTES:
        notes.add(s, made[name], body, by=team[author or by.handle], kind=kind, quote=quote)
    yesterday = (clock.local(clock.now()) - timedelta(days=1)).date().isoformat()
    for name, title, assignee, due, priority in TASKS:
        tasks.add(s, made[name], title, by=by, assignee=assignee or by.handle,
                  due=yesterday if due == "yesterday" else due, priority=priority)
    # Hand-overs: service for a complaint, and one waiting for the loader's acknowledgement
    # (carol may make it: she holds marketing for the customer she met at the fair).
    assignments.assign(s, made["陈静"], "bob", "service", by=by, reason="积分投诉")
    assignments.assign(s, made["刘洋"], "carol", "marketing", by=by, reason="met at the fair")
    assignments.assign(s, made["刘洋"], by.handle, "sales", by=team["carol"],
                       reason="Lead from the Chengdu logistics fair")
    # Colleagues at work on the loader's customers, where they hold a role (who may change
    # a customer): what "what changed" shows.
    assignments.assign(s, made["王芳"], "bob", "service", by=by, reason="上线支持")
    assignments.assign(s, made["Emma Schmidt"], "carol", "marketing", by=by, reason="EU campaign")
    customers.update(s, made["王芳"], {"sla": "2h", "tags": "重点,ERP,续约"}, by=team["bob"])
    customers.update(s, made["Emma Schmidt"], {"level": "A"}, by=team["carol"])
    return len(made)

"""How alike two customers are, by their name, company, phone and e-mail (the duplicate
scan, `repo/duplicates.py`).

Departments write the same customer differently: 张三 in one sheet, 張三 on a
traditional-script contract, "Zhang San" typed by someone abroad, 华为技术有限公司 here and
华为技术 there. A `Card` holds a customer's values in the forms that meet:

- the name folded as identity folds it (width, case, spaces, traditional script:
  `names.name_key`), brackets and a company's legal suffix dropped (`chars`), and as it
  sounds: its pinyin, or its Latin letters, run together (`sound`: 张三, 張三, "Zhang San"
  and "zhangsan" are all `zhangsan`), and, for a name of several Latin words, turned
  surname first as a Chinese name is read (`turned`: "San Zhang" meets 张三);
- the company without its legal form (有限公司, 股份, 集团, "Co., Ltd.", Inc, LLC...), its
  brackets (（深圳）) or a leading province or city (深圳市...): `firm`;
- the phone as stored (E.164) and the e-mail as stored (lower case), and the e-mail's
  mailbox (zhangsan@qq.com and zhangsan@163.com), unless it is a shared one (info@...).

`keys` says which blocks a card joins (the scan compares only cards sharing a block) and
`compare` scores a pair 0..100 with its reasons in words. The name weighs most; a shared
phone or e-mail adds much, more so under a like name (a phone shared under another name
is a family's or a switchboard's); a shared company adds in proportion to the names'
likeness (colleagues are not duplicates); values that differ where both are known take
some away.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from crmcli import names

# The weights of the score (see the module doc): name likeness N (0..100) counts 0.6 N;
# each piece of evidence adds FLAT + PER_NAME * N, or takes FLAT away.
NAME_WEIGHT = 0.6
SAME_CONTACT = (25.0, 0.15)   # the same phone, or the same e-mail
SAME_MAILBOX = (10.0, 0.1)    # the same mailbox at another domain
SAME_FIRM = (0.0, 0.25)       # the same company once its legal form is dropped
ALIKE_FIRM = (0.0, 0.15)      # companies ALIKE percent alike, or one ending the other
FIRM_PART = 4  # 上海华泰科技 ends in 华泰科技: a city before the firm's name
PHONE_DIFFERS = -12.0
EMAIL_DIFFERS = -5.0
FIRM_DIFFERS = -15.0
ALIKE = 90
SAID = 80  # names this alike (percent) are said to be alike in the reasons
# How alike names are that sound alike but are not written alike: 张伟 and 章伟 are
# different characters (more likely two people), "Zhang San" is how 张三 is typed in Latin.
HOMOPHONES = 75
SPELLED = 95
# How alike unrelated names are by chance: pinyin is few letters, so two random Chinese
# names' pinyin is 41% alike in the median and 59% at the 90th percentile; by characters
# a shared surname alone makes two-character names 50% alike (张三, 张伟), three-character
# ones 33%, and two shared characters 67% (张三丰, 张五丰). Fuzzy likeness counts only above
# chance, rescaled to 0..100.
CHANCE = 60
CHANCE_CHARS = 40
MIN_KEY = 2  # shorter keys say too little to block on
SHARED_MAILBOXES = frozenset({
    "info", "sales", "admin", "contact", "service", "support", "office", "hr", "mail",
    "hello", "team", "webmaster", "kefu", "noreply", "no-reply", "marketing", "postmaster",
})

_BRACKETS = re.compile(r"[(\[（【][^)\]）】]*[)\]）】]")
_WORDS = re.compile(r"[0-9a-z\u3400-\u9fff]+")
_HAN = re.compile(r"[\u3400-\u9fff]")
_HAN_LEGAL = ("股份有限公司", "有限责任公司", "有限公司", "责任公司", "分公司", "公司", "集团",
              "控股", "股份", "有限")
_LATIN_LEGAL = frozenset({
    "co", "ltd", "limited", "inc", "incorporated", "llc", "llp", "lp", "corp", "corporation",
    "company", "gmbh", "plc", "ag", "sa", "bv", "pte", "pty", "group", "holdings", "srl",
})
_PLACE = re.compile(r"^[\u3400-\u9fff]{2,3}?[省市]")


def folded(text: str | None) -> str:
    """Width, case and accents folded, traditional characters written as simplified ones."""
    return names.simplified(names.unaccented(unicodedata.normalize("NFKC", text or "").casefold()))


def _words(text: str) -> list[str]:
    """The words of a folded name or company: brackets, its legal form and a leading
    province or city (深圳市华为技术有限公司 → 华为技术) dropped."""
    words = _WORDS.findall(_BRACKETS.sub(" ", text))
    while words and (place := _PLACE.match(words[0])) and len(words[0]) - place.end() >= MIN_KEY:
        words[0] = words[0][place.end():]
    while words:
        last = words[-1]
        if last in _LATIN_LEGAL and len(words) > 1:
            words.pop()
            continue
        stripped = next((last[:-len(s)] for s in _HAN_LEGAL if last.endswith(s)), last)
        if stripped == last:
            break
        if stripped:
            words[-1] = stripped
        else:
            words.pop()
    return words


@lru_cache(maxsize=65_536)
def firm(company: str | None) -> str:
    """A company as compared: folded, its legal form, brackets and a leading province or
    city dropped (深圳市华为技术（深圳）有限公司 → 华为技术; "Huawei Co., Ltd." → huawei)."""
    return "".join(_words(folded(company)))


@dataclass(frozen=True)
class Name:
    """A name's forms: written (`chars`), sounded (`sound`), sounded with its last word
    first (`turned`: "San Zhang" as `zhangsan`; `sound` for a name of one word or in
    Chinese characters), its sounds apart (`spaced`) and whether it is written in Chinese
    characters."""

    chars: str
    sound: str
    turned: str
    spaced: str
    han: bool


@lru_cache(maxsize=65_536)
def name(text: str | None) -> Name:
    """The forms of a name (see the module doc). A name that is a company's (华为技术有限公司)
    loses its legal form as a company does."""
    words = _words(folded(text))
    chars = "".join(words)
    sounds = [piece for piece in re.split(r"[^0-9a-z]+", names.spelled(" ".join(words))[0])
              if piece]
    han = bool(_HAN.search(chars))
    turned = sounds if han or len(words) < 2 else sounds[-1:] + sounds[:-1]
    return Name(chars, "".join(sounds), "".join(turned), " ".join(sounds), han)


def mailbox(email: str | None) -> str:
    """The part of an e-mail before @, when it says whose it is (not info@ or sales@)."""
    local = (email or "").partition("@")[0]
    return local if len(local) >= 4 and local not in SHARED_MAILBOXES else ""


@dataclass(frozen=True)
class Card:
    """A customer's identifying values as stored and in the forms that are compared."""

    id: str
    name: str
    company: str | None
    phone: str | None
    email: str | None
    forms: Name
    firm: str
    mailbox: str


def card(id: str, name_: str, company: str | None, phone: str | None,
         email: str | None) -> Card:
    return Card(id, name_, company, phone or None, email or None, name(name_), firm(company),
                mailbox(email))


def keys(c: Card) -> list[str]:
    """The blocks a card joins: its name's sound (and turned), its phone, its
    e-mail and mailbox, and its company with the first letter of its name (a company
    alone would block thousands of colleagues together)."""
    found = []
    if len(c.forms.sound) >= MIN_KEY:
        found.append("s:" + c.forms.sound)
        if c.forms.turned != c.forms.sound:
            found.append("s:" + c.forms.turned)
    if c.phone:
        found.append("p:" + c.phone)
    if c.email:
        found.append("e:" + c.email)
    if c.mailbox:
        found.append("m:" + c.mailbox)
    if len(c.firm) >= MIN_KEY and c.forms.sound:
        found.append(f"f:{c.firm}:{c.forms.sound[0]}")
    return found


def name_likeness(a: Card, b: Card) -> tuple[float, str | None]:
    """How alike two names are (0..100) and the reason in words (None for unlike ones)."""
    x, y = a.forms, b.forms
    said = f"name {a.name} ~ {b.name}"
    if x.chars and x.chars == y.chars:
        return 100.0, "name same" if a.name == b.name else f"{said} ({_how_same(a.name, b.name)})"
    if x.sound and (x.sound in (y.sound, y.turned) or x.turned == y.sound):
        if x.han and y.han:
            return HOMOPHONES, f"{said} (same pinyin)"
        how = "pinyin" if x.han or y.han else ("order" if x.sound != y.sound else "spelling")
        return SPELLED, f"{said} ({how})"
    if x.han and y.han:  # by characters: 张三 and 张伟 share a surname, not a sound
        alike, chance = fuzz.ratio(x.chars, y.chars), CHANCE_CHARS
    else:  # by letters, in their order or any (a typo, a pinyin spelt otherwise)
        alike = max(fuzz.ratio(x.sound, y.sound),
                    fuzz.token_sort_ratio(x.spaced, y.spaced) * SPELLED / 100)
        chance = CHANCE
    likeness = max(0.0, alike - chance) / (100 - chance) * 100
    return likeness, f"{said} ({alike:.0f}% alike)" if alike >= SAID else None


def _how_same(first: str, second: str) -> str:
    def plain(text: str) -> str:
        return "".join(names.unaccented(unicodedata.normalize("NFKC", text).casefold()).split())

    if plain(first) == plain(second):
        return "case, width, accents or spaces"
    if names.simplified(plain(first)) == names.simplified(plain(second)):
        return "traditional"
    return "legal form, place or brackets"


def _firm_evidence(a: Card, b: Card, likeness: float) -> tuple[float, str | None]:
    if not (a.firm and b.firm):
        return 0.0, None
    if a.firm == b.firm:
        same = "company same" if a.company == b.company else f"company {a.company} ~ {b.company}"
        return SAME_FIRM[0] + SAME_FIRM[1] * likeness, same
    shorter, longer = sorted((a.firm, b.firm), key=len)
    alike = fuzz.ratio(a.firm, b.firm)
    if alike >= ALIKE or (len(shorter) >= FIRM_PART and longer.endswith(shorter)):
        how = f"{alike:.0f}% alike" if alike >= ALIKE else "place"
        return (ALIKE_FIRM[0] + ALIKE_FIRM[1] * likeness,
                f"company {a.company} ~ {b.company} ({how})")
    return FIRM_DIFFERS, "company differs"


def _contact_evidence(a: Card, b: Card, likeness: float) -> list[tuple[float, str]]:
    found = []
    if a.phone and b.phone:
        found.append((SAME_CONTACT[0] + SAME_CONTACT[1] * likeness, "phone same")
                     if a.phone == b.phone else (PHONE_DIFFERS, "phone differs"))
    if a.email and b.email:
        if a.email == b.email:
            found.append((SAME_CONTACT[0] + SAME_CONTACT[1] * likeness, "e-mail same"))
        elif a.mailbox and a.mailbox == b.mailbox:
            found.append((SAME_MAILBOX[0] + SAME_MAILBOX[1] * likeness,
                          f"e-mail {a.email} ~ {b.email}"))
        else:
            found.append((EMAIL_DIFFERS, "e-mail differs"))
    return found


def compare(a: Card, b: Card) -> tuple[float, tuple[str, ...]]:
    """The score of a pair (0..100, higher = more likely one customer) and its reasons,
    the strongest first."""
    likeness, said = name_likeness(a, b)
    evidence = [(NAME_WEIGHT * likeness, said or "name differs")]
    points, firm_said = _firm_evidence(a, b, likeness)
    if firm_said:
        evidence.append((points, firm_said))
    evidence += _contact_evidence(a, b, likeness)
    score = min(100.0, max(0.0, sum(points for points, _ in evidence)))
    evidence.sort(key=lambda item: -item[0])
    return round(score, 1), tuple(reason for _, reason in evidence)

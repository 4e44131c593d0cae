"""Each platform's request for one notification, as its documentation gives it, and how
to read its answer. Pure functions: no database, no network (`run.py` sends them; the
tests check what arrives against the documented formulas).

- 企业微信 group robot: `{"msgtype": "markdown", "markdown": {"content": …}}`, a user
  mentioned in the content as `<@userid>`; the answer is `{"errcode": 0, …}`.
- 飞书 custom bot: `{"msg_type": "text", "content": {"text": …}}`, a user mentioned as
  `<at user_id="open_id">name</at>`; with a secret, `timestamp` (seconds) and `sign` =
  base64(HMAC-SHA256(key = timestamp + "\\n" + secret, message = "")); the answer is
  `{"code": 0, …}` (older bots: `{"StatusCode": 0, …}`).
- 钉钉 robot: `{"msgtype": "markdown", "markdown": {"title", "text"}, "at": {…}}`, a user
  mentioned by `atUserIds` (or `atMobiles` for a mobile number) and `@id` in the text;
  with a secret, the URL gets `&timestamp=` (milliseconds) `&sign=` urlencode(base64(
  HMAC-SHA256(key = secret, message = timestamp + "\\n" + secret))); the answer is
  `{"errcode": 0, …}`.
- webhook: the notification's JSON (data-dictionary names), with a secret signed as
  `X-Crm-Signature: sha256=` hex(HMAC-SHA256(secret, body)); any 2xx answer is success.

Text sent to the chat platforms is user data: a `<` in it is made a full-width `＜`, so a
customer named `<@all>` or `<at user_id="all">` mentions nobody.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

TEXT_LIMIT = 1500  # characters of a body sent to a chat platform (their limits: 2-20 KB)
MOBILE = re.compile(r"^\+?\d{6,15}$")


@dataclass(frozen=True)
class Request:
    url: str
    headers: dict[str, str]
    body: bytes


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _plain(text: str) -> str:
    """User text with nothing a platform would read as a tag or a mention."""
    text = text.replace("<", "＜")
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT] + "…"


def feishu_sign(timestamp: str, secret: str) -> str:
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def dingtalk_sign(timestamp: str, secret: str) -> str:
    message = f"{timestamp}\n{secret}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


def webhook_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


JSON = {"Content-Type": "application/json; charset=utf-8"}


def wecom(url: str, title: str, body: str, mention: str | None) -> Request:
    content = f"**{_plain(title)}**\n{_plain(body)}"
    if mention:
        content += f"\n<@{mention}>"
    return Request(url, JSON, _json({"msgtype": "markdown", "markdown": {"content": content}}))


def feishu(url: str, title: str, body: str, mention: str | None, recipient: str,
           secret: str | None, now: datetime) -> Request:
    text = f"{_plain(title)}\n{_plain(body)}"
    if mention:
        text += f' <at user_id="{mention}">{recipient}</at>'
    payload: dict[str, Any] = {"msg_type": "text", "content": {"text": text}}
    if secret:
        timestamp = str(int(now.timestamp()))
        payload = {"timestamp": timestamp, "sign": feishu_sign(timestamp, secret), **payload}
    return Request(url, JSON, _json(payload))


def dingtalk(url: str, title: str, body: str, mention: str | None, secret: str | None,
             now: datetime) -> Request:
    text = f"### {_plain(title)}\n\n{_plain(body)}"
    at: dict[str, Any] = {"isAtAll": False}
    if mention:
        at["atMobiles" if MOBILE.match(mention) else "atUserIds"] = [mention]
        text += f"\n\n@{mention}"
    if secret:
        timestamp = str(int(now.timestamp() * 1000))
        url += f"{'&' if '?' in url else '?'}timestamp={timestamp}&sign={dingtalk_sign(timestamp, secret)}"
    payload = {"msgtype": "markdown", "markdown": {"title": _plain(title), "text": text}, "at": at}
    return Request(url, JSON, _json(payload))


def webhook(url: str, record: dict[str, Any], secret: str | None) -> Request:
    body = _json(record)
    headers = {**JSON, "X-Crm-Notification": str(record.get("key", ""))}
    if secret:
        headers["X-Crm-Signature"] = webhook_signature(secret, body)
    return Request(url, headers, body)


def request_for(kind: str, url: str, secret: str | None, record: dict[str, Any],
                mention_ids: dict[str, str], now: datetime) -> Request:
    """The request that delivers the notification `record` (its machine form) through a
    channel of `kind`; `mention_ids` are its recipient's ids on the platforms."""
    title, body, recipient = record["title"], record["body"], record["recipient"]
    mention = mention_ids.get(kind)
    if kind == "wecom":
        return wecom(url, title, body, mention)
    if kind == "feishu":
        return feishu(url, title, body, mention, recipient, secret, now)
    if kind == "dingtalk":
        return dingtalk(url, title, body, mention, secret, now)
    return webhook(url, record, secret)


def refusal(kind: str, status: int, text: str) -> str | None:
    """Why the platform did not take the message (None: it did). A platform answers
    HTTP 200 with an error code of its own when it refuses (a bad signature, a
    keyword missing, too many messages a minute): that is a failure too."""
    if not 200 <= status < 300:
        return f"HTTP {status}: {text[:200]}".rstrip(": ")
    if kind == "webhook":
        return None
    try:
        answer = json.loads(text) if text.strip() else {}
    except ValueError:
        return f"not the platform's answer (HTTP {status}): {text[:200]}"
    if not isinstance(answer, dict):
        return None
    for code_key, message_key in (("errcode", "errmsg"), ("code", "msg"),
                                  ("StatusCode", "StatusMessage")):
        code = answer.get(code_key)
        if code not in (None, 0, "0"):
            return f"{code_key} {code}: {answer.get(message_key, '')}".rstrip(": ")
    return None

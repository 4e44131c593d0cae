"""A local HTTP server standing in for the chat platforms' robots: it records every
request (path, query, headers, body) and answers what the test tells it to."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

OK = (200, '{"errcode":0,"errmsg":"ok"}')


@dataclass
class Received:
    path: str
    query: dict[str, str]
    raw_query: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class ChatServer:
    url: str
    received: list[Received] = field(default_factory=list)
    answers: list[tuple[int, str]] = field(default_factory=list)  # then OK for ever
    lock: threading.Lock = field(default_factory=threading.Lock)
    delay: float = 0.0  # seconds each answer takes (runs at the same time overlap)

    def answer(self) -> tuple[int, str]:
        with self.lock:
            return self.answers.pop(0) if self.answers else OK


@contextmanager
def chat_server() -> Iterator[ChatServer]:
    """A server on a free local port, for the length of the block."""
    server: ChatServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            parts = urlsplit(self.path)
            with server.lock:
                server.received.append(Received(
                    parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                    parts.query, dict(self.headers.items()), body))
            status, text = server.answer()
            time.sleep(server.delay)
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server = ChatServer(f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()

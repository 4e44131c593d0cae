"""`crm dedupe`: walk the likely duplicate customers best first and settle each pair (merge,
not the same, skip), or list them; `crm dedupe not-same …`: the "not the same" marks.

The walk reads its answers line by line from stdin, so it works at a terminal and in a
pipe (`printf 'n\\ns\\nq\\n' | crm dedupe`). Each pair is shown side by side on stdout;
questions and what each answer did go to stderr. Each answer is its own transaction.
"""

import sys
from typing import Annotated, Any, Optional

import typer

from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.options import CustomerRef, FormatOption, LimitOption
from crmcli.cli.output import (
    Column,
    Format,
    emit,
    fail,
    local_time,
    safe,
    say,
    short_id,
    stdout_console,
)
from crmcli.errors import CrmError, ExitCode

HELP = ("Walk the likely duplicate customers best first: merge, not the same, skip. "
        "Answers are read from stdin: m (merge; m1 / m2 keeps the first / second), "
        "n [REASON] (not the same: remembered and synced, never proposed again), "
        "s (skip), q (quit).")
app = typer.Typer(help=HELP, invoke_without_command=True)
not_same = typer.Typer(
    help='"Not the same" marks: pairs the walk no longer proposes. Add, list, withdraw.',
    no_args_is_help=True)
app.add_typer(not_same, name="not-same")

PAIR_COLUMNS = [
    Column("score", "Score", justify="right"),
    Column("first", "First", short_id),
    Column("first_name", "Name", max_width=24),
    Column("second", "Second", short_id),
    Column("second_name", "Name", max_width=24),
    Column("reasons", "Why", max_width=50),
]
MARK_COLUMNS = [
    Column("id", "ID", short_id),
    Column("first", "First", short_id),
    Column("first_name", "Name", max_width=24),
    Column("second", "Second", short_id),
    Column("second_name", "Name", max_width=24),
    Column("marked_by", "By"),
    Column("marked_at", "When", local_time),
    Column("reason", "Reason", max_width=40),
]
ANSWERS = {"m": "merge", "merge": "merge", "n": "not", "s": "skip", "skip": "skip",
           "q": "quit", "quit": "quit"}


@app.callback()
@data_command
def dedupe(
    ctx: typer.Context,
    list_: Annotated[bool, typer.Option(
        "--list", help="Print the pairs and ask nothing (also with an explicit --format).")
    ] = False,
    min_score: Annotated[Optional[float], typer.Option(
        "--min-score", min=0, max=100,
        help="Only pairs scoring at least this (0-100; default 50).")] = None,
    limit: LimitOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Walk the likely duplicates best first, or list them (--list)."""
    if ctx.invoked_subcommand is not None:
        return
    source = ctx.get_parameter_source("format")  # (Typer may bring a click of its own)
    if list_ or getattr(source, "name", None) == "COMMANDLINE":
        _list(min_score, limit, format)
    else:
        context.long_running()
        code = Walk().run(min_score, limit)
        if code:
            raise typer.Exit(code)


def _list(min_score: float | None, limit: int | None, format: Format) -> None:
    from crmcli.repo import dedupe as repo

    with context.session(write=False) as s:
        found = repo.candidates(s, min_score=min_score, limit=limit)
    rows = ({**repo.as_dict(one), "score": repo.shown_score(one.score)
             if format is Format.table else round(one.score, 1)} for one in found)
    if not emit(rows, format, PAIR_COLUMNS) and format is Format.table:
        say("no likely duplicates")


class Walk:
    """One walk through the pairs: what was done, and the last refusal's exit code."""

    def __init__(self) -> None:
        self.done = {"merged": 0, "not the same": 0, "skipped": 0}
        self.code = ExitCode.OK

    def run(self, min_score: float | None, limit: int | None) -> int:
        from crmcli.repo import dedupe as repo

        with context.session(write=False) as s:
            found = repo.candidates(s, min_score=min_score, limit=limit)
        if not found:
            say("no likely duplicates")
            return self.code
        say(f"{len(found)} likely duplicate pair{'s' if len(found) > 1 else ''}, best first")
        for number, candidate in enumerate(found, 1):
            if not self.pair(f"{number} of {len(found)}", candidate):
                break
        say(", ".join(f"{count} {what}" for what, count in self.done.items()))
        return self.code

    def pair(self, where: str, candidate: Any) -> bool:
        """Show one pair and act on the answers until one settles it; False: quit."""
        from crmcli.repo import customers
        from crmcli.repo import dedupe as repo

        with context.session(write=False) as s:
            try:
                first = customers.live(s, candidate.first.id)
                second = customers.live(s, candidate.second.id)
            except CrmError as gone:  # merged earlier in this walk, or elsewhere
                say(f"pair {where} skipped: {gone}")
                return True
            rows = repo.side_by_side(s, context.actor(s), first, second)
        stdout_console().print(_pair_table(where, candidate, first, second, rows))
        while True:
            line = ask("[m]erge, [n]ot the same, [s]kip, [q]uit? ")
            if line is None:
                return False
            word, _, rest = line.strip().partition(" ")
            word, rest = word.lower(), rest.strip()
            if word in ("m1", "m2"):
                word, rest = "m", word[1]
            choice = ANSWERS.get(word)
            if choice is None:
                say("answer m, n, s or q")
                continue
            if choice in ("quit", "skip"):
                self.done["skipped"] += choice == "skip"
                return choice == "skip"
            try:
                settled = (self.merge(first, second, rest) if choice == "merge"
                           else self.mark(first, second, rest))
            except CrmError as error:
                fail(str(error))
                self.code = error.exit_code
                continue
            if settled is None:
                return False
            if settled:
                return True

    def merge(self, first: Any, second: Any, which: str) -> bool | None:
        """Merge, keeping the one named (asked when not said); None: input ended."""
        from crmcli.cli.customer import say_merged
        from crmcli.repo import customer_merges, customers

        while which not in ("1", "2"):
            line = ask(f"keep [1] {customers.describe(first)} or [2] "
                       f"{customers.describe(second)}? ")
            if line is None:
                return None
            which = line.strip()
        keep_id, gone_id = ((first.id, second.id) if which == "1" else (second.id, first.id))
        with context.session() as s:
            keep, gone = customers.live(s, keep_id), customers.live(s, gone_id)
            result = customer_merges.merge(s, keep, gone, by=context.actor(s))
        say_merged(keep, gone, result)
        self.done["merged"] += 1
        return True

    def mark(self, first: Any, second: Any, reason: str) -> bool:
        from crmcli.repo import customers, distinct_pairs

        with context.session() as s:
            distinct_pairs.mark(s, customers.live(s, first.id), customers.live(s, second.id),
                                by=context.actor(s), reason=reason or None)
        say("marked not the same: ", customers.describe(first), " and ",
            customers.describe(second))
        self.done["not the same"] += 1
        return True


def ask(prompt: str) -> str | None:
    """One answer from stdin (the question on stderr); None when stdin has ended."""
    sys.stderr.write(prompt)
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not sys.stdin.isatty():  # a piped answer is not echoed: say it, for the transcript
        sys.stderr.write(line.rstrip("\n") + "\n")
    return line or None


def _pair_table(where: str, candidate: Any, first: Any, second: Any, rows: list) -> Any:
    """The two records side by side: field, first, second; ≠ marks values that differ."""
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from crmcli.repo import customers
    from crmcli.repo import dedupe as repo

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("")
    table.add_column("field")
    table.add_column(safe(f"1  {customers.describe(first)}"), overflow="fold")
    table.add_column(safe(f"2  {customers.describe(second)}"), overflow="fold")
    for row in rows:
        style = "bold yellow" if row.differs else ""
        table.add_row("≠" if row.differs else "", safe(row.field),
                      safe(row.first, style), safe(row.second, style))
    head = Text(f"Pair {where} · score {repo.shown_score(candidate.score)} · ", style="bold")
    head.append_text(safe("; ".join(candidate.pair.reasons)))
    return Group(Text(""), head, table)


# --- not-same ------------------------------------------------------------------------------


@not_same.command("add")
@data_command
def add(
    first: CustomerRef,
    second: Annotated[str, typer.Argument(
        metavar="OTHER", help="The other customer: a unique id prefix or the exact name.")],
    reason: Annotated[Optional[str], typer.Option(help="Why (kept with the mark).")] = None,
) -> None:
    """Mark two customers as not the same (exit 5 if they are already)."""
    from crmcli.repo import customers, distinct_pairs

    with context.session() as s:
        a, b = customers.resolve(s, first), customers.resolve(s, second)
        made = distinct_pairs.mark(s, a, b, by=context.actor(s), reason=reason)
    typer.echo(short_id(made.id))
    say("marked not the same: ", customers.describe(a), " and ", customers.describe(b))


@not_same.command("list")
@data_command
def list_marks(format: FormatOption = Format.table) -> None:
    """List the "not the same" marks, oldest first."""
    from crmcli.repo import distinct_pairs

    with context.session(write=False) as s:
        rows = [distinct_pairs.as_dict(item) for item in distinct_pairs.list_(s)]
    if not emit(rows, format, MARK_COLUMNS) and format is Format.table:
        say('no "not the same" marks')


@not_same.command("withdraw")
@data_command
def withdraw(
    mark_id: Annotated[str, typer.Argument(
        metavar="ID", help="The mark: a unique id prefix (`crm dedupe not-same list`).")],
) -> None:
    """Withdraw a mark you made (admins: any): the pair may be proposed again."""
    from crmcli.repo import distinct_pairs

    with context.session() as s:
        mark = distinct_pairs.resolve(s, mark_id)
        distinct_pairs.withdraw(s, mark, by=context.actor(s))
    say("withdrawn: ", distinct_pairs.describe(mark))

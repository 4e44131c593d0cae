"""What every data command needs: the settings, the database, a transaction, the actor.

The root callback and each data command's own `--db` / `--as` options fill one `State`,
so `crm --as bob task list` and `crm task list --as bob` mean the same thing. One process
runs one command, and the root callback starts it afresh on every invocation (tests invoke
the app many times in one process).
"""

import functools
import gc
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from crmcli.errors import UsageError


@dataclass
class State:
    db: str | None = None
    acting_as: str | None = None


_STATE = State()


def state() -> State:
    return _STATE


def start(db: str | None, acting_as: str | None) -> None:
    """Begin an invocation with the root command's global options."""
    _STATE.db = db
    _STATE.acting_as = acting_as


DB_HELP = "Database file (default: CRM_DB, the settings file, or the per-user data dir)."
AS_HELP = "Act as this user (default: CRM_USER, or the user `crm init` remembered)."
DbOption = Annotated[Optional[str], typer.Option("--db", help=DB_HELP, show_default=False)]
AsOption = Annotated[
    Optional[str], typer.Option("--as", help=AS_HELP, show_default=False, metavar="HANDLE")
]


def with_parameters(
    extra: list[inspect.Parameter],
    take: Callable[[dict[str, Any]], dict[str, Any]],
    provides: tuple[str, ...] = (),
) -> Callable[[Callable], Callable]:
    """Add keyword-only parameters (Typer options) to commands without writing them out.

    `take` receives the added parameters' values and returns keyword arguments for the
    command (named in `provides`, which Typer does not see). This keeps option sets that
    several commands share defined once.
    """
    names = {parameter.name for parameter in extra}

    def decorate(func: Callable) -> Callable:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            added = {name: kwargs.pop(name) for name in names if name in kwargs}
            return func(*args, **kwargs, **take(added))

        own = [p for p in signature.parameters.values() if p.name not in provides]
        parameters = [*own, *extra]
        wrapper.__signature__ = signature.replace(parameters=parameters)
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        return wrapper

    return decorate


def keyword(name: str, annotation: Any, default: Any = None) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def option(name: str, annotation: Any, default: Any, *flags: str, **settings: Any):
    """A keyword parameter that is a Typer option, for option sets shared by commands."""
    return keyword(name, Annotated[annotation, typer.Option(*flags, **settings)], default)


def _remember_global(values: dict[str, Any]) -> dict[str, Any]:
    current = state()
    if values.get("db"):
        current.db = values["db"]
    if values.get("acting_as"):
        current.acting_as = values["acting_as"]
    return {}


_with_globals = with_parameters(
    [keyword("db", DbOption), keyword("acting_as", AsOption)], _remember_global
)


def data_command(func: Callable) -> Callable:
    """Give a command its own --db and --as options (they are also accepted before it)."""
    return _with_globals(func)


def writable(path: Path) -> Path:
    """`path` if a file can be written there; a usage error naming it otherwise."""
    if not path.parent.is_dir():
        raise UsageError(f"cannot write {path}: no directory {path.parent}")
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory")
    return path


def long_running() -> None:
    """Collect garbage cycles again: this command may run for minutes (see `app.main`)."""
    gc.enable()


def settings():
    from crmcli import config

    current = state()
    return config.resolve(current.db, current.acting_as)


def open_database():
    from crmcli.db import Database

    return Database.open(settings())


@contextmanager
def session(*, write: bool = True) -> Iterator[Any]:
    """One transaction on the configured database, for the length of a command.

    The acting user is checked first, for reads too: a deactivated member loses access at
    once, not only the right to write; and only an admin acts as someone else (--as).
    """
    from crmcli.db import session_scope
    from crmcli.repo import users

    current = settings()
    database = open_database()
    try:
        with session_scope(database, write=write) as s:
            users.check_acting_as(s, current.user, current.remembered)
            s.info["actor"] = users.acting(s, current.user)
            yield s
    finally:
        database.dispose()


def actor(s: Any):
    """The acting user of this command's session (checked: exists, active)."""
    return s.info["actor"]


def clearance(s: Any):
    """What the acting user may read of the sensitive fields (`repo/sensitive.py`)."""
    from crmcli.repo import sensitive

    return sensitive.clearance(s, actor(s))



@contextmanager
def router(s: Any, *, shared: bool = True) -> Iterator[Any]:
    """The routing rules with this database's turns (the shared database's on a team
    replica: `sync.route_turns`); what routing had to say goes to stderr. `shared=False`
    (a dry run) takes no turn that outlives the command."""
    from crmcli.cli.output import say
    from crmcli.repo import routing
    from crmcli.sync import route_turns

    with route_turns.turns_for(s, say, shared=shared) as turns:
        found = routing.Router(s, turns)
        yield found
    for warning in found.warnings:
        say(warning)

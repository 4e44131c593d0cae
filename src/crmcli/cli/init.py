"""`crm init`: create the embedded database and its first user."""

from typing import Annotated, Optional

import typer

from crmcli.cli.context import DbOption, state
from crmcli.cli.output import say
from crmcli.errors import NotFound, UsageError


def init(
    user: Annotated[str, typer.Option("--user", metavar="HANDLE", help="Your handle.")],
    name: Annotated[Optional[str], typer.Option(help="Your full name.")] = None,
    dept: Annotated[Optional[str], typer.Option("--dept", help="Your department.")] = None,
    db: DbOption = None,
) -> None:
    """Create the database and its first user (an admin), and act as that user from now on.

    On a database that exists already, an existing user is simply remembered as the acting
    user for it.
    """
    from crmcli import config
    from crmcli.db import Database, session_scope
    from crmcli.repo import users

    if db:
        state().db = db
    settings = config.resolve(state().db, None)
    existed = settings.db_path.exists()
    database = Database.create(settings)
    try:
        with session_scope(database) as s:
            if users.any_exist(s):
                try:
                    member = users.get(s, user)
                except NotFound:
                    raise UsageError(
                        f"{settings.db_path} has users already and {user!r} is not one of "
                        f"them; an admin adds you with `crm user add {user} --name NAME`"
                    ) from None
                users.acting(s, member.handle)  # refuses a deactivated user: not remembered
                verb = "using existing database"
            else:
                if not name:
                    raise UsageError("--name is required to create the first user")
                member = users.create_first_admin(s, user, name=name, department=dept)
                verb = "opened existing file as new database" if existed else "created database"
    finally:
        database.dispose()
    config.remember_user(settings.db_path, member.handle)
    say(verb, " ", str(settings.db_path), "; acting as ", member.handle, " (", member.role, ")")

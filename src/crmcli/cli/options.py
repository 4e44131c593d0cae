"""Options several commands share, defined once so they are named the same everywhere."""

from typing import Annotated, Optional

import typer

from crmcli.cli.context import option, with_parameters
from crmcli.cli.output import Format

FormatOption = Annotated[
    Format,
    typer.Option(
        "--format", "-f", envvar="CRM_FORMAT", case_sensitive=False,
        help="Output: table for people; json, ndjson or csv for scripts (CRM_FORMAT).",
    ),
]
LimitOption = Annotated[
    Optional[int], typer.Option("--limit", "-n", min=1, help="Show at most this many.")
]
CustomerRef = Annotated[
    str, typer.Argument(metavar="REF", help="Customer: a unique id prefix or the exact name.")
]
TaskRef = Annotated[str, typer.Argument(metavar="ID", help="Task: a unique id prefix.")]
NoteRef = Annotated[str, typer.Argument(
    metavar="ID", help="Note: a unique id prefix (`crm note list REF` shows them).")]


def _customer_filters(*, searching: bool = True, default_limit: int | None = None) -> list:
    """Repeat an option for several values: any of them; `--tag`: all of them."""
    many = Optional[list[str]]
    filters = [
        option("owner", many, None, "--owner", help="Owner's handle (repeat: any of them)."),
        option("department", many, None, "--department",
               help="Owning department (repeat: any of them)."),
        option("stage", many, None, "--stage",
               help="Stage, Chinese aliases accepted (repeat: any of them)."),
        option("level", many, None, "--level", help="Level A-D (repeat: any of them)."),
        option("tag", many, None, "--tag", help="Has this tag (repeat: has all of them)."),
        option("city", many, None, "--city", help="City (repeat: any of them)."),
    ]
    if searching:
        filters.append(option(
            "search", Optional[str], None, "--search",
            help="Substring of name, company, phone, e-mail, requirement or notes."))
    return [
        *filters,
        option("sort", Optional[str], None, "--sort",
               help="Sort by a field; a leading - sorts descending (e.g. -updated_at)."),
        option("limit", Optional[int], default_limit, "--limit", "-n", min=1,
               help="At most this many customers (stderr says how many were left out)."),
    ]


# The filters of `crm customer list`, for every command that selects customers: the command
# receives them as `filters`, the keyword arguments of repo.customer_lists.CustomerQuery.
customer_filters = with_parameters(_customer_filters(), lambda values: {"filters": values},
                                   ("filters",))
# The same for `crm customer find TEXT`, whose TEXT is the search: at most 50 unless --limit.
found_filters = with_parameters(
    _customer_filters(searching=False, default_limit=50), lambda values: {"filters": values},
    ("filters",))

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


def _customer_filters() -> list:
    return [
        option("owner", Optional[str], None, "--owner", help="Owner's handle."),
        option("department", Optional[str], None, "--department", help="Owning department."),
        option("stage", Optional[str], None, "--stage", help="Stage (Chinese aliases accepted)."),
        option("level", Optional[str], None, "--level", help="Level A-D."),
        option("tag", Optional[str], None, "--tag", help="Has this tag."),
        option("city", Optional[str], None, "--city", help="City."),
        option("search", Optional[str], None, "--search",
               help="Substring of name, company, phone, e-mail, requirement or notes."),
        option("sort", Optional[str], None, "--sort",
               help="Sort by a field; a leading - sorts descending (e.g. -updated_at)."),
        option("limit", Optional[int], None, "--limit", "-n", min=1,
               help="At most this many customers."),
    ]


# The filters of `crm customer list`, for every command that selects customers: the command
# receives them as `filters`, the keyword arguments of repo.customer_lists.CustomerQuery.
customer_filters = with_parameters(_customer_filters(), lambda values: {"filters": values},
                                   ("filters",))

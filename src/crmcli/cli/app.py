"""The root `crm` app: global options, the nouns, and the one place errors become exit codes."""

import gc
import os
import sys
from typing import Annotated, NoReturn, Optional

import typer
from typer.core import TyperGroup

from crmcli import __version__
from crmcli.cli import (
    approval,
    attachment,
    audit,
    conflicts,
    customer,
    dedupe,
    exporting,
    field,
    handoff,
    history,
    importing,
    init,
    note,
    notify,
    remote,
    report,
    responsibility,
    rule,
    server,
    setting,
    sla,
    sync,
    task,
    tui,
    user,
)
from crmcli.cli.context import AS_HELP, DB_HELP, start
from crmcli.errors import Ambiguous, CrmError, ExitCode, Invalid

EXIT_CODES = """Exit codes: 0 ok, 1 internal error (or the shared database unreachable),
2 usage (wrong options, no database yet), 3 not found or ambiguous reference, 4 invalid
data, 5 conflict, 6 permission denied."""


class CrmGroup(TyperGroup):
    """Turns errors a user can cause into one line on stderr and a documented exit code.

    A reader that stops early (`crm … | head`) is not an error: the command ends quietly
    with 0, so `set -o pipefail` scripts keep working.
    """

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except CrmError as error:
            self.refuse(error)
        except UnicodeEncodeError as error:
            # an argument that is not UTF-8 (a reference, a search) met the database;
            # values to store are refused earlier, naming their field (fields.py)
            if error.reason != "surrogates not allowed":
                raise
            self.refuse(Invalid("holds bytes that are not UTF-8 text", "an argument"))
        except BrokenPipeError:
            # stdout is gone: point it at /dev/null so the flush at exit cannot fail again
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(ExitCode.OK) from None

    @staticmethod
    def refuse(error: CrmError) -> NoReturn:
        from crmcli.cli.output import fail

        fail(str(error), error.candidates if isinstance(error, Ambiguous) else ())
        raise typer.Exit(error.exit_code) from None


def _describe(error: Exception) -> str:
    """Database and file-system failures read as what went wrong, not as a class name."""
    original = getattr(error, "orig", None)
    if original is not None:
        return f"database error: {original}"
    if isinstance(error, OSError):
        return f"{error.strerror or error}: {error.filename or ''}".rstrip(": ")
    return f"internal error: {type(error).__name__}: {error}"


app = typer.Typer(
    cls=CrmGroup,
    name="crm",
    help="A terminal-first team CRM: one shared customer record across departments.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"crm {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    db: Annotated[Optional[str], typer.Option("--db", help=DB_HELP, show_default=False)] = None,
    acting_as: Annotated[
        Optional[str], typer.Option("--as", help=AS_HELP, show_default=False, metavar="HANDLE")
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    start(db, acting_as)


app.command("init")(init.init)
app.command("assign")(responsibility.assign)
app.command("ack")(responsibility.ack)
app.command("handoff")(handoff.handoff)
app.command("history")(history.history)
app.command("tui")(tui.tui)
app.add_typer(customer.app, name="customer")
app.add_typer(dedupe.app, name="dedupe")
app.add_typer(note.app, name="note")
app.add_typer(attachment.app, name="attachment")
app.add_typer(task.app, name="task")
app.add_typer(approval.app, name="approval")
app.add_typer(user.app, name="user")
app.add_typer(field.app, name="field")
app.add_typer(setting.app, name="setting")
app.add_typer(rule.app, name="rule")
app.add_typer(importing.app, name="import")
app.add_typer(exporting.app, name="export")
app.command("sync")(sync.sync)
app.add_typer(remote.app, name="remote")
app.add_typer(server.app, name="server")
app.add_typer(conflicts.app, name="conflicts")
app.add_typer(audit.app, name="audit")
app.add_typer(notify.app, name="notify")
app.add_typer(sla.app, name="sla")
app.add_typer(report.app, name="report")
app.command("remind")(notify.remind)


def main() -> None:
    """The `crm` entry point: what escapes a command ends in one line, not a traceback.

    Anything that escapes a command is an internal error (exit 1) whose traceback
    CRM_DEBUG=1 shows (Typer itself ends an interrupt with 130, CrmGroup a closed pipe).

    Python's cyclic garbage collector is off for the run: a command is over in a fraction
    of a second, its imports create hundreds of thousands of objects and no garbage
    cycles, and the collector walking them costs a tenth of the start-up
    (bench/startup.py). Commands that can run long turn it back on (`context.long_running`).
    """
    from crmcli.cli.output import fail

    gc.disable()
    try:
        app()
    except Exception as error:  # noqa: BLE001 - the edge: no traceback for users
        if os.environ.get("CRM_DEBUG"):
            raise
        fail(f"{_describe(error)} (set CRM_DEBUG=1 to see the traceback)")
        sys.exit(ExitCode.INTERNAL)

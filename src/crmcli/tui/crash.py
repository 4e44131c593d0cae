"""What the dashboard leaves behind when something unexpected ends it: a report file.

Textual's own handler prints a traceback with every frame's local variables, which in
this app hold customers' names, phone numbers and sensitive values just read or
revealed. The app's handler (`CrmApp._handle_exception`) writes this report instead: the
exception's traceback without locals (file, line, code), the versions and the screens that
were open, into `crash-reports/` under the user's state directory (`CRM_HOME` when set),
and the message on the terminal says where it is.
"""

from __future__ import annotations

import os
import platform
import sys
import traceback
from datetime import datetime
from pathlib import Path

from crmcli import config

FOLDER = "crash-reports"


def write_report(error: BaseException, screens: list[str]) -> Path:
    """Write the report of `error` (its cause's too) and return its path."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    folder = config.state_dir() / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    moment = datetime.now().astimezone()
    path = folder / f"crm-tui-{moment:%Y%m%d-%H%M%S}-{os.getpid()}.txt"
    lines = [
        f"crm tui stopped on an unexpected error at {moment.isoformat(timespec='seconds')}",
        f"crmcli {installed('crmcli')}, textual {installed('textual')}, "
        f"python {platform.python_version()} on {sys.platform}",
        f"screens open: {' > '.join(screens) or 'none'}",
        "",
        *traceback.format_exception(error),  # frames and code lines, no local variables
    ]
    path.write_text("\n".join(line.rstrip("\n") for line in lines) + "\n", encoding="utf-8")
    return path

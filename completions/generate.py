"""Write crm.bash, crm.zsh and crm.fish from the CLI itself (Typer's --show-completion).

Run `python completions/generate.py` after changing the command line; `--check` exits 1 if
the checked-in files are stale (the test suite runs it).
"""

import os
import sys
from pathlib import Path

from typer.testing import CliRunner

from crmcli.cli.app import app

HERE = Path(__file__).resolve().parent
SHELLS = ("bash", "zsh", "fish")


def script(shell: str) -> str:
    # Without this variable Typer ignores the requested shell and detects the current one;
    # it is read when the command is built, so it must be in os.environ, not the runner's env.
    os.environ["_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION"] = "1"
    result = CliRunner().invoke(app, ["--show-completion", shell], prog_name="crm")
    if result.exit_code != 0:
        raise SystemExit(f"could not generate the {shell} completion: {result.output}")
    return result.stdout


def main() -> int:
    check = "--check" in sys.argv[1:]
    stale = []
    for shell in SHELLS:
        path = HERE / f"crm.{shell}"
        wanted = script(shell)
        if not path.exists() or path.read_text() != wanted:
            stale.append(path.name)
            if not check:
                path.write_text(wanted)
    if check and stale:
        print(f"stale: {', '.join(stale)}; run python completions/generate.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    os.chdir(HERE)
    sys.exit(main())

"""Start-up cost of the `crm` command line, against the libraries' own floors.

A CLI is paid for on every line of a shell loop. This prints, measured in one run on a
database of 10,000 customers, the median wall time of:

  python -c pass                         the interpreter
  two-command Typer app --help           Typer's own floor for help
  python -c "import typer, sqlmodel"     the imports a data command cannot avoid
  crm --help
  crm customer list --limit 10 --format json

Targets: crm --help within 1.3x the Typer app's --help; crm customer list within 1.3x the
typer+sqlmodel import. Usage: python bench/startup.py [--runs N]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CUSTOMERS = 10_000

TWO_COMMAND_APP = '''
import typer
app = typer.Typer()

@app.command()
def hello(name: str):
    """Say hello."""

@app.command()
def bye(name: str):
    """Say bye."""

app()
'''


def seed(home: Path) -> None:
    """A database of CUSTOMERS customers, written in bulk (this is not what is measured)."""
    env = {**os.environ, "CRM_HOME": str(home)}
    subprocess.run([sys.executable, "-m", "crmcli", "init", "--user", "bench", "--name", "Bench"],
                   env=env, check=True, capture_output=True)
    os.environ["CRM_HOME"] = str(home)
    from sqlalchemy import insert

    from crmcli import clock, config
    from crmcli.db import Database, session_scope
    from crmcli.ids import new_id
    from crmcli.models import Customer
    from crmcli.repo import search
    from crmcli.repo.customers import dedupe_key

    now = clock.now()
    rows = [
        {"id": new_id(), "name": f"客户{i:05d}" if i % 2 else f"Customer {i:05d}",
         "company": f"Company {i % 700}", "phone": f"+861380013{i:04d}", "stage": "lead",
         "owner": "bench", "tags": [], "extra": {}, "created_at": now, "updated_at": now,
         "version": 1, "dedupe_key": dedupe_key(f"c{i}", None)}
        for i in range(CUSTOMERS)
    ]
    database = Database.open(config.resolve())
    with session_scope(database) as s, search.deferred(s):
        s.execute(insert(Customer), rows)
    database.dispose()


def medians(commands: dict[str, list[str]], runs: int, env: dict) -> dict[str, float]:
    """Median wall time of each command; the commands take turns, round after round, so a
    change in the machine's load touches all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_number in range(runs + 1):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, env=env, capture_output=True, check=True)
            if round_number:  # round 0 warms the file cache
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def byte_compile() -> None:
    """Compile crmcli's modules as `pip install` does; an editable checkout run with
    PYTHONDONTWRITEBYTECODE would otherwise recompile every module on every run."""
    import compileall

    import crmcli

    compileall.compile_dir(Path(crmcli.__file__).parent, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    runs = parser.parse_args().runs
    byte_compile()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        seed(home)
        app_file = home / "two_commands.py"
        app_file.write_text(TWO_COMMAND_APP)
        env = {**os.environ, "CRM_HOME": str(home), "COLUMNS": "100"}
        crm = [sys.executable, "-m", "crmcli"]
        measured = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "two-command Typer app --help": [sys.executable, str(app_file), "--help"],
            'python -c "import typer, sqlmodel"': [sys.executable, "-c", "import typer, sqlmodel"],
            "crm --help": [*crm, "--help"],
            "crm customer list --limit 10 --format json":
                [*crm, "customer", "list", "--limit", "10", "--format", "json"],
        }
        results = medians(measured, runs, env)
    print(f"median of {runs} runs, database of {CUSTOMERS:,} customers")
    for name, seconds in results.items():
        print(f"  {name:<45} {seconds * 1000:7.1f} ms")
    help_ratio = results["crm --help"] / results["two-command Typer app --help"]
    list_ratio = (results["crm customer list --limit 10 --format json"]
                  / results['python -c "import typer, sqlmodel"'])
    print(f"crm --help / Typer app --help          = {help_ratio:.2f}  (target <= 1.30)")
    print(f"crm customer list / import typer,sqlmodel = {list_ratio:.2f}  (target <= 1.30)")


if __name__ == "__main__":
    main()

"""Shell completions: checked in, generated from the CLI, and they complete."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_checked_in_completions_are_not_stale():
    result = subprocess.run(
        [sys.executable, str(ROOT / "completions" / "generate.py"), "--check"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr


def test_the_bash_completion_completes_commands_and_options(tmp_path):
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "crm").exists(), "the crm entry point is installed next to python"
    script = f"""
source {ROOT / "completions" / "crm.bash"}
COMP_WORDS=(crm cust); COMP_CWORD=1; _crm_completion crm; echo "${{COMPREPLY[@]}}"
COMP_WORDS=(crm customer list --st); COMP_CWORD=3; _crm_completion crm; echo "${{COMPREPLY[@]}}"
"""
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env)
    assert result.stdout.splitlines() == ["customer", "--stage"], result.stderr

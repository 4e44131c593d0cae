"""The architecture, checked: data layers without front ends, queries only in the repository."""

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "crmcli"


def test_the_import_contracts_in_pyproject_hold():
    lint_imports = shutil.which("lint-imports")
    assert lint_imports, "import-linter is a test dependency"
    result = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_queries_are_built_only_in_the_repository_and_sync_layers():
    builders = re.compile(r"\bselect\(|exec_driver_sql\(|\.execute\(")
    outside = [
        str(path.relative_to(SOURCE))
        for path in SOURCE.rglob("*.py")
        if path.relative_to(SOURCE).parts[0] not in ("repo", "sync")
        and path.name not in ("db.py", "migrations.py")
        and builders.search(path.read_text())
    ]
    assert outside == []

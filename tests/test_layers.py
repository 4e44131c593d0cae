"""The architecture, checked: data layers without front ends, queries only in the repository."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "crmcli"


def test_the_import_contracts_in_pyproject_hold():
    beside_python = Path(sys.executable).parent / "lint-imports"  # the venv's, activated or not
    lint_imports = str(beside_python) if beside_python.exists() else shutil.which("lint-imports")
    assert lint_imports, "import-linter is a test dependency"
    result = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def query_building_imports(path: Path) -> list[str]:
    """What a module imports from SQLAlchemy/SQLModel, except the `Session` type that front
    ends name in annotations when they hand a session to the repository."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in LIBRARIES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in LIBRARIES:
            found += [f"{node.module}.{a.name}" for a in node.names
                      if (node.module, a.name) != ("sqlmodel", "Session")]
    return found


LIBRARIES = ("sqlalchemy", "sqlmodel")


def test_queries_are_built_only_in_the_repository_and_sync_layers():
    """Only repo/, sync/ and the modules that define the schema (models, the migrations and
    their companion files migrations_*.py, the indexes a first sync defers, db) import the
    query builders."""
    outside = {
        str(path.relative_to(SOURCE)): imported
        for path in SOURCE.rglob("*.py")
        if path.relative_to(SOURCE).parts[0] not in ("repo", "sync")
        and path.name not in ("models.py", "migrations.py", "indexes.py", "db.py")
        and not path.name.startswith("migrations_")
        and (imported := query_building_imports(path))
    }
    assert outside == {}

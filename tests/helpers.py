"""Small helpers tests share (fixtures live in conftest.py)."""


def add_customer(crm, name: str, *options: str) -> str:
    """Add a customer through the CLI and return its short id."""
    result = crm("customer", "add", name, *options)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()

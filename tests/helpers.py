"""Small helpers tests share (fixtures live in conftest.py)."""


def add_customer(crm, name: str, *options: str) -> str:
    """Add a customer through the CLI and return its short id."""
    result = crm("customer", "add", name, *options)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def customers_by_name(database) -> dict:
    """The live customers in the test's database, by name."""
    from sqlmodel import select

    from crmcli.models import Customer

    with database() as s:
        return {c.name: c for c in s.exec(select(Customer).where(Customer.deleted_at.is_(None)))}

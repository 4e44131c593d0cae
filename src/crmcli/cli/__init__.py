"""The `crm` command line: Typer apps, one module per noun, over the repository layer.

Modules here import only Typer and light crmcli modules at the top; the repository,
SQLModel and anything heavy are imported inside the commands that use them, because every
`crm` run pays for its imports (see bench/startup.py).
"""

"""`python -m crmcli` runs the same command line as `crm`."""

from crmcli.cli.app import main

main()

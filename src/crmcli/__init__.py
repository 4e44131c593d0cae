"""crmcli: a terminal-first team CRM for sharing customer information across departments."""

__version__ = "0.1.0"

"""The Textual dashboard over the same repository as the CLI."""

"""The `aifinops` command."""

"""`python -m aifinops` is the `aifinops` command."""

from aifinops.cli.main import main

main()

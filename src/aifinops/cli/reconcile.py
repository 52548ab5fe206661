"""Commands: Metered vs provider-reported cost reconciliation (issue 6)."""

from __future__ import annotations

import click

__all__ = ["register"]


def register(cli: click.Group, report: click.Group) -> None:
    """Add this area's commands to the ``aifinops`` group and its ``report`` group."""

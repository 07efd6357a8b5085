"""`policyctl scan` (being built; see its issue)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("scan")
    def scan() -> None:
        """Not built yet."""
        raise typer.Exit(3)

"""`policyctl diff` (being built; see its issue)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("diff")
    def diff() -> None:
        """Not built yet."""
        raise typer.Exit(3)

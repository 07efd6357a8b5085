"""`policyctl simulate` (being built; see its issue)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate_() -> None:
        """Not built yet."""
        raise typer.Exit(3)

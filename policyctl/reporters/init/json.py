"""``init --format json``: the starter policy as PolicyLayer's JSON (no comments: JSON has none)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from policyctl.reporters.lint import printable_json

if TYPE_CHECKING:
    from policyctl.scan.starter import StarterPolicy


def render(starter: "StarterPolicy") -> str:
    return printable_json(starter.data) + "\n"

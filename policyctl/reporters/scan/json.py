"""``scan --format json``: the snapshot document with a ``risk`` object on every tool (SPEC §5)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from policyctl.reporters.lint import printable_json

if TYPE_CHECKING:
    from policyctl.scan.risk import Risk
    from policyctl.scan.snapshots import Snapshot


def document(snapshot: "Snapshot", risks: Mapping[str, "Risk"]) -> dict:
    data = snapshot.to_data()
    for tool in data["tools"]:
        tool["risk"] = risks[tool["name"]].to_data()
    return data


def render(snapshot: "Snapshot", risks: Mapping[str, "Risk"]) -> str:
    return printable_json(document(snapshot, risks)) + "\n"

"""``scan --format json``: the snapshot document with a ``risk`` object on every tool (SPEC §5)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    from policyctl.scan.risk import Risk
    from policyctl.scan.snapshots import Snapshot


def document(snapshot: "Snapshot", risks: Mapping[str, "Risk"]) -> dict:
    data = snapshot.to_data()
    for tool in data["tools"]:
        tool["risk"] = risks[tool["name"]].to_data()
    return data


def render(snapshot: "Snapshot", risks: Mapping[str, "Risk"]) -> str:
    return json.dumps(document(snapshot, risks), indent=2, ensure_ascii=False) + "\n"

"""``init --format json``: the starter policy as PolicyLayer's JSON (no comments: JSON has none)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policyctl.scan.starter import StarterPolicy


def render(starter: "StarterPolicy") -> str:
    return json.dumps(starter.data, indent=2, ensure_ascii=False) + "\n"

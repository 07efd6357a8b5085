"""The built-in catalog: tool snapshots of known MCP servers, shipped as package data.

Each ``<name>.json`` holds a snapshot (names and input schemas exactly as the real server lists
them; descriptions in policyctl's own words), its provenance (upstream repository and commit,
capture date) and *vetted* categories that override the classifier for that server's tools.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources

from policyctl.errors import InputError
from policyctl.scan.snapshots import Snapshot, parse_snapshot

CATALOG_VERSION = 1
_CATEGORIES = ("read", "write", "execute", "destructive", "financial", "other")


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    title: str
    snapshot: Snapshot
    vetted: dict = field(default_factory=dict)  # tool name → {"category", "reason"}
    notes: str = ""


def names() -> tuple[str, ...]:
    """Catalog entries shipped with this policyctl, sorted."""
    folder = resources.files(__name__)
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json")))


def load(name: str) -> CatalogEntry:
    """A catalog entry by name; InputError listing the entries when there is none."""
    if name not in names():
        raise InputError(f"no catalog entry named {name!r} (available: {', '.join(names()) or 'none'})")
    raw = resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")
    return parse_entry(json.loads(raw), origin=f"catalog:{name}")


def parse_entry(data: object, *, origin: str) -> CatalogEntry:
    """Validate a catalog document (used by ``load`` and by the tests of every entry)."""
    if not isinstance(data, dict) or data.get("policyctl_catalog") != CATALOG_VERSION:
        raise InputError(f"{origin}: not a policyctl catalog document (version {CATALOG_VERSION})")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise InputError(f"{origin}: catalog entry has no name")
    snapshot = parse_snapshot(data.get("snapshot"), origin=origin)
    if snapshot.source.get("kind") != "catalog":
        raise InputError(f"{origin}: the snapshot's source.kind must be \"catalog\"")
    vetted = data.get("vetted") or {}
    if not isinstance(vetted, dict):
        raise InputError(f"{origin}: \"vetted\" must be an object")
    for tool, entry in vetted.items():
        if snapshot.tool(tool) is None:
            raise InputError(f"{origin}: vetted category for unknown tool {tool!r}")
        if not isinstance(entry, dict) or entry.get("category") not in _CATEGORIES:
            raise InputError(f"{origin}: vetted[{tool!r}] needs a category ({', '.join(_CATEGORIES)})")
    return CatalogEntry(name=name, title=str(data.get("title") or name), snapshot=snapshot,
                        vetted={k: dict(v) for k, v in vetted.items()}, notes=str(data.get("notes") or ""))

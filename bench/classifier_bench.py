"""Measure the risk classifier against labelled tool sets.

    python bench/classifier_bench.py            # both sets, per-category agreement
    python bench/classifier_bench.py --show     # also list every disagreement

Data (bench/data/):
  risk-labels.policylayer.jsonl  tools PolicyLayer's catalogue labelled (names, descriptions, labels
                                 and page URLs are facts copied from its public pages)
  risk-labels.own.jsonl          tools from public MCP server tool lists, labelled by hand against
                                 PolicyLayer's category definitions (each row names its source)

Rows carry parameter names only (no schemas), so the property-based signals see names as the
classifier would. Results also go to bench/out/classifier.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from policyctl.scan.risk import CATEGORIES, classify  # noqa: E402
from policyctl.scan.snapshots import ToolInfo  # noqa: E402

SETS = {"policylayer": HERE / "data" / "risk-labels.policylayer.jsonl",
        "own": HERE / "data" / "risk-labels.own.jsonl"}


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def tool_of(row: dict) -> ToolInfo:
    props = {p: {} for p in row.get("params") or []}
    return ToolInfo(name=row["tool"], description=row.get("description") or "",
                    input_schema={"type": "object", "properties": props},
                    annotations=row.get("annotations") or {})


def measure(rows: list[dict]) -> dict:
    by_server: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        by_server[row["server"]].add(row["tool"])
    per: dict[str, Counter] = {c: Counter() for c in CATEGORIES}
    confusion: Counter = Counter()
    misses = []
    unsafe = []
    for row in rows:
        gold = row["label"]
        risk = classify(tool_of(row), server_tools=by_server[row["server"]])
        per[gold]["n"] += 1
        confusion[(gold, risk.category)] += 1
        if risk.category == gold:
            per[gold]["agree"] += 1
        else:
            misses.append({"tool": row["tool"], "server": row["server"], "gold": gold, "got": risk.category,
                           "rationale": risk.rationale})
            if gold in ("destructive", "financial") and risk.category == "read":
                unsafe.append(row["tool"])
    total = sum(c["n"] for c in per.values())
    agree = sum(c["agree"] for c in per.values())
    return {
        "tools": total,
        "agree": agree,
        "agreement": round(agree / total, 4) if total else None,
        "per_category": {c: {"n": per[c]["n"], "agree": per[c]["agree"],
                             "agreement": round(per[c]["agree"] / per[c]["n"], 4) if per[c]["n"] else None}
                         for c in CATEGORIES},
        "destructive_or_financial_as_read": unsafe,
        "confusion": {f"{g}->{p}": n for (g, p), n in sorted(confusion.items())},
        "misses": misses,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="list every disagreement")
    args = parser.parse_args(argv)
    results = {name: measure(load(path)) for name, path in SETS.items()}
    for name, res in results.items():
        print(f"{name}: {res['agree']}/{res['tools']} agree ({res['agreement']:.1%}); "
              f"destructive/financial classified read: {len(res['destructive_or_financial_as_read'])}")
        print(f"  {'category':<12} {'n':>4} {'agree':>6} {'rate':>7}")
        for cat, row in res["per_category"].items():
            rate = f"{row['agreement']:.0%}" if row["agreement"] is not None else "-"
            print(f"  {cat:<12} {row['n']:>4} {row['agree']:>6} {rate:>7}")
        if args.show:
            for miss in res["misses"]:
                print(f"    {miss['tool']:<40} gold={miss['gold']:<11} got={miss['got']:<11} {miss['rationale']}")
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "classifier.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Measure the risk classifier on labelled tools it was, and was not, tuned on.

    python bench/classifier_bench.py                          # the two sets kept in bench/data/
    python bench/classifier_bench.py --more LABELS.jsonl      # plus a held-out PolicyLayer file
    python bench/classifier_bench.py --show                   # also list every disagreement

Sets:
  policylayer  bench/data/risk-labels.policylayer.jsonl — tools PolicyLayer's catalogue labelled
  own          bench/data/risk-labels.own.jsonl — tools from public MCP server tool lists,
               labelled by hand against PolicyLayer's category definitions (each row names its source)
  more         a further PolicyLayer label file given with --more (its published JSONL: server,
               tool, description, params, category). It is read from the path at run time and never
               stored here; it was measured before any rule was tuned on it (docs/scan.md keeps both
               numbers).

Every tool is classified *in its server's context*: the rows of one server become one snapshot
(server name, every tool's name and description), exactly as ``scan`` sees a server.

Grouped k-fold by server: servers are dealt into --folds folds by a hash of their name, so no
server has tools on both sides. The classifier is a fixed rule set with nothing fitted per fold, so
the folds measure how much the score moves from one group of servers to another (the spread), and
the pooled score over the test folds equals the whole-set score; the number that says how the rules
do on tools nobody tuned them on is the --more set, measured before tuning.

Reported per set: agreement, per-category precision and recall, the confusion matrix, the recall of
destructive and financial tools (counted as caught when the classifier says destructive or
financial: both get a critical template), agreement by confidence, and the tools PolicyLayer labels
differently on different servers. Results also go to bench/out/classifier.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from policyctl.scan.risk import CATEGORIES, classify_snapshot  # noqa: E402
from policyctl.scan.snapshots import Snapshot, ToolInfo, make_source  # noqa: E402
from policyctl.scan.starter import starter_category  # noqa: E402

SETS = {"policylayer": HERE / "data" / "risk-labels.policylayer.jsonl",
        "own": HERE / "data" / "risk-labels.own.jsonl"}
CRITICAL = ("destructive", "financial")


def load(path: Path) -> list[dict]:
    """Rows with ``server``, ``tool``, ``description``, ``params``, ``label`` (lower-case category)."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        label = row.get("label") or row.get("category")
        if not isinstance(label, str) or label.lower() not in CATEGORIES:
            raise SystemExit(f"{path}:{n}: no known label or category")
        rows.append({"server": row["server"], "tool": row["tool"], "description": row.get("description") or "",
                     "params": row.get("params") or [], "annotations": row.get("annotations") or {},
                     "label": label.lower()})
    return rows


def fold_of(server: str, folds: int) -> int:
    return int(hashlib.sha256(server.encode("utf-8")).hexdigest(), 16) % folds


def snapshots(rows: list[dict]) -> dict[str, Snapshot]:
    by_server: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_server[row["server"]].append(row)
    out = {}
    for server, items in by_server.items():
        tools, seen = [], set()
        for row in items:
            if row["tool"] in seen:
                continue
            seen.add(row["tool"])
            tools.append(ToolInfo(name=row["tool"], description=row["description"],
                                  input_schema={"type": "object", "properties": {p: {} for p in row["params"]}},
                                  annotations=row["annotations"]))
        out[server] = Snapshot(server_name=server, server_version=None, source=make_source("file"),
                               protocol_version=None, tools=tuple(tools))
    return out


def predict(rows: list[dict]) -> list[dict]:
    snaps = snapshots(rows)
    risks = {server: classify_snapshot(snap) for server, snap in snaps.items()}
    out = []
    for row in rows:
        risk = risks[row["server"]][row["tool"]]
        out.append({**row, "got": risk.category, "confidence": risk.confidence, "rationale": risk.rationale,
                    "init": starter_category(risk)})
    return out


def score(preds: list[dict]) -> dict:
    confusion: Counter = Counter((p["label"], p["got"]) for p in preds)
    total = len(preds)
    agree = sum(n for (g, p), n in confusion.items() if g == p)
    per = {}
    for c in CATEGORIES:
        gold = sum(n for (g, _), n in confusion.items() if g == c)
        said = sum(n for (_, p), n in confusion.items() if p == c)
        hit = confusion[(c, c)]
        per[c] = {"n": gold, "predicted": said, "correct": hit,
                  "precision": round(hit / said, 4) if said else None,
                  "recall": round(hit / gold, 4) if gold else None}
    critical = [p for p in preds if p["label"] in CRITICAL]
    caught = [p for p in critical if p["got"] in CRITICAL]
    caught_by_init = [p for p in critical if p["init"] in CRITICAL]
    # the price of the safer side: tools init treats as critical whose label is not
    raised = [f"{p['server']}/{p['tool']} ({p['label']})" for p in preds
              if p["init"] in CRITICAL and p["got"] not in CRITICAL and p["label"] not in CRITICAL]
    by_conf = {}
    for level in ("high", "medium", "low"):
        sub = [p for p in preds if p["confidence"] == level]
        by_conf[level] = {"n": len(sub), "agree": sum(p["label"] == p["got"] for p in sub)}
    return {
        "tools": total, "agree": agree, "agreement": round(agree / total, 4) if total else None,
        "per_category": per,
        "critical": {"n": len(critical), "caught": len(caught),
                     "recall": round(len(caught) / len(critical), 4) if critical else None,
                     "caught_by_init": len(caught_by_init),
                     "missed": [f"{p['server']}/{p['tool']} ({p['label']}→{p['got']})"
                                for p in critical if p["got"] not in CRITICAL]},
        "by_confidence": by_conf,
        "raised_by_init": raised,
        "confusion": {g: {p: confusion[(g, p)] for p in CATEGORIES} for g in CATEGORIES},
    }


def self_disagreements(rows: list[dict]) -> list[str]:
    """Tool names PolicyLayer labels differently on different servers (kept, counted, not tuned to)."""
    labels: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        labels[row["tool"]].add(row["label"])
    return sorted(f"{t} ({'/'.join(sorted(ls))})" for t, ls in labels.items() if len(ls) > 1)


def cross_validate(rows: list[dict], folds: int) -> dict:
    preds = predict(rows)
    per_fold = []
    for k in range(folds):
        test = [p for p in preds if fold_of(p["server"], folds) == k]
        train_servers = {p["server"] for p in preds if fold_of(p["server"], folds) != k}
        assert not train_servers & {p["server"] for p in test}
        s = score(test)
        per_fold.append({"fold": k, "servers": len({p["server"] for p in test}), "tools": s["tools"],
                         "agreement": s["agreement"], "critical_recall": s["critical"]["recall"]})
    result = score(preds)
    rates = [f["agreement"] for f in per_fold if f["agreement"] is not None]
    result["folds"] = per_fold
    result["fold_agreement_range"] = [min(rates), max(rates)] if rates else None
    result["servers"] = len({r["server"] for r in rows})
    result["self_disagreements"] = self_disagreements(rows)
    result["misses"] = [{"server": p["server"], "tool": p["tool"], "gold": p["label"], "got": p["got"],
                         "confidence": p["confidence"], "rationale": p["rationale"]}
                        for p in preds if p["label"] != p["got"]]
    return result


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def report(name: str, res: dict, show: bool) -> None:
    crit = res["critical"]
    print(f"{name}: {res['tools']} tools from {res['servers']} servers, {len(res['folds'])} folds by server")
    print(f"  agreement {res['agree']}/{res['tools']} = {_pct(res['agreement'])} "
          f"(folds {_pct(res['fold_agreement_range'][0])}–{_pct(res['fold_agreement_range'][1])}); "
          f"destructive+financial recall {crit['caught']}/{crit['n']} = {_pct(crit['recall'])} "
          f"(as init treats them: {crit['caught_by_init']}/{crit['n']})")
    print(f"  {'category':<12} {'n':>4} {'precision':>9} {'recall':>7}")
    for cat, row in res["per_category"].items():
        print(f"  {cat:<12} {row['n']:>4} {_pct(row['precision']):>9} {_pct(row['recall']):>7}")
    print("  confusion (rows: label, columns: classifier)")
    print("  " + " " * 12 + "".join(f"{c[:5]:>6}" for c in CATEGORIES))
    for gold in CATEGORIES:
        print(f"  {gold:<12}" + "".join(f"{res['confusion'][gold][p]:>6}" for p in CATEGORIES))
    conf = res["by_confidence"]
    print("  by confidence: " + ", ".join(
        f"{lvl} {c['agree']}/{c['n']}" + (f" ({c['agree'] / c['n']:.0%})" if c["n"] else "")
        for lvl, c in conf.items()))
    if res["raised_by_init"]:
        print(f"  given a critical template by init's safer side, labelled otherwise: {', '.join(res['raised_by_init'])}")
    if res["self_disagreements"]:
        print(f"  labelled differently on different servers: {len(res['self_disagreements'])} "
              f"({', '.join(res['self_disagreements'][:6])}{', …' if len(res['self_disagreements']) > 6 else ''})")
    if crit["missed"]:
        print(f"  destructive/financial missed: {', '.join(crit['missed'])}")
    if show:
        for m in res["misses"]:
            print(f"    {m['server'][:28]:<28} {m['tool'][:34]:<34} {m['gold']:<11} {m['got']:<11} "
                  f"{m['confidence']:<6} {m['rationale']}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="list every disagreement")
    parser.add_argument("--folds", type=int, default=5, help="folds for the grouped cross-validation (default 5)")
    parser.add_argument("--more", type=Path, action="append", default=[], metavar="FILE",
                        help="a further PolicyLayer label file (JSONL), read in place; repeatable")
    args = parser.parse_args(argv)
    sets = {name: load(path) for name, path in SETS.items()}
    for path in args.more:
        sets["more" if len(args.more) == 1 else f"more:{path.name}"] = load(path)
    if args.more:
        sets["all PolicyLayer"] = sets["policylayer"] + [r for n, rs in sets.items() if n.startswith("more")
                                                         for r in rs]
    results = {name: cross_validate(rows, args.folds) for name, rows in sets.items()}
    for name, res in results.items():
        report(name, res, args.show)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "classifier.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

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
server has tools on both sides. Three measurements, from the most flattering to the strictest:

  fixed rules   the classifier as shipped, scored fold by fold. Nothing is fitted per fold, so the
                pooled score equals the whole-set score and the folds only show the spread. The
                word lists were written by reading these labels: this is a fit.
  lexicon-cv    every labelled tool in one pool; for each fold, risk.py's word lists are cut down
                to the words the *training* servers give evidence for (a verb stays in a category's
                list only if a training tool with that label uses it; a noun, domain or context word
                only if a training tool or server uses it; a description phrase only if it matches
                a training description with its label), and the held-out servers are classified
                with that lexicon. This is what the rules would score on unseen servers had their
                words been gathered from the training servers only. The rule structure (the order
                of the steps, the exceptions) is still fixed, and no general-English prior is
                credited (a fold without "purge" in training misses purge_cache), so it errs low.
  name only     the pool with every description removed: the name's words alone decide.

Reported per set: agreement, per-category precision and recall, the confusion matrix, the recall of
destructive and financial tools (counted as caught when the classifier says destructive or
financial: both get a critical template), agreement by confidence, and the tools PolicyLayer labels
differently on different servers. Results also go to bench/out/classifier.json.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable, Iterator

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from policyctl.scan import risk as risk_module  # noqa: E402
from policyctl.scan.risk import CATEGORIES, classify_snapshot, split_words  # noqa: E402
from policyctl.scan.snapshots import Snapshot, ToolInfo, make_source  # noqa: E402
from policyctl.scan.starter import review_note, starter_category  # noqa: E402

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
        init = starter_category(risk)
        out.append({**row, "got": risk.category, "confidence": risk.confidence, "rationale": risk.rationale,
                    "init": init, "review": bool(review_note(risk, init))})
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
                     # missed, but init comments the tool for review (low confidence or unclassified)
                     "missed_but_flagged": sum(1 for p in critical if p["init"] not in CRITICAL and p["review"]),
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
    return summarise(predict(rows), folds)


def summarise(preds: list[dict], folds: int, per_fold: list[dict] | None = None) -> dict:
    """Scores of pooled test-fold predictions, with the per-fold spread."""
    if per_fold is None:
        per_fold = []
        for k in range(folds):
            test = [p for p in preds if fold_of(p["server"], folds) == k]
            s = score(test)
            per_fold.append({"fold": k, "servers": len({p["server"] for p in test}), "tools": s["tools"],
                             "agreement": s["agreement"], "critical_recall": s["critical"]["recall"]})
    result = score(preds)
    rates = [f["agreement"] for f in per_fold if f["agreement"] is not None]
    result["folds"] = per_fold
    result["fold_agreement_range"] = [min(rates), max(rates)] if rates else None
    result["servers"] = len({p["server"] for p in preds})
    result["self_disagreements"] = self_disagreements(preds)
    result["misses"] = [{"server": p["server"], "tool": p["tool"], "gold": p["label"], "got": p["got"],
                         "confidence": p["confidence"], "rationale": p["rationale"]}
                        for p in preds if p["label"] != p["got"]]
    return result


# ---------------------------------------------------------------------------------------------
# Cross-validation of the word lists: a fold may use only words its training servers give evidence for


# risk.py's verb lists, with the label a training tool that uses the word must carry
_VERB_LISTS = {"_READ": "read", "_WRITE": "write", "_EXECUTE": "execute", "_DESTRUCTIVE": "destructive",
               "_FINANCIAL_STRONG": "financial", "_FINANCIAL_AMBIGUOUS": "financial"}
# risk.py's other word lists: a word is kept when any training tool or server uses it
_WORD_LISTS = ("_FINANCIAL_NOUNS", "_NON_BILLING_QUALIFIERS", "_NOUNISH", "_READ_NOUNS", "_DEVICE_VERBS")
_PHRASES = {"_DESTRUCTIVE_PHRASES": "destructive", "_FINANCIAL_PHRASES": "financial"}


def _forms(word: str) -> set[str]:
    """A word and the stems its inflections could come from (deletes, deleted, deleting → delete)."""
    out = {word}
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ied", "y"), ("ed", ""), ("ed", "e"),
                         ("ing", ""), ("ing", "e")):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            out.add(word[: -len(suffix)] + repl)
    return out


def evidence(rows: list[dict]) -> tuple[set[str], dict[str, set[str]]]:
    """Every word form the rows use (names, descriptions, servers), and those used per label."""
    seen: set[str] = set()
    seen_as: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        words: set[str] = set()
        for w in (split_words(row["tool"]) + split_words(row["description"], unglue=False)
                  + split_words(row["server"], unglue=False)):
            words |= _forms(w)
        seen |= words
        seen_as[row["label"]] |= words
    return seen, seen_as


@contextlib.contextmanager
def trained_lexicon(train: list[dict]) -> Iterator[dict[str, int]]:
    """risk.py's word lists cut down to the words the training rows give evidence for.

    A verb stays in a category's list only if a training tool with that label uses it; a noun,
    domain or context word only if some training tool or server uses it; a description phrase only
    if it matches a training description with its label. Yields how many entries were dropped per
    list. The module's lists are restored on exit.
    """
    seen, seen_as = evidence(train)
    saved: dict[str, object] = {}
    dropped: dict[str, int] = {}

    def put(name: str, value: object, size_before: int, size_after: int) -> None:
        saved[name] = getattr(risk_module, name)
        setattr(risk_module, name, value)
        dropped[name] = size_before - size_after

    try:
        for name, label in _VERB_LISTS.items():
            words = getattr(risk_module, name)
            kept = frozenset(w for w in words if w in seen_as[label])
            put(name, kept, len(words), len(kept))
        for name in _WORD_LISTS:
            words = getattr(risk_module, name)
            kept = frozenset(w for w in words if w in seen)
            put(name, kept, len(words), len(kept))
        pairs = risk_module._NOUN_PAIRS
        kept_pairs = {p for p in pairs if set(p) <= seen}
        put("_NOUN_PAIRS", kept_pairs, len(pairs), len(kept_pairs))
        prefixes = risk_module._PREFIX_VERBS
        kept_prefixes = tuple(w for w in prefixes if w in seen)
        put("_PREFIX_VERBS", kept_prefixes, len(prefixes), len(kept_prefixes))
        doubt = risk_module._CRITICAL_DOUBT
        kept_doubt = {w: c for w, c in doubt.items() if w in seen_as[c]}
        put("_CRITICAL_DOUBT", kept_doubt, len(doubt), len(kept_doubt))
        domains = risk_module._DOMAINS
        cut = tuple(dataclasses.replace(d, words=d.words & seen, money_nouns=d.money_nouns & seen,
                                        money_verbs=d.money_verbs & seen) for d in domains)
        put("_DOMAINS", cut, sum(len(d.words) + len(d.money_nouns) + len(d.money_verbs) for d in domains),
            sum(len(d.words) + len(d.money_nouns) + len(d.money_verbs) for d in cut))
        for name, label in _PHRASES.items():
            patterns = getattr(risk_module, name)
            texts = [r["description"] for r in train if r["label"] == label]
            kept_patterns = tuple(p for p in patterns if any(p.search(t) for t in texts))
            put(name, kept_patterns, len(patterns), len(kept_patterns))
        yield dropped
    finally:
        for name, value in saved.items():
            setattr(risk_module, name, value)


def cross_validate_lexicon(rows: list[dict], folds: int) -> tuple[list[dict], list[dict]]:
    """Predictions for every row made with only the words its training folds give evidence for."""
    preds: list[dict] = []
    per_fold: list[dict] = []
    for k in range(folds):
        test = [r for r in rows if fold_of(r["server"], folds) == k]
        train = [r for r in rows if fold_of(r["server"], folds) != k]
        assert not {r["server"] for r in train} & {r["server"] for r in test}
        with trained_lexicon(train) as dropped:
            got = predict(test)
        s = score(got)
        per_fold.append({"fold": k, "servers": len({r["server"] for r in test}), "tools": s["tools"],
                         "agreement": s["agreement"], "critical_recall": s["critical"]["recall"],
                         "dropped": sum(dropped.values())})
        preds.extend(got)
    return preds, per_fold


def name_only(rows: list[dict]) -> list[dict]:
    """The rows with every description removed: the name's words alone must decide."""
    return [{**r, "description": ""} for r in rows]


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
        print(f"  destructive/financial missed ({crit['missed_but_flagged']} of {len(crit['missed'])} flagged for "
              f"review by init): {', '.join(crit['missed'])}")
    if show:
        for m in res["misses"]:
            print(f"    {m['server'][:28]:<28} {m['tool'][:34]:<34} {m['gold']:<11} {m['got']:<11} "
                  f"{m['confidence']:<6} {m['rationale']}")


def _subsets(sets: dict[str, list[dict]]) -> list[tuple[str, Callable[[str], bool]]]:
    """The pooled sets reported: every set, PolicyLayer's labels (with --more), our own set."""
    out: list[tuple[str, Callable[[str], bool]]] = [("every set", lambda s: True)]
    if any(n.startswith("more") for n in sets):
        out.append(("all PolicyLayer", lambda s: s != "own"))
    out.append(("own", lambda s: s == "own"))
    return out


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
    # Every labelled tool in one pool, each tagged with its set, for the two stricter measurements.
    pool = [{**r, "set": name} for name, rows in sets.items() if name != "all PolicyLayer" for r in rows]
    preds, per_fold = cross_validate_lexicon(pool, args.folds)
    print(f"\nword lists cross-validated ({args.folds} folds by server over all {len(pool)} labelled tools): "
          "each fold keeps only the words its training servers give evidence for")
    for name, keep in _subsets(sets):
        sub = [p for p in preds if keep(p["set"])]
        res = summarise(sub, args.folds,
                        per_fold if name == "every set" else None)
        results[f"lexicon-cv {name}"] = res
        report(f"lexicon-cv {name}", res, args.show)
    stripped = predict(name_only(pool))
    print("\nname only (every description removed; parameters kept)")
    for name, keep in _subsets(sets):
        res = summarise([p for p in stripped if keep(p["set"])], args.folds)
        results[f"name-only {name}"] = res
        report(f"name-only {name}", res, args.show)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "classifier.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

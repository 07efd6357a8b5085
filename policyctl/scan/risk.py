"""Risk classification of MCP tools: deterministic, local and explainable.

Each tool gets one of PolicyLayer's categories (read, write, execute, destructive, financial,
other), the severity that follows from it, risk *signals* from its parameters and text, and a
one-line rationale that quotes the words that decided.

How a category is decided (docs/scan.md has the long form):

1. The tool **name** is split into words (``create_session``, ``deleteFile``, ``get-env``) and the
   first action word found sets the category (``get`` → read, ``create`` → write, ``run`` →
   execute, ``delete`` → destructive, ``pay`` → financial). A destructive or financial word later in
   the name raises it (``book_airport_transfer`` → financial), except after a leading read verb
   when the word is also a common noun (``list_refunds`` stays read). A write or execute action on
   a money noun (``create_invoice``, ``place_order``) is financial.
2. A name with no action word is decided by the first sentence of the **description**, then by
   nouns in the name (``account_status`` → read, ``financial_calculator`` → financial), then by
   the rest of the description (low confidence).
3. The **whole description** can raise the category: "cannot be undone", "permanently deletes" →
   destructive; "transfer funds", "send money" → financial.
4. MCP **annotations** are self-reported hints: they decide only when nothing else does, and never
   lower a category. A rationale mentions when they disagree.
5. Nothing at all → ``other`` (the starter policy treats it like write and flags it for review).

**Server context** (``server_context``): the words of the whole server (name, instructions, every
tool's name and description) can mark it a payments, trading or desktop-control server; then a
write action on a money noun (``create_balance_account``) is financial, ``checkout`` is financial,
and a desktop action is execute. The rationale names the context and its evidence. The server's own
tools also explain words of no list: when ``zap-collection``'s name has no action word and its
description says "Removes a collection", "zap" in the same place of ``zap-index`` (no
description) is destructive too, at low confidence (``_sibling_words``).

**Confidence** (``_confidence``): high, medium or low with the reasons behind it, and for an unsure
read a destructive or financial ``alternative`` that ``init`` takes to be safe (docs/scan.md).

Signals come from the input schema's top-level property names (``secret``, ``freeform-code``,
``filesystem-path``, ``url``), their count (``many-parameters`` above 12) and the text of the
description and property descriptions (``suspicious-description``: hidden-instruction tags,
"do not tell the user", sensitive files such as ``~/.ssh``, invisible characters, text hidden
after blank padding, and references to tools this server does not list).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from policyctl.scan.snapshots import Snapshot, ToolInfo

CATEGORIES = ("read", "write", "execute", "destructive", "financial", "other")
SEVERITY = {"read": "low", "write": "medium", "execute": "high", "destructive": "critical",
            "financial": "critical", "other": "medium"}
SIGNALS = ("secret", "freeform-code", "filesystem-path", "url", "many-parameters", "suspicious-description")
MANY_PARAMETERS = 12

# ---------------------------------------------------------------------------------------------
# Lexicon. Words are lower-case; descriptions are matched after removing a plural/3rd-person "s".

_READ = frozenset("""
get list read fetch search find query show view describe retrieve lookup inspect explain count
validate verify analyze analyse calculate compute estimate preview download browse scan summarize
summarise compare diff peek poll convert check watch is has lint look open screenshot quote
measure ping translate parse extract render format classify discover return
""".split())
_WRITE = frozenset("""
create add update set write edit modify change save store put post patch insert upsert append
upload import rename move copy clone fork merge commit push tag label assign unassign approve
authorize reject transition mark dismiss star unstar pin unpin follow unfollow manage configure
enable disable toggle register invite submit send reply respond comment react email message
publish schedule book place reserve checkout close archive restore link attach fill draft compose annotate
report record share lock unlock finalize capture pull accept decline resolve
replace apply sync mute unmute rate vote subscribe unsubscribe promote demote grant upgrade
downgrade generate connect login logout signin signout setup backup
""".split())
_EXECUTE = frozenset("""
run exec execute executor invoke trigger call start stop restart launch deploy build compile
install spawn evaluate eval navigate click scale rerun retry dispatch perform process end
shutdown reboot boot ssh shell bash automate simulate activate transform initiate
""".split())
_DESTRUCTIVE = frozenset("""
delete remove destroy drop purge truncate wipe erase clear revoke cancel terminate kill uninstall
discard prune rm del evict flush burn void expunge shred reset nuke trash teardown cleanup
""".split())
# Financial verbs that are rarely anything else, and verb-nouns that often name a thing.
_FINANCIAL_STRONG = frozenset("pay withdraw swap purchase buy sell payout deposit donate remit".split())
_FINANCIAL_AMBIGUOUS = frozenset("refund transfer charge trade".split())
_FINANCIAL_NOUNS = frozenset("""
payment payments invoice invoices refund refunds payout payouts charge charges subscription
subscriptions order orders money funds fund wallet wallets billing checkout transfer transfers
financial finance bank banking loan loans escrow payroll remittance usdc usdt eth btc sats
""".split())
# A qualifier in front of "subscription" that makes it about messages, not billing.
_NON_BILLING_QUALIFIERS = frozenset("notification notifications repository webhook webhooks event events "
                                    "email newsletter topic channel feed thread".split())
# Words that are verbs in "label_issue" but things in "get_label": a later, plainer verb wins.
_NOUNISH = frozenset("""
tag label message email comment record draft link star report quote post book charge transfer trade
refund query search view run call process share schedule lock order log
""".split())
_READ_NOUNS = frozenset("""
status info information details detail history logs log usage stats statistics metrics report
weather quote balance profile health version schema docs documentation summary time timezone
search lookup
""".split())
# Two-word nouns whose first word would otherwise read as a verb.
_NOUN_PAIRS = {("pull", "request"), ("pull", "requests"), ("merge", "request"), ("merge", "requests"),
               ("call", "graph"), ("search", "results"), ("run", "id"), ("docker", "compose")}
_SKIP = frozenset("a an the this that tool will can to for of in on by with from and or it its is be "
                  "you your use used using".split())

_DESTRUCTIVE_PHRASES = (
    re.compile(r"\bcannot be undone\b|\bcan ?not be reversed\b|\birreversibl\w*", re.I),
    re.compile(r"\bpermanently\s+(delet|remov|eras|destroy|purg|wip)\w*", re.I),
    re.compile(r"\[\s*destructive\s*\]|\bDESTRUCTIVE\b"),
)
_FINANCIAL_PHRASES = (
    re.compile(r"\b(send|sends|sending|transfer|transfers|transferring|move|moves|sweep|sweeps)\s+"
               r"(the\s+|your\s+|their\s+)?(money|funds|payments?)\b", re.I),
    re.compile(r"\b(charge|charges|charging)\s+(the\s+|a\s+|their\s+)?(card|customer|buyer|payer)\b", re.I),
    re.compile(r"\b(make|makes|process|processes|submit|submits)\s+(a\s+|the\s+)?payments?\b", re.I),
    re.compile(r"\bpay(s|ing)?\s+(an?\s+|the\s+)?(invoice|bill|merchant|agent|fee)\b", re.I),
)

# Signals from property names.
_SECRET_WORDS = frozenset("secret secrets password passwd passphrase token tokens credential "
                          "credentials apikey authorization bearer cookie cookies".split())
_SECRET_PAIRS = {("api", "key"), ("private", "key"), ("access", "key"), ("secret", "key"),
                 ("client", "secret"), ("auth", "token"), ("session", "secret")}
_CODE_WHOLE = frozenset("command cmd commands script scripts code sql query expression expr statement "
                        "program shell snippet javascript js python eval source_code".split())
_CODE_LAST = frozenset("command cmd script sql query expression statement".split())
_PATH_WORDS = frozenset("path paths file files filename filenames filepath dir dirs directory "
                        "directories folder folders cwd".split())
# A bare "path" that the text calls a property/JSON/URL path is not a file system path.
_NOT_FS_PATH = re.compile(r"\b(property|json|object|key|attribute|url|api|jq|x|dot|route|request)[ -]?paths?\b", re.I)
_URL_WORDS = frozenset("url urls uri uris endpoint endpoints webhook href link links".split())

_SUSPICIOUS = (
    (re.compile(r"<\s*/?\s*(important|system|instructions?|secret|hidden|admin|override|sudo|note_to_ai)\b[^>]{0,40}>",
                re.I), "hidden-instruction tag"),
    (re.compile(r"\b(do\s+not|don'?t|never|must\s+not)\s+(tell|inform|mention|reveal|show|notify|alert)\s+"
                r"(this\s+to\s+|it\s+to\s+)?(the\s+)?user", re.I), "keeps something from the user"),
    (re.compile(r"\bwithout\s+(telling|informing|notifying|alerting|asking)\s+(the\s+)?user", re.I),
     "acts without telling the user"),
    (re.compile(r"\bhide\s+(this|it)\s+from\s+(the\s+)?user|\buser\s+(must|should)\s+not\s+(know|see)", re.I),
     "keeps something from the user"),
    (re.compile(r"\b(ignore|disregard|forget)\s+(all\s+|any\s+)?(the\s+)?(previous|prior|above|earlier|other)\s+"
                r"(instructions?|messages?|prompts?|rules?)", re.I), "tells the model to ignore instructions"),
    (re.compile(r"(~|\$HOME|%USERPROFILE%)[/\\]\.(ssh|aws|gnupg|kube|docker|config/gcloud)\b|\bid_(rsa|ed25519|ecdsa)\b"
                r"|/etc/(passwd|shadow)\b|\.netrc\b|\.git-credentials\b|claude_desktop_config\.json|\bmcp\.json\b"
                r"|(^|[\s/\"'`(])\.env\b", re.I), "mentions a sensitive file"),
    (re.compile(r"[\u200b-\u200d\u2060\ufeff\u202a-\u202e\u2066-\u2069]|[\U000e0000-\U000e007f]"),
     "contains invisible characters"),
    # each alternative starts only where its run of blanks starts: tried at every position of a long
    # run, it rescans the rest of the run each time (quadratic; a hostile description hung scan)
    (re.compile(r"(?<![\n \t])[ \t]*(\n[ \t]*){10,}\S|(?<![ \t])[ \t]{200,}\S"), "hides text after blank padding"),
)
# "the send_email tool", "call send_email": a tool name used as such (snake/kebab/camel case). The
# second form starts only where a word starts (linear time on a long run of letters or "a_a_a…").
_TOOL_REF = re.compile(
    r"\b(?:call|calling|invoke|invoking)\s+(?:the\s+)?`?(?P<a>[A-Za-z][A-Za-z0-9]*(?:[_-][A-Za-z0-9]+)+)`?"
    r"|(?<![A-Za-z0-9_-])`?(?P<b>[A-Za-z][A-Za-z0-9]*(?:[_-][A-Za-z0-9]+)+)`?\s+tools?\b", re.I)


@dataclass(frozen=True)
class Risk:
    """A tool's classification: what the starter policy and the scan report are built from.

    ``confidence`` is high, medium or low; ``confidence_reasons`` are the signals behind it, and
    ``alternative`` names a destructive or financial reading that a read decision could not rule out
    (``init`` takes that safer side when the confidence is not high).
    """

    category: str
    severity: str
    signals: tuple[str, ...]
    rationale: str
    vetted: bool = False
    confidence: str = "high"
    confidence_reasons: tuple[str, ...] = ()
    alternative: str | None = None

    def to_data(self) -> dict:
        data: dict = {"category": self.category, "severity": self.severity, "signals": list(self.signals),
                      "rationale": self.rationale, "confidence": self.confidence,
                      "confidence_reasons": list(self.confidence_reasons)}
        if self.alternative:
            data["alternative"] = self.alternative
        return data


# ---------------------------------------------------------------------------------------------
# Words


_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
# "HTTPRequest" → HTTP Request, but "fetchURLs" keeps "URLs" whole (a plural acronym).
_ACRONYM = re.compile(r"([A-Z]+)([A-Z](?:[a-z]{2,}|[a-rt-z]))")
# Endings that make a verb-prefixed word one word ("listing", "searchable"), not verb + noun.
_NOT_A_NOUN = frozenset("able ible ment ments ing ings ion ions er ers ed or ors ance ive ure en ens ened".split())
# Verbs common enough to open a run-together name ("getuser", "listrepos").
_PREFIX_VERBS = ("get", "list", "create", "delete", "update", "remove", "fetch", "search", "cancel", "execute")


def split_words(text: str, *, unglue: bool = True) -> list[str]:
    """``deleteConfluencePage`` → delete confluence page; ``get-env`` → get env; lower-case.

    Snake, kebab, dotted, camel and Pascal case, acronyms (``getHTTPStatus`` → get http status,
    ``fetchURLs`` → fetch urls) and run-together verb prefixes (``getuser`` → get user) are split;
    digits stay with their word (``k8s``, ``x402``, ``s3``). ``unglue=False`` (prose) keeps
    run-together words whole.
    """
    spaced = _CAMEL.sub(r"\1 \2", text)
    spaced = _ACRONYM.sub(r"\1 \2", spaced)
    words: list[str] = []
    for word in re.split(r"[^A-Za-z0-9]+", spaced.lower()):
        if word:
            words.extend(_unglue(word) if unglue else (word,))
    return words


def _unglue(word: str) -> list[str]:
    if _category_of(word) or not word.isalpha():
        return [word]
    for verb in _PREFIX_VERBS:
        rest = word[len(verb):]
        # "cancellation", "getting": a doubled consonant continues the word, it does not start a noun
        if (word.startswith(verb) and len(rest) >= 3 and rest not in _NOT_A_NOUN
                and rest[:3] not in ("ing", "abl") and rest[0] != verb[-1]):
            return [verb, rest]
    return [word]


def _base(word: str) -> str:
    """The lexicon form of an inflected word: deletes → delete, queries → query, pushes → push."""
    if _category_of(word):
        return word
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            stem = word[: -len(suffix)] + repl
            if _category_of(stem):
                return stem
    return word


def _plain(word: str) -> str:
    """A noun's singular for matching (``charges`` → charge), without needing the lexicon."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _category_of(word: str) -> str | None:
    if word in _DESTRUCTIVE:
        return "destructive"
    if word in _FINANCIAL_STRONG or word in _FINANCIAL_AMBIGUOUS:
        return "financial"
    if word in _EXECUTE:
        return "execute"
    if word in _WRITE:
        return "write"
    if word in _READ:
        return "read"
    return None


@dataclass(frozen=True)
class _Verb:
    word: str
    category: str
    index: int


def _verbs(words: list[str], *, name: bool = False) -> list[_Verb]:
    """The action words in ``words``, in order. In a tool name (``name=True``) an inflected form
    (``calls``, ``orders``, ``runs``) is a thing when a plain action word follows it: names are
    imperative, so ``calls_archive`` archives calls and ``runs_list`` lists runs."""
    found: list[_Verb] = []
    skip_next = False
    for i, raw in enumerate(words):
        if skip_next:
            skip_next = False
            continue
        if i + 1 < len(words) and (raw, words[i + 1]) in _NOUN_PAIRS:
            skip_next = True  # "pull request" is a thing, not "pull"
            continue
        word = _base(raw)
        cat = _category_of(word)
        if cat:
            found.append(_Verb(word, cat, i))
    if name and len(found) > 1:
        plain = [v for v in found if words[v.index] == v.word]
        if plain:
            found = [v for v in found if words[v.index] == v.word or v.index > plain[0].index]
    return found


def _money_noun(words: list[str], extra: frozenset[str] = frozenset()) -> str | None:
    for i, w in enumerate(words):
        if w in _FINANCIAL_NOUNS or _plain(w) in extra:
            if w.startswith("subscription") and i > 0 and words[i - 1] in _NON_BILLING_QUALIFIERS:
                continue
            return w
    return None


# ---------------------------------------------------------------------------------------------
# Server context


@dataclass(frozen=True)
class _Domain:
    name: str
    label: str
    words: frozenset[str]
    # nouns that, on such a server, make a write or execute action financial
    money_nouns: frozenset[str] = frozenset()
    # write and execute verbs that, on such a server, are financial in themselves
    money_verbs: frozenset[str] = frozenset()


_DOMAINS = (
    _Domain("payments", "payments", frozenset("""
        payment pay invoice refund charge payout billing checkout subscription stripe paypal merchant
        escrow usdc usdt sats lightning x402 l402 fund money wallet customer card
        """.split()),
        money_nouns=frozenset("cart balance credit account".split()),
        money_verbs=frozenset("checkout capture confirm topup".split())),
    _Domain("trading", "trading", frozenset("""
        swap trade trading exchange dex defi crypto ticker market portfolio broker stock order liquidity
        slippage token wallet position
        """.split()),
        money_nouns=frozenset("position token asset liquidity".split()),
        money_verbs=frozenset("swap execute place open close".split())),
    _Domain("desktop", "desktop-control", frozenset("""
        window keyboard mouse cursor volume monitor screen desktop media playback brightness shortcut
        minimize maximize
        """.split())),
)
# A domain needs this many distinct words of its own across the server to count.
DOMAIN_MIN_WORDS = 3
# On a desktop-control server these act on the machine, whatever their everyday category.
_DEVICE_VERBS = frozenset("open focus play pause next previous mute unmute set send type press sleep wake "
                          "minimize maximize close launch".split())


@dataclass(frozen=True)
class ServerContext:
    """What kind of server a tool sits on, from the words of the whole server.

    ``domain`` is ``payments``, ``trading``, ``desktop`` or None; ``evidence`` the distinct domain
    words found (most frequent first), which the rationale quotes.
    """

    server: str | None = None
    domain: str | None = None
    evidence: tuple[str, ...] = ()
    # (position, word, category, sibling, what its description says): a word of no list that this
    # server's own descriptions give a category (``_sibling_words``)
    learned: tuple[tuple[int, str, str, str, str], ...] = ()

    def phrase(self) -> str:
        dom = next(d for d in _DOMAINS if d.name == self.domain)
        who = f"{self.server}: " if self.server else ""
        return f"on a {dom.label} server ({who}{', '.join(self.evidence[:3])})"

    @property
    def spec(self) -> _Domain | None:
        return next((d for d in _DOMAINS if d.name == self.domain), None)


NO_CONTEXT = ServerContext()


def server_context(server_name: str | None, tools: Iterable[ToolInfo],
                   instructions: str | None = None) -> ServerContext:
    """The server's domain from its name, its instructions and every tool's name and description.

    Only words in a domain's list count, so a tool whose words are in no list never changes the
    context (a property test checks it); the order of the tools does not matter.
    """
    counts: dict[str, int] = {}
    texts = [server_name or "", instructions or ""]
    for t in tools:
        texts.append(t.name)
        texts.append(t.description)
    for text in texts:
        for w in split_words(text, unglue=False):
            w = _plain(w)
            counts[w] = counts.get(w, 0) + 1
    best: tuple[int, int, str] | None = None
    found: dict[str, tuple[str, ...]] = {}
    for rank, dom in enumerate(_DOMAINS):
        hits = sorted((w for w in dom.words if w in counts), key=lambda w: (-counts[w], w))
        if len(hits) >= DOMAIN_MIN_WORDS:
            found[dom.name] = tuple(hits)
            key = (len(hits), -rank, dom.name)
            if best is None or key > best:
                best = key
    learned = _sibling_words(tools)
    if best is None:
        return ServerContext(server_name, learned=learned)
    return ServerContext(server_name, best[2], found[best[2]], learned)


def _known(word: str) -> bool:
    return _category_of(_base(word)) is not None


def _sibling_words(tools: Iterable[ToolInfo]) -> tuple[tuple[int, str, str, str, str], ...]:
    """Words of no list that the server's own tools explain: ``zap-collection`` has no action word
    in its name but its description says "Removes a collection", so on this server "zap" in the
    same place (``zap-index``, no description) is destructive too.

    A (position, word) pair is learned only when every tool of the server that has the word there
    and is decided by its name or description agrees (a shared prefix such as ``docker`` in
    ``docker_create_container`` and ``docker_inspect_exec`` disagrees, so it teaches nothing), and
    at least one of them has no action word in its name (so the word is what the description
    explains). Only the server's own tools count: a tool with no description teaches nothing.
    """
    tools = sorted(tools, key=lambda t: t.name)
    # a word followed by an action word somewhere (puppeteer_navigate) is a namespace, not an action
    prefixes = {w for t in tools for w, nxt in zip(split_words(t.name), split_words(t.name)[1:]) if _known(nxt)}
    votes: dict[tuple[int, str], set[str]] = {}
    teachers: dict[tuple[int, str], tuple[str, str, str]] = {}
    for t in tools:
        words = split_words(t.name)
        in_name = _verbs(words, name=True)
        if in_name:
            category = _from_words(words, "name")
        elif t.description.strip():
            category = _from_words(_description_words(t), "description")
        else:
            category = None
        if category is None:
            continue
        for i, w in enumerate(words):
            if w in _SKIP or w in prefixes or _known(w) or not w.isalpha() or len(w) < 3:
                continue
            votes.setdefault((i, w), set()).add(category.category)
            if not in_name:
                teachers.setdefault((i, w), (category.category, t.name, category.because))
    return tuple(sorted((i, w, *teachers[(i, w)]) for (i, w), cats in votes.items()
                        if len(cats) == 1 and (i, w) in teachers))


def _from_siblings(words: list[str], context: ServerContext) -> _Decision | None:
    """The first word of the name that the server's own descriptions give a category."""
    for i, w in enumerate(words):
        for pos, word, category, sibling, because in context.learned:
            if (pos, word) == (i, w):
                return _Decision(category, f'name says "{w}" like {sibling} on this server ({because})',
                                 "sibling")
    return None


# ---------------------------------------------------------------------------------------------
# Category


@dataclass(frozen=True)
class _Decision:
    category: str
    because: str
    # what decided: name-verb, name-nounish, phrase, description, description-later, name-noun, context,
    # annotations, nothing
    source: str = "name-verb"
    context: bool = False


def _from_words(words: list[str], where: str, context: ServerContext = NO_CONTEXT) -> _Decision | None:
    verbs = _verbs(words, name=where == "name")
    if not verbs:
        return None
    primary = verbs[0]
    source = "name-verb" if where == "name" else "description"
    if primary.word in _NOUNISH:
        plainer = next((v for v in verbs[1:] if v.word not in _NOUNISH), None)
        if plainer is not None and plainer.category != primary.category:
            primary = plainer
        if where == "name":
            source = "name-nounish"
    later = [v for v in verbs if v is not primary]

    def eligible(v: _Verb) -> bool:
        if primary.category != "read":
            return True
        return v.word not in _FINANCIAL_AMBIGUOUS and v.word not in ("clear", "reset", "end", "void", "payout",
                                                                      "deposit")

    ranked = [primary] + later
    for v in ranked:
        if v.category == "destructive" and (v is primary or eligible(v)):
            return _Decision("destructive", f'{where} says "{v.word}"', source)
    for v in ranked:
        if v.category == "financial" and (v is primary or eligible(v)):
            return _Decision("financial", f'{where} says "{v.word}"', source)
    dom = context.spec
    if primary.category in ("write", "execute"):
        extra = dom.money_nouns if dom else frozenset()
        noun = _money_noun(words[primary.index + 1:], extra) or _money_noun(words[: primary.index], extra)
        if noun:
            if dom and noun not in _FINANCIAL_NOUNS:
                return _Decision("financial", f'{where} says "{primary.word}" … "{noun}" {context.phrase()}',
                                 source, context=True)
            return _Decision("financial", f'{where} says "{primary.word}" … "{noun}"', source)
        if dom and primary.word in dom.money_verbs:
            return _Decision("financial", f'{where} says "{primary.word}" {context.phrase()}', source, context=True)
    if context.domain == "desktop" and primary.category in ("read", "write") and primary.word in _DEVICE_VERBS:
        return _Decision("execute", f'{where} says "{primary.word}" {context.phrase()}', source, context=True)
    if context.domain == "desktop" and primary.category == "write":
        return _Decision("execute", f'{where} says "{primary.word}" {context.phrase()}', source, context=True)
    if primary.category == "write":
        for v in later:
            if v.category == "execute":
                return _Decision("execute", f'{where} says "{v.word}"', source)
    return _Decision(primary.category, f'{where} says "{primary.word}"', source)


def _first_sentence(text: str) -> str:
    text = text.strip()
    match = re.search(r"(?<=[.!?。])\s|\n\s*\n", text)
    return text[: match.start()] if match else text


def _annotation_hint(annotations: Mapping[str, object]) -> _Decision | None:
    ro = annotations.get("readOnlyHint")
    de = annotations.get("destructiveHint")
    if ro is True:
        return _Decision("read", "annotations say readOnlyHint (self-reported)", "annotations")
    if ro is False and de is True:
        return _Decision("destructive", "annotations say destructiveHint (self-reported)", "annotations")
    if ro is False:
        return _Decision("write", "annotations say not read-only (self-reported)", "annotations")
    return None


_ORDER = {c: i for i, c in enumerate(("read", "other", "write", "execute", "destructive", "financial"))}


def _description_words(tool: ToolInfo) -> list[str]:
    return [w for w in split_words(_first_sentence(tool.description), unglue=False) if w not in _SKIP]


def _categorise(tool: ToolInfo, context: ServerContext = NO_CONTEXT) -> _Decision:
    name_words = split_words(tool.name)
    decision = _from_words(name_words, "name", context)
    if decision is None and tool.description.strip():
        decision = _from_words(_description_words(tool), "description", context)
    if decision is None and context.learned:
        decision = _from_siblings(name_words, context)
    if decision is None:
        dom = context.spec
        noun = _money_noun(name_words, dom.money_nouns if dom else frozenset())
        if noun:
            where = f" {context.phrase()}" if dom and noun not in _FINANCIAL_NOUNS else ""
            decision = _Decision("financial", f'name says "{noun}"{where}', "name-noun", context=bool(where))
        else:
            read_noun = next((w for w in name_words if w in _READ_NOUNS), None)
            if read_noun:
                decision = _Decision("read", f'name says "{read_noun}"', "name-noun")
    if decision is None and tool.description.strip():
        # nothing in the name or the first sentence: a later one may still say what the tool does
        rest = [w for w in split_words(tool.description, unglue=False) if w not in _SKIP]
        later = _from_words(rest, "description", context)
        if later is not None:
            decision = _Decision(later.category, later.because, "description-later", later.context)
    if decision is None:
        decision = _annotation_hint(tool.annotations)
    if decision is None and context.domain == "desktop":
        decision = _Decision("execute", f"no action word; {context.phrase()}", "context", context=True)
    if decision is None:
        shown = " ".join(name_words[:4]) or tool.name
        if tool.description.strip():
            decision = _Decision("other", "no action word in the name or description", "nothing")
        else:
            decision = _Decision("other", f'the name\'s words ("{_quote(shown, 30)}") carry no action and there '
                                          "is no description", "nothing")

    # The whole description may raise the category (never lower it).
    text = tool.description
    if decision.category not in ("destructive", "financial"):
        for pattern in _DESTRUCTIVE_PHRASES:
            m = pattern.search(text)
            if m:
                decision = _Decision("destructive", f'description says "{_quote(m.group(0))}"', "phrase")
                break
    if decision.category not in ("destructive", "financial"):
        for pattern in _FINANCIAL_PHRASES:
            m = pattern.search(text)
            if m:
                decision = _Decision("financial", f'description says "{_quote(m.group(0))}"', "phrase")
                break

    hint = _annotation_hint(tool.annotations)
    if hint and decision.source != "annotations" and hint.category != decision.category:
        if _ORDER[hint.category] > _ORDER[decision.category]:
            because = decision.because + f"; annotations claim {hint.category} (hint only)"
            decision = _Decision(decision.category, because, decision.source, decision.context)
        elif hint.category == "read":
            because = decision.because + "; annotations claim read-only (not trusted)"
            decision = _Decision(decision.category, because, decision.source, decision.context)
    return decision


# ---------------------------------------------------------------------------------------------
# Confidence

# Critical words strong enough to doubt a read decision when they appear anywhere in the name or
# description (the ambiguous ones, "refund" in list_refunds, are nouns after a read verb).
_CRITICAL_DOUBT = {w: "destructive" for w in ("delete", "remove", "destroy", "drop", "purge", "truncate", "wipe",
                                              "erase", "revoke", "terminate", "kill", "uninstall", "expunge")}
_CRITICAL_DOUBT.update({w: "financial" for w in ("pay", "withdraw", "purchase", "buy", "sell", "payout",
                                                  "deposit", "remit", "swap")})


# the confidence of a decision by where it came from (phrase and name-verb decisions are judged in
# ``_confidence``), with the reason shown for it
_SOURCE_CONFIDENCE: dict[str, tuple[str, str]] = {
    "name-nounish": ("medium", "the name's action word is also a noun"),
    "description": ("medium", "no action word in the name; the description decides"),
    "sibling": ("low", "no action word; a word of the name that another tool of this server describes"),
    "description-later": ("low", "no action word in the name or the description's first sentence; "
                                 "a later sentence decides"),
    "name-noun": ("low", "no action word; decided by a noun in the name"),
    "context": ("low", "no action word; decided by the server context only"),
    "annotations": ("low", "only the self-reported annotations"),
}


def _confidence(tool: ToolInfo, decision: _Decision, context: ServerContext) -> tuple[str, tuple[str, ...], str | None]:
    """(level, reasons, alternative): the rule is in docs/scan.md ("Confidence")."""
    reasons: list[str] = []
    has_description = bool(tool.description.strip())
    source = decision.source
    if source == "phrase":
        level = "high"
        reasons.append("an explicit phrase in the description")
    elif source == "name-verb":
        if not has_description:
            level = "medium"
            reasons.append("name only (no description)")
        else:
            said = _from_words(_description_words(tool), "description", context)
            if said is None or said.category == decision.category:
                level = "high"
                reasons.append("name and description agree" if said else "action word in the name")
            else:
                level = "medium"
                reasons.append(f"description reads as {said.category}")
    else:
        level, why = _SOURCE_CONFIDENCE.get(source, ("low", "nothing to go on"))
        reasons.append(why)
    if decision.context and level == "high":
        level = "medium"
    if decision.context:
        reasons.append("server context")
    if "(hint only)" in decision.because and level == "high":
        level = "medium"
        reasons.append("annotations claim a riskier category")

    alternative = None
    if decision.category == "read":
        words = [_base(w) for w in split_words(tool.name) + split_words(tool.description, unglue=False)]
        doubt = next((w for w in words if w in _CRITICAL_DOUBT), None)
        if doubt is not None and level != "high":
            alternative = _CRITICAL_DOUBT[doubt]
            reasons.append(f'also says "{doubt}" ({alternative})')
    return level, tuple(reasons), alternative


def _quote(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------
# Signals


def _property_signals(tool: ToolInfo) -> list[tuple[str, str]]:
    props = tool.input_schema.get("properties")
    props = props if isinstance(props, dict) else {}
    out: dict[str, str] = {}
    for name, spec in props.items():
        words = split_words(name, unglue=False)
        if not words:
            continue
        joined = "_".join(words)
        pairs = set(zip(words, words[1:]))
        if "secret" not in out and (words[-1] in _SECRET_WORDS or joined in _SECRET_WORDS
                                    or pairs & _SECRET_PAIRS):
            out["secret"] = name
        if "freeform-code" not in out and (joined in _CODE_WHOLE or words[-1] in _CODE_LAST):
            out["freeform-code"] = name
        if "filesystem-path" not in out and any(w in _PATH_WORDS for w in words):
            bare = set(words) <= {"path", "paths"}
            if not (bare and any(_NOT_FS_PATH.search(t) for t in _texts(tool))):
                out["filesystem-path"] = name
        fmt = spec.get("format") if isinstance(spec, dict) else None
        if "url" not in out and (any(w in _URL_WORDS for w in words) or fmt in ("uri", "url", "iri")):
            out["url"] = name
    if len(props) > MANY_PARAMETERS:
        out["many-parameters"] = f"{len(props)} parameters"
    return list(out.items())


def _texts(tool: ToolInfo) -> Iterable[str]:
    yield tool.description
    if tool.title:
        yield tool.title
    props = tool.input_schema.get("properties")
    if isinstance(props, dict):
        for spec in props.values():
            if isinstance(spec, dict):
                for key in ("description", "title"):
                    value = spec.get(key)
                    if isinstance(value, str):
                        yield value


def suspicious_reasons(tool: ToolInfo, server_tools: frozenset[str] = frozenset()) -> list[str]:
    """Why a tool's text looks like it carries instructions for the model (empty when clean)."""
    reasons: list[str] = []
    for text in _texts(tool):
        for pattern, reason in _SUSPICIOUS:
            if reason not in reasons and pattern.search(text):
                reasons.append(reason)
        if server_tools:
            for m in _TOOL_REF.finditer(text):
                ident = m.group("a") or m.group("b")
                if ident == tool.name or ident in server_tools:
                    continue
                reason = f"refers to a tool this server does not list ({_quote(ident, 40)})"
                if reason not in reasons:
                    reasons.append(reason)
                break
    return reasons


# ---------------------------------------------------------------------------------------------
# Public API


def classify(tool: ToolInfo, *, server_tools: Iterable[str] = (), vetted: Mapping[str, object] | None = None,
             context: ServerContext = NO_CONTEXT) -> Risk:
    """Category, severity, signals, rationale and confidence of one tool.

    ``server_tools`` (every tool name on the same server) lets the suspicious-description check tell
    a reference to a sibling tool from one to a tool elsewhere. ``vetted`` is a catalog entry's
    ``{"category": …, "reason": …}`` that overrides the classifier. ``context`` is the server's
    (``server_context``); ``classify_snapshot`` works it out.
    """
    names = frozenset(server_tools)
    found = _property_signals(tool)
    reasons = suspicious_reasons(tool, names)
    if reasons:
        found.append(("suspicious-description", "; ".join(reasons)))
    signals = tuple(s for s in SIGNALS if s in {name for name, _ in found})
    if vetted and vetted.get("category") in CATEGORIES:
        category = str(vetted["category"])
        reason = str(vetted.get("reason") or "vetted in the policyctl catalog")
        rationale = f"{category}: vetted in the catalog: {reason}"
        return Risk(category, SEVERITY[category], signals, _one_line(rationale, reasons), vetted=True,
                    confidence="high", confidence_reasons=("vetted in the catalog",))
    decision = _categorise(tool, context)
    level, why, alternative = _confidence(tool, decision, context)
    rationale = f"{decision.category}: {decision.because}"
    return Risk(decision.category, SEVERITY[decision.category], signals, _one_line(rationale, reasons),
                confidence=level, confidence_reasons=why, alternative=alternative)


def _one_line(rationale: str, reasons: list[str]) -> str:
    if reasons:
        rationale += f"; suspicious: {reasons[0]}"
    return " ".join(rationale.split())


def classify_snapshot(snapshot: Snapshot, vetted: Mapping[str, Mapping[str, object]] | None = None) -> dict[str, Risk]:
    """Every tool of a snapshot, in snapshot order, each read in its server's context."""
    names = frozenset(snapshot.names)
    vetted = vetted or {}
    context = server_context(snapshot.server_name, snapshot.tools, snapshot.instructions)
    return {t.name: classify(t, server_tools=names, vetted=vetted.get(t.name), context=context)
            for t in snapshot.tools}

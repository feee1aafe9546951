"""Security from ruff's flake8-bandit rules (`S` codes), scored as bandit would score them.

With `securityEngine = "ruff"` (the default) the `S` rules run in the same
ruff process as lint, so security costs almost nothing; bandit in-process is
about half of an uncached review. When ruff cannot run, the engine falls back
to bandit for that file. Each `S` code is the port of the bandit test with the same
number (S602 is B602), and gets that test's severity and confidence from
`TABLE`, so the security score keeps bandit's formula. tests/unit/
test_ruff_security.py keeps `TABLE` in step with the installed bandit and ruff.

A few bandit tests pick their severity from the code they flag. Where ruff's
message tells the two cases apart it is used (`bandit_match.by_message`); otherwise the
table holds the severity bandit reports most often on the standard library.
"""

from __future__ import annotations

import ast
import re
from collections import deque
from collections.abc import Iterable, Iterator

from tapps_lsp.review.analyzers import bandit_match as match
from tapps_lsp.review.analyzers.bandit_extras import BanditExtras
from tapps_lsp.review.analyzers.bandit_security import SEVERITY
from tapps_lsp.review.analyzers.base import Analyzer, Outcome, Source, Stage
from tapps_lsp.review.analyzers.nosec import NosecScopes, noqa
from tapps_lsp.review.analyzers.ruff import is_security
from tapps_lsp.review.model import Finding

# Bandit's import blacklist (B401-B415), in its order: S code, modules matched
# as bandit does (the dotted name starts with one). Ruff runs most of these only
# in preview mode, and `--preview` changes stable lint rules too (F822 on the
# standard library), so they are checked here on the tree the engine parsed.
IMPORTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("S401", ("telnetlib",)),
    ("S402", ("ftplib",)),
    ("S403", ("pickle", "cPickle", "dill", "shelve")),
    ("S404", ("subprocess",)),
    ("S405", ("xml.etree.cElementTree", "xml.etree.ElementTree")),
    ("S406", ("xml.sax",)),
    ("S407", ("xml.dom.expatbuilder",)),
    ("S408", ("xml.dom.minidom",)),
    ("S409", ("xml.dom.pulldom",)),
    ("S411", ("xmlrpc",)),
    (
        "S412",
        (
            "wsgiref.handlers.CGIHandler",
            "twisted.web.twcgi.CGIScript",
            "twisted.web.twcgi.CGIDirectory",
        ),
    ),
    (
        "S413",
        tuple(
            "Crypto." + module
            for module in "Cipher Hash IO Protocol PublicKey Random Signature Util".split()
        ),
    ),
    ("S415", ("pyghmi",)),
)
_IMPORT_CODES = frozenset(code for code, _ in IMPORTS)
# A blacklisted import names one of these top-level modules: most files have none
# and skip the walk over their tree. Looking for the names as plain substrings first
# is four times faster than the expression alone.
_ROOT_NAMES = tuple(sorted({m.split(".")[0] for _, ms in IMPORTS for m in ms}))
_IMPORT_ROOTS = re.compile(r"\b(?:" + "|".join(_ROOT_NAMES) + ")")
# Where an import statement can be: in blocks of statements, `except` clauses and cases.
_BLOCK_FIELDS = ("body", "handlers", "orelse", "finalbody", "cases")
_HOLDERS: tuple[type[ast.AST], ...] = (
    ast.Module,
    ast.ExceptHandler,
    ast.match_case,
    *ast.stmt.__subclasses__(),
)
# node type -> its fields that hold them, in order.
_BLOCKS_OF = {kind: tuple(f for f in kind._fields if f in _BLOCK_FIELDS) for kind in _HOLDERS}

# S code -> (bandit test id, severity, confidence) of bandit 1.9.
TABLE: dict[str, tuple[str, str, str]] = {
    "S101": ("B101", "LOW", "HIGH"),
    "S102": ("B102", "MEDIUM", "HIGH"),
    # MEDIUM for a group-writable mode, HIGH when world-writable (see bandit_match.by_message).
    "S103": ("B103", "MEDIUM", "HIGH"),
    "S104": ("B104", "MEDIUM", "MEDIUM"),
    "S105": ("B105", "LOW", "MEDIUM"),
    "S106": ("B106", "LOW", "MEDIUM"),
    "S107": ("B107", "LOW", "MEDIUM"),
    "S108": ("B108", "MEDIUM", "MEDIUM"),
    "S110": ("B110", "LOW", "HIGH"),
    "S112": ("B112", "LOW", "HIGH"),
    "S113": ("B113", "MEDIUM", "LOW"),
    "S201": ("B201", "HIGH", "MEDIUM"),
    # Bandit: LOW for a filter, MEDIUM for a `members=` function, HIGH when unfiltered.
    "S202": ("B202", "HIGH", "HIGH"),
    "S301": ("B301", "MEDIUM", "HIGH"),
    "S302": ("B302", "MEDIUM", "HIGH"),
    "S303": ("B303", "MEDIUM", "HIGH"),
    "S304": ("B304", "HIGH", "HIGH"),
    "S305": ("B305", "MEDIUM", "HIGH"),
    "S306": ("B306", "MEDIUM", "HIGH"),
    "S307": ("B307", "MEDIUM", "HIGH"),
    "S308": ("B308", "MEDIUM", "HIGH"),
    "S310": ("B310", "MEDIUM", "HIGH"),
    "S311": ("B311", "LOW", "HIGH"),
    "S312": ("B312", "HIGH", "HIGH"),
    "S313": ("B313", "MEDIUM", "HIGH"),
    "S314": ("B314", "MEDIUM", "HIGH"),
    "S315": ("B315", "MEDIUM", "HIGH"),
    "S316": ("B316", "MEDIUM", "HIGH"),
    "S317": ("B317", "MEDIUM", "HIGH"),
    "S318": ("B318", "MEDIUM", "HIGH"),
    "S319": ("B319", "MEDIUM", "HIGH"),
    "S321": ("B321", "HIGH", "HIGH"),
    "S323": ("B323", "MEDIUM", "HIGH"),
    # HIGH for md4/md5/sha1 without usedforsecurity=False; MEDIUM for other weak hashes.
    "S324": ("B324", "HIGH", "HIGH"),
    "S401": ("B401", "HIGH", "HIGH"),
    "S402": ("B402", "HIGH", "HIGH"),
    "S403": ("B403", "LOW", "HIGH"),
    "S404": ("B404", "LOW", "HIGH"),
    "S405": ("B405", "LOW", "HIGH"),
    "S406": ("B406", "LOW", "HIGH"),
    "S407": ("B407", "LOW", "HIGH"),
    "S408": ("B408", "LOW", "HIGH"),
    "S409": ("B409", "LOW", "HIGH"),
    "S411": ("B411", "HIGH", "HIGH"),
    "S412": ("B412", "HIGH", "HIGH"),
    "S413": ("B413", "HIGH", "HIGH"),
    "S415": ("B415", "HIGH", "HIGH"),
    "S501": ("B501", "HIGH", "HIGH"),
    "S502": ("B502", "HIGH", "HIGH"),
    "S503": ("B503", "MEDIUM", "MEDIUM"),
    "S504": ("B504", "LOW", "MEDIUM"),
    # Bandit: HIGH below the key size attackers break today, MEDIUM below the advised one.
    "S505": ("B505", "HIGH", "HIGH"),
    "S506": ("B506", "MEDIUM", "HIGH"),
    "S507": ("B507", "HIGH", "MEDIUM"),
    "S508": ("B508", "MEDIUM", "HIGH"),
    "S509": ("B509", "MEDIUM", "HIGH"),
    "S601": ("B601", "MEDIUM", "MEDIUM"),
    # HIGH with a built command, LOW with a literal one (see bandit_match.by_message).
    "S602": ("B602", "HIGH", "HIGH"),
    "S603": ("B603", "LOW", "HIGH"),
    "S604": ("B604", "MEDIUM", "LOW"),
    "S605": ("B605", "HIGH", "HIGH"),
    "S606": ("B606", "LOW", "MEDIUM"),
    "S607": ("B607", "LOW", "HIGH"),
    "S608": ("B608", "MEDIUM", "LOW"),
    "S609": ("B609", "HIGH", "MEDIUM"),
    "S610": ("B610", "MEDIUM", "MEDIUM"),
    "S611": ("B611", "MEDIUM", "MEDIUM"),
    "S612": ("B612", "MEDIUM", "HIGH"),
    "S701": ("B701", "HIGH", "HIGH"),
    "S702": ("B702", "MEDIUM", "HIGH"),
    "S704": ("B704", "MEDIUM", "HIGH"),
}


def imports(tree: ast.Module, lines: list[str]) -> list[Finding]:
    """Bandit's import blacklist: at most one finding per import statement, as bandit."""
    found: list[Finding] = []
    text = "\n".join(lines)
    if not any(name in text for name in _ROOT_NAMES) or not _IMPORT_ROOTS.search(text):
        return found
    for node in _statements(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        match = _blacklisted(node)
        if match is None:
            continue
        code, name = match
        line = node.lineno - 1
        text = lines[line] if line < len(lines) else ""
        if noqa(text, code):
            continue
        end_line = (node.end_lineno or node.lineno) - 1
        found.append(
            Finding(
                source="tapps",
                code=code,
                message=f"Import of `{name}`, which bandit flags ({TABLE[code][0]})",
                severity="information",
                category="security",
                line=line,
                col=len(text) - len(text.lstrip()),
                end_line=end_line,
                end_col=len(lines[end_line]) if end_line < len(lines) else len(text),
            )
        )
    return found


def _statements(tree: ast.Module) -> Iterator[ast.AST]:
    """The statements (and `except` clauses and cases) of `tree` in `ast.walk`'s order,
    breadth first, without walking the expressions, where no statement can be."""
    queue: deque[ast.AST] = deque([tree])
    while queue:
        node = queue.popleft()
        yield node
        for name in _BLOCKS_OF.get(type(node), ()):
            queue.extend(getattr(node, name))


def _blacklisted(node: ast.Import | ast.ImportFrom) -> tuple[str, str] | None:
    """(S code, imported name) of the first blacklisted name the import binds, or None."""
    module = getattr(node, "module", None)
    prefix = module + "." if module else ""
    return next(
        (
            (code, alias.name)
            for code, modules in IMPORTS
            for alias in node.names
            if (prefix + alias.name).startswith(modules)
        ),
        None,
    )


# ruff's names of the rules `extras` adds findings of (their documentation pages).
_RULE_NAMES = {
    "S101": "assert",
    "S105": "hardcoded-password-string",
    "S201": "flask-debug-true",
    "S311": "suspicious-non-cryptographic-random-usage",
}
# A file can need `extras` only when a line matches: ruff misses asserts only
# under TYPE_CHECKING, and a password-like dict key is a quoted word and a colon.
_EXTRAS_HINT = re.compile(r"TYPE_CHECKING|random|flask|(?i:pas|pwd|token|secret)\w*['\"]\s*:")
# The same, found in the whole text five times faster: the plain words as substrings,
# and the password-like key led by a set of characters (every character that matches
# p, t or s ignoring case; tests/unit/test_ruff_security.py checks them), which the
# expression engine skips to instead of trying each word at every position.
_EXTRAS_WORDS = ("TYPE_CHECKING", "random", "flask")
_EXTRAS_KEY = re.compile("[pPtTsS\u017f](?i:(?<=p)(?:as|wd)|(?<=t)oken|(?<=s)ecret)\\w*['\"]\\s*:")


def extras(findings: list[Finding], tree: ast.Module, lines: list[str]) -> list[Finding]:
    """`findings` plus what bandit reports and ruff's `S` rules do not (docs/scoring.md).

    B101 on every `assert` (ruff skips those under `if TYPE_CHECKING:`), B105 on a
    password-like key of a dict literal given a constant, B311 on `random.sample`
    and `random.getrandbits`, and B201 on any `<x>.run(debug=True)` in a file that
    imports a module named like flask (ruff only when it resolves a Flask app):
    each matched as bandit matches it, names resolved through the imports seen so
    far in source order.
    """
    if not _may_need_extras(lines):
        return findings
    visitor = BanditExtras(lines, {f.line for f in findings if f.code == "S101"}, _RULE_NAMES)
    visitor.visit(tree)
    if not visitor.found:
        return findings
    if any(f.code == "S201" for f in visitor.found):  # bandit's S201 covers ruff's
        findings = [f for f in findings if f.code != "S201"]
    return findings + visitor.found


def _may_need_extras(lines: list[str]) -> bool:
    """Whether a line matches `_EXTRAS_HINT`; the whole text is looked at first (a
    match in a line is one in the text, and few texts have one)."""
    text = "\n".join(lines)
    if not any(word in text for word in _EXTRAS_WORDS) and not _EXTRAS_KEY.search(text):
        return False
    return any(_EXTRAS_HINT.search(line) for line in lines)


def split(
    findings: Iterable[Finding], tree: ast.Module, lines: list[str]
) -> tuple[list[Finding], list[Finding], dict[str, int]]:
    """(lint findings, security findings, security count per bandit severity).

    `findings` are ruff's (run with `S` selected) plus `imports()`.
    """
    findings = extras(list(findings), tree, lines)
    tree_calls = match.Calls(tree)
    calls = match.shell_arguments(tree_calls, lines) if _any_at_shell(findings) else {}
    scopes: NosecScopes | None = None
    lint: list[Finding] = []
    security: list[Finding] = []
    counts = {"HIGH": 0, "MEDIUM": 0, "LOW": 0}
    for f in findings:
        if not is_security(f.code):
            lint.append(f)
            continue
        entry = TABLE.get(f.code)
        if entry is None or (f.source == "ruff" and f.code in _IMPORT_CODES):
            # A rule bandit does not have, or ruff's import check (imports() is bandit's).
            continue
        test_id, severity, confidence = entry
        if f.code in match.AT_SHELL:
            f = match.at_shell(f, calls, lines)
        elif f.code in match.AT_CALL:
            f = match.at_call(f, tree_calls, lines)
        if scopes is None:
            scopes = NosecScopes(tree, lines)
        if scopes.skips(f, test_id):
            continue
        severity = match.by_message(f.code, f.message, severity)
        counts[severity] += 1
        security.append(
            Finding(
                source=f.source,
                code=f.code,
                message=f.message,
                severity=SEVERITY[severity],
                category="security",
                line=f.line,
                col=f.col,
                end_line=f.end_line,
                end_col=f.end_col,
                url=f.url,
                fix=f.fix,
                data={**f.data, "bandit": test_id, "severity": severity, "confidence": confidence},
            )
        )
    return lint, security, counts


def _any_at_shell(findings: list[Finding]) -> bool:
    """Whether a finding is one bandit reports at the call's `shell=` argument."""
    return any(f.code in match.AT_SHELL for f in findings)


class RuffSecurity(Analyzer):
    """Security from ruff's `S` findings (`Source.lint`), as bandit would score them.

    For a file that parses, as with bandit; the lint findings left are the ruff
    analyzer's, which leaves the `S` ones out with this engine.
    """

    name = "security"
    stage = Stage.TREE

    def wanted(self, source: Source) -> bool:
        """With the ruff engine, when ruff ran and the file parses."""
        return (
            source.settings.securityEngine == "ruff"
            and source.lint is not None
            and source.module is not None
        )

    def analyze(self, source: Source) -> Outcome:
        """The security findings and their count per bandit severity."""
        tree, lines = source.module, source.lines
        assert tree is not None and source.lint is not None  # wanted() said so
        _, security, counts = split(source.lint + imports(tree, lines), tree, lines)
        return Outcome(security, {"security_counts": counts})


ANALYZER = RuffSecurity()

"""Security from ruff's flake8-bandit rules (`S` codes), scored as bandit would score them.

With `securityEngine = "ruff"` (the default) the `S` rules run in the same
ruff process as lint, so security costs almost nothing; bandit in-process is
about half of an uncached review. When ruff cannot run, the engine falls back
to bandit for that file. Each `S` code is the port of the bandit test with the same
number (S602 is B602), and gets that test's severity and confidence from
`TABLE`, so the security score keeps bandit's formula. tests/unit/
test_ruff_security.py keeps `TABLE` in step with the installed bandit and ruff.

A few bandit tests pick their severity from the code they flag. Where ruff's
message tells the two cases apart it is used (`_by_message`); otherwise the
table holds the severity bandit reports most often on the standard library.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Iterable

from tapps_lsp.review.analyzers.bandit_security import SEVERITY
from tapps_lsp.review.model import Finding
from tapps_lsp.review.positions import utf8_byte_to_codepoint

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
# and skip the walk over their tree.
_IMPORT_ROOTS = re.compile(
    r"\b(?:" + "|".join(sorted({m.split(".")[0] for _, ms in IMPORTS for m in ms})) + ")"
)

# S code -> (bandit test id, severity, confidence) of bandit 1.9.
TABLE: dict[str, tuple[str, str, str]] = {
    "S101": ("B101", "LOW", "HIGH"),
    "S102": ("B102", "MEDIUM", "HIGH"),
    # MEDIUM for a group-writable mode, HIGH when world-writable (see _by_message).
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
    # HIGH with a built command, LOW with a literal one (see _by_message).
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

# ruff says "seems safe" where bandit lowers B602/B605 to LOW (a literal command).
_SEEMS_SAFE = "seems safe"
_MASK = re.compile(r"mask (0o[0-7]+)")
# Bandit reports these at the call's `shell=` argument, ruff at the call.
_AT_SHELL = frozenset({"S602", "S603", "S604"})
# Bandit reports these at the call, ruff at the argument (on a later line, maybe).
_AT_CALL = frozenset({"S607"})
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.I)
_NOSEC = re.compile(r"#\s*nosec:?\s*(?P<tests>[^#]+)?")
_NOSEC_IDS = re.compile(r"B\d+", re.IGNORECASE)
# Nodes whose line range bandit searches for a `# nosec` (see _NosecScopes).
_SCOPES = (ast.Call, ast.stmt, ast.ExceptHandler)
_COMPOUND = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.TryStar,
    ast.Match,
)


def _by_message(code: str, message: str, severity: str) -> str:
    """Bandit's severity where it depends on the flagged code and ruff's message shows it."""
    if code in ("S602", "S605") and _SEEMS_SAFE in message:
        return "LOW"
    if code == "S103":
        mask = _MASK.search(message)
        if mask and not int(mask.group(1), 8) & 0o2:  # not world-writable
            return "MEDIUM"
        if mask:
            return "HIGH"
    return severity


def _noqa(line: str, code: str) -> bool:
    """A ruff `# noqa` comment that covers `code` (ruff applies it to its own S rules)."""
    found = _NOQA.search(line) if "noqa" in line else None
    return found is not None and (not found.group("codes") or code in found.group("codes"))


def _nosec_tests(line: str) -> set[str] | None:
    """The test ids a `# nosec` comment on the line names (empty: all tests), or None."""
    if "nosec" not in line:
        return None
    found = _NOSEC.search(line)
    if found is None:
        return None
    return {t.upper() for t in _NOSEC_IDS.findall(found.group("tests") or "")}


class _NosecScopes:
    """Which `# nosec` comments cover a finding, as bandit reads them.

    Bandit skips a test when the finding's own line, or the first line with a
    `# nosec` in the range of the node the test looked at, names it (or names no
    test at all): `out = subprocess.run(  # nosec B603` covers the arguments on
    the lines below. That node is taken to be the innermost call, simple
    statement or `except` clause holding the finding.
    """

    def __init__(self, tree: ast.Module, lines: list[str]) -> None:
        self.lines = lines
        self.comments = {
            i: t for i, line in enumerate(lines) if (t := _nosec_tests(line)) is not None
        }
        self.ranges: list[tuple[tuple[int, int], tuple[int, int]]] = []
        if self.comments:
            for node in ast.walk(tree):
                if isinstance(node, _SCOPES) and not isinstance(node, _COMPOUND):
                    end = ((node.end_lineno or node.lineno) - 1, node.end_col_offset or 0)
                    self.ranges.append(((node.lineno - 1, node.col_offset), end))

    def skips(self, f: Finding, test_id: str) -> bool:
        """Whether a `# nosec` covers finding `f` of bandit test `test_id`."""
        if not self.comments:
            return False
        base = self.comments.get(f.line)
        context = self._context(f)
        if base is None and context is None:
            return False
        tests = (base or set()) | (context or set())
        return not tests or test_id.upper() in tests

    def _context(self, f: Finding) -> set[str] | None:
        text = self.lines[f.line] if f.line < len(self.lines) else ""
        at = (f.line, len(text[: f.col].encode("utf-8", "surrogatepass")))
        # Nested nodes start later, or at the same place and end sooner.
        inner = max(
            (r for r in self.ranges if r[0] <= at < r[1]),
            key=lambda r: (r[0], (-r[1][0], -r[1][1])),
            default=None,
        )
        if inner is None:
            return None
        (first, _), (last, _) = inner
        return next((self.comments[i] for i in range(first, last + 1) if i in self.comments), None)


def _is_security(code: str) -> bool:
    return code.startswith("S") and code[1:].isdigit()  # not SIM, SLF, ...


def lint_only(findings: Iterable[Finding]) -> list[Finding]:
    """Ruff's findings without its `S` ones (a file whose security is not measured)."""
    return [f for f in findings if not _is_security(f.code)]


def imports(tree: ast.Module, lines: list[str]) -> list[Finding]:
    """Bandit's import blacklist: at most one finding per import statement, as bandit."""
    found: list[Finding] = []
    if not any(_IMPORT_ROOTS.search(line) for line in lines):
        return found
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        module = getattr(node, "module", None)
        prefix = module + "." if module else ""
        match = next(
            (
                (code, alias.name)
                for code, modules in IMPORTS
                for alias in node.names
                if (prefix + alias.name).startswith(modules)
            ),
            None,
        )
        if match is None:
            continue
        code, name = match
        if _noqa(lines[node.lineno - 1] if node.lineno <= len(lines) else "", code):
            continue
        line = node.lineno - 1
        end_line = (node.end_lineno or node.lineno) - 1
        text = lines[line] if line < len(lines) else ""
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


# bandit 1.9's B105 names (plugins/general_hardcoded_password.py).
_W = "(pas+wo?r?d|pass(phrase)?|pwd|token|secrete?)"
_PASSWORD_NAME = re.compile(f"(^{_W}$|_{_W}_|^{_W}_|_{_W}$)", re.IGNORECASE)
# ruff's names of the rules `extras` adds findings of (their documentation pages).
_RULE_NAMES = {
    "S101": "assert",
    "S105": "hardcoded-password-string",
    "S201": "flask-debug-true",
    "S311": "suspicious-non-cryptographic-random-usage",
}
# B311 calls that ruff's S311 does not list.
_RANDOM_EXTRAS = frozenset({"random.sample", "random.getrandbits"})
# A file can need `extras` only when a line matches: ruff misses asserts only
# under TYPE_CHECKING, and a password-like dict key is a quoted word and a colon.
_EXTRAS_HINT = re.compile(r"TYPE_CHECKING|random|flask|(?i:pas|pwd|token|secret)\w*['\"]\s*:")


def extras(findings: list[Finding], tree: ast.Module, lines: list[str]) -> list[Finding]:
    """`findings` plus what bandit reports and ruff's `S` rules do not (docs/scoring.md).

    B101 on every `assert` (ruff skips those under `if TYPE_CHECKING:`), B105 on a
    password-like key of a dict literal given a constant, B311 on `random.sample`
    and `random.getrandbits`, and B201 on any `<x>.run(debug=True)` in a file that
    imports a module named like flask (ruff only when it resolves a Flask app):
    each matched as bandit matches it, names resolved through the imports seen so
    far in source order.
    """
    if not any(_EXTRAS_HINT.search(line) for line in lines):
        return findings
    visitor = _Extras(lines, {f.line for f in findings if f.code == "S101"})
    visitor.visit(tree)
    if not visitor.found:
        return findings
    if any(f.code == "S201" for f in visitor.found):  # bandit's S201 covers ruff's
        findings = [f for f in findings if f.code != "S201"]
    return findings + visitor.found


class _Extras(ast.NodeVisitor):
    """One walk in bandit's order collecting the findings `extras` adds."""

    def __init__(self, lines: list[str], asserts_reported: set[int]) -> None:
        self.lines = lines
        self.asserts_reported = asserts_reported
        self.aliases: dict[str, str] = {}
        self.imports: set[str] = set()
        self.found: list[Finding] = []

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            self.imports.add(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module is None:
            self.visit_Import(node)
            return
        for alias in node.names:
            self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            self.imports.add(f"{node.module}.{alias.name}")

    def visit_Assert(self, node: ast.Assert) -> None:
        if node.lineno - 1 not in self.asserts_reported:
            self._add("S101", "Use of `assert` detected", node, node)
        self.generic_visit(node)

    def visit_Dict(self, node: ast.Dict) -> None:
        for key, value in zip(node.keys, node.values, strict=True):
            if (
                isinstance(key, ast.Constant)
                and isinstance(key.value, str)
                and _PASSWORD_NAME.search(key.value)
                and isinstance(value, ast.Constant)
            ):
                message = f'Possible hardcoded password assigned to: "{key.value}"'
                self._add("S105", message, key, value)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = _call_name(node.func, self.aliases)
        if name in _RANDOM_EXTRAS:
            message = (
                "Standard pseudo-random generators are not suitable for cryptographic purposes"
            )
            self._add("S311", message, node, node)
        if name.endswith(".run") and any("flask" in i for i in self.imports):
            debug = next((k for k in node.keywords if k.arg == "debug"), None)
            if debug is not None and _literal(debug.value) == "True":
                self._add("S201", "Use of `debug=True` in Flask app detected", debug, debug)
        self.generic_visit(node)

    def _add(self, code: str, message: str, start: ast.AST, end: ast.AST) -> None:
        line = start.lineno - 1  # type: ignore[attr-defined]
        end_line = (end.end_lineno or end.lineno) - 1  # type: ignore[attr-defined]
        text = self.lines[line] if line < len(self.lines) else ""
        if _noqa(text, code):
            return
        end_text = self.lines[end_line] if end_line < len(self.lines) else ""
        self.found.append(
            Finding(
                source="tapps",
                code=code,
                message=message,
                severity="information",
                category="security",
                line=line,
                col=utf8_byte_to_codepoint(text, start.col_offset),  # type: ignore[attr-defined]
                end_line=end_line,
                end_col=utf8_byte_to_codepoint(end_text, end.end_col_offset or 0),  # type: ignore[attr-defined]
                url=f"https://docs.astral.sh/ruff/rules/{_RULE_NAMES[code]}",
                data={"name": _RULE_NAMES[code]},
            )
        )


def _call_name(func: ast.expr, aliases: dict[str, str]) -> str:
    """The dotted name bandit gives a call (`utils.get_call_name`): "" when not a name."""
    if isinstance(func, ast.Name):
        return aliases.get(func.id, func.id)
    if isinstance(func, ast.Attribute):
        name = f"{_call_name(func.value, aliases)}.{func.attr}"
        return aliases.get(name, name)
    return ""


def _literal(node: ast.expr) -> object:
    """A keyword's value as bandit compares it: `True`, `None` as strings; an attribute's name."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant):
        return str(node.value) if node.value is None or isinstance(node.value, bool) else node.value
    return None


def _shell_arguments(tree: ast.Module, lines: list[str]) -> dict[tuple[int, int], ast.keyword]:
    """(line, code-point column) of each call with a `shell=` argument -> that argument."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "shell":
                    line = node.lineno - 1
                    text = lines[line] if line < len(lines) else ""
                    found[line, utf8_byte_to_codepoint(text, node.col_offset)] = kw
    return found


def _at_shell(f: Finding, calls: dict[tuple[int, int], ast.keyword], lines: list[str]) -> Finding:
    kw = calls.get((f.line, f.col))
    if kw is None or kw.lineno - 1 == f.line:
        return f
    line, end_line = kw.lineno - 1, (kw.end_lineno or kw.lineno) - 1
    return dataclasses.replace(
        f,
        line=line,
        col=utf8_byte_to_codepoint(lines[line], kw.col_offset),
        end_line=end_line,
        end_col=utf8_byte_to_codepoint(lines[end_line], kw.end_col_offset or 0),
    )


def _at_call(f: Finding, tree: ast.Module, lines: list[str]) -> Finding:
    """A finding ruff puts at a call's argument, moved to the call's start as bandit puts it."""
    text = lines[f.line] if f.line < len(lines) else ""
    at = (f.line + 1, len(text[: f.col].encode("utf-8", "surrogatepass")))
    inner = max(
        (
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and (node.lineno, node.col_offset)
            <= at
            < (node.end_lineno or 0, node.end_col_offset or 0)
        ),
        key=lambda node: (node.lineno, node.col_offset),
        default=None,
    )
    if inner is None:
        return f
    line = inner.lineno - 1
    return dataclasses.replace(
        f, line=line, col=utf8_byte_to_codepoint(lines[line], inner.col_offset)
    )


def split(
    findings: Iterable[Finding], tree: ast.Module, lines: list[str]
) -> tuple[list[Finding], list[Finding], dict[str, int]]:
    """(lint findings, security findings, security count per bandit severity).

    `findings` are ruff's (run with `S` selected) plus `imports()`.
    """
    findings = extras(list(findings), tree, lines)
    calls = _shell_arguments(tree, lines) if any(f.code in _AT_SHELL for f in findings) else {}
    scopes: _NosecScopes | None = None
    lint: list[Finding] = []
    security: list[Finding] = []
    counts = {"HIGH": 0, "MEDIUM": 0, "LOW": 0}
    for f in findings:
        if not _is_security(f.code):
            lint.append(f)
            continue
        entry = TABLE.get(f.code)
        if entry is None or (f.source == "ruff" and f.code in _IMPORT_CODES):
            # A rule bandit does not have, or ruff's import check (imports() is bandit's).
            continue
        test_id, severity, confidence = entry
        if f.code in _AT_SHELL:
            f = _at_shell(f, calls, lines)
        elif f.code in _AT_CALL:
            f = _at_call(f, tree, lines)
        if scopes is None:
            scopes = _NosecScopes(tree, lines)
        if scopes.skips(f, test_id):
            continue
        severity = _by_message(f.code, f.message, severity)
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

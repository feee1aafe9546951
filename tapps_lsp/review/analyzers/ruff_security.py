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
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.I)
_NOSEC = re.compile(r"#\s*nosec:?\s*(?P<tests>[^#]+)?")
_NOSEC_IDS = re.compile(r"B\d+", re.IGNORECASE)


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


def _nosec(line: str, test_id: str) -> bool:
    """A bandit `# nosec` comment on the line that covers this test (all tests, or its id)."""
    if "nosec" not in line:
        return False
    found = _NOSEC.search(line)
    if found is None:
        return False
    tests = found.group("tests")
    if not tests:
        return True
    return test_id.upper() in {t.upper() for t in _NOSEC_IDS.findall(tests)}


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


def split(
    findings: Iterable[Finding], tree: ast.Module, lines: list[str]
) -> tuple[list[Finding], list[Finding], dict[str, int]]:
    """(lint findings, security findings, security count per bandit severity).

    `findings` are ruff's (run with `S` selected) plus `imports()`.
    """
    findings = list(findings)
    calls = _shell_arguments(tree, lines) if any(f.code in _AT_SHELL for f in findings) else {}
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
        if f.line < len(lines) and _nosec(lines[f.line], test_id):
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

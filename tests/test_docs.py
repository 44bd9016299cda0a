"""The documentation a new engineer reads first stays true (issue 25).

- Every rule id the code or the tests cite has its entry in docs/rules.md, so any id is found
  in one step.
- The README stays a door: under 300 lines.
- Every relative link of the README and of docs/*.md reaches a file that exists, and, where it
  names a heading of a Markdown page, that heading; every page of docs/ is reachable from the
  README.
- docs/architecture.md's seams (`path` `name`) name files and names that exist, and its table
  of layers is the one tests/test_layers.py enforces.
Read as text: nothing is imported or run.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from tests.test_layers import LAYERS

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
RULES = DOCS / "rules.md"
ARCHITECTURE = DOCS / "architecture.md"
PAGES = sorted([README, *DOCS.glob("*.md")])

CITED_IN = ("casework", "workflows", "activities", "tests")
SOURCE_SUFFIXES = {".py", ".yaml", ".yml", ".html", ".css", ".toml", ".md", ".txt"}
RULE_ID = re.compile(r"(?<![\w'\"])([ASEUP][1-9])(?![\w'\"])")
"""A rule id as the code cites it: a family letter (Accounts, Service levels, Escalation, US
Citizen Support, Partners) and a digit, standing alone. A quoted one ('P7') is data (a priority
a test expects to be refused), not a citation."""
README_MAX_LINES = 300

LINK = re.compile(r"(?<!!)\[(?:[^\]]*)\]\(([^)\s]+)\)")
IMAGE = re.compile(r"!\[(?:[^\]]*)\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"")
SEAM = re.compile(r"`([\w./-]+\.py)` `(\w+)`")


def prose_lines(text: str) -> list[tuple[int, str]]:
    """The lines of a Markdown page outside fenced code blocks, with their numbers."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors_of(page: Path) -> set[str]:
    found: set[str] = set()
    seen: Counter[str] = Counter()
    for _, line in prose_lines(page.read_text(encoding="utf-8")):
        found.update(ANCHOR.findall(line))
        heading = HEADING.match(line)
        if heading:
            base = slug(heading.group(2))
            found.add(base if seen[base] == 0 else f"{base}-{seen[base]}")
            seen[base] += 1
    return found


def cited_rule_ids() -> dict[str, str]:
    """Each rule id cited in the code and the tests, with one place that cites it."""
    cited: dict[str, str] = {}
    for top in CITED_IN:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix not in SOURCE_SUFFIXES or "__pycache__" in path.parts:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                for rule in RULE_ID.findall(line):
                    cited.setdefault(rule, f"{path.relative_to(ROOT)}:{number}")
    return cited


def rule_entries() -> dict[str, set[str]]:
    """Each rule id with an entry in docs/rules.md: its heading, and the anchors beside it."""
    entries: dict[str, set[str]] = {}
    anchors = anchors_of(RULES)
    for _, line in prose_lines(RULES.read_text(encoding="utf-8")):
        heading = HEADING.match(line)
        if heading and (rule := RULE_ID.match(heading.group(2))):
            entries[rule.group(1)] = anchors
    return entries


def test_every_cited_rule_id_has_an_entry_in_the_rules_page() -> None:
    cited = cited_rule_ids()
    assert len(cited) >= 20, f"the citations were not found (only {sorted(cited)})"
    entries = rule_entries()
    missing = {rule: where for rule, where in sorted(cited.items()) if rule not in entries}
    assert not missing, (
        "rule ids cited without an entry in docs/rules.md (add `### <id> <title>` with "
        '`<a id="<id in lower case>"></a>` above it, what the rule says and where it lives; '
        "an id in quotes is read as data, not a citation): "
        + ", ".join(f"{rule} ({where})" for rule, where in missing.items())
    )
    unanchored = sorted(rule for rule in cited if rule.lower() not in entries.get(rule, set()))
    assert not unanchored, f"rules without their short anchor (rules.md#s1): {unanchored}"


def test_the_rules_page_has_no_entry_nobody_cites() -> None:
    """An entry for an id that no code or test cites is a rule nobody enforces, or a typo."""
    stray = sorted(set(rule_entries()) - set(cited_rule_ids()))
    assert not stray, f"docs/rules.md has entries for ids nothing cites: {stray}"


def test_the_readme_is_a_door_not_a_book() -> None:
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines < README_MAX_LINES, (
        f"README.md has {lines} lines (fewer than {README_MAX_LINES}, issue 25): move the detail "
        "to a page of docs/ and link it"
    )


def links_of(page: Path) -> list[tuple[int, str]]:
    return [
        (number, target)
        for number, line in prose_lines(page.read_text(encoding="utf-8"))
        for target in LINK.findall(line) + IMAGE.findall(line)
    ]


def is_external(target: str) -> bool:
    return re.match(r"^[a-z][a-z0-9+.-]*:", target) is not None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_reaches_its_file_and_heading(page: Path) -> None:
    broken = []
    for number, target in links_of(page):
        if is_external(target):
            continue
        path_part, _, anchor = target.partition("#")
        where = (page.parent / path_part).resolve() if path_part else page
        if not where.exists():
            broken.append(f"{page.name}:{number}: {target}: no such file")
        elif anchor and where.suffix == ".md" and anchor not in anchors_of(where):
            broken.append(f"{page.name}:{number}: {target}: no heading or anchor #{anchor}")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_every_page_of_the_docs_is_reachable_from_the_readme() -> None:
    reached, todo = {README}, [README]
    while todo:
        page = todo.pop()
        for _, target in links_of(page):
            path_part = target.partition("#")[0]
            if is_external(target) or not path_part.endswith(".md"):
                continue
            linked = (page.parent / path_part).resolve()
            if linked.exists() and linked not in reached:
                reached.add(linked)
                todo.append(linked)
    unreached = sorted(str(p.relative_to(ROOT)) for p in set(PAGES) - reached)
    assert not unreached, f"pages no link from the README leads to: {unreached}"


def test_the_architecture_pages_seams_name_files_and_names_that_exist() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    seams = SEAM.findall(text)
    assert len(seams) >= 30, "docs/architecture.md lists every seam as `path` `name`"
    gone = []
    for path, name in seams:
        source = ROOT / path
        if not source.is_file():
            gone.append(f"{path}: no such file")
        elif not re.search(rf"\b{re.escape(name)}\b", source.read_text(encoding="utf-8")):
            gone.append(f"{path}: no {name}")
    assert not gone, "docs/architecture.md points at what is no longer there:\n" + "\n".join(gone)


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        (
            "Who is asking: credentials, encryption and the audit (U5, U6, E3)",
            "who-is-asking-credentials-encryption-and-the-audit-u5-u6-e3",
        ),
        ("Working cases with `casework`", "working-cases-with-casework"),
        ("Partner Branded Support (P1–P4)", "partner-branded-support-p1p4"),
        (
            "12. One machine: `casework up` and the workers that join it",
            "12-one-machine-casework-up-and-the-workers-that-join-it",
        ),
    ],
)
def test_anchors_are_made_as_github_makes_them(heading: str, expected: str) -> None:
    assert slug(heading) == expected


def test_the_citation_reader_sees_ids_and_skips_quoted_data() -> None:
    line = "U5: withheld (S2-S4); priority \"P7\" and 'P9' are refused; A002 is not an id"
    assert RULE_ID.findall(line) == ["U5", "S2", "S4"]


def test_the_architecture_pages_layers_are_the_ones_the_layer_test_enforces() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text[text.index("## The layers") :]
    rows = re.findall(r"^\| \d+\. [^|]+\| (.+) \|$", section, flags=re.M)
    written = [set(re.findall(r"`([\w.]+)`", row)) for row in rows]
    enforced = [set(members) for _, members in LAYERS]
    assert written == enforced, (
        "docs/architecture.md's table of layers differs from LAYERS in tests/test_layers.py: "
        f"written {written}, enforced {enforced}"
    )

#!/usr/bin/env python3
"""Checks README.md and docs/*.md: every relative link (and its #anchor, where it
names a heading of a Markdown page) resolves, docs/index.md links every page of
docs/, and the README stays a front door (under 300 lines; the rest belongs in
docs/). Usage: check_links.py SOURCE_ROOT"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
link = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
fence = re.compile(r"^(```|~~~)")


def anchors(page):
    """GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens."""
    out, in_code = set(), False
    for line in page.read_text().splitlines():
        if fence.match(line):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


def links(page):
    in_code = False
    for n, line in enumerate(page.read_text().splitlines(), 1):
        if fence.match(line):
            in_code = not in_code
        elif not in_code:
            for m in link.finditer(line):
                yield n, m[1]


problems = []
pages = [root / "README.md"] + sorted((root / "docs").glob("*.md"))
for page in pages:
    for n, target in links(page):
        if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        where = f"{page.relative_to(root)}:{n}"
        if not dest.exists():
            problems.append(f"{where}: {target} does not exist")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            problems.append(f"{where}: {dest.relative_to(root)} has no heading #{anchor}")

index = root / "docs" / "index.md"
if not index.exists():
    problems.append("docs/index.md is missing")
else:
    listed = {(index.parent / t.partition("#")[0]).resolve() for _, t in links(index)}
    for page in sorted((root / "docs").glob("*.md")):
        if page != index and page.resolve() not in listed:
            problems.append(f"docs/index.md does not link {page.relative_to(root)}")

readme_lines = len((root / "README.md").read_text().splitlines())
if readme_lines >= 300:
    problems.append(f"README.md has {readme_lines} lines; keep it under 300 and move the detail to a docs/ page")

if problems:
    print("docs: " + "\n  ".join(["problems:"] + problems) +
          "\nfix: correct the link, add the page to docs/index.md, or shorten the README", file=sys.stderr)
    sys.exit(1)
print(f"docs: {len(pages)} pages, links resolve, index complete")

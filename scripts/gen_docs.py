"""Regenerate the rule reference in README.md and docs/rules.md from the registry
(`make docs`; tests/test_docs.py fails when they drift)."""
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from guard.cli.rules import markdown_reference  # noqa: E402


def main():
    reference = markdown_reference()
    readme = os.path.join(REPO, "README.md")
    with open(readme) as handle:
        text = handle.read()
    text = re.sub(r"(<!-- rules:begin -->\n).*(\n<!-- rules:end -->)", lambda m: m.group(1) + reference + m.group(2),
                  text, flags=re.S)
    with open(readme, "w") as handle:
        handle.write(text)
    rules = os.path.join(REPO, "docs", "rules.md")
    with open(rules) as handle:
        text = handle.read()
    with open(rules, "w") as handle:
        handle.write(text[:text.index("| rule | limitation")] + reference + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

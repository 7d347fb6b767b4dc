"""Regenerate the rule reference in README.md and docs/rules.md from the registry, and the
bash completion from the argparse definition (`make docs`; tests fail when they drift)."""
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from guard.cli.introspect import bash_completion  # noqa: E402
from guard.cli.rules import markdown_reference  # noqa: E402

COMPLETION = os.path.join(REPO, "packaging", "migration-guard.bash-completion")


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
    with open(COMPLETION, "w") as handle:
        handle.write(bash_completion())
    return 0


if __name__ == "__main__":
    sys.exit(main())

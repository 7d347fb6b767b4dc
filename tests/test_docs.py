"""The README's rule reference is the registry's, and the README's commands exist."""
import os
import re

from guard.cli.rules import markdown_reference
from helpers import REPO


def test_readme_rule_reference_matches_registry():
    with open(os.path.join(REPO, "README.md")) as handle:
        readme = handle.read()
    section = re.search(r"<!-- rules:begin -->\n(.*)\n<!-- rules:end -->", readme, re.S).group(1)
    assert section == markdown_reference(), "regenerate with: make docs"


def test_readme_commands_are_make_targets():
    with open(os.path.join(REPO, "Makefile")) as handle:
        makefile = handle.read()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    with open(os.path.join(REPO, ".ci", "run")) as handle:
        assert "make test" in handle.read()


def test_packaged_rule_reference_matches_registry():
    with open(os.path.join(REPO, "docs", "rules.md")) as handle:
        assert handle.read().rstrip("\n").endswith(markdown_reference())


def test_packaged_blocker_catalogue_matches_the_catalogue():
    from guard.cli.rules import blockers_markdown
    with open(os.path.join(REPO, "docs", "blockers.md")) as handle:
        assert handle.read().rstrip("\n").endswith(blockers_markdown()), "regenerate with: make docs"


def test_accuracy_report_gives_the_catalogues_coverage_as_it_is():
    from guard.blockers import coverage_markdown
    with open(os.path.join(REPO, "docs", "accuracy.md")) as handle:
        assert coverage_markdown() in handle.read(), "regenerate with: make docs"

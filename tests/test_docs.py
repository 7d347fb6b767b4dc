"""The README's rule reference is the registry's, and the README's commands exist; the
generated documents match their sources; docs/architecture.md names every module, and the
design cited is the repository's own docs/design.md, section by section."""
import os
import re

from support.helpers import REPO

from guard.cli.rules import markdown_reference


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


def test_architecture_names_every_module_of_the_package():
    """docs/architecture.md names each module under guard/ by its path: a module added
    without a line there fails here."""
    with open(os.path.join(REPO, "docs", "architecture.md")) as handle:
        text = handle.read()
    modules = sorted(os.path.relpath(os.path.join(folder, name), REPO)
                     for folder, dirs, files in os.walk(os.path.join(REPO, "guard"))
                     for name in files if name.endswith(".py") and "__pycache__" not in folder)
    assert modules
    missing = [module for module in modules if "`%s`" % module not in text]
    assert not missing, "name these in docs/architecture.md: %s" % ", ".join(missing)


# Where the repository's own text lives: what cites the design, and what must not cite an
# outside one.
TEXT_ROOTS = ("guard", "tests", "docs", "scripts", "packaging", "ansible", "config", "demo", "bench", "hooks",
              "README.md", "CONTRIBUTING.md", "Makefile", "pyproject.toml")
TEXT_SUFFIXES = (".py", ".md", ".sh", ".yml", ".yaml", ".toml", ".j2", ".spec", ".txt", ".service", ".timer")
OUTSIDE_DESIGN = "DESIGN" + ".md"  # spelt apart, so this file does not cite it


def _text_files():
    for root in TEXT_ROOTS:
        path = os.path.join(REPO, root)
        if os.path.isfile(path):
            yield path
            continue
        for folder, dirs, files in os.walk(path):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
            for name in files:
                if name.endswith(TEXT_SUFFIXES) or folder.endswith("hooks"):
                    yield os.path.join(folder, name)


def _design_sections():
    """({section number}, {GitHub anchor}) of docs/design.md's `## N. Title` headings."""
    numbers, anchors = set(), set()
    with open(os.path.join(REPO, "docs", "design.md")) as handle:
        for line in handle:
            heading = re.match(r"## (\d+)\. (.+)", line.rstrip("\n"))
            if heading:
                numbers.add(heading.group(1))
                title = "%s. %s" % heading.groups()
                anchors.add(re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-"))
    return numbers, anchors


def test_citations_of_the_design_are_of_the_repositorys_and_name_a_section():
    numbers, anchors = _design_sections()
    assert numbers == {str(n) for n in range(1, len(numbers) + 1)}
    wrong = []
    for path in _text_files():
        with open(path, errors="replace") as handle:
            text = handle.read()
        where = os.path.relpath(path, REPO)
        if OUTSIDE_DESIGN in text:
            wrong.append("%s cites %s, which is outside the repository: cite docs/design.md" % (where, OUTSIDE_DESIGN))
        cited = re.findall(r"design\.md section\s+(\d+)", text)
        if where == os.path.join("docs", "design.md"):
            cited += re.findall(r"\bsection (\d+)\b(?!\.\d)", text)  # not the RHEL guide's 12.3
        wrong += ["%s cites docs/design.md section %s, which does not exist" % (where, number)
                  for number in cited if number not in numbers]
        wrong += ["%s cites docs/design.md#%s, which is no section's anchor" % (where, anchor)
                  for anchor in re.findall(r"design\.md#([\w-]+)", text) if anchor not in anchors]
    assert not wrong, "\n".join(wrong)

"""The man page, the bash completion and the journal catalog are checked against the code
they describe: the argparse definition and guard/output/journal.py's MESSAGE_IDs."""
import os
import re
import shutil
import subprocess

import pytest
from support.helpers import REPO

from guard.cli.introspect import bash_completion, commands
from guard.output import journal

MAN = os.path.join(REPO, "packaging", "migration-guard.1")
COMPLETION = os.path.join(REPO, "packaging", "migration-guard.bash-completion")
CATALOG = os.path.join(REPO, "packaging", "migration-guard.catalog")


def man_sections():
    """{command path: set of long options} from the man page's `.SS "migration-guard ..."`
    sections; the text before COMMANDS is the global options'."""
    with open(MAN) as handle:
        text = handle.read()
    sections = {}
    current = ()
    for line in text.splitlines():
        heading = re.match(r'^\.SS "migration-guard ([^"]+)"', line)
        if heading:
            current = tuple(heading.group(1).split())
            sections.setdefault(current, set())
            continue
        if line.startswith(".SH") and line != ".SH COMMANDS" and current:
            current = None
        if current is None:
            continue
        option = re.match(r"^\.(?:B|BI|BR) (--[a-z][a-z-]*|-[a-z])\b", line.replace("\\-", "-"))
        if option:
            sections.setdefault(current, set()).add(option.group(1))
    return sections


def test_man_page_documents_every_command_and_option_and_nothing_else():
    documented = man_sections()
    expected = {}
    for command in commands():
        if command.subcommands and command.path:
            continue  # a group such as `facts`: its sub-commands have sections
        expected[command.path] = {flag for option in command.options for flag in option.flags}
    assert set(documented) == set(expected), "man page sections differ from the parser's commands"
    for path, options in expected.items():
        assert documented[path] == options, "man page options of %r" % (path,)


def test_man_page_check_catches_an_undocumented_option():
    documented = man_sections()
    assert "--format" in documented[("status",)]
    assert "--hooks-dir" not in documented[("status",)]  # hidden: not in --help, not in the man page
    assert ("hook-activate",) not in documented  # the package's own step, hidden


@pytest.mark.skipif(shutil.which("groff") is None and shutil.which("man") is None, reason="no man/groff")
def test_man_page_renders_without_warnings():
    result = subprocess.run(["man", "--warnings", "-l", MAN], capture_output=True, text=True,
                            env=dict(os.environ, MANWIDTH="100", MANPAGER="cat", PAGER="cat"))
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_bash_completion_is_generated_from_the_parser():
    with open(COMPLETION) as handle:
        assert handle.read() == bash_completion(), "run `make docs`"


def _complete(line):
    """What the completion offers for a command line typed up to its end."""
    words = line.split(" ")
    script = ('source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _migration_guard; printf "%%s\\n" "${COMPREPLY[@]}"'
              % (COMPLETION, " ".join("'%s'" % w for w in words), len(words) - 1))
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_completion_completes_commands_options_and_values():
    assert {"check", "status", "facts", "preflight"} <= _complete("migration-guard ")
    assert "hook-activate" not in _complete("migration-guard ")
    assert _complete("migration-guard facts ") == {"build", "collect", "watch"}
    assert _complete("migration-guard status --") == {"--format", "--config", "--help"}
    assert _complete("migration-guard status --format ") == {"json", "text"}
    assert _complete("migration-guard audit --decision de") == {"deferred", "deny"}
    assert "numa-pinning" in _complete("migration-guard explain ")
    assert _complete("migration-guard facts collect --") == {"--uri", "--output", "--config", "--help"}


def test_journal_catalog_explains_every_message_id():
    with open(CATALOG) as handle:
        text = handle.read()
    catalog = re.findall(r"^-- ([0-9a-f]{32})$", text, re.M)
    assert len(catalog) == len(set(catalog))
    assert set(catalog) == set(journal.MESSAGE_IDS.values())
    assert len(set(journal.MESSAGE_IDS.values())) == len(journal.MESSAGE_IDS)  # one ID per event type
    for block in text.split("\n-- ")[1:]:
        assert "\nSubject: " in block and "\nDefined-By: migration-guard" in block


def test_collect_unit_skip_message_uses_the_catalogued_id():
    with open(os.path.join(REPO, "packaging", "migration-guard-collect.service")) as handle:
        unit = handle.read()
    assert "MESSAGE_ID=%s" % journal.COLLECT_SKIPPED in unit and "PRIORITY=4" in unit


def _words(text):
    """Text as a reader sees it: troff's escaped dashes and markdown's emphasis gone, one
    space between words."""
    return " ".join(text.replace("\\-", "-").replace("`", "").split())


def test_preflight_exit_codes_read_the_same_in_help_man_page_and_readme():
    """One list (guard.services.evacuation.EXIT_CODES), word for word in the three places an
    administrator looks; the old contradiction (man: '1 any denied') cannot come back."""
    from guard.cli import build_parser
    from guard.services.evacuation import EXIT_CODES
    parser = build_parser()
    preflight = next(action for action in parser._subparsers._group_actions[0].choices.items()
                     if action[0] == "preflight")[1]
    help_text = _words(preflight.format_help())
    with open(MAN) as handle:
        man = _words(handle.read())
    with open(os.path.join(REPO, "README.md")) as handle:
        readme = _words(handle.read())
    for code, text in EXIT_CODES:
        assert "%d: %s" % (code, _words(text)) in help_text, code
        assert ".IP %d %s" % (code, _words(text)) in man, code
        assert "- %d: %s." % (code, _words(text)) in readme, code
    assert "1 any denied" not in man


def test_every_option_and_argument_has_help_text():
    """Issue 22: options without help text. Hidden ones say so (argparse.SUPPRESS)."""
    import argparse

    from guard.cli import build_parser
    missing = []

    def walk(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, path + [name])
            elif action.help is None:
                missing.append("%s %s" % (" ".join(path), action.option_strings or action.dest))
    walk(build_parser(), [])
    assert not missing, missing

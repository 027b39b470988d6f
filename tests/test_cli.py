"""The command line explains itself: every option has help (with its default), every command ends with an example
that parses, and the README's commands still parse."""

import argparse
import re
import shlex
from pathlib import Path

import pytest

from emolab.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Every (sub)command parser, with the words that reach it, walking the parser recursively."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))


def options():
    for path, parser in commands(build_parser()):
        for action in parser._actions:
            if not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                yield " ".join(("emolab", *path)), action


def test_every_option_says_what_it_does_and_its_default():
    seen = list(options())
    assert len(seen) > 100  # the walk reached every command
    missing = [f"{cmd} {a.option_strings or a.dest}" for cmd, a in seen if not a.help or a.help == argparse.SUPPRESS]
    assert not missing, f"{len(missing)} option(s) without help: {missing}"
    valued = [(cmd, a) for cmd, a in seen if a.option_strings and a.nargs != 0 and a.default not in (None, argparse.SUPPRESS)]
    no_default = [f"{cmd} {a.option_strings[0]}" for cmd, a in valued if "%(default)s" not in a.help]
    assert not no_default, f"option(s) whose help does not show their default: {no_default}"
    unsaid = [f"{cmd} {a.option_strings[0]}" for cmd, a in seen
              if a.option_strings and a.nargs != 0 and a.default is None and not a.required and "default" not in a.help]
    assert not unsaid, f"optional option(s) whose help does not say what happens without them: {unsaid}"


def test_every_command_ends_its_help_with_an_example_that_parses(capsys):
    for path, parser in commands(build_parser()):
        assert parser.epilog and parser.epilog.startswith("example:\n  emolab "), path
        line = parser.epilog.splitlines()[1].split("#")[0]
        words = shlex.split(line)[1:]
        assert words[:len(path)] == list(path), (path, line)
        build_parser().parse_args(words)  # exits (SystemExit) on a wrong option
        with pytest.raises(SystemExit):
            main([*path, "--help"])
        shown = capsys.readouterr().out.rstrip().splitlines()
        assert shown[-2:] == ["example:", parser.epilog.splitlines()[1]], path


def test_readme_and_docs_commands_parse():
    found = 0
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in re.findall(r"```bash\n(.*?)```", doc.read_text(encoding="utf-8"), flags=re.S):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.split("#")[0].replace("[--ray]", "--ray").strip()
                if not line.startswith("emolab "):
                    continue
                build_parser().parse_args(shlex.split(line)[1:])
                found += 1
    assert found >= 8

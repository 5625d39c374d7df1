"""Every command and option of `fluxrouter` says what it does in `--help`."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from interfaces.cli import _parser


def parsers(
    parser: argparse.ArgumentParser, name: str = "fluxrouter"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from parsers(sub, f"{name} {sub_name}")


def test_every_option_and_argument_has_help() -> None:
    seen = 0
    for name, parser in parsers(_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    assert choice.help, f"{name} {choice.dest}"
                continue
            assert action.help, f"{name}: {action.option_strings or action.dest}"
            seen += 1
    assert seen > 40


def test_config_is_an_option_of_every_command() -> None:
    for name, parser in parsers(_parser()):
        options = {opt for action in parser._actions for opt in action.option_strings}
        assert "--config" in options, name


def test_config_given_before_the_command_is_kept() -> None:
    args = _parser().parse_args(
        ["--config", "a.yaml", "keys", "create", "--team", "t", "--name", "n"]
    )
    assert args.config == "a.yaml"
    args = _parser().parse_args(
        ["keys", "create", "--team", "t", "--name", "n", "--config", "b.yaml"]
    )
    assert args.config == "b.yaml"
    assert _parser().parse_args(["migrate"]).config is None

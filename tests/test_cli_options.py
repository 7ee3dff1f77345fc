"""Every numeric option of the command line (python -m rag, python app.py) is range-checked by argparse: a value
out of range is a one-line error and exit status 2, before anything runs (issue 18)."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

import app
from rag.cli import MAX_TOP_K, MIN_SCALE, build_parser

from conftest import REPO

# (parser, the arguments before the option, option, values refused, values accepted)
CASES = [
    ("rag", ["search", "q"], "--top-k", ["0", "-1", str(MAX_TOP_K + 1), "2.5", "five", ""], ["1", str(MAX_TOP_K)]),
    ("rag", ["ask", "q"], "--top-k", ["0", "-1", str(MAX_TOP_K + 1), "1e3", "x"], ["1", "5", str(MAX_TOP_K)]),
    ("rag", ["bench"], "--scale", ["0", "-5", str(MIN_SCALE - 1), "lots"], [str(MIN_SCALE), "2000000"]),
    ("rag", ["bench"], "--passages", ["0", "-1", "1.5", "many"], ["1", "100000"]),
    ("rag", ["bench"], "--repeats", ["0", "-2", "two"], ["1", "5"]),
    ("rag", ["bench"], "--serving-sizes", ["0", str(MIN_SCALE - 1), "100000,x", "1e5"], [str(MIN_SCALE), "100000,1000000"]),
    ("rag", ["train-reader"], "--epochs", ["0", "-1", "11", "nan", "one"], ["1", "3", "10"]),
    ("app", [], "--port", ["0", "-1", "65536", "99999", "http", ""], ["1", "7860", "65535"]),
]
PARSERS = {"rag": build_parser, "app": app.build_parser}


def error_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if ": error: " in line]


@pytest.mark.parametrize(
    "parser, before, option, value",
    [(p, b, o, v) for p, b, o, refused, _ in CASES for v in refused],
    ids=[f"{p}-{b[0] if b else ''}{o}={v!r}" for p, b, o, refused, _ in CASES for v in refused],
)
def test_an_out_of_range_value_is_a_one_line_error_with_status_2(capsys, parser, before, option, value):
    with pytest.raises(SystemExit) as stopped:
        PARSERS[parser]().parse_args([*before, f"{option}={value}"])
    assert stopped.value.code == 2
    (line,) = error_lines(capsys)
    assert f"argument {option}: " in line


@pytest.mark.parametrize(
    "parser, before, option, value",
    [(p, b, o, v) for p, b, o, _, accepted in CASES for v in accepted],
    ids=[f"{p}-{b[0] if b else ''}{o}={v}" for p, b, o, _, accepted in CASES for v in accepted],
)
def test_a_value_in_range_is_taken(parser, before, option, value):
    args = PARSERS[parser]().parse_args([*before, option, value])
    taken = getattr(args, option.lstrip("-").replace("-", "_"))
    assert taken == (tuple(int(v) for v in value.split(",")) if isinstance(taken, tuple) else int(value))


def numeric_options(parser: argparse.ArgumentParser, path: str = ""):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from numeric_options(sub, f"{path}{name} ")
        elif action.option_strings and action.type is not None:
            yield path.strip(), max(action.option_strings, key=len), action.type


def test_every_numeric_option_is_range_checked_and_tested():
    """A bare int or float converter takes 0 and negative numbers: every numeric option must use a checked
    converter, and be one of the cases above."""
    tested = {(p, b[0] if b else "", o) for p, b, o, _, _ in CASES}
    for name, make in PARSERS.items():
        for command, option, kind in numeric_options(make()):
            assert kind not in (int, float), f"{name} {command} {option} is not range-checked"
            assert (name, command, option) in tested, f"{name} {command} {option} has no range test"


@pytest.mark.slow
def test_the_command_line_refuses_a_top_k_of_zero_before_running(tmp_path):
    for value in ("0", "-1"):
        result = subprocess.run(
            [sys.executable, "-m", "rag", "--index", str(tmp_path / "index"), "search", "Why?", "--top-k", value],
            cwd=REPO, capture_output=True, text=True, timeout=120,
        )
        assert result.returncode == 2, result.stdout
        assert result.stderr.strip().splitlines()[-1] == (
            f"python -m rag search: error: argument --top-k: must be an integer from 1 to {MAX_TOP_K}, not {value!r}"
        )
        assert not (tmp_path / "index").exists()  # nothing ran

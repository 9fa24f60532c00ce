"""The one duration grammar (``simulator.durations``), table-driven."""

from __future__ import annotations

import pytest

from simulator.durations import MAX_DURATION_S, parse_duration, parse_duration_range
from simulator.errors import ConfigError, UsageError


@pytest.mark.parametrize(("text", "seconds"), [
    ("10", 10.0),
    ("10s", 10.0),
    ("500ms", 0.5),
    ("250us", 0.00025),
    ("2m", 120.0),
    ("2min", 120.0),
    ("1m30s", 90.0),
    ("1.5h", 5400.0),
    ("200 ms", 0.2),
    ("1h30m", 5400.0),
    ("1h 30m", 5400.0),
    (" 1.5s ", 1.5),
    ("1.5", 1.5),
    (".5s", 0.5),
    ("0", 0.0),
    ("0s", 0.0),
    ("10S", 10.0),
    ("1h2m3s4ms", 3723.004),
    ("720h", MAX_DURATION_S),
    (3, 3.0),
    (2.5, 2.5),
])
def test_accepts(text: str | float, seconds: float) -> None:
    assert parse_duration(text, what="x") == pytest.approx(seconds)


@pytest.mark.parametrize(("text", "needle"), [
    ("", "expected a duration such as 10, 10s, 500ms"),
    ("   ", "expected a duration"),
    ("abc", "expected a duration"),
    ("10x", "expected a duration"),
    ("s", "expected a duration"),
    ("10 s s", "expected a duration"),
    ("1m30", "expected a duration"),  # a bare number only on its own
    ("30s1m", "expected a duration"),  # largest unit first
    ("1m1min", "expected a duration"),  # each unit once
    ("1e3s", "expected a duration"),
    ("1e400s", "expected a duration"),
    ("nan", "expected a duration"),
    ("inf", "expected a duration"),
    ("1m-2s", "expected a duration"),
    ("-1", "cannot be negative"),
    ("-5s", "cannot be negative"),
    (-1, "cannot be negative"),
    (float("nan"), "expected a duration"),
    (float("inf"), "limit of 30 days"),
    (True, "expected a duration"),
    (None, "expected a duration"),
    (["1s"], "expected a duration"),
    ("721h", "limit of 30 days"),
    ("9" * 400, "limit of 30 days"),  # float() of it is inf: refused, no OverflowError later
    (1e400, "limit of 30 days"),
])
def test_rejects_with_one_line_naming_the_option(text: object, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_duration(text, what="--wait")
    message = str(info.value)
    assert message.startswith("invalid --wait ") and needle in message and "\n" not in message
    assert isinstance(info.value, UsageError)  # the CLI prints it on one line and exits 2


@pytest.mark.parametrize("text", ["0", "0s", "0ms", 0])
def test_positive_refuses_zero(text: object) -> None:
    assert parse_duration(text, what="x") == 0.0
    with pytest.raises(ConfigError, match="must be more than 0"):
        parse_duration(text, what="x", positive=True)


@pytest.mark.parametrize(("text", "expected"), [
    ("200ms..2s", (0.2, 2.0)),
    ("1m30s..2min", (90.0, 120.0)),
    ("5", (5.0, 5.0)),
    ("1.5..2", (1.5, 2.0)),
    ("200 ms .. 1 s", (0.2, 1.0)),
])
def test_range(text: str, expected: tuple[float, float]) -> None:
    assert parse_duration_range(text, what="x") == pytest.approx(expected)


@pytest.mark.parametrize(("text", "needle"), [
    ("2s..1s", "upper bound is below its lower bound"),
    ("1s..", "(in the range '1s..')"),
    ("..1s", "expected a duration"),
    ("1s..2s..3s", "expected a duration"),
    ("1s..31d", "expected a duration"),
    ("0..1000h", "limit of 30 days"),
])
def test_range_rejects(text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_duration_range(text, what="fault delay")
    assert str(info.value).startswith("invalid fault delay ") and needle in str(info.value)

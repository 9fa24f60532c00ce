from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.errors import ConfigError, FixtureError
from simulator.load.schedule import Schedule, Stage, parse_rate, parse_stages


@pytest.mark.parametrize(("text", "seconds"), [("2min", 120.0), ("200 ms", 0.2), ("1h30m", 5400.0), (3, 3.0)])
def test_stage_durations_use_the_one_grammar(tmp_path: Path, text: str | int, seconds: float) -> None:
    s = parse_stages(_write(tmp_path, [{"duration": text, "rate": 10}]))
    assert s.duration == pytest.approx(seconds)


@pytest.mark.parametrize(("text", "needle"), [("0s", "more than 0"), ("-1s", "negative"), (True, "expected a"),
                                              ("1e400s", "expected a"), ("31d", "expected a")])
def test_stage_durations_are_refused_naming_the_stage(tmp_path: Path, text: object, needle: str) -> None:
    with pytest.raises(FixtureError, match="stage 1: invalid duration") as info:
        parse_stages(_write(tmp_path, [{"duration": text, "rate": 10}]))
    assert needle in str(info.value)


@pytest.mark.parametrize("text", ["0", "-5", "abc", "nan", "inf", ""])
def test_parse_rate_rejects(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_rate(text)


def test_constant_schedule_times_and_counts() -> None:
    s = Schedule.constant(200, 5)
    assert s.total == 1000
    assert s.time_of(0) == 0.0
    assert s.time_of(1) == pytest.approx(0.005)
    assert s.time_of(999) == pytest.approx(4.995)
    assert s.due(-0.1) == 0
    assert s.due(0.0) == 1
    assert s.due(0.0049) == 1
    assert s.due(0.005) == 2
    assert s.due(100.0) == 1000


def test_fractional_total_rounds_up() -> None:
    assert Schedule.constant(3, 0.5).total == 2  # requests at 0 s and 0.333 s


def test_ramp_is_linear_and_time_of_inverts_arrivals() -> None:
    s = Schedule([Stage(2.0, 1000.0), Stage(1.0, 1000.0)], start_rate=0.0)
    assert s.total == 2000  # 1000 over the ramp (area of the triangle) + 1000 held
    assert s.rate_at(1.0) == pytest.approx(500.0)
    assert s.arrivals(2.0) == pytest.approx(1000.0)
    previous = -1.0
    for k in (0, 1, 10, 100, 999, 1000, 1500, 1999):
        t = s.time_of(k)
        assert t > previous or k == 0
        previous = t
        assert s.arrivals(t) == pytest.approx(k, abs=1e-6)
    # the ramp is sparse at first: request 100 is due at sqrt(2*100/500) s
    assert s.time_of(100) == pytest.approx((2 * 100 / 500) ** 0.5)


def test_scaled_share_and_offset() -> None:
    s = Schedule.constant(1000, 2).scaled(0.5, offset=0.001)
    assert s.total == 1000
    assert s.time_of(0) == pytest.approx(0.001)
    assert s.time_of(1) == pytest.approx(0.003)
    assert s.due(0.0005) == 0


def test_all_zero_rates_is_an_error() -> None:
    with pytest.raises(ConfigError):
        Schedule([Stage(1.0, 0.0)], start_rate=0.0)


def _write(tmp_path: Path, doc: object) -> Path:
    p = tmp_path / "stages.json"
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return p


def test_parse_stages_list_and_object(tmp_path: Path) -> None:
    s = parse_stages(_write(tmp_path, [{"duration": "1s", "rate": 100}, {"duration": "2s", "rate": 100}]))
    assert s.start_rate == 0.0  # as k6: ramps start from 0 unless told
    assert s.total == 50 + 200
    s2 = parse_stages(_write(tmp_path, {"start_rate": 100, "stages": [{"duration": 1, "target": 100}]}))
    assert s2.total == 100
    s3 = parse_stages(_write(tmp_path, [{"duration": "1s", "rate": 10}]), start_rate=10)
    assert s3.total == 10


@pytest.mark.parametrize(("doc", "needle"), [
    ("not json", "not valid JSON"),
    ([], "non-empty list"),
    ({"stages": "x"}, "non-empty list"),
    ([{"rate": 5}], "stage 1: needs"),
    ([{"duration": "1s", "rate": 5}, {"duration": "zz", "rate": 5}], "stage 2"),
    ([{"duration": "1s", "rate": -1}], "stage 1"),
    ([{"duration": "1s", "rate": 5, "extra": 1}], "unknown key 'extra'"),
    ({"start_rate": 0, "stages": [{"duration": "1s", "rate": 0}]}, "sends no requests"),
    ({"bogus": 1}, "unknown key"),
    ([5], "expected an object"),
])
def test_parse_stages_rejects(tmp_path: Path, doc: object, needle: str) -> None:
    with pytest.raises(FixtureError) as err:
        parse_stages(_write(tmp_path, doc))
    assert needle in str(err.value)
    assert "stages.json" in str(err.value)
    assert "\n" not in str(err.value)


def test_parse_stages_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="cannot read"):
        parse_stages(tmp_path / "nope.json")

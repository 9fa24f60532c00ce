"""Bad scenario files: one line naming the file, the line or step and the problem; CLI exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.cli import main
from simulator.errors import FixtureError, UsageError
from simulator.generation import scenarios
from tests.catalog.helpers import SCENARIO_TOML

BASE = SCENARIO_TOML + 'spread = "1m"\n'
END = """
[[step]]
id = "end"
event = "meeting_ended"
"""


LATE_END = END + 'at = "3h"\n'  # surely after steps placed with ``at`` or ``after``


def check(body: str, tmp_path: Path, end: str = END) -> str:
    path = tmp_path / "bad.toml"
    path.write_text(BASE + body + end, encoding="utf-8")
    with pytest.raises(FixtureError) as info:
        scenarios.load(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


def line_of(text: str, needle: str) -> int:
    full = BASE + text + END
    return next(i for i, line in enumerate(full.splitlines(), start=1) if needle in line)


def test_the_base_file_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text(BASE + END, encoding="utf-8")
    assert [s.id for s in scenarios.load(path).steps] == ["start", "joins", "end"]


def test_step_times_use_the_one_duration_grammar(tmp_path: Path) -> None:
    """``"10"`` (seconds as a string) and ``"200 ms"`` were refused by the scenario parser's own grammar."""
    path = tmp_path / "ok.toml"
    path.write_text(BASE + '\n[[step]]\nid = "im"\nevent = "send_meeting_im"\nby = "a"\nafter = "joins"\n'
                    'delay = ["10", "1m30s"]\nspread = "200 ms"\n' + END, encoding="utf-8")
    step = scenarios.load(path).steps[2]
    assert (step.delay.lo, step.delay.hi, step.spread) == (10.0, 90.0, 0.2)


@pytest.mark.parametrize(("value", "problem"), [
    ('"-5s"', "invalid delay '-5s': a duration cannot be negative"),
    ('"1e400s"', "invalid delay '1e400s': expected a duration"),
    ('"9999h"', "invalid delay '9999h': longer than the limit of 30 days"),
    ('["1m", "10s"]', "invalid delay ['1m', '10s']: the range's max is below its min"),
    ('["1s"]', "delay must be a duration or a [min, max] range of durations, got ['1s']"),
])
def test_bad_step_times_name_the_line(tmp_path: Path, value: str, problem: str) -> None:
    body = f'\n[[step]]\nid = "im"\nevent = "send_meeting_im"\nby = "a"\ndelay = {value}\n'
    assert f":{line_of(body, 'delay =')}: step 3 ('im'): {problem}" in check(body, tmp_path)


def test_unknown_event_type(tmp_path: Path) -> None:
    body = '\n[[step]]\nid = "x"\nevent = "vc.meeting.share_paused_v1"\nby = "a"\n'
    msg = check(body, tmp_path)
    assert f":{line_of(body, 'share_paused')}: step 3 ('x'): unknown event type 'vc.meeting.share_paused_v1'" in msg


def test_missing_field(tmp_path: Path) -> None:
    body = '\n[[step]]\nid = "nobody"\nevent = "join_meeting"\n'
    msg = check(body, tmp_path)
    header = line_of(body, 'id = "nobody"') - 1
    assert f":{header}: step 3 ('nobody'): missing field 'who'" in msg
    body = '\n[[step]]\nid = "what"\nwho = "a"\n'
    assert "step 3 ('what'): missing field 'event'" in check(body, tmp_path)


def test_missing_host(tmp_path: Path) -> None:
    path = tmp_path / "nohost.toml"
    path.write_text(BASE.replace('host = "h"\n', "") + END, encoding="utf-8")
    with pytest.raises(FixtureError, match=r"nohost\.toml:4: \[meeting\]: missing field 'host'"):
        scenarios.load(path)


def test_cycle(tmp_path: Path) -> None:
    body = ('\n[[step]]\nid = "p"\nevent = "share_started"\nby = "a"\nafter = "q"\n'
            '\n[[step]]\nid = "q"\nevent = "share_ended"\nafter = "p"\n')
    msg = check(body, tmp_path)
    assert "cycle in 'after': p -> q -> p" in msg
    line = line_of(body, 'after = "q"')
    assert f":{line}: step 3 ('p')" in msg


def test_leave_before_join(tmp_path: Path) -> None:
    path = tmp_path / "order.toml"
    text = BASE.replace('who = ["c", "a", "b"]', 'who = ["c", "b"]') + (
        '\n[[step]]\nid = "a-leaves"\nevent = "leave_meeting"\nwho = "a"\n'
        '\n[[step]]\nid = "a-joins"\nevent = "join_meeting"\nwho = "a"\n') + END
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FixtureError) as info:
        scenarios.load(path)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s == 'who = "a"')
    assert str(info.value) == (f"{path}:{line}: step 3 ('a-leaves'): impossible order: 'a' leaves before "
                               "joining the meeting")


def test_leave_scheduled_before_join_with_at(tmp_path: Path) -> None:
    body = ('\n[[step]]\nid = "late"\nevent = "join_meeting"\nwho = "crowd"\nat = "10m"\n'
            '\n[[step]]\nid = "early"\nevent = "leave_meeting"\nwho = "crowd"\nat = "5m"\n')
    msg = check(body, tmp_path, LATE_END)
    assert "step 4 ('early'): impossible order: crowd 'crowd' leaves before joining" in msg


def test_overlapping_join_and_leave_is_reported(tmp_path: Path) -> None:
    body = ('\n[[step]]\nid = "l"\nevent = "leave_meeting"\nwho = "a"\nafter = "start"\n'
            'delay = ["10s", "5m"]\n')
    assert "step 3 ('l'): 'a' may leave before step 'joins' happens" in check(body, tmp_path, LATE_END)


@pytest.mark.parametrize(("body", "problem"), [
    ('\n[[step]]\nevent = "share_ended"\n', "impossible order: share_ended with no share running"),
    ('\n[[step]]\nevent = "recording_ended"\n', "impossible order: recording_ended with no recording running"),
    ('\n[[step]]\nevent = "leave_meeting"\nwho = "b"\nreason = "kicked"\nby = "a"\n',
     "only the host or a co-host can remove participants"),
    ('\n[[step]]\nevent = "meeting_ended"\nby = "a"\n', "a second meeting_ended step"),
    ('\n[[step]]\nevent = "recording_ready"\n', "cannot be a step: it is emitted after recording_ended"),
    ('\n[[step]]\nevent = "all_meeting_started"\n', "mirror_all_meeting = true"),
    ('\n[[step]]\nevent = "join_meeting"\nwho = "zed"\n', "who: 'zed' is not declared in [people]"),
    ('\n[[step]]\nevent = "join_meeting"\nwho = "a"\n', "'a' joins again without leaving"),
    ('\n[[step]]\nevent = "share_started"\nby = "a"\ncolour = "red"\n', "unknown field 'colour'"),
    ('\n[[step]]\nevent = "send_meeting_im"\nby = "a"\ndelay = "soon"\n', "invalid delay 'soon': expected a duration"),
    ('\n[[step]]\nevent = "join_meeting"\nwho = "crowd"\ncount = 21\n', "crowd 'crowd' has 20 people"),
    ('\n[[step]]\nevent = "leave_meeting"\nwho = "crowd"\n', "crowd 'crowd' leaves before joining"),
    ('\n[[step]]\nevent = "share_started"\nby = "a"\nafter = "nope"\n', "after: no step with id 'nope'"),
    ('\n[[step]]\nid = "joins"\nevent = "share_started"\nby = "a"\n', "duplicate step id 'joins'"),
    ('\n[[step]]\nevent = "leave_meeting"\nwho = "b"\nreason = 2\n', "leave_reason 2 is emitted"),
])
def test_other_problems(tmp_path: Path, body: str, problem: str) -> None:
    assert problem in check(body, tmp_path)


def test_step_before_the_start(tmp_path: Path) -> None:
    path = tmp_path / "early.toml"
    path.write_text(BASE.replace('"meeting_started"\n', '"meeting_started"\ndelay = "1m"\n') +
                    '\n[[step]]\nid = "early"\nevent = "send_meeting_im"\nby = "h"\nat = "30s"\n' + LATE_END,
                    encoding="utf-8")
    with pytest.raises(FixtureError, match=r"step 3 \('early'\): may happen before the meeting starts"):
        scenarios.load(path)


def test_step_after_the_end(tmp_path: Path) -> None:
    path = tmp_path / "after-end.toml"
    path.write_text(BASE + END + '\n[[step]]\nid = "late"\nevent = "share_started"\nby = "a"\n', encoding="utf-8")
    with pytest.raises(FixtureError, match=r"step 4 \('late'\): may happen after the meeting ends"):
        scenarios.load(path)


def test_presenter_must_be_present(tmp_path: Path) -> None:
    body = ('\n[[step]]\nevent = "leave_meeting"\nwho = "a"\n'
            '\n[[step]]\nid = "ghost"\nevent = "share_started"\nby = "a"\n')
    assert "step 4 ('ghost'): 'a' is not surely in the meeting" in check(body, tmp_path)


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[scenario]\ndescription = "unterminated\n', encoding="utf-8")
    with pytest.raises(FixtureError, match=r"broken\.toml: invalid TOML: .*line 2"):
        scenarios.load(path)


def test_unknown_names_and_missing_files() -> None:
    with pytest.raises(FixtureError, match=r"unknown scenario 'nope' .*plain-meeting"):
        scenarios.load("nope")
    with pytest.raises(FixtureError, match="no such scenario file"):
        scenarios.load("missing/file.toml")
    assert issubclass(FixtureError, UsageError)


@pytest.mark.parametrize("command", ["generate", "push"])
def test_cli_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    path = tmp_path / "cycle.toml"
    path.write_text(BASE + '\n[[step]]\nid = "p"\nevent = "share_started"\nby = "a"\nafter = "q"\n'
                    '\n[[step]]\nid = "q"\nevent = "share_ended"\nafter = "p"\n' + END, encoding="utf-8")
    assert main([command, "--scenario", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"feishu-sim: error: {path}:") and "cycle in 'after'" in err

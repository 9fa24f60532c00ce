"""Bad input, every command, as a user meets it: a real ``feishu-sim`` process per case.

Each case must end with its exit code (2 unless said otherwise), exactly one line on stderr, no
traceback, and nothing written: the case runs in a directory of its own holding an old transcript and
an old report, and afterwards that directory holds the same files with the same bytes. The cases run in
parallel (each is a separate process, ~0.5 s of start-up).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from simulator.receiver import ReferenceReceiver
from simulator.servers import ThreadedServer
from tests.cli_proc import cli_env, free_port, run_cli, stalled_listener

NOT_UTF8 = os.fsdecode(b"\xff\xfe")  # what the shell hands Python for bytes that are not UTF-8
OLD_TRANSCRIPT = (b'{"kind":"run","seed":1}\n'
                  b'{"kind":"delivery","event_id":"e1","event_type":"vc.meeting.share_ended_v1","final":"acked",'
                  b'"envelope":{"schema":"2.0","header":{"event_id":"e1","event_type":"vc.meeting.share_ended_v1"},'
                  b'"event":{}}}\n')
OLD_REPORT = b'{"old": "report"}\n'
BAD_URLS = ("http://[::1/x", "http://[zz]/x")


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    code: int = 2
    says: str = ""  # a piece of the one stderr line


def url_cases() -> Iterator[Case]:
    for i, url in enumerate(BAD_URLS):
        yield Case(f"push-url-{i}", ("push", url), says="invalid URL")
        yield Case(f"audit-url-{i}", ("audit", url, "--encrypt-key", "k", "--verification-token", "t"),
                   says="invalid URL")
        yield Case(f"verify-url-{i}", ("verify-url", url), says="invalid URL")
        yield Case(f"load-url-{i}", ("load", url, "--rate", "1", "--duration", "1"), says="invalid URL")


# The cases of the issue, as a user meets them: a real process each.
CASES: list[Case] = [
    Case("generate-at-nan", ("generate", "--at", "nan"), says="expected a time from 2002-01-01"),
    Case("generate-at-1e300", ("generate", "--at", "1e300"), says="expected a time"),
    Case("generate-at-negative", ("generate", "--at", "-99999999999"), says="expected a time"),
    Case("generate-lone-surrogate", ("generate", "--set", 'event.meeting.topic="\\ud800"'), says="not valid Unicode"),
    Case("generate-env-key-not-utf8", ("generate",), env={"FEISHU_ENCRYPT_KEY": NOT_UTF8}, says="not valid UTF-8"),
    Case("push-env-key-not-utf8", ("push",), env={"FEISHU_ENCRYPT_KEY": NOT_UTF8}, says="$FEISHU_ENCRYPT_KEY"),
    Case("push-time-scale-nan", ("push", "--time-scale", "nan", "--retries", "feishu"), says="finite"),
    Case("push-time-scale-inf", ("push", "--time-scale", "inf", "--retries", "feishu"), says="finite"),
    Case("serve-time-scale-nan", ("serve", "--port", "0", "--time-scale", "nan"), says="finite"),
    Case("push-fault-delay-1e400", ("push", "--faults", "delay=1e400s"), says="delay"),
    Case("push-transcript-dev-full", ("push", "--transcript", "/dev/full"), says="No space left"),
    Case("push-transcript-proc", ("push", "--transcript", "/proc/version"), says="/proc/version"),
    *url_cases(),
    Case("push-count-huge", ("push", "--count", "99999999999999999999"), says="at most 1,000,000,000"),
    Case("receive-port-99999", ("receive", "--port", "99999"), says="0-65535"),
    Case("receive-ready-file-no-dir", ("receive", "--port", "0", "--ready-file", "/missing/dir/x"),
         says="does not exist"),
    Case("serve-ready-file-no-dir", ("serve", "--port", "0", "--ready-file", "/missing/dir/x"), says="does not exist"),
    Case("serve-transcript-proc", ("serve", "--port", "0", "--transcript", "/proc/version"), says="/proc/version"),
    Case("verify-url-refused", ("verify-url", "http://127.0.0.1:{refused}/x"), says="cannot reach"),
    Case("verify-url-bad-dns", ("verify-url", "http://no-such-host.invalid/x"), says="cannot reach"),
    Case("verify-url-connect-timeout", ("verify-url", "http://127.0.0.1:{stalled}/x", "--timeout", "0.5"),
         says="timed out"),
    Case("replay-platform", ("replay", "old.ndjson", "--platform", "http://127.0.0.1:{refused}"),
         says="replay --platform is not supported"),
    Case("load-platform-is-webhook", ("load", "--platform", "{receiver}", "--rate", "5", "--duration", "1"),
         says="not a feishu-sim platform"),
    Case("push-refused-keeps-transcript", ("push", "http://127.0.0.1:{refused}/x", "--transcript", "old.ndjson"),
         says="cannot reach"),
    Case("load-report-no-dir", ("load", "--rate", "1", "--duration", "1", "--report", "missing/r.json"),
         says="does not exist"),
    Case("no-arguments", (), says="usage: feishu-sim"),
]

# More of the same kind, checked in process (``main()``: the same code path, no process start-up).
MORE: list[Case] = [
    Case("generate-at-year-9999", ("generate", "--at", "9999-12-31T00:00:00"), says="expected a time"),
    Case("push-at-1e300", ("push", "--at", "1e300", "--retries", "feishu"), says="expected a time"),
    Case("generate-override-not-utf8", ("generate", "--set", "event.meeting.topic=" + NOT_UTF8),
         says="not valid Unicode"),
    Case("generate-count-huge", ("generate", "--count", "99999999999999999999"), says="at most 1,000,000,000"),
    Case("generate-locale-unknown", ("generate", "--locale", "xx_YY"), says="unknown locale"),
    Case("push-env-token-not-utf8", ("push",), env={"FEISHU_VERIFICATION_TOKEN": NOT_UTF8},
         says="$FEISHU_VERIFICATION_TOKEN"),
    Case("push-key-not-utf8", ("push", "--encrypt-key", NOT_UTF8), says="not valid UTF-8"),
    Case("push-time-scale-huge", ("push", "--time-scale", "1e9", "--retries", "feishu"), says="from 0 to 1000"),
    Case("push-timeout-inf", ("push", "--timeout", "inf"), says="invalid duration"),
    Case("push-retries-huge", ("push", "--retries", "99999999999999"), says="retries"),
    Case("push-transcript-no-dir", ("push", "--transcript", "missing/t.ndjson"), says="does not exist"),
    Case("push-platform-url", ("push", "--platform", BAD_URLS[0]), says="invalid URL"),
    Case("load-platform-url", ("load", "--platform", BAD_URLS[1], "--rate", "1"), says="invalid URL"),
    Case("serve-transcript-no-dir", ("serve", "--port", "0", "--transcript", "missing/t.ndjson"),
         says="does not exist"),
    Case("receive-port-negative", ("receive", "--port", "-1"), says="0-65535"),
    Case("replay-into-itself", ("replay", "old.ndjson", "--transcript", "old.ndjson"), says="must not be"),
    Case("load-report-is-dir", ("load", "--rate", "1", "--duration", "1", "--csv", "."), says="is a directory"),
    Case("load-two-stdout", ("load", "--rate", "1", "--duration", "1", "--report", "-", "--csv", "-"),
         says="only one of"),
    Case("load-duration-1e400", ("load", "--rate", "1", "--duration", "1e400"), says="--duration"),
    Case("load-rate-nan", ("load", "--rate", "nan"), says="rate"),
]


def fill(where: Path) -> None:
    (where / "old.ndjson").write_bytes(OLD_TRANSCRIPT)
    (where / "old.json").write_bytes(OLD_REPORT)


def untouched(where: Path) -> bool:
    return {p.name: p.read_bytes() for p in where.iterdir()} == {"old.ndjson": OLD_TRANSCRIPT, "old.json": OLD_REPORT}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[subprocess.CompletedProcess[bytes],
                                                                                     bool]]]:
    """Every case run once, in parallel; per case its process and its directory afterwards."""
    base = tmp_path_factory.mktemp("bad-input")
    with ThreadedServer(ReferenceReceiver().app()) as receiver, stalled_listener() as stalled:
        values = {"refused": str(free_port()), "stalled": str(stalled), "receiver": receiver.url}

        def one(case: Case) -> tuple[str, tuple[subprocess.CompletedProcess[bytes], bool]]:
            where = base / case.id
            where.mkdir()
            fill(where)
            argv = [a.format(**values) for a in case.argv]
            proc = run_cli(argv, cwd=where, env=cli_env(**case.env), timeout=60)
            return case.id, (proc, untouched(where))

        with ThreadPoolExecutor(max_workers=4) as pool:
            yield dict(pool.map(one, CASES))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, results: dict[str, tuple[subprocess.CompletedProcess[bytes], bool]]) -> None:
    proc, clean = results[case.id]
    check(case, proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))
    assert clean, "a file was written or replaced"


@pytest.mark.parametrize("case", MORE, ids=[c.id for c in MORE])
def test_more_bad_input(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    from simulator.cli import main

    fill(tmp_path)
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith("FEISHU_")]:
        monkeypatch.delenv(name)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    code = main(list(case.argv))
    out, err = capsys.readouterr()
    check(case, code, out, err)
    assert untouched(tmp_path), "a file was written or replaced"


def check(case: Case, code: int, out: str, err: str) -> None:
    assert "Traceback" not in err, err
    assert code == case.code, (code, err)
    assert len(err.splitlines()) == 1 and err.endswith("\n"), err
    assert case.says in err, err
    assert out == "", out[:300]


def test_every_command_has_a_case() -> None:
    from simulator.cli import COMMANDS

    names = {m.__name__.rsplit(".", 1)[-1].replace("_", "-") for m in COMMANDS}
    covered = {c.argv[0] for c in CASES if c.argv}  # every command, as a real process
    assert names <= covered, names - covered

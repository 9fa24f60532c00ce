"""``feishu-sim load`` with a callback type: every 200 answer is judged too; invalid answers are counted as
``bad_answer`` (apart from non-200 answers) and the report gives the share of valid answers next to latency."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.cli import main
from simulator.load.answers import AnswerCache, answer_cache
from simulator.load.recorder import Counts, Recorder
from simulator.servers import ThreadedServer
from simulator.verdicts.answers import AnswerKind

GOOD = b'{"toast":{"type":"success","content":"ok"}}'
BAD = b'{"toast":{"type":"ok","content":"ok"}}'


def every_third_bad() -> Starlette:
    counter = itertools.count()

    async def endpoint(request: Request) -> Response:
        await request.body()
        return Response(BAD if next(counter) % 3 == 2 else GOOD, media_type="application/json")

    return Starlette(routes=[Route("/{p:path}", endpoint, methods=["POST"])])


def test_load_reports_the_share_of_valid_answers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "r.json"
    csv = tmp_path / "r.csv"
    with ThreadedServer(every_third_bad()) as srv:
        code = main(["load", srv.url + "/callback", "card.action.trigger", "--rate", "60", "--duration", "1",
                     "--connections", "1", "--report", str(report), "--csv", str(csv), "--seed", "3"])
    out = capsys.readouterr().out
    assert code == 1
    doc = json.loads(report.read_text())
    c = doc["counts"]
    assert (c["acked"], c["bad_answer"], c["non_200"]) == (40, 20, 0)
    assert c["statuses"] == {} and doc["valid_answer_share"] == pytest.approx(2 / 3, abs=1e-6)
    assert any(s == "bad_answer: toast.type 'ok' is not one of info|success|warning|error" for s in c["samples"])
    lines = out.splitlines()
    latency = next(i for i, line in enumerate(lines) if line.startswith("latency "))
    assert lines[latency + 1] == "answers     66.67% valid (40 valid, 20 bad) of the 200 answers in time"
    assert "  bad answer 20  " in next(line for line in lines if line.startswith("verdicts "))
    header = csv.read_text().splitlines()[0].split(",")
    assert header[:6] == ["second", "sent", "acked", "non_200", "bad_answer", "timeout"]


def test_load_against_the_reference_receiver_is_all_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", "url.preview.get", "--rate", "50", "--duration", "0.6"]) == 0
    assert "answers     100.00% valid (30 valid, 0 bad) of the 200 answers in time" in capsys.readouterr().out


def test_events_keep_their_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", "--rate", "20", "--duration", "0.5"]) == 0
    assert "answers " not in capsys.readouterr().out


def test_the_recorder_counts_bad_answers_apart() -> None:
    r = Recorder(3.0)
    r.response("200", 0.01, ok=True)
    r.response("bad_answer", 0.02, ok=False)
    r.response("ack:bad_answer", 0.02, ok=False)
    r.response("500", 0.02, ok=False)
    iv = r.interval
    assert (iv.acked, iv.bad_answer, iv.non_200, iv.done) == (1, 2, 1, 4) and dict(iv.statuses) == {"500": 1}
    assert iv.valid_answer_share == pytest.approx(1 / 3)
    assert Counts.from_json(iv.to_json()).bad_answer == 2 and Counts().valid_answer_share is None


def test_the_answer_cache_judges_once_per_body_and_stays_bounded() -> None:
    assert answer_cache("vc.meeting.share_ended_v1") is None
    cache = answer_cache("card.action.trigger")
    assert isinstance(cache, AnswerCache) and cache.kind is AnswerKind.CARD_ACTION
    assert cache.problem(GOOD) is None and cache.problem(BAD) is not None
    assert cache.problem(b"") == "answer is empty (expected a JSON object; {} is the answer that changes nothing)"
    for i in range(AnswerCache.SIZE + 10):
        cache.problem(b'{"toast":{"content":"%d"}}' % i)
    assert len(cache._seen) == AnswerCache.SIZE

"""Report writers: atomic files, CSV rows, the JSON document and the summary, from a hand-made result."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from simulator.config import AppProfile
from simulator.errors import ConfigError
from simulator.load.driver import LoadPlan, WorkerStats
from simulator.load.recorder import Aggregate, Recorder
from simulator.load.report import (
    CSV_FIELDS,
    LoadResult,
    check_writable,
    csv_text,
    summary_lines,
    write_atomic,
    write_json,
)
from simulator.load.schedule import Schedule


def result() -> LoadResult:
    plan = LoadPlan(url="http://127.0.0.1:1/hook", schedule=Schedule.constant(2, 2), connections=2,
                    app=AppProfile(encrypt_key="k"))
    agg = Aggregate(1)
    rec = Recorder(3.0)
    for second in range(2):
        rec.sent()
        rec.response(200, 0.004, ok=True)
        rec.sent()
        rec.response(503 if second else 200, 0.002, ok=not second)
        agg.add(rec.roll())
    agg.finish()
    stats = [WorkerStats(worker=0, loop="uvloop", sent=4, lag_mean_ms=0.01, lag_max_ms=0.05, last_send_s=1.5,
                         source={})]
    return LoadResult(plan=plan, aggregate=agg, workers=stats, target=plan.url)


def test_json_document() -> None:
    doc = result().to_json()
    assert doc["scheduled"] == 4 and doc["achieved_rate"] == 2.0
    assert doc["counts"]["acked"] == 3 and doc["counts"]["statuses"] == {"503": 1}
    assert doc["within_budget_share"] == 0.75
    assert [r["second"] for r in doc["seconds"]] == [0, 1]
    assert doc["latency_ms"]["count"] == 4 and doc["channel"] == "webhook" and doc["encrypted"] is True
    json.dumps(doc)  # serialisable as is


def test_summary_names_every_verdict() -> None:
    r = result()
    assert not r.all_acked
    text = "\n".join(summary_lines(r))
    assert "acked 3  non-200 1  timeout 0  error 0  unsent 0" in text
    assert "75.00% acked within 3 s" in text and "statuses    503: 1" in text


def test_csv_rows() -> None:
    rows = list(csv.DictReader(csv_text(result().aggregate.rows).splitlines()))
    assert tuple(rows[0]) == CSV_FIELDS
    assert [r["acked"] for r in rows] == ["2", "1"] and rows[1]["non_200"] == "1"


def test_writes_are_atomic(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    write_json(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1}
    with pytest.raises(TypeError):
        write_atomic(target, 42)  # type: ignore[arg-type]
    assert json.loads(target.read_text()) == {"a": 1}  # the old file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary left behind


def test_check_writable(tmp_path: Path) -> None:
    check_writable(str(tmp_path / "ok.json"), "--report")
    check_writable(None, "--report")
    with pytest.raises(ConfigError, match="no directory"):
        check_writable(str(tmp_path / "missing" / "r.json"), "--report")
    with pytest.raises(ConfigError, match="is a directory"):
        check_writable(str(tmp_path), "--csv")

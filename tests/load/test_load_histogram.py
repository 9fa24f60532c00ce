"""HDR histograms: percentiles to 99.99, exact merge across workers (also through the encoded form)."""

from __future__ import annotations

import pytest

from simulator.load.histogram import LatencyHistogram
from simulator.load.recorder import Aggregate, Counts, Interval, Recorder


def filled(values_us: range | list[int]) -> LatencyHistogram:
    h = LatencyHistogram()
    for v in values_us:
        h.record_us(v)
    return h


def test_percentiles_up_to_9999_and_max() -> None:
    h = filled(range(1, 100_001))  # 1 us .. 100 ms
    p = h.percentiles_ms()
    assert list(p) == ["p50", "p75", "p90", "p95", "p99", "p99.9", "p99.99", "max"]
    assert p["p50"] == pytest.approx(50.0, rel=0.002)
    assert p["p99"] == pytest.approx(99.0, rel=0.002)
    assert p["p99.99"] == pytest.approx(99.99, rel=0.002)
    assert p["max"] == pytest.approx(100.0, rel=0.002)


def test_merge_equals_recording_everything_in_one() -> None:
    a = filled(range(1, 50_001))
    b = filled([200_000] * 500 + [5_000_000] * 10)
    one = filled(list(range(1, 50_001)) + [200_000] * 500 + [5_000_000] * 10)
    merged = LatencyHistogram.merged([a.encode(), b.encode()])
    assert merged.count == one.count == 50_510
    for p in (50, 90, 99, 99.9, 99.99, 100):
        assert merged.value_at_ms(p) == one.value_at_ms(p)
    # the merged tail comes from b only: a worker's outliers are not averaged away
    assert merged.value_at_ms(99.99) == pytest.approx(5000, rel=0.002)


def test_values_are_clamped_not_lost() -> None:
    h = filled([0, -5, 10**12])
    assert h.count == 3
    assert h.max_ms() == pytest.approx(60_000, rel=0.002)


def test_distribution_reaches_100_percent() -> None:
    pts = filled(range(1, 10_001)).distribution()
    assert pts[0][0] == pytest.approx(0.0, abs=1e-9) or pts[0][0] < 1
    assert pts[-1][0] == 100.0
    assert [p for p, _ in pts] == sorted(p for p, _ in pts)
    assert LatencyHistogram().distribution() == []


def test_recorder_intervals_and_aggregate_of_two_workers() -> None:
    recs = [Recorder(3.0), Recorder(3.0)]
    for r in recs:
        r.sent()
        r.response(200, 0.010, ok=True)
        r.sent()
        r.response(200, 3.5, ok=True)  # acked but over budget
        r.sent()
        r.response(503, 0.002, ok=False)
        r.sent()
        r.timeout(3.2)
        r.sent()
        r.error("connect", "refused")
    agg = Aggregate(workers=2)
    assert agg.add(recs[0].roll()) is None  # second 0 not complete until both workers reported
    merged = agg.add(Interval(0, Counts.from_json(recs[1].interval.to_json()),
                              LatencyHistogram.decode(recs[1].interval_hist.encode())))
    assert merged is not None and merged.counts.sent == 10
    agg.finish()
    t = agg.total
    assert (t.sent, t.acked, t.within_budget, t.non_200, t.timeout, t.error) == (10, 4, 2, 2, 2, 2)
    assert t.statuses["503"] == 2 and t.errors["connect"] == 2
    assert agg.hist.count == 8  # errors have no latency; timeouts are recorded at their age
    assert len(agg.rows) == 1 and agg.rows[0]["sent"] == 10


def test_aggregate_flushes_incomplete_seconds_in_order() -> None:
    agg = Aggregate(workers=2)
    for second in (1, 0):
        c = Counts(sent=1)
        agg.add(Interval(second, c, LatencyHistogram()))
    agg.finish()
    assert [r["second"] for r in agg.rows] == [0, 1]


def test_dropped_histograms_are_freed_without_the_cyclic_gc() -> None:
    import gc
    import weakref

    gc.disable()
    try:
        h = LatencyHistogram()
        h.record_us(5)
        ref = weakref.ref(h.hdr)
        del h
        assert ref() is None  # freed by reference counting: a run's memory stays flat
    finally:
        gc.enable()

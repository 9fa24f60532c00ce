"""The result of a run as data (``LoadResult.to_json``), and its renderings: summary text, progress line,
JSON and CSV files. Files are written to a temporary name and renamed, so a failed run never leaves a
half-written report."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator import __version__
from simulator.errors import ConfigError
from simulator.generation import catalog
from simulator.load.driver import LoadPlan, WorkerStats
from simulator.load.recorder import Aggregate, Interval

CSV_FIELDS = ("second", "sent", "acked", "non_200", "bad_answer", "timeout", "error", "p50_ms", "p90_ms", "p99_ms",
              "max_ms")


@dataclass
class LoadResult:
    plan: LoadPlan
    aggregate: Aggregate
    workers: list[WorkerStats]
    target: str
    embedded_receiver: bool = False
    started_at: float = 0.0  # epoch seconds
    elapsed_s: float = 0.0
    receiver: dict[str, Any] = field(default_factory=dict)

    @property
    def scheduled(self) -> int:
        return self.plan.schedule.total

    @property
    def achieved_rate(self) -> float:
        return self.aggregate.total.sent / self.plan.schedule.duration

    @property
    def within_budget_share(self) -> float:
        return self.aggregate.total.within_budget / self.scheduled if self.scheduled else 0.0

    @property
    def all_acked(self) -> bool:
        t = self.aggregate.total
        return t.acked == self.scheduled and t.within_budget == t.acked

    @property
    def callback(self) -> bool:
        """A callback type: its answers are judged (``valid_answer_share``)."""
        spec = catalog.find(self.plan.event_type)
        return spec is not None and spec.callback is not None

    def to_json(self) -> dict[str, Any]:
        plan, agg = self.plan, self.aggregate
        share = agg.total.valid_answer_share if self.callback else None
        lag_max = max((w.lag_max_ms for w in self.workers), default=0.0)
        sent = sum(w.sent for w in self.workers)
        lag_mean = sum(w.lag_mean_ms * w.sent for w in self.workers) / sent if sent else 0.0
        return {
            "tool": "feishu-sim load",
            "version": __version__,
            "target": self.target,
            "channel": "longconn" if plan.platform else "webhook",
            "embedded_receiver": self.embedded_receiver,
            "event_type": plan.event_type,
            "encrypted": plan.app.encrypt_key is not None and not plan.platform,
            "seed": plan.seed,
            "workers": len(self.workers),
            "connections": plan.connections,
            "loop": self.workers[0].loop if self.workers else "",
            "budget_s": plan.budget.total_s,
            "schedule": plan.schedule.to_json(),
            "started_at": self.started_at,
            "elapsed_s": round(self.elapsed_s, 3),
            "scheduled": self.scheduled,
            "achieved_rate": round(self.achieved_rate, 3),
            "within_budget_share": round(self.within_budget_share, 6),
            "valid_answer_share": None if share is None else round(share, 6),
            "counts": agg.total.to_json(),
            "latency_ms": agg.hist.summary(),
            "service_time_ms": agg.service.summary() if agg.service is not None else None,
            "generator": {"lag_mean_ms": round(lag_mean, 3), "lag_max_ms": lag_max,
                          "workers": [w.to_json() for w in self.workers]},
            "receiver": self.receiver,
            "distribution": [[round(p, 6), round(v, 3)] for p, v in agg.hist.distribution()],
            "histogram": agg.hist.encode() if agg.hist.count else "",
            "seconds": agg.rows,
        }


def summary_lines(result: LoadResult) -> list[str]:
    t = result.aggregate.total
    h = result.aggregate.hist
    pct = h.percentiles_ms()
    lines = [
        f"target      {result.target}{'  (built-in reference receiver)' if result.embedded_receiver else ''}"
        f"{'  (long-connection platform: one push per request)' if result.plan.platform else ''}",
        f"schedule    {result.plan.schedule.describe()}, {result.plan.connections} connections, "
        f"{len(result.workers)} process{'es' if len(result.workers) > 1 else ''}",
        f"requests    {t.sent:,} sent of {result.scheduled:,} scheduled, achieved {result.achieved_rate:,.1f}/s",
        f"verdicts    acked {t.acked:,}  non-200 {t.non_200:,}{f'  bad answer {t.bad_answer:,}' * bool(t.bad_answer)}"
        f"  timeout {t.timeout:,}  error {t.error:,}  unsent {t.unsent:,}",
        f"budget      {result.within_budget_share * 100:.2f}% acked within {result.plan.budget.total_s:g} s",
        "latency     " + "  ".join(f"{k} {v:.2f}" for k, v in pct.items()) + " ms (from intended send time)",
    ]
    share = t.valid_answer_share
    if result.callback:
        valid = "no answers in time" if share is None else f"{share * 100:.2f}% valid"
        lines.append(f"answers     {valid} ({t.acked:,} valid, {t.bad_answer:,} bad) of the 200 answers in time")
    if result.aggregate.service is not None:
        spct = result.aggregate.service.percentiles_ms()
        lines.append("service     " + "  ".join(f"{k} {v:.2f}" for k, v in spct.items())
                     + " ms (from actual send time: what a closed loop would report)")
    if t.statuses:
        lines.append("statuses    " + ", ".join(f"{k}: {v:,}" for k, v in sorted(t.statuses.items())))
    if t.errors:
        lines.append("errors      " + ", ".join(f"{k}: {v:,}" for k, v in sorted(t.errors.items())))
    for s in t.samples[:3]:
        lines.append(f"  e.g.      {s}")
    return lines


def progress_line(iv: Interval, *, elapsed: float, duration: float, errors: int) -> str:
    h = iv.hist
    left = max(0.0, duration - elapsed)
    return (f"{elapsed:6.1f}s  {iv.counts.sent:>7,}/s  p50 {h.value_at_ms(50):8.2f} ms  p99 {h.value_at_ms(99):8.2f} ms"
            f"  errors {errors:,}  {left:5.1f}s left")


def check_writable(path: str | None, what: str) -> None:
    """Fail before the run when a report could not be written."""
    if not path:
        return
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise ConfigError(f"{what} {path!r} is a directory")
    if not parent.is_dir():
        raise ConfigError(f"cannot write {what} {path!r}: no directory {str(parent)!r}")
    if not os.access(parent, os.W_OK):
        raise ConfigError(f"cannot write {what} {path!r}: directory not writable")


def write_atomic(path: str | Path, text: str) -> None:
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=str(p.parent) if str(p.parent) else ".")
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_json(path: str | Path, doc: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(doc, ensure_ascii=False, indent=2) + "\n")


def csv_text(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(CSV_FIELDS), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow(row)
    return buf.getvalue()


def write_csv(path: str | Path, rows: list[dict[str, Any]]) -> None:
    write_atomic(path, csv_text(rows))

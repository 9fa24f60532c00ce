"""Events/s of ``generate`` versus a naive baseline that calls Faker for every field of every event.

Run: ``python tests/benchmarks/bench_generate.py [--events N]``. Both are measured in the same run; the
ratio is what matters (goal: >= 4x). Every event the engine produced in the timed loop is validated against
the schema afterwards and checked for variety, so speed is not bought with broken or repetitive events.

It also times ``feishu-sim generate --count N im.message.receive_v1`` against the same command for the
vc.meeting generator (goal: the IM family at least as fast), interleaved, best of three each, and checks
the IM output (schema, message content, variety).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from faker import Faker

from simulator.clock import VirtualClock
from simulator.generation import schemas
from simulator.generation.factory import SEEDED_EPOCH, EventFactory
from simulator.rand import SimRandom

ET = "vc.meeting.share_ended_v1"


def naive_user(fk: Any, role: int) -> dict[str, Any]:
    return {"id": {"union_id": "on_" + fk.hexify("^" * 32), "user_id": fk.lexify("????????").lower(),
                   "open_id": "ou_" + fk.hexify("^" * 32)},
            "user_role": role, "user_type": fk.random_int(1, 9)}


def naive_event(fk: Any, now: float) -> dict[str, Any]:
    """What a one-off script does: Faker for every field of every event."""
    end = int(now) - fk.random_int(0, 3)
    start = end - fk.random_int(300, 7200)
    return {
        "schema": "2.0",
        "header": {"event_id": fk.hexify("^" * 32), "event_type": ET, "create_time": str(int(now * 1000)),
                   "token": "", "app_id": "cli_a1b2c3d4e5f60718", "tenant_key": "2ca1d211f64f6438"},
        "event": {
            "meeting": {
                "id": "7" + fk.numerify("#" * 18), "topic": fk.sentence(nb_words=3),
                "meeting_no": fk.numerify("%########"),
                "meeting_source": fk.random_element((1, 2, 3, 4, 100)), "start_time": str(start), "end_time": str(end),
                "host_user": naive_user(fk, 2), "owner": naive_user(fk, 2),
                "security_setting": {"security_level": fk.random_int(1, 4), "group_ids": [], "user_ids": [],
                                     "room_ids": [], "has_set_security_contacts_and_group": False},
            },
            "operator": naive_user(fk, fk.random_int(1, 3)),
        },
    }


def bench_naive(n: int) -> float:
    fk = Faker("zh_CN")
    fk.seed_instance(1)
    t0 = time.perf_counter()
    for i in range(n):
        json.dumps(naive_event(fk, SEEDED_EPOCH + i), ensure_ascii=False, separators=(",", ":"))
    return n / (time.perf_counter() - t0)


def bench_engine(n: int, *, validate: bool) -> tuple[float, list[dict[str, Any]]]:
    f = EventFactory(rand=SimRandom(1), clock=VirtualClock(SEEDED_EPOCH), validate_all=validate)
    f.generate(ET)  # warm the population pool (set-up, not per event)
    out: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for _ in range(n):
        env = f.generate(ET, validate=validate)
        json.dumps(env, ensure_ascii=False, separators=(",", ":"))
        out.append(env)
    return n / (time.perf_counter() - t0), out


IM = "im.message.receive_v1"


def bench_cli(event_type: str, n: int) -> tuple[float, str]:
    """events/s of ``feishu-sim generate --count n --seed 1 EVENT_TYPE`` (in process, NDJSON to memory), in
    this process's CPU time: the two generators are compared on a machine other jobs may share."""
    from simulator.cli import main as cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        t0 = time.process_time()
        code = cli(["generate", "--count", str(n), "--seed", "1", event_type])
        rate = n / (time.process_time() - t0)
    assert code == 0
    return rate, out.getvalue()


def im_versus_vc(n: int) -> tuple[float, float, list[dict[str, Any]]]:
    best = {ET: 0.0, IM: 0.0}
    text = ""
    for _ in range(3):
        for et in (ET, IM):
            rate, out = bench_cli(et, n)
            best[et] = max(best[et], rate)
            if et == IM:
                text = out
    return best[ET], best[IM], [json.loads(line) for line in text.splitlines()]


def check_im(events: list[dict[str, Any]]) -> int:
    """Schema and content errors in a sample of the IM events (full validation of all would dominate)."""
    from jsonschema import Draft202012Validator

    base = "https://feishu-sim.example/schemas/im/message_content.schema.json#/$defs/"
    bad = 0
    for env in events[:: max(1, len(events) // 2000)]:
        m = env["event"]["message"]
        content = m["content"] if m["message_type"] == "merge_forward" else json.loads(m["content"])
        v = Draft202012Validator({"$ref": base + m["message_type"]}, registry=schemas._registry())
        bad += bool(schemas.errors(env)) or any(True for _ in v.iter_errors(content))
    return bad


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20000)
    args = ap.parse_args()
    n = args.events
    naive = bench_naive(n)
    fast, events = bench_engine(n, validate=False)
    checked, _ = bench_engine(max(n // 10, 100), validate=True)
    invalid = sum(1 for e in events if schemas.errors(e))
    ids = len({e["header"]["event_id"] for e in events})
    topics = len({e["event"]["meeting"]["topic"] for e in events})
    operators = len({e["event"]["operator"]["id"]["open_id"] for e in events})
    print(f"naive Faker-per-field baseline : {naive:10.0f} events/s")
    print(f"engine generate (CLI default) : {fast:10.0f} events/s  ratio {fast / naive:5.2f}x (goal >= 4x)")
    print(f"generate --validate-all        : {checked:10.0f} events/s  ratio {checked / naive:5.2f}x")
    print(f"checked {n} engine events: {invalid} schema-invalid, {ids} unique event ids, {topics} topics, "
          f"{operators} distinct operators")
    vc_rate, im_rate, im_events = im_versus_vc(n)
    im_bad = check_im(im_events)
    messages = len({e["event"]["message"]["message_id"] for e in im_events})
    kinds = len({e["event"]["message"]["message_type"] for e in im_events})
    chats = len({e["event"]["message"]["chat_id"] for e in im_events})
    print(f"generate --count {n} {ET} : {vc_rate:10.0f} events/s (CPU)")
    print(f"generate --count {n} {IM}     : {im_rate:10.0f} events/s (CPU)  ratio {im_rate / vc_rate:5.2f}x "
          f"(goal >= 1x)")
    print(f"checked the {n} IM events: {im_bad} invalid in a sample of {min(n, 2000)}, {messages} unique "
          f"message ids, {kinds} message types, {chats} chats")
    return 0 if invalid == 0 and ids == n and im_bad == 0 and messages == n and im_rate >= vc_rate else 1


if __name__ == "__main__":
    raise SystemExit(main())

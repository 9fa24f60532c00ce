"""URL verification (the challenge), judged like the console does (docs/semantics.md#url-verification,
docs/protocol.md#url-verification-challenge):
HTTP 200, a JSON body ``{"challenge": <same value>}``, within 1 s."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import httpx

from simulator import constants as C
from simulator.delivery.webhook import read_capped
from simulator.rand import SimRandom
from simulator.wire.envelope import challenge
from simulator.wire.legacy_card import legacy_challenge_body
from simulator.wire.seal import AesCipher, canonical_json


@dataclass
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def challenge_request(value: str, *, token: str | None, encrypt_key: str | None,
                      rand: SimRandom, legacy_card: bool = False) -> tuple[bytes, dict[str, str]]:
    """The challenge of an event (or callback) URL; ``legacy_card``: of a legacy card request URL, always
    plaintext, in the legacy key order (``simulator.wire.legacy_card.legacy_challenge_body``)."""
    headers = {"Content-Type": C.CONTENT_TYPE_JSON, C.HEADER_REQUEST_ID: rand.uuid()}
    if legacy_card:
        return legacy_challenge_body(value, token or ""), headers
    plain = canonical_json(challenge(value, token))
    if encrypt_key:
        body = canonical_json({"encrypt": AesCipher(encrypt_key).encrypt(plain, rand.token_bytes(16))})
        return body, headers
    return plain, headers


async def verify_url(url: str, *, token: str | None, encrypt_key: str | None, rand: SimRandom | None = None,
                     client: httpx.AsyncClient | None = None, budget_s: float = C.CHALLENGE_BUDGET_S,
                     timeout_s: float = C.WEBHOOK_TOTAL_BUDGET_S, legacy_card: bool = False) -> list[Check]:
    rand = rand or SimRandom()
    value = rand.alnum(16, lower=True)
    body, headers = challenge_request(value, token=token, encrypt_key=encrypt_key, rand=rand, legacy_card=legacy_card)
    own = client is None
    timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, C.WEBHOOK_CONNECT_BUDGET_S))
    client = client or httpx.AsyncClient(timeout=timeout, trust_env=False)
    checks: list[Check] = []
    t0 = time.perf_counter()

    async def ask() -> tuple[httpx.Response, bytes]:
        async with client.stream("POST", url, content=body, headers={**headers, "Accept-Encoding": "identity"}) as r:
            return r, await read_capped(r)  # at most RESPONSE_READ_CAP bytes, even of an endless body

    try:
        resp, content = await asyncio.wait_for(ask(), timeout_s)
    except asyncio.TimeoutError:
        checks.append(Check("response", False, f"no complete response within {timeout_s:g} s"))
        return checks
    except httpx.HTTPError as exc:
        elapsed = (time.perf_counter() - t0) * 1000
        checks.append(Check("response", False, f"no response after {elapsed:.0f} ms: {type(exc).__name__} {exc}"))
        return checks
    finally:
        if own:
            await client.aclose()
    elapsed = (time.perf_counter() - t0) * 1000
    status = f"HTTP {resp.status_code}"
    if resp.status_code != 200:  # the receiver's reason, as audit shows it
        reason = content.decode("utf-8", "replace").strip().replace("\n", " ")
        if reason:
            status += " " + (reason if len(reason) <= 120 else reason[:117] + "...")
    checks.append(Check("status", resp.status_code == 200, status))
    try:
        doc = json.loads(content)
        is_json = True
    except (ValueError, RecursionError):
        doc, is_json = None, False
    text = content[:120].decode("utf-8", "replace")
    checks.append(Check("json body", is_json and isinstance(doc, dict),
                        "a JSON object" if is_json else f"not JSON: {text!r}"))
    echoed = doc.get("challenge") if isinstance(doc, dict) else None
    checks.append(Check("challenge echoed", echoed == value,
                        f"got {echoed!r}" + ("" if echoed == value else f", expected {value!r}")))
    checks.append(Check("within budget", elapsed <= budget_s * 1000,
                        f"{elapsed:.1f} ms (budget {budget_s * 1000:.0f} ms)"))
    return checks


class UrlVerification(list[Check]):
    """The judged checks of one challenge (a list of ``Check``): ``ok`` when all passed; the repr names
    each check, so ``assert result.ok`` shows what failed."""

    @property
    def ok(self) -> bool:
        return bool(self) and all(c.ok for c in self)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self if not c.ok]

    def __repr__(self) -> str:
        verdict = "passed" if self.ok else f"{len(self.failed)} of {len(self)} checks failed"
        return f"UrlVerification({verdict}: {'; '.join(c.line() for c in self)})"

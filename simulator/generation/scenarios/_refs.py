"""Cross-references of a scenario the schema cannot see: every name a table or step uses is declared in
[people] (as a named person or a crowd, as the key allows), no label is both, the host is not also a
co-host, and step ids are unique. The timeline (``after``, ordering, presence) is ``_check``'s, and the
chat steps' targets (``on``, ``reply_to``) are ``_chat_check``'s."""

from __future__ import annotations

from simulator.generation.scenarios._model import Scenario, Step

# Chat steps whose ``by`` may be a crowd (one of its members each time).
CROWD_BY = ("message", "reaction_created", "click")


def check_references(sc: Scenario) -> None:
    """Raise ``FixtureError`` for the first name used but not declared (tables first, then steps)."""
    for name in sc.crowds:
        if name in sc.named:
            raise sc.error(f"{name!r} is both a named person and a crowd", table="people", key="crowds")
    if sc.chat is not None:
        _chat_table(sc)
    else:
        _meeting_table(sc)
    ids: set[str] = set()
    for step in sc.steps:
        if step.id in ids:
            raise sc.error(f"duplicate step id {step.id!r}", step, key="id")
        ids.add(step.id)
        _step(sc, step)


def _meeting_table(sc: Scenario) -> None:
    for key, names in (("host", (sc.host,)), ("cohosts", sc.cohosts), ("owner", (sc.owner,) if sc.owner else ())):
        for n in names:
            if n not in sc.named:
                raise sc.error(f"{n!r} is not declared in [people] named", table="meeting", key=key)
    if sc.host in sc.cohosts:
        raise sc.error(f"{sc.host!r} is the host and cannot also be a co-host", table="meeting", key="cohosts")
    for n in sc.subscribers:
        if n not in sc.named:
            raise sc.error(f"{n!r} is not declared in [people] named", table="scenario", key="participant_subscribers")


def _chat_table(sc: Scenario) -> None:
    chat = sc.chat
    assert chat is not None
    for key, name in (("user", chat.user), ("owner", chat.owner)):
        if name is not None and name not in sc.named:
            what = "a crowd" if name in sc.crowds else "not declared in [people] named"
            raise sc.error(f"{name!r} is {what}: {key} is one named person", table="chat", key=key)
    for n in chat.members:
        if n not in sc.named and n not in sc.crowds:
            raise sc.error(f"{n!r} is not declared in [people]", table="chat", key="members")
        if n == chat.owner:
            raise sc.error(f"{n!r} is the owner (a member already)", table="chat", key="members")


def _step(sc: Scenario, step: Step) -> None:
    for key, names in (("who", step.who), ("by", (step.by,) if step.by else ()), ("mentions", step.keys.mentions)):
        for n in names:
            if n not in sc.named and n not in sc.crowds:
                raise sc.error(f"{key}: {n!r} is not declared in [people]", step, key=key)
    if sc.chat is not None:
        for key, names in (("who", step.who), ("mentions", step.keys.mentions)):
            crowd = next((n for n in names if n in sc.crowds), None)
            if crowd is not None:
                raise sc.error(f"{key} names people ({crowd!r} is a crowd)", step, key=key)
    elif len(step.who) > 1 and any(n in sc.crowds for n in step.who):
        raise sc.error("a crowd must be the only name in 'who'", step, key="who")
    if step.by is not None and step.by in sc.crowds and not (sc.chat is not None and step.action in CROWD_BY):
        raise sc.error(f"by must be one named person ({step.by!r} is a crowd)", step, key="by")
    if step.count is not None and step.action in ("join_meeting", "leave_meeting") and step.crowd is None:
        raise sc.error("count needs a crowd in 'who'", step, key="count")

"""Chat scenario files: every problem is one line naming the file, the line or step and the problem (CLI exit
2); and any file, however its steps are drawn, either fails that way or plays a coherent conversation for
every seed (the static checks are sound)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.cli import main
from simulator.errors import FixtureError
from simulator.generation import scenarios
from simulator.rand import SimRandom
from tests.catalog.chat_invariants import check_chat_sequence
from tests.catalog.helpers import factory

GROUP = """\
[scenario]
description = "test"

[chat]
owner = "o"
members = ["a", "b", "crowd"]

[people]
named = ["o", "a", "b", "x"]
crowds = { crowd = 5 }

[[step]]
id = "ask"
event = "message"
by = "a"
"""
P2P = """\
[chat]
type = "p2p"
user = "u"

[people]
named = ["u"]

[[step]]
id = "hi"
event = "message"
"""


def message(text: str) -> str:
    with pytest.raises(FixtureError) as info:
        scenarios.loads(text, source="s.toml")
    return str(info.value)


def test_the_base_files_load() -> None:
    assert [s.action for s in scenarios.loads(GROUP).steps] == ["message"]
    assert scenarios.loads(P2P).chat is not None


@pytest.mark.parametrize(("base", "body", "needle", "problem"), [
    (GROUP, 'event = "join_meeting"\nwho = "a"\n', "event", "join_meeting is a meeting step; a [chat] scenario "
     "takes chat steps (p2p_chat_entered, message, bot_message, reaction_created, reaction_deleted, message_read, "
     "recalled, click, bot_added, bot_deleted, user_added, user_deleted, user_withdrawn, chat_updated, "
     "chat_disbanded)"),
    (GROUP, 'event = "message_read"\n', "event", 'message_read is a p2p step (type = "p2p"); this chat is a '
     "group"),
    (P2P, 'event = "bot_added"\n', "event", "bot_added is a group step; this chat is p2p"),
    (GROUP, 'event = "message"\ncolour = 1\n', "colour", "unknown field 'colour' for message (allowed: after, at, by, "
     "count, delay, event, id, mention_bot, mentions, message_type, replies, reply_to, spread, text, thread)"),
    (GROUP, 'event = "reaction_created"\non = "nope"\n', "on =", "on: no step with id 'nope'"),
    (GROUP, 'event = "reaction_created"\non = "later"\n\n[[step]]\nid = "later"\nevent = "message"\n', "on =",
     "on: step 'later' may not have happened yet; anchor this step after it (after = 'later')"),
    (GROUP, 'event = "recalled"\non = "ask"\ncount = 2\n', "count =", "step 'ask' sends 1 message(s): 2 cannot be "
     "recalled (a message is recalled once)"),
    (GROUP, 'event = "recalled"\non = "s"\n', "on =", "on: step 's' is a recalled step, not message"),
    (GROUP, 'event = "recalled"\non = "ask"\n\n[[step]]\nevent = "reaction_created"\non = "ask"\n', "on =",
     "on: the messages of step 'ask' may all be recalled by then (step 's')"),
    (GROUP, 'event = "recalled"\non = "ask"\n\n[[step]]\nevent = "reaction_created"\n', "[[step]]",
     "no message is surely in the chat (and not recalled) before this step: anchor it after a message step, or name "
     "one with on"),
    (GROUP, 'event = "message"\nmention_bot = false\n', "mention_bot", "without [chat] group_msg_scope only messages "
     "that @ the bot reach it: mention_bot cannot be false"),
    (GROUP, 'event = "message"\nmessage_type = "image"\n', "message_type", "without [chat] group_msg_scope only "
     "messages that @ the bot reach it, and image cannot @ (text and post can)"),
    (GROUP, 'event = "message"\nby = "x"\n', "by", "'x' is not surely in the chat at this step (add them before, and "
     "remove them after)"),
    (GROUP, 'event = "message"\nmentions = ["x"]\n', "mentions", "'x' is not surely in the chat at this step: only "
     "members are @-ed"),
    (GROUP, 'event = "user_added"\nwho = "a"\n', "who", "impossible order: 'a' is already in the chat here (since the "
     "start)"),
    (GROUP, 'event = "user_deleted"\nwho = "o"\n', "who", "'o' owns the group and cannot leave it"),
    (GROUP, 'event = "user_deleted"\nwho = "crowd"\n', "who", "who names people ('crowd' is a crowd)"),
    (GROUP, 'event = "user_added"\nwho = "x"\nby = "crowd"\n', "by", "by must be one named person ('crowd' is a "
     "crowd)"),
    (GROUP, 'event = "user_withdrawn"\nwho = "b"\n', "who", "'b' may be in the chat here: an invitation is withdrawn "
     "before joining"),
    (GROUP, 'event = "message"\nthread = true\n', "thread", "thread is for replies: give reply_to or replies"),
    (GROUP, 'event = "message"\nreply_to = "ask"\nreplies = 0.5\n', "replies", "give either reply_to or replies, not "
     "both"),
    (GROUP, 'event = "message"\nreplies = 2\n', "replies", "replies must be a share from 0 to 1, got 2"),
    (GROUP, 'event = "bot_message"\nmessage_type = "vote"\n', "message_type", "message_type must be a message_type the "
     "bot can send (text, post, image, file, audio, media, sticker, interactive, share_chat, share_user), got 'vote'"),
    (GROUP, 'event = "chat_updated"\nchange = "owner"\nby = "a"\n', "by", "an ownership transfer is made by the owner: "
     "leave out by"),
    (GROUP, 'event = "reaction_created"\non = "ask"\n\n[[step]]\nevent = "reaction_deleted"\non = "s"\ncount = 2\n',
     "count = 2", "step 's' adds 1 reaction(s): 2 cannot be taken back"),
    (GROUP, 'event = "chat_disbanded"\n\n[[step]]\nevent = "message"\n', "[[step]]", "may happen after the group is "
     "disbanded (step 's'): the bot receives nothing from a group it is not in; anchor step 's' after it"),
    (P2P, 'event = "message"\nmention_bot = true\n', "mention_bot", "nobody is @-ed in a p2p chat"),
    (P2P, 'event = "message"\nby = "v"\n', "by", "by: 'v' is not declared in [people]"),
    (P2P, 'event = "message_read"\n', "[[step]]", "no bot message is surely unread here: put a bot_message step "
     "before it (with no other message_read in between)"),
    (P2P, 'event = "bot_message"\n\n[[step]]\nid = "r"\nevent = "message_read"\non = "s"\n\n[[step]]\n'
     'event = "message_read"\non = "s"\n', "on =", "on: the messages of step 's' are read at "
     "step 'r' already (a message is read once)"),
    (P2P, 'event = "message_read"\non = "hi"\n', "on =", "on: step 'hi' is a message step, not bot_message"),
    # clicks: on a card the bot sent before, by someone in the chat
    (GROUP, 'event = "click"\n', "[[step]]", "no card from the bot is surely in the chat before this step: put a "
     "bot_message step with message_type = 'interactive' before it, or name one with on"),
    (GROUP, 'event = "bot_message"\n\n[[step]]\nevent = "click"\non = "s"\n', "on =", "on: step 's' sends no card: "
     "give it message_type = 'interactive'"),
    (GROUP, 'event = "bot_message"\nmessage_type = ["text", "interactive"]\n\n[[step]]\nevent = "click"\n'
     'on = "s"\n', "on =", "on: step 's' sends no card: give it message_type = 'interactive'"),
    (GROUP, 'event = "click"\non = "ask"\n', "on =", "on: step 'ask' is a message step, not bot_message"),
    (GROUP, 'event = "click"\non = "later"\n\n[[step]]\nid = "later"\nevent = "bot_message"\n'
     'message_type = "interactive"\n', "on =", "on: step 'later' may not have happened yet; anchor this step "
     "after it (after = 'later')"),
    (GROUP, 'event = "bot_message"\nmessage_type = "interactive"\n\n[[step]]\nevent = "click"\nby = "x"\n', "by",
     "'x' is not surely in the chat at this step (add them before, and remove them after)"),
    (GROUP, 'event = "bot_message"\nmessage_type = "interactive"\n\n[[step]]\nevent = "click"\ntag = "form"\n',
     "tag", "a click on a form names its card with on (a bot_message step with message_type = 'interactive': its "
     "cards then have one)"),
    (GROUP, 'event = "bot_message"\nmessage_type = "interactive"\n\n[[step]]\nevent = "click"\non = "s"\n'
     'tag = "form"\n\n[[step]]\nevent = "click"\non = "s"\ntag = "select_img"\n', "tag", "tag: no card has form and "
     "select_img together, and the clicks on step 's' ask for all of them: click another card for some"),
    (GROUP, 'event = "bot_message"\nmessage_type = "interactive"\n\n[[step]]\nevent = "click"\ntag = "slider"\n',
     "tag", "tag must be one of button, checker, date_picker, form, input, multi_select_person, multi_select_static, "
     "overflow, picker_datetime, picker_time, select_img, select_static, got 'slider'"),
    (GROUP, 'event = "bot_message"\nmessage_type = "interactive"\n\n[[step]]\nevent = "click"\nvalue = 3\n',
     "value", "value must be a table or a string, got 3"),
    (GROUP, 'event = "bot_message"\nmessage_type = "interactive"\n\n[[step]]\nevent = "click"\nwho = "a"\n',
     "who", "unknown field 'who' for click (allowed: after, at, by, count, delay, event, id, on, spread, tag, value)"),
    (GROUP, 'event = "bot_message"\nmessage_type = "interactive"\n\n[[step]]\nevent = "chat_disbanded"\n\n'
     '[[step]]\nevent = "click"\n', "[[step]]", "may happen after the group is disbanded (step 'step-3'): the bot "
     "receives nothing from a group it is not in; anchor step 'step-3' after it"),
    (P2P, 'event = "bot_message"\nmessage_type = "interactive"\n\n[[step]]\nevent = "click"\nby = "v"\n', "by",
     "by: 'v' is not declared in [people]"),
])
def test_chat_step_problems_name_the_line_and_the_step(base: str, body: str, needle: str, problem: str) -> None:
    """``needle``: the start of the line reported (its last one in the added steps)."""
    text = base + '\n[[step]]\nid = "s"\n' + body
    lines = text.splitlines()
    first = lines.index('id = "s"')
    line = max(i for i, s in enumerate(lines[first - 1:], start=first) if s.startswith(needle))
    got = message(text)
    assert "\n" not in got and got.startswith(f"s.toml:{line}: step "), (got, line)
    assert got.split(": ", 2)[2] == problem


@pytest.mark.parametrize(("text", "expected"), [
    (GROUP.replace("[chat]\n", '[chat]\ntype = "p2p"\n'), "s.toml:4: [chat]: missing field 'user'"),
    (GROUP.replace("[chat]\n", '[meeting]\nhost = "o"\n[chat]\n'), "s.toml:6: [chat]: a scenario is one meeting or "
     "one chat: give [meeting] or [chat], not both"),
    (GROUP.replace('[chat]\nowner = "o"\nmembers = ["a", "b", "crowd"]\n', ""), "s.toml: missing [chat] table"),
    ('[people]\nnamed = ["u"]\n\n[[step]]\nevent = "bot_added"\n', "s.toml: missing [chat] table"),
    ('[people]\nnamed = ["u"]\n\n[[step]]\nevent = "nope"\n', "s.toml: missing [meeting] or [chat] table"),
    (GROUP.replace('"test"', '"test"\nmirror_all_meeting = true'), "s.toml:3: [scenario]: mirror_all_meeting, "
     "participant_subscribers and live_end_time are options of a meeting scenario"),
    (P2P.replace('user = "u"', 'user = "u"\nowner = "u"'), "s.toml:4: [chat]: a p2p chat is one user and the bot: "
     "owner, members, name, group_msg_scope and external are for groups"),
    (GROUP.replace('owner = "o"', 'user = "o"'), "s.toml:5: [chat]: user is for a p2p chat (type = \"p2p\"); a group "
     "has an owner and members"),
    (GROUP.replace('owner = "o"', 'owner = "crowd"'), "s.toml:5: [chat] owner: 'crowd' is a crowd: owner is one named "
     "person"),
    (GROUP.replace('"b", "crowd"]', '"b", "zz"]'), "s.toml:6: [chat] members: 'zz' is not declared in [people]"),
    (GROUP.replace('members = ["a"', 'members = ["o"'),
     "s.toml:6: [chat] members: 'o' is the owner (a member already)"),
    (GROUP.replace("[chat]", "[chat]\ncolour = 1"), "s.toml:5: [chat]: unknown key 'colour' (allowed: external, "
     "group_msg_scope, members, name, owner, type, user)"),
    ("foo = 1\n" + P2P, "s.toml:1: unknown table or key 'foo' (expected [scenario], [chat], [people] and [[step]])"),
    (P2P.replace("event = \"message\"", "event = \"bot_message\""), "s.toml:8: step 1 ('hi'): no step sends an event "
     "(the bot's own messages send none)"),
])
def test_chat_table_problems_name_the_line_and_the_table(text: str, expected: str) -> None:
    assert message(text) == expected


def test_the_cli_exits_2_with_the_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(P2P + '\n[[step]]\nevent = "bot_added"\n', encoding="utf-8")
    assert main(["generate", "--scenario", str(path)]) == 2
    assert capsys.readouterr().err == f"feishu-sim: error: {path}:13: step 2 ('step-2'): bot_added is a group step; " \
                                      "this chat is p2p\n"


# -- the owner -------------------------------------------------------------------------------------------------
# The shape Hypothesis found (the property test below, then pinned to fixed seeds): an owner transfer, then a
# member leaves, then a group step whose operator is by default the owner. The play handed the group to any
# member, so when the new owner was the one who left, the next step was "someone who left acts" while the
# static check (the owner never leaves) accepted the file. Transfers now go to a member who stays to the end.
TRANSFER = GROUP + """
[[step]]
id = "s"
event = "chat_updated"
change = "owner"

[[step]]
id = "gone"
event = "user_deleted"
who = "a"

[[step]]
id = "withdrawn"
event = "user_withdrawn"
who = "a"
"""


def owner_changes(envs: list[dict[str, Any]]) -> list[str]:
    return [e["event"]["after_change"]["owner_id"]["open_id"] for e in envs
            if e["header"]["event_type"] == "im.chat.updated_v1" and "owner_id" in e["event"]["after_change"]]


@pytest.mark.parametrize("seed", range(40))
def test_an_owner_transfer_goes_to_a_member_who_stays(seed: int) -> None:
    f = factory(seed, population_size=64)
    envs = scenarios.play(scenarios.loads(TRANSFER), f, SimRandom(seed))
    check_chat_sequence(envs, f.world["im"].message)
    gone = next(e for e in envs if e["header"]["event_type"] == "im.chat.member.user.deleted_v1")
    leaver = gone["event"]["users"][0]["user_id"]["open_id"]
    new_owner = owner_changes(envs)
    assert len(new_owner) == 1 and new_owner[0] != leaver
    withdrawn = envs[-1]["event"]
    assert withdrawn["operator_id"]["open_id"] == new_owner[0]  # the owner, by default: in the group
    assert [u["user_id"]["open_id"] for u in withdrawn["users"]] == [leaver]  # invited again, then withdrawn


def test_the_checker_catches_an_owner_who_leaves() -> None:
    f = factory(3, population_size=64)
    envs = scenarios.play(scenarios.loads(TRANSFER), f, SimRandom(3))
    gone = next(e for e in envs if e["header"]["event_type"] == "im.chat.member.user.deleted_v1")
    updated = next(e for e in envs if e["header"]["event_type"] == "im.chat.updated_v1")
    updated["event"]["after_change"]["owner_id"] = gone["event"]["users"][0]["user_id"]
    with pytest.raises(AssertionError, match="the owner leaves"):
        check_chat_sequence(envs, f.world["im"].message)


def test_an_owner_transfer_with_nobody_who_stays_is_refused() -> None:
    text = TRANSFER.replace('"b", "crowd"]', '"b"]').replace('who = "a"\n\n[[step]]\nid = "withdrawn"',
                                                          'who = ["a", "b"]\n\n[[step]]\nid = "withdrawn"')
    line = text.splitlines().index('change = "owner"') + 1
    assert message(text) == (f"s.toml:{line}: step 2 ('s'): an ownership transfer needs a member besides the owner "
                             "who surely stays in the group to the end (a crowd among [chat] members, or a named "
                             "member removed by no later step)")
    # with b never removed, the play hands the group to b: neither the owner (who transfers it) nor a (who leaves)
    kept = text.replace('who = ["a", "b"]', 'who = "a"')
    f = factory(1, population_size=64)
    envs = scenarios.play(scenarios.loads(kept), f, SimRandom(1))
    check_chat_sequence(envs, f.world["im"].message)
    updated, gone = (next(e["event"] for e in envs if e["header"]["event_type"] == t)
                     for t in ("im.chat.updated_v1", "im.chat.member.user.deleted_v1"))
    assert owner_changes(envs)[0] not in (updated["operator_id"]["open_id"], gone["users"][0]["user_id"]["open_id"])


@pytest.mark.parametrize("seed", range(40))
def test_a_drawn_change_is_no_transfer_when_nobody_stays(seed: int) -> None:
    """Without ``change`` the play draws one: never a transfer when only the owner stays to the end."""
    text = TRANSFER.replace('"b", "crowd"]', '"b"]').replace('change = "owner"\n', "").replace(
        'who = "a"\n\n[[step]]\nid = "withdrawn"', 'who = ["a", "b"]\n\n[[step]]\nid = "withdrawn"')
    f = factory(seed, population_size=64)
    envs = scenarios.play(scenarios.loads(text), f, SimRandom(seed))
    check_chat_sequence(envs, f.world["im"].message)
    assert owner_changes(envs) == []


MEMBER_STEPS = [
    {"event": "message", "by": "a"}, {"event": "message"}, {"event": "reaction_created"},
    {"event": "chat_updated", "change": "owner"}, {"event": "chat_updated"}, {"event": "chat_updated", "by": "b"},
    {"event": "user_deleted", "who": "a"}, {"event": "user_deleted", "who": "b"},
    {"event": "user_deleted", "who": ["a", "b"]}, {"event": "user_deleted", "who": "a", "by": "b"},
    {"event": "user_added", "who": "a"}, {"event": "user_added", "who": "x", "by": "a"},
    {"event": "user_withdrawn", "who": "a"}, {"event": "user_withdrawn", "who": "x", "by": "b"},
    {"event": "chat_disbanded"}, {"event": "bot_deleted"}]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(MEMBER_STEPS), min_size=1, max_size=6), st.booleans(), st.integers(0, 2**32 - 1))
def test_a_file_of_comings_goings_and_transfers_that_loads_plays_coherently(
        steps: list[dict[str, Any]], crowd: bool, seed: int) -> None:
    """Membership and ownership alone, where the static model of who is in the group (and who owns it) and
    the play's must agree step by step: anyone the check lets act is in the group when the play has them act."""
    text = GROUP if crowd else GROUP.replace('"b", "crowd"]', '"b"]')
    text += "".join("\n[[step]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in s.items()) for s in steps)
    try:
        sc = scenarios.loads(text, source="s.toml")
    except FixtureError as exc:
        assert str(exc).startswith("s.toml") and "\n" not in str(exc)
        return
    for s in (seed, seed + 1, seed + 2):
        f = factory(s, population_size=64)
        check_chat_sequence(scenarios.play(sc, f, SimRandom(s)), f.world["im"].message)


# -- any file ---------------------------------------------------------------------------------------------------
NAMED = ["o", "a", "b", "x"]
GROUP_ACTIONS = ["message"] * 4 + ["bot_message"] * 2 + ["reaction_created"] * 2 + [
    "reaction_deleted", "recalled", "user_added", "user_deleted", "user_withdrawn", "chat_updated", "click", "click"]
P2P_ACTIONS = ["message"] * 4 + ["bot_message"] * 3 + ["reaction_created"] * 2 + [
    "reaction_deleted", "recalled", "message_read", "message_read", "p2p_chat_entered", "click", "click"]
TYPES = ["text", "post", "image", "file", "sticker", "interactive"]
WANTED = {"reaction_created": ["message", "bot_message"], "recalled": ["message"],
          "reaction_deleted": ["reaction_created"], "message_read": ["bot_message"],
          "message": ["message", "bot_message"], "bot_message": ["message", "bot_message"], "click": ["card"]}
CLICK_TAGS = ["button", "form", "select_static", "input", "checker", "overflow"]


@st.composite
def target_keys(draw: st.DrawFn, action: str, made: dict[str, list[str]]) -> dict[str, Any]:
    """``on`` / ``reply_to`` from the steps so far (mostly of the right kind)."""
    pool = [sid for kind in WANTED[action] for sid in made.get(kind, [])]
    anything = [sid for ids in made.values() for sid in ids]
    ids = pool if bool(pool) and draw(st.integers(0, 9)) > 0 else anything
    required = action in ("recalled", "reaction_deleted")
    if not ids or (not required and draw(st.booleans())):
        return {"replies": draw(st.sampled_from([0.2, 0.5, 1]))} if action == "message" and draw(st.booleans()) else {}
    if action == "message_read":
        return {"on": draw(st.lists(st.sampled_from(ids), min_size=1, max_size=2, unique=True))}
    if action not in ("message", "bot_message"):
        return {"on": draw(st.sampled_from(ids))}
    out: dict[str, Any] = {"reply_to": draw(st.sampled_from(ids))}
    if draw(st.booleans()):
        out["thread"] = draw(st.booleans())
    return out


@st.composite
def member_keys(draw: st.DrawFn, action: str, inside: set[str]) -> dict[str, Any]:
    """``who`` for a membership step: mostly people it fits (and the state follows)."""
    fits = {"user_added": sorted(set(NAMED) - inside), "user_withdrawn": sorted(set(NAMED) - inside),
            "user_deleted": sorted(inside - {"o"})}[action]
    people = fits if bool(fits) and draw(st.integers(0, 9)) > 0 else NAMED
    who = draw(st.lists(st.sampled_from(people), min_size=1, max_size=2, unique=True))
    if action == "user_added":
        inside.update(who)
    elif action == "user_deleted":
        inside.difference_update(who)
    return {"who": who}


@st.composite
def message_keys(draw: st.DrawFn, p2p: bool, inside: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(st.integers(0, 2)) == 0:
        out["by"] = draw(st.sampled_from(["u"] if p2p else [*sorted(inside), "crowd"]))
    if draw(st.integers(0, 3)) == 0:
        out["message_type"] = draw(st.sampled_from(TYPES))
    if not p2p and draw(st.integers(0, 3)) == 0:
        out["mention_bot"] = draw(st.booleans())
    if not p2p and draw(st.integers(0, 4)) == 0:
        out["mentions"] = draw(st.lists(st.sampled_from(sorted(inside) or NAMED), min_size=1, max_size=2, unique=True))
    return out


@st.composite
def click_keys(draw: st.DrawFn, on: bool) -> dict[str, Any]:
    """``tag`` mostly with ``on`` (without it only a button may be clicked), and ``value`` now and then."""
    out: dict[str, Any] = {}
    if draw(st.integers(0, 1 if on else 9)) == 0:
        out["tag"] = draw(st.sampled_from(CLICK_TAGS))
    if draw(st.integers(0, 3)) == 0:
        out["value"] = draw(st.sampled_from([{"action": "approve"}, "plain"]))
    return out


@st.composite
def timing_keys(draw: st.DrawFn, action: str, made: dict[str, list[str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if action in ("message", "bot_message", "reaction_created", "click") and draw(st.booleans()):
        out["count"], out["spread"] = draw(st.integers(1, 4)), draw(st.integers(0, 90))
    timing = draw(st.integers(0, 9))
    anchors = [sid for ids in made.values() for sid in ids]
    if timing == 0 and anchors:
        out["after"] = draw(st.sampled_from(anchors))
    elif timing == 1:
        out["at"] = draw(st.integers(0, 900))
    if draw(st.booleans()):
        lo = draw(st.integers(0, 120))
        out["delay"] = [lo, lo + draw(st.integers(0, 120))]
    return out


@st.composite
def chat_step(draw: st.DrawFn, index: int, made: dict[str, list[str]], p2p: bool, inside: set[str]) -> dict[str, Any]:
    """Mostly a step that fits the chat so far; now and then any step (another kind's, a wrong person...)."""
    wild = draw(st.integers(0, 9)) == 0
    action = draw(st.sampled_from(GROUP_ACTIONS + P2P_ACTIONS if wild else P2P_ACTIONS if p2p else GROUP_ACTIONS))
    out: dict[str, Any] = {"id": f"s{index}", "event": action}
    if action in WANTED:
        out.update(draw(target_keys(action, made)))
    if action in ("user_added", "user_deleted", "user_withdrawn"):
        out.update(draw(member_keys(action, inside)))
    if action == "message":
        out.update(draw(message_keys(p2p, inside | ({"x"} if wild else set()))))
    if action == "bot_message" and draw(st.integers(0, 2)) > 0:
        out["message_type"] = draw(st.sampled_from(["interactive", "interactive", ["text", "interactive"], "text"]))
        if out["message_type"] != "text":
            made.setdefault("card", []).append(out["id"])  # (a bot_message step that may send a card)
    if action == "click":
        out.update(draw(click_keys("on" in out)))
    if action in ("reaction_created", "click") and draw(st.booleans()):
        out["by"] = draw(st.sampled_from(["u"] if p2p else [*sorted(inside), "crowd"]))
    if action == "chat_updated" and draw(st.booleans()):
        out["change"] = draw(st.sampled_from(["name", "owner", "permission", "moderation"]))
    out.update(draw(timing_keys(action, made)))
    made.setdefault(action, []).append(out["id"])
    return out


def toml(value: Any) -> str:
    """A TOML value (JSON's, but a table is inline: ``{ action = "approve" }``)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


@st.composite
def chat_text(draw: st.DrawFn) -> tuple[str, bool]:
    p2p = draw(st.booleans())
    scope = not p2p and draw(st.booleans())
    made: dict[str, list[str]] = {"message": ["s0"]}
    inside = {"u"} if p2p else {"o", "a", "b"}
    steps: list[dict[str, Any]] = [{"id": "s0", "event": "message"}]
    if not p2p and draw(st.booleans()):
        steps.insert(0, {"id": "add", "event": "bot_added"})
    if draw(st.booleans()):  # a card people may click
        steps.append({"id": "card", "event": "bot_message", "message_type": "interactive"})
        made["bot_message"] = made["card"] = ["card"]
    steps += [draw(chat_step(i, made, p2p, inside)) for i in range(1, draw(st.integers(1, 12)) + 1)]
    if not p2p and draw(st.integers(0, 3)) == 0:
        steps.append({"id": "end", "event": draw(st.sampled_from(["bot_deleted", "chat_disbanded"]))})
    if p2p:
        head = '[chat]\ntype = "p2p"\nuser = "u"\n\n[people]\nnamed = ["u"]\n'
    else:
        head = (f'[chat]\nowner = "o"\nmembers = ["a", "b", "crowd"]\ngroup_msg_scope = {str(scope).lower()}\n\n'
                f'[people]\nnamed = {json.dumps(NAMED)}\ncrowds = {{ crowd = 6 }}\n')
    body = ["[[step]]\n" + "".join(f"{k} = {toml(v)}\n" for k, v in s.items()) for s in steps]
    return "\n".join([head, *body]), scope


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chat_text(), st.integers(0, 2**32 - 1))
def test_a_chat_file_that_loads_plays_coherently_for_any_seed(drawn: tuple[str, bool], seed: int) -> None:
    text, scope = drawn
    try:
        sc = scenarios.loads(text, source="s.toml")
    except FixtureError as exc:
        assert str(exc).startswith("s.toml") and "\n" not in str(exc)
        return
    for s in (seed, seed + 1):
        f = factory(s, population_size=64)
        envs = scenarios.play(sc, f, SimRandom(s))
        check_chat_sequence(envs, f.world["im"].message, scope=scope)


VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 30), st.floats(-1, 2), st.sampled_from(
    ["", "a", "o", "x", "crowd", "x y", "1m", "ask", "s", "text", "vote", "THUMBSUP", "owner", "message",
     "bot_message", "recalled", "im.message.receive_v1", "message_read", "p2p_chat_entered", "join_meeting",
     "click", "card.action.trigger", "interactive", "form", "button"]),
    st.lists(st.sampled_from(["a", "ask", "crowd", "text", 2]), max_size=3))
KEYS = st.sampled_from(["id", "event", "after", "at", "delay", "who", "by", "count", "spread", "on", "reply_to",
                        "thread", "replies", "message_type", "text", "mention_bot", "mentions", "emoji", "recall_type",
                        "change", "tag", "value", "colour"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(KEYS, VALUES, max_size=6), st.booleans())
def test_any_chat_step_loads_or_fails_with_one_line(step: dict[str, Any], p2p: bool) -> None:
    body = "".join(f"{k} = {json.dumps(v)}\n" for k, v in step.items() if v is not None)
    text = (P2P if p2p else GROUP) + "\n[[step]]\n" + body
    try:
        sc = scenarios.loads(text, source="s.toml")
    except FixtureError as exc:
        assert str(exc).startswith("s.toml") and "\n" not in str(exc)
        return
    f = factory(1, population_size=64)
    check_chat_sequence(scenarios.play(sc, f, SimRandom(1)), f.world["im"].message,
                        scope=bool(sc.chat and sc.chat.group_msg_scope))

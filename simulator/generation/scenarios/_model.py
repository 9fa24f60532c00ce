"""The parsed model of a scenario file: the scenario, its steps and their time spans.

The fields every family shares (timing, ``who``, ``by``, ``count``) are on ``Step``; a meeting scenario's
table is read into ``Scenario``'s meeting fields, a chat scenario's into ``Scenario.chat`` (``ChatTable``) and
its steps' own keys into ``Step.chat`` (``ChatKeys``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulator.errors import FixtureError
from simulator.generation.scenarios._lines import LineMap
from simulator.generation.scenarios._vocabulary import IM_CHAT, VC_MEETING, Vocabulary

DEFAULT_DELAY = (2.0, 20.0)
DEFAULT_READY_DELAY = (30.0, 300.0)


@dataclass(frozen=True)
class Span:
    """A duration in seconds, fixed (lo == hi) or drawn uniformly from [lo, hi]."""

    lo: float
    hi: float


@dataclass(frozen=True)
class ChatTable:
    """``[chat]``: a p2p chat between ``user`` and the bot, or a group (its ``owner`` and first ``members``,
    named people or crowds)."""

    kind: str  # "p2p" | "group"
    user: str | None = None
    owner: str | None = None
    members: tuple[str, ...] = ()
    name: str | None = None
    group_msg_scope: bool = False  # the app reads every group message, not only those that @ it
    external: bool = False

    @property
    def p2p(self) -> bool:
        return self.kind == "p2p"

    def first_members(self) -> tuple[str, ...]:
        """The labels in the chat when the scenario starts (besides the bot)."""
        if self.p2p:
            return (self.user,) if self.user else ()
        return (*((self.owner,) if self.owner else ()), *self.members)


@dataclass(frozen=True)
class ChatKeys:
    """A chat step's own keys (see schemas/scenario.schema.json#/$defs/im_chat)."""

    on: tuple[str, ...] = ()  # the step(s) whose messages / reactions this step is about
    reply_to: str | None = None  # a message step: each message replies to one of its messages
    thread: bool | None = None  # replies go in the thread (None: the platform's habit decides)
    replies: float = 0.0  # the share of messages that reply to an earlier message of the chat
    message_types: tuple[str, ...] = ()  # used in turn; empty: a realistic mix
    text: str | None = None
    mention_bot: bool | None = None
    mentions: tuple[str, ...] = ()
    emoji: str | None = None
    recall_type: str | None = None
    change: str | None = None
    tag: str | None = None  # a click: the kind of component clicked (``form``: a form submit)
    value: dict[str, Any] | str | None = None  # a click: the clicked component's value as the app set it


@dataclass
class Step:
    index: int  # position in the file, 0-based
    line: int | None
    id: str
    action: str  # short name, one of the vocabulary's actions
    after: str | None = None
    at: Span | None = None
    delay: Span = Span(*DEFAULT_DELAY)
    spread: float = 0.0
    who: tuple[str, ...] = ()
    crowd: str | None = None  # set when ``who`` names a crowd
    count: int | None = None
    by: str | None = None
    reason: int = 1
    content: str | None = None
    ready_delay: Span = Span(*DEFAULT_READY_DELAY)
    vocabulary: Vocabulary = VC_MEETING
    chat: ChatKeys | None = None  # a chat step's own keys

    @property
    def keys(self) -> ChatKeys:
        """A chat step's keys (the defaults for a step that has none)."""
        return self.chat or _NO_KEYS

    @property
    def event_type(self) -> str | None:
        return self.vocabulary.event_type(self.action)


_NO_KEYS = ChatKeys()


@dataclass
class Scenario:
    name: str
    source: str  # the file, for messages
    description: str = ""
    mirror_all_meeting: bool = False
    subscribers: tuple[str, ...] = ()
    live_end_time: str = "event"
    host: str = ""
    cohosts: tuple[str, ...] = ()
    owner: str | None = None
    topic: str | None = None
    meeting_source: int = 4
    sub_type: int | None = None
    webinar_type: int | None = None
    security_level: int | None = None
    named: tuple[str, ...] = ()
    crowds: dict[str, int] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    lines: LineMap | None = None
    family: Vocabulary = VC_MEETING
    chat: ChatTable | None = None  # a chat scenario's [chat]

    @property
    def is_chat(self) -> bool:
        return self.family is IM_CHAT

    def where(self, step: Step | None = None, key: str | None = None, table: str | None = None, *,
              show_key: bool = True) -> str:
        """``file:line: step N ('id')`` or ``file:line: [table] key`` for error messages; ``key`` picks the
        line (its own, else the header's)."""
        line = None
        if self.lines is not None:
            if step is not None:
                line = self.lines.step_line(step.index, key)
            elif table is not None:
                line = self.lines.table_line(table, key)
        if line is None and step is not None:
            line = step.line
        loc = f"{self.source}:{line}" if line else self.source
        if step is not None:
            return f"{loc}: step {step.index + 1} ({step.id!r})"
        if table is not None:
            return f"{loc}: [{table}]" + (f" {key}" if key and show_key else "")
        return loc

    def error(self, message: str, step: Step | None = None, *, key: str | None = None,
              table: str | None = None, show_key: bool = True) -> FixtureError:
        return FixtureError(f"{self.where(step, key, table, show_key=show_key)}: {message}")

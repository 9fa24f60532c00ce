"""Scenarios: coherent, time-ordered event sequences from declarative files, a meeting's or a chat's.

A receiver never sees share_ended alone: it sees a meeting start, people join, shares and recordings,
people leave, the meeting end, all with the same meeting and people, in time order. A bot never sees a
reaction to nothing: it sees a user open a chat and talk to it, people @ it in a group and reply in a
thread, react to messages, read and recall them. A scenario file (``fixtures/scenarios/*.toml``; its format
is ``schemas/scenario.schema.json``, read by ``_format``) declares that life with one family's vocabulary
(``_vocabulary``: a ``[meeting]`` or a ``[chat]``); ``load`` parses and checks it (``_check``,
``_chat_check``: coherent for every seed, or one ``FixtureError`` line naming file, line and step),
``play`` realises it from a seeded stream (``_play``, ``_chat_play``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simulator.errors import FixtureError
from simulator.generation.factory import EventFactory
from simulator.generation.scenarios._chat_play import play as _chat_play
from simulator.generation.scenarios._check import check
from simulator.generation.scenarios._format import parse, read
from simulator.generation.scenarios._model import Scenario, Step
from simulator.generation.scenarios._play import play as _play
from simulator.generation.scenarios._timeline import Plan
from simulator.generation.scenarios._vocabulary import ACTIONS
from simulator.rand import SimRandom
from simulator.resources import fixtures_dir


def scenarios_dir() -> Path:
    return fixtures_dir() / "scenarios"


def names() -> list[str]:
    """The shipped scenarios."""
    return sorted(p.stem for p in scenarios_dir().glob("*.toml"))


def resolve(ref: str | Path) -> Path:
    """A shipped scenario's name, or a path to a scenario file."""
    path = Path(ref)
    text = str(ref)
    if path.suffix == ".toml" or "/" in text or "\\" in text or path.is_file():
        if not path.is_file():
            raise FixtureError(f"{text}: no such scenario file")
        return path
    shipped = scenarios_dir() / f"{text}.toml"
    if not shipped.is_file():
        raise FixtureError(f"unknown scenario {text!r} (shipped: {', '.join(names())}; or give a .toml file)")
    return shipped


def load(ref: str | Path) -> Scenario:
    """Parse and check a scenario; every problem is a ``FixtureError`` (CLI exit 2)."""
    path = resolve(ref)
    shipped = path.parent.resolve() == scenarios_dir().resolve()
    sc = read(path, display=f"fixtures/scenarios/{path.name}" if shipped else str(ref))
    check(sc)
    return sc


def loads(text: str, *, source: str = "<scenario>") -> Scenario:
    sc = parse(text, source=source)
    check(sc)
    return sc


def play(scenario: Scenario, factory: EventFactory, rand: SimRandom, *, start: float | None = None,
         end: float | None = None, longconn: bool = False) -> list[dict[str, Any]]:
    """The scenario's envelopes in time order (see ``_play.play``)."""
    if scenario.chat is not None:
        return _chat_play(scenario, check(scenario), factory, rand, start=start, end=end, longconn=longconn)
    return _play(scenario, factory, rand, start=start, end=end, longconn=longconn)


__all__ = ["ACTIONS", "Plan", "Scenario", "Step", "check", "load", "loads", "names", "play", "resolve",
           "scenarios_dir"]

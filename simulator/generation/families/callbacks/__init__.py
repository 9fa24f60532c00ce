"""The callbacks family: ``card.action.trigger`` (card clicks) and ``url.preview.get`` (link previews),
synchronous callbacks judged by their answer and never retried; plus the legacy card request, the same click
in the older flat body (``legacy.py``). Clicks land on interactive cards the bot sent in the run's
``ImWorld`` (``world.py``)."""

from __future__ import annotations

from simulator.generation.families.callbacks import events as events

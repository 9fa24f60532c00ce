"""The ``application.*`` family: events about the app itself. Today: ``application.bot.menu_v6``, a click
on the bot's custom menu (``menu``)."""

from __future__ import annotations

from simulator.generation.families.application import menu as menu

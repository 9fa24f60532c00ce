"""The ``vc.meeting.*`` family: meetings, their participants, shares and recordings."""

from __future__ import annotations

from simulator.generation.families.vc_meeting import events as events

"""The open-loop load generator: every request a fresh, sealed event; honest latency.

``schedule`` (arrival times), ``openloop`` (the sans-IO dispatcher), ``events`` (fast sealed events),
``http`` (a minimal HTTP/1.1 client connection), ``recorder`` / ``histogram`` (what is kept), ``driver``
(one process's run) with ``webhook_driver`` and ``platform_driver`` (what a request is and how its answer
is judged), ``runner`` (one process or several), ``report`` (summary, JSON, CSV), ``html`` (the chart
report).
"""

from __future__ import annotations

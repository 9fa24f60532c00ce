"""feishu-sim: a mock of the Feishu (Lark) open platform's event delivery."""

from __future__ import annotations

__version__ = "0.1.0"

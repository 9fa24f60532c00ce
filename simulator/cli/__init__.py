"""``feishu-sim``: the command-line face of the engine. ``main(argv) -> exit code``.

Exit codes: 0 success (all acked), 1 some deliveries not acked / some checks failed, 2 usage or bad
input, or a target that cannot be reached before the run starts (one line on stderr, never a traceback:
every ``SimulatorError`` carries its ``exit_code``, see ``simulator/errors.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from simulator._version import __version__
from simulator.cli import audit, generate, load, push, receive, replay, serve, verify_url
from simulator.cli._common import Parser
from simulator.errors import SimulatorError

COMMANDS = (generate, push, replay, verify_url, audit, receive, serve, load)


def build_parser() -> Parser:
    parser = Parser(prog="feishu-sim", description="Mock Feishu (Lark) event delivery for testing receivers.")
    parser.add_argument("--version", action="version", version=f"feishu-sim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
        if not getattr(args, "command", None):
            parser.print_help()
            return 2
        code: int = args.func(args)
        return code
    except SimulatorError as exc:
        print(f"feishu-sim: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("feishu-sim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0

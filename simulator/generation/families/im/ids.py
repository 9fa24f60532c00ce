"""Key and id formats of the IM family, and the small vocabularies its events draw from.

Formats (docs/events.md#im-ids-and-message-shapes, docs/semantics.md#id-formats): image keys
``img_v3_<4 hex + letter>_<uuid whose last char is g>`` (``img_v3_0211c_2b3c4ef3-...-bb478e20175g``), file
keys ``file_v3_...`` in the same shape, chat / message / thread ids in ``world.py``.
"""

from __future__ import annotations

from simulator.generation.population import Person
from simulator.rand import SimRandom

_KEY_LETTERS = "bcdefghijk"

# Reaction emoji keys of the doc's emoji list (表情文案说明), weighted: a thumbs-up and the "on it" / "done"
# acknowledgements bots and people use most, then the rest of the common ones.
EMOJI_TYPES: tuple[str, ...] = (
    ("THUMBSUP",) * 12 + ("OK",) * 4 + ("DONE",) * 4 + ("OnIt",) * 3 + ("JIAYI",) * 3 + ("SMILE",) * 2
    + ("HEART",) * 2 + ("LAUGH",) * 2 + ("APPLAUSE",) * 2 + ("MUSCLE",) * 2 + ("FINGERHEART",) * 2
    + ("THANKS",) * 2 + ("Get",) * 2 + ("LGTM",) * 2 + ("CheckMark",) * 2
    + ("PARTY", "Typing", "CrossMark", "THINKING", "FACEPALM", "Fire", "Hundred", "ROSE", "WOW", "SOB", "Yes",
       "No", "ThumbsDown", "CLAP", "FISTBUMP", "HIGHFIVE", "SALUTE", "OneSecond", "MinusOne", "YouAreTheBest")
)

# Client user agents (only sent with the im:user_agent:read scope; real format per the receive doc).
USER_AGENTS: tuple[str, ...] = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
    "Safari/537.36 Lark/7.30.5 LarkLocale/zh_CN ttnet SDK-Version/7.30.9",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
    "Safari/537.36 Lark/7.28.6 LarkLocale/zh_CN ttnet SDK-Version/7.28.8",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 "
    "Lark/7.31.3 LarkLocale/zh_CN ChannelName/Feishu",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile "
    "Safari/537.36 Lark/7.30.2 LarkLocale/en_US ChannelName/Feishu",
)


def image_key(r: SimRandom) -> str:
    return f"img_v3_02{r.hex(2)}{r.choice(_KEY_LETTERS)}_{r.uuid()[:-1]}g"


def file_key(r: SimRandom) -> str:
    return f"file_v3_00{r.hex(2)}{r.choice(_KEY_LETTERS)}_{r.uuid()[:-1]}g"


def person_ids(person: Person, app_id: str) -> dict[str, str]:
    """A user's ``UserId`` in the documented key order (union_id, user_id, open_id)."""
    return person.user_id_json(app_id)

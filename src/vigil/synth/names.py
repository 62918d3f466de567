"""Invented names, aliases and their drift.

Names are built from syllables so that no real person is named on purpose. Aliases drift the
way real ones do across platforms: case, separators, leetspeak digits, numeric suffixes.
"""

from __future__ import annotations

import random

_ONSETS = [
    "b",
    "d",
    "f",
    "g",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "z",
    "br",
    "dr",
    "gr",
    "kr",
    "st",
    "th",
    "sh",
    "tr",
    "cl",
    "fl",
]
_VOWELS = ["a", "e", "i", "o", "u", "ae", "io", "ei", "ou", "y"]
_CODAS = ["", "", "n", "r", "l", "s", "th", "m", "k", "x", "nd", "rt"]

ALIAS_WORDS = [
    "son",
    "god",
    "night",
    "owl",
    "river",
    "stone",
    "wolf",
    "shadow",
    "ghost",
    "blue",
    "red",
    "silver",
    "iron",
    "storm",
    "quiet",
    "lake",
    "pine",
    "echo",
    "nova",
    "pixel",
    "byte",
    "comet",
    "falcon",
    "raven",
    "fox",
    "bear",
    "tiger",
    "lion",
    "hawk",
    "frost",
    "ember",
    "ash",
    "oak",
    "cedar",
    "maple",
    "north",
    "south",
    "west",
    "east",
    "moon",
    "sun",
    "star",
    "sky",
    "cloud",
    "rain",
    "snow",
    "wind",
    "sea",
    "coast",
    "harbor",
    "island",
    "valley",
    "hill",
    "peak",
    "ridge",
    "canyon",
    "desert",
    "forest",
    "meadow",
    "field",
    "garden",
    "orchard",
    "brook",
    "creek",
    "delta",
    "tundra",
    "glacier",
    "comet",
    "orbit",
    "rocket",
    "signal",
    "static",
    "vector",
    "matrix",
    "cipher",
    "token",
    "kernel",
    "daemon",
    "socket",
    "packet",
    "router",
    "modem",
    "laser",
    "radar",
    "sonar",
    "prism",
    "quartz",
    "cobalt",
    "onyx",
    "amber",
    "jade",
    "ruby",
    "opal",
    "topaz",
    "velvet",
    "marble",
    "granite",
    "copper",
    "bronze",
    "chrome",
    "neon",
    "turbo",
    "nitro",
    "drift",
    "rally",
    "racer",
    "pilot",
    "captain",
    "major",
    "rogue",
    "ranger",
    "hunter",
    "seeker",
    "walker",
    "runner",
    "rider",
    "drifter",
    "wanderer",
    "nomad",
    "pirate",
    "viking",
    "knight",
    "wizard",
    "monk",
    "sage",
    "jester",
    "joker",
    "ace",
    "king",
    "duke",
    "baron",
    "lord",
    "chief",
    "boss",
    "master",
    "dark",
    "lucky",
    "happy",
    "lazy",
    "crazy",
    "silent",
    "hidden",
    "lost",
    "lonely",
    "wild",
    "brave",
    "swift",
    "sly",
    "grey",
]
COMMON_ALIAS_BASES = ["john", "mike", "alex", "dave", "chris", "sam", "matt", "tom", "nick", "ben"]
_LEET = {"o": "0", "e": "3", "i": "1", "a": "4", "s": "5"}
EMAIL_DOMAINS = [
    "mailbox.example",
    "postnest.test",
    "inboxly.example",
    "letterbox.test",
    "quickmail.example",
    "example-mail.test",
    "freepost.example",
    "netpost.test",
]


def invented_word(rng: random.Random, syllables: int) -> str:
    parts = [rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables)]
    return ("".join(parts) + rng.choice(_CODAS)).capitalize()


def invented_full_name(rng: random.Random) -> str:
    return f"{invented_word(rng, rng.choice([1, 2]))} {invented_word(rng, rng.choice([2, 3]))}"


def base_alias(rng: random.Random) -> tuple[list[str], str]:
    """Words and an optional number: the stable core that one person's aliases share."""
    count = rng.choices([1, 2, 3], weights=[3, 6, 1])[0]
    words = [rng.choice(ALIAS_WORDS) for _ in range(count)]
    if count == 3:
        words[1] = rng.choice(["of", "the", "in"])
    number = ""
    if count == 1 or rng.random() < 0.35:
        number = str(
            rng.choice([rng.randint(1, 99), rng.randint(1960, 2005), rng.randint(100, 999)])
        )
    return words, number


def drift(rng: random.Random, words: list[str], number: str) -> str:
    """One written form of an alias: separators, case, leetspeak and suffixes vary."""
    style = rng.choice(["lower_sep", "title_sep", "camel", "lower_join", "first_cap"])
    sep = rng.choice(["_", ".", "-", "_", ""])
    if style == "lower_sep":
        text = sep.join(words)
    elif style == "title_sep":
        text = sep.join(w.capitalize() for w in words)
    elif style == "camel":
        text = "".join(w.capitalize() for w in words)
    elif style == "lower_join":
        text = "".join(words)
    else:
        text = sep.join(words).capitalize()
    if rng.random() < 0.25:
        text = "".join(_LEET.get(ch, ch) if rng.random() < 0.8 else ch for ch in text)
    suffix = number
    roll = rng.random()
    if roll < 0.2:
        suffix = str(rng.randint(1, 99))
    elif roll < 0.3:
        suffix = ""
    if suffix and rng.random() < 0.3 and text and text[-1].isalpha():
        suffix = rng.choice(["_", ""]) + suffix
    return text + suffix


def email_for(rng: random.Random, words: list[str], number: str) -> str:
    local = rng.choice([".", "_", ""]).join(words) + (number or str(rng.randint(1, 999)))
    local = "".join(ch.upper() if rng.random() < 0.08 else ch for ch in local)
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"

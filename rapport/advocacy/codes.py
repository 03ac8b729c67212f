"""Short codes people read aloud, type at a desk or copy from a printed card.

The alphabet leaves out every character that is confused with another when
spoken, printed or handwritten: 0/O, 1/I/L, and U (read as V). 30 symbols;
eight of them give 30**8 ≈ 6.6e11 codes, so that even a hundred thousand live
codes leave a random guess a chance below one in six million — and misses are
rate-limited per address on top (see public_views.landing).
"""

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
# Typed at a desk: lower case, spaces and dashes are all fine, and a U is the
# V it was read as. No code holds 0, O, 1, I or L, so those are typos.
LOOK_ALIKES = str.maketrans({"U": "V"})
REFERRAL_LENGTH = 8
REWARD_LENGTH = 10


def new_code(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalise(typed: str) -> str:
    """The code as stored, from however it was typed; "" when it cannot be one."""
    text = "".join(ch for ch in typed.upper() if ch not in " -_.\t")
    text = text.translate(LOOK_ALIKES)
    if not text or len(text) > 16 or any(ch not in ALPHABET for ch in text):
        return ""
    return text


def grouped(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))

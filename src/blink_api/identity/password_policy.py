"""Which passwords a person may choose: long enough, not blank, and not easy to guess.

Following NIST SP 800-63B: a minimum length, every character allowed, no composition rules (they
make passwords no harder to guess, only harder to remember), and a check against commonly used
passwords and against words of the context: the service's name, the account's address and name.
The guess estimate is zxcvbn's, whose lists of common passwords, words and names ship with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 256
# zxcvbn's score from 3 on: about 10^8 guesses or more, out of reach of online guessing and costly
# offline against Argon2 hashes.
MIN_SCORE = 3
# The estimate's cost grows steeply with length (seconds for 256 characters); the first 64
# characters of a longer password decide.
ESTIMATED_LENGTH = 64
SERVICE_WORDS = ("blink", "blink api", "blinkapi")

DESCRIPTION = (
    f"At least {MIN_LENGTH} characters not counting spaces at either end, and not easy to guess: "
    "common passwords, keyboard patterns, repeats and the account's own address or name are refused."
)


def why_not_password_length(password: str) -> str | None:
    """The checks that cost nothing, made where a request is read."""
    trimmed = password.strip()
    if not trimmed:
        return "The password must not be blank."
    if len(trimmed) < MIN_LENGTH:
        return f"The password needs at least {MIN_LENGTH} characters, not counting spaces at either end."
    return None


def context_words(*values: str) -> list[str]:
    """Each value whole, an e-mail address's name and domain, and every word in them, most telling first."""
    words: list[str] = []
    for value in (v.strip().lower() for v in values):
        words.extend([value, *value.split("@")])
        words.extend(part for part in re.split(r"[\W_]+", value) if len(part) >= 3)
    return list(dict.fromkeys(w for w in words if w))


def why_not_password(password: str, context: Iterable[str] = ()) -> str | None:
    """The whole rule; `context` holds what belongs to the account (its e-mail address, its name)."""
    reason = why_not_password_length(password)
    if reason is not None:
        return reason
    estimate = zxcvbn(
        password[:ESTIMATED_LENGTH],
        user_inputs=[*SERVICE_WORDS, *context_words(*context)],
        max_length=ESTIMATED_LENGTH,
    )
    if estimate["score"] >= MIN_SCORE:
        return None
    warning = estimate["feedback"]["warning"] or (
        "It is made of a common password, word or name, or of the account's own address or name."
    )
    suggestions = " ".join(estimate["feedback"]["suggestions"])
    return f"The password is too easy to guess. {warning} {suggestions}".strip()

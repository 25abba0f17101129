"""The panel's front keypad: a key buffer with its rules and idle timeout.

Pure (keys and ms ticks come in as arguments), so the host's /sim/keypad
route and a board's scanned key matrix run the same code.

Keys: "0".."9", "*", "#".
    digits then "#"   dial that apartment             -> ("dial", "223")
    "*" on an empty buffer   personal code entry (basip-api 8.1)
    then digits and "#"      check that personal code  -> ("code", "1234")
    "*" with digits typed    clear the buffer (and leave code entry)
                                                       -> ("cleared", None)
    "#" on an empty buffer   nothing                   -> ("ignored", "empty")
The buffer also clears KEY_IDLE_RESET_MS after the last key, so a half-typed
number left by one visitor does not prefix the next one's.

    keypad = Keypad()
    kind, text = keypad.press(key, now_ms)
    kind: "digit", "code_entry", "dial", "code", "cleared" or "ignored"
    keypad.describe() -> {"buffer", "mode"}
"""

from panel.compat import const, ticks_diff
from panel.core.body import INT64_DIGITS

KEYS = "0123456789*#"
# The buffer clears this long after the last key press (ms).
KEY_IDLE_RESET_MS = const(10000)
# Longest apartment number: forward numbers are int64 (19 digits, spec 3.1).
MAX_NUMBER_DIGITS = INT64_DIGITS
# Longest personal code (spec 8.1: 1..8 digits).
MAX_CODE_DIGITS = const(8)


def valid_keys(text):
    """True when every character of text is a keypad key (and text is not empty)."""
    if not isinstance(text, str) or not text:
        return False
    for key in text:
        if key not in KEYS:
            return False
    return True


class Keypad:
    def __init__(self, idle_reset_ms=KEY_IDLE_RESET_MS):
        self.idle_reset_ms = idle_reset_ms
        self.buffer = ""
        self.mode = "number"  # or "code": personal code entry
        self._last = None

    def clear(self):
        self.buffer = ""
        self.mode = "number"

    def describe(self):
        # A personal code being typed is not shown, only its length.
        shown = self.buffer if self.mode == "number" else "*" * len(self.buffer)
        return {"buffer": shown, "mode": self.mode}

    def press(self, key, now):
        """One key at ms ticks `now` -> (kind, text). ValueError for a non-key."""
        if not isinstance(key, str) or len(key) != 1 or key not in KEYS:
            raise ValueError("not a keypad key: %r" % (key,))
        if self._last is not None and ticks_diff(now, self._last) >= self.idle_reset_ms:
            self.clear()
        self._last = now
        if key == "*":
            if self.mode == "number" and not self.buffer:
                self.mode = "code"
                return ("code_entry", None)
            self.clear()
            return ("cleared", None)
        if key == "#":
            text = self.buffer
            mode = self.mode
            self.clear()
            if not text:
                return ("ignored", "empty")
            return ("code", text) if mode == "code" else ("dial", text)
        limit = MAX_CODE_DIGITS if self.mode == "code" else MAX_NUMBER_DIGITS
        if len(self.buffer) >= limit:
            return ("ignored", "too_long")
        self.buffer += key
        return ("digit", None)

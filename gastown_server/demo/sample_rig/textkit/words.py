"""Word helpers."""


def shout(text):
    """``text`` in capitals, with an exclamation mark."""
    return text.upper() + "!"


def initials(name):
    """The initials of a name: ``"ada lovelace"`` -> ``"AL"``."""
    return "".join(part[0].upper() for part in name.split())

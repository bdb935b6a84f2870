"""Greetings."""


def greet(name):
    """A greeting for ``name``."""
    name = name.strip() or "stranger"
    return f"Hi, {name}"

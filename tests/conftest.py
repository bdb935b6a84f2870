"""Shared by every test directory: the town fixtures (tests/town/town_fixtures.py; its
directory is on pytest's pythonpath, with town_helpers)."""

pytest_plugins = ("town_fixtures",)

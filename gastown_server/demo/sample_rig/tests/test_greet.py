from textkit import greet


def test_greet_names_the_person():
    assert greet("World") == "Hi, World"


def test_greet_without_a_name():
    assert "stranger" in greet("   ").lower()

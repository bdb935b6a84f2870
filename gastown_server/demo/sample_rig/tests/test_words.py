from textkit import initials, shout


def test_shout():
    assert shout("hey") == "HEY!"


def test_initials():
    assert initials("ada lovelace") == "AL"
    assert initials("") == ""

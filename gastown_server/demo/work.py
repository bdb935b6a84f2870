"""The demo convoy's three beads: real changes to the sample rig, as data.

Each description carries a fenced ``gt-script`` block: the shell commands a
mechanical (script runtime) polecat runs in its worktree to make the change
(``gt apply``, see docs/lifecycle.md).  Two of them edit the same line of
``textkit/greet.py`` so that whichever merges second conflicts; both scripts
are written against the *meaning* of the line, not its exact text, so the
polecat that gets ``REWORK_REQUEST`` can reset to the new main, apply its
script again and end up with both changes.
"""

from __future__ import annotations

WORD_COUNT = '''\
Add `word_count(text)` to `textkit.words`: the number of whitespace-separated
words, with a test.

```gt-script
cat >> textkit/words.py <<'EOF'


def word_count(text):
    """Number of whitespace-separated words in ``text``."""
    return len(text.split())
EOF
cat > tests/test_word_count.py <<'EOF'
from textkit.words import word_count


def test_word_count():
    assert word_count("the quick  brown fox") == 4
    assert word_count("") == 0
EOF
```
'''

HELLO = '''\
Greetings should say "Hello, <name>!" instead of "Hi, <name>".

```gt-script
sed -i 's/"Hi, /"Hello, /; s/}"$/}!"/' textkit/greet.py
sed -i 's/"Hi, World"/"Hello, World!"/' tests/test_greet.py
```
'''

TITLE_CASE = '''\
Greetings should title-case the name ("ada lovelace" -> "Ada Lovelace").
Touches the same line of textkit/greet.py as the "Hello" change.

```gt-script
sed -i 's/{name}/{name.title()}/' textkit/greet.py
cat > tests/test_greet_title.py <<'EOF'
from textkit import greet


def test_greet_title_cases_the_name():
    assert "Ada Lovelace" in greet("ada lovelace")
EOF
```
'''

#: (title, description) of the demo convoy's beads, in filing order.
BEADS: list[tuple[str, str]] = [
    ("Add word_count to textkit.words", WORD_COUNT),
    ("Greet with Hello", HELLO),
    ("Title-case names in greetings", TITLE_CASE),
]

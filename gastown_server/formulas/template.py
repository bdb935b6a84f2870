"""Step text templates: ``{{var}}`` plus the Handlebars blocks Gas Town's formulas use.

The subset (docs/formulas.md "Templates"):

- ``{{name}}``, ``{{{name}}}`` (the same: nothing is HTML-escaped, the text is
  Markdown for agents), ``{{a.b}}`` (a field of a context value);
- ``{{#if x}}...{{else}}...{{/if}}``, ``{{else if y}}`` chains,
  ``{{#unless x}}...{{/unless}}``, ``{{#each xs}}...{{else}}...{{/each}}``
  with ``{{this}}``, ``{{this.f}}``/``{{f}}`` (object items), ``{{@index}}``
  (from 0), ``{{@first}}``, ``{{@last}}``, ``{{@key}}``; blocks nest;
- ``{{! comment }}``/``{{!-- comment --}}`` (removed), ``~`` whitespace
  control, and Handlebars' "standalone" rule: a block tag alone on its line
  takes the line with it, so multi-line TOML strings render as written.

A dotted name whose head is not a known value (``{{convoy.title}}``) is not a
variable (Beads' rule) and stays as written; ``{{else}}`` is a keyword.
Anything else in braces that is not a name (``{{ some prose }}``) is text.
Hand-written rather than a Handlebars library: the subset is small and the
exact rules above (unknown names are errors naming the file and step, dotted
names kept, string truthiness of ``--var`` values) are ours to keep stable.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from .errors import FormulaError

_TAG = re.compile(r"\{\{\{\s*([^{}]*?)\s*\}\}\}|\{\{(~?)(!--.*?--|![^{}]*?|[^{}]*?)(~?)\}\}", re.S)
_NAME = re.compile(r"^(?:@(?:index|first|last|key)|[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*)$")
_HELPERS = ("if", "unless", "each")
_FALSE = {"", "0", "false", "no", "off", "none", "null"}
_BLOCK_KINDS = ("open", "else", "close", "comment")


class _Verbatim(Exception):
    """A dotted name whose head is unknown: rendered as written."""


_MISSING = object()


def text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(text_of(v) for v in value)
    return str(value)


def truthy(value: Any) -> bool:
    """Handlebars' falsy values plus the strings ``--var`` gives for "no"."""
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return value.strip().lower() not in _FALSE
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0
    if isinstance(value, (list, tuple, dict)):
        return bool(value)
    return True


def _items(value: Any) -> list[tuple[Any, Any]]:
    """(key, item) pairs an ``{{#each}}`` walks; a string is a comma list (``--var``)."""
    if value is None or value is False:
        return []
    if isinstance(value, Mapping):
        return list(value.items())
    if isinstance(value, str):
        return [(i, x.strip()) for i, x in enumerate(value.split(",")) if x.strip()]
    if isinstance(value, (list, tuple)):
        return list(enumerate(value))
    return [(0, value)]


def _dig(value: Any, rest: str) -> Any:
    for part in rest.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            return _MISSING
    return value


def lookup(values: Mapping[str, Any], name: str) -> Any:
    """``a.b`` looks into nested mappings (loop and leg context); KeyError if absent."""
    if name in values:
        return values[name]
    head, dot, rest = name.partition(".")
    if dot and head in values:
        found = _dig(values[head], rest)
        if found is not _MISSING:
            return found
    raise KeyError(name)


class _Frame:
    __slots__ = ("item", "key", "index", "last")

    def __init__(self, item: Any, key: Any, index: int, last: bool) -> None:
        self.item, self.key, self.index, self.last = item, key, index, last


class _Block:
    __slots__ = ("kind", "arg", "body", "alt", "raw", "chained", "in_else")

    def __init__(self, kind: str, arg: str, raw: str, chained: bool = False) -> None:
        self.kind, self.arg, self.raw, self.chained = kind, arg, raw, chained
        self.body: list = []
        self.alt: list = []
        self.in_else = False


class _Var:
    __slots__ = ("name", "raw")

    def __init__(self, name: str, raw: str) -> None:
        self.name, self.raw = name, raw


def _classify(m: re.Match) -> tuple[str, str]:
    """(kind, content) of one ``{{...}}`` tag."""
    if m.group(1) is not None:
        content = m.group(1)
        return ("var", content) if _NAME.match(content) else ("text", "")
    content = m.group(3).strip()
    if content.startswith("!"):
        return "comment", content
    if content[:1] in ("#", "/") and content[1:].strip()[:1].isalpha():
        return ("open" if content[0] == "#" else "close"), content[1:].strip()
    if content == "else" or content == "^" or content.startswith("else "):
        return "else", content[4:].strip() if content != "^" else ""
    if _NAME.match(content) or content == "this" or content.startswith("this."):
        return "var", content
    return "text", ""


def _tokenize(raw: str) -> list:
    """[text, (kind, content, raw, ltrim, rtrim), text, ...]: texts at even indexes."""
    tokens: list = []
    pos = 0
    for m in _TAG.finditer(raw):
        kind, content = _classify(m)
        if kind == "text":
            continue
        tokens.append(raw[pos : m.start()])
        tokens.append((kind, content, m.group(0), m.group(2) == "~", m.group(4) == "~"))
        pos = m.end()
    tokens.append(raw[pos:])
    _standalone(tokens)
    for i in range(1, len(tokens), 2):
        _, _, _, ltrim, rtrim = tokens[i]
        if ltrim:
            tokens[i - 1] = tokens[i - 1].rstrip()
        if rtrim:
            tokens[i + 1] = tokens[i + 1].lstrip()
    return tokens


def _standalone(tokens: list) -> None:
    """A block tag alone on its line removes the line's indentation and newline."""
    last = len(tokens) - 1
    cuts = [[0, 0] for _ in range(0, len(tokens), 2)]  # per text: [cut from start, cut from end]
    for i in range(1, last, 2):
        if tokens[i][0] not in _BLOCK_KINDS:
            continue
        before, after = tokens[i - 1], tokens[i + 1]
        if "\n" in before:
            prefix = before[before.rfind("\n") + 1 :]
        elif i - 1 == 0:
            prefix = before
        else:
            continue
        if "\n" in after:
            nl = after.find("\n")
            suffix, through = after[:nl], nl + 1
        elif i + 1 == last:
            suffix, through = after, len(after)
        else:
            continue
        if prefix.strip(" \t") or suffix.strip(" \t\r"):
            continue
        cuts[(i - 1) // 2][1] = len(prefix)
        cuts[(i + 1) // 2][0] = through
    for k, (start, end) in enumerate(cuts):
        if start or end:
            text = tokens[2 * k]
            tokens[2 * k] = text[start : len(text) - end]


def _parse(raw: str, src: str, key: str) -> list:
    root = _Block("root", "", "")
    stack = [root]

    def add(node) -> None:
        top = stack[-1]
        (top.alt if top.in_else else top.body).append(node)

    tokens = _tokenize(raw)
    for i, tok in enumerate(tokens):
        if i % 2 == 0:
            if tok:
                add(tok)
            continue
        kind, content, text, _, _ = tok
        if kind == "var":
            add(_Var(content, text))
        elif kind == "comment":
            continue
        elif kind == "open":
            helper, _, arg = content.partition(" ")
            arg = arg.strip()
            if helper not in _HELPERS:
                raise FormulaError(src, key, f"unsupported block helper {text} (supported: #if, #unless, #each)")
            _check_arg(arg, text, src, key)
            block = _Block(helper, arg, text)
            add(block)
            stack.append(block)
        elif kind == "else":
            top = stack[-1]
            if top.kind == "root":
                raise FormulaError(src, key, f"{text} outside a block")
            if top.in_else:
                raise FormulaError(src, key, f"second {text} in {_chain_head(stack).raw}")
            top.in_else = True
            if content:  # {{else if y}}: a nested block closed by the chain's {{/if}}
                helper, _, arg = content.partition(" ")
                if helper not in ("if", "unless"):
                    raise FormulaError(src, key, f"unsupported {text} (else if / else unless only)")
                _check_arg(arg.strip(), text, src, key)
                block = _Block(helper, arg.strip(), text, chained=True)
                top.alt.append(block)
                stack.append(block)
        else:  # close
            if len(stack) == 1:
                raise FormulaError(src, key, f"{text} closes no open block")
            head = _chain_head(stack)
            if content != head.kind:
                raise FormulaError(src, key, f"{text} closes {head.raw} (expected {{{{/{head.kind}}}}})")
            while stack[-1].chained:
                stack.pop()
            stack.pop()
    if len(stack) > 1:
        head = _chain_head(stack)
        raise FormulaError(src, key, f"block {head.raw} is never closed (add {{{{/{head.kind}}}}})")
    return root.body


def _chain_head(stack: list) -> _Block:
    i = len(stack) - 1
    while stack[i].chained:
        i -= 1
    return stack[i]


def _check_arg(arg: str, text: str, src: str, key: str) -> None:
    if not arg:
        raise FormulaError(src, key, f"{text} needs a variable")
    if not (_NAME.match(arg) or arg == "this" or arg.startswith("this.")):
        raise FormulaError(src, key, f"{text}: only a variable name is supported here, not {arg!r}")


class Template:
    """Text parsed once (errors at cook time) and rendered many times."""

    __slots__ = ("raw", "nodes", "src", "key")

    def __init__(self, raw: str, src: str = "", key: str = "") -> None:
        self.raw = raw
        self.src = src
        self.key = key
        self.nodes = _parse(raw, src, key) if "{{" in raw else ([raw] if raw else [])

    # -- names -------------------------------------------------------------------

    def _resolve(self, name: str, values: Mapping[str, Any], frames: list) -> Any:
        if name == "this" or name.startswith("this."):
            if not frames:
                raise _Verbatim
            item = frames[-1].item
            if name == "this":
                return item
            found = _dig(item, name[5:])
            if found is _MISSING:
                raise FormulaError(self.src, self.key, f"{{{{{name}}}}}: the item has no field {name[5:]!r}")
            return found
        if name[0] == "@":
            if not frames:
                raise FormulaError(self.src, self.key, f"{{{{{name}}}}} outside an {{{{#each}}}} block")
            f = frames[-1]
            return {"@index": f.index, "@first": f.index == 0, "@last": f.last, "@key": f.key}[name]
        for frame in reversed(frames):
            if isinstance(frame.item, Mapping):
                try:
                    return lookup(frame.item, name)
                except KeyError:
                    pass
        try:
            return lookup(values, name)
        except KeyError:
            pass
        head = name.partition(".")[0]
        if "." in name and head not in values and not any(
            isinstance(f.item, Mapping) and head in f.item for f in frames
        ):
            raise _Verbatim
        raise FormulaError(self.src, self.key, f"unknown variable {{{{{name}}}}}")

    @property
    def names(self) -> list[str]:
        """Variable names used outside ``{{#each}}`` bodies (block arguments included)."""
        out: list[str] = []

        def walk(nodes, in_each: bool) -> None:
            for n in nodes:
                if isinstance(n, _Var):
                    if not in_each:
                        out.append(n.name)
                elif isinstance(n, _Block):
                    if not in_each:
                        out.append(n.arg)
                    walk(n.body, in_each or n.kind == "each")
                    walk(n.alt, in_each)

        walk(self.nodes, False)
        return [n for n in dict.fromkeys(out) if n != "this" and not n.startswith(("this.", "@"))]

    def check(self, known: Mapping[str, Any]) -> None:
        """Every name outside an each-body is known (a dotted one with an unknown head is text)."""
        for name in self.names:
            try:
                self._resolve(name, known, [])
            except _Verbatim:
                pass

    # -- rendering -----------------------------------------------------------------

    def render(self, values: Mapping[str, Any]) -> str:
        if not self.nodes:
            return ""
        if len(self.nodes) == 1 and isinstance(self.nodes[0], str):
            return self.nodes[0]
        out: list[str] = []
        self._emit(self.nodes, values, [], out)
        return "".join(out)

    def _emit(self, nodes: list, values: Mapping[str, Any], frames: list, out: list) -> None:
        for n in nodes:
            if isinstance(n, str):
                out.append(n)
            elif isinstance(n, _Var):
                try:
                    out.append(text_of(self._resolve(n.name, values, frames)))
                except _Verbatim:
                    out.append(n.raw)
            elif n.kind == "each":
                items = _items(self._value(n.arg, values, frames))
                if not items:
                    self._emit(n.alt, values, frames, out)
                for i, (k, item) in enumerate(items):
                    self._emit(n.body, values, [*frames, _Frame(item, k, i, i == len(items) - 1)], out)
            else:
                yes = truthy(self._value(n.arg, values, frames))
                if n.kind == "unless":
                    yes = not yes
                self._emit(n.body if yes else n.alt, values, frames, out)

    def _value(self, name: str, values: Mapping[str, Any], frames: list) -> Any:
        try:
            return self._resolve(name, values, frames)
        except _Verbatim:
            return None

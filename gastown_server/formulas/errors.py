"""Formula errors: always one line naming the file, the key and the problem."""

from __future__ import annotations

from ..errors import InvalidInput


class FormulaError(InvalidInput):
    """A formula file (or the variables given to it) is wrong."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {problem}", data={"file": source, "key": key})
        self.source = source
        self.key = key
        self.problem = problem

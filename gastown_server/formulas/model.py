"""The shape of a ``*.formula.toml`` file, as msgspec Structs.

Field names are those of Gas Town's and Beads' formula files (SPEC.md).
Unknown keys are ignored, so files written for newer versions of Gas Town
still load; known keys are type-checked.  Aliases the originals accept
(``depends_on`` for ``needs``, ``[inputs]`` for ``[vars]``, a bare
``name = "default"`` for a variable) are normalised by the loader.
"""

from __future__ import annotations

from typing import Any, Union

import msgspec

FORMULA_TYPES = ("workflow", "expansion", "convoy", "aspect", "parallel")
#: Variable types that are checked and converted; any other type (``path``,
#: ``duration``, ...) is accepted as a string so that newer files still load.
VAR_TYPES = ("string", "str", "int", "integer", "number", "float", "bool", "boolean", "list", "array")

Scalar = Union[str, int, float, bool]


class VarDef(msgspec.Struct, omit_defaults=True):
    description: str = ""
    default: Union[Scalar, list, None] = None
    required: bool = False
    #: Required unless one of these variables is given.
    required_unless: Union[list[str], str] = msgspec.field(default_factory=list)
    type: str = "string"
    enum: list[Scalar] = msgspec.field(default_factory=list)
    pattern: str = ""


class Gate(msgspec.Struct, omit_defaults=True):
    """``conditional`` gates are decided when the walk reaches them; the
    others (``timer``, ``human``, ``mail``, ``gh:run``, ...) wait for an
    agent or a person to close the step (recorded as ``await_type``)."""

    type: str = "conditional"
    condition: str = ""
    run: str = ""
    id: str = ""
    timeout: str = ""


class Loop(msgspec.Struct, omit_defaults=True):
    """Repeat a step: ``count``, ``range = "a..b"``, ``over = [...]`` or a
    built-in ``generator`` (e.g. ``hanoi``) that yields per-iteration values."""

    count: Union[int, str, None] = None
    range: str = ""
    over: Union[list, str, None] = None
    generator: str = ""
    args: dict[str, Any] = msgspec.field(default_factory=dict)
    var: str = "i"
    #: Iterations chain (each needs the previous) unless false.
    sequential: bool = True


class Step(msgspec.Struct, omit_defaults=True):
    id: str
    title: str = ""
    description: str = ""
    needs: list[str] = msgspec.field(default_factory=list)
    depends_on: list[str] = msgspec.field(default_factory=list)
    acceptance: str = ""
    type: str = ""
    priority: Union[int, None] = None
    labels: list[str] = msgspec.field(default_factory=list)
    assignee: str = ""
    #: A shell command that does the step's mechanical work (optional).
    run: str = ""
    #: Cook-time inclusion: ``{{var}}``, ``!{{var}}``, ``{{var}} == x``, ``{{var}} != x``.
    condition: str = ""
    gate: Union[Gate, None] = None
    loop: Union[Loop, None] = None
    #: Replace this step with an expansion formula's template.
    expand: str = ""
    expand_vars: dict[str, Any] = msgspec.field(default_factory=dict)
    children: list["Step"] = msgspec.field(default_factory=list)
    focus: str = ""
    #: Runs even when a failed gate skips the steps it needs.
    always: bool = False

#: Step ``type`` values that are not bead types: a ``parallel`` step is a
#: container whose children run at once (Gas Town).
STEP_KINDS = ("parallel",)


class Synthesis(msgspec.Struct, omit_defaults=True):
    id: str = "synthesis"
    title: str = "Synthesis"
    description: str = ""
    needs: list[str] = msgspec.field(default_factory=list)
    depends_on: list[str] = msgspec.field(default_factory=list)
    acceptance: str = ""
    run: str = ""


class AdviceStep(msgspec.Struct, omit_defaults=True):
    id: str
    title: str = ""
    description: str = ""
    type: str = ""
    run: str = ""


class Around(msgspec.Struct, omit_defaults=True):
    before: list[AdviceStep] = msgspec.field(default_factory=list)
    after: list[AdviceStep] = msgspec.field(default_factory=list)


class Advice(msgspec.Struct, omit_defaults=True):
    #: Glob over step ids (``implement``, ``*.test``).
    target: str
    before: Union[AdviceStep, list[AdviceStep], None] = None
    after: Union[AdviceStep, list[AdviceStep], None] = None
    around: Union[Around, None] = None


class ExpandRule(msgspec.Struct, omit_defaults=True, rename={"with_": "with"}):
    target: str = ""
    select: str = ""
    with_: str = ""
    vars: dict[str, Any] = msgspec.field(default_factory=dict)


class Compose(msgspec.Struct, omit_defaults=True):
    expand: list[ExpandRule] = msgspec.field(default_factory=list)
    map: list[ExpandRule] = msgspec.field(default_factory=list)
    aspects: list[str] = msgspec.field(default_factory=list)


class Squash(msgspec.Struct, omit_defaults=True):
    trigger: str = "on_complete"
    template_type: str = ""
    include_metrics: bool = True


class Formula(msgspec.Struct, omit_defaults=True):
    formula: str = ""
    version: Union[int, str] = 1
    description: str = ""
    title: str = ""
    type: str = "workflow"
    extends: Union[list[str], str] = msgspec.field(default_factory=list)
    vars: dict[str, VarDef] = msgspec.field(default_factory=dict)
    steps: list[Step] = msgspec.field(default_factory=list)
    template: list[Step] = msgspec.field(default_factory=list)
    legs: list[Step] = msgspec.field(default_factory=list)
    synthesis: Union[Synthesis, None] = None
    advice: list[Advice] = msgspec.field(default_factory=list)
    #: Gas Town's aspect formulas: parallel analyses (like convoy legs).
    aspects: list[Step] = msgspec.field(default_factory=list)
    compose: Union[Compose, None] = None
    squash: Union[Squash, None] = None
    #: ``vapor`` formulas pour as wisps by default (Beads' phases).
    phase: str = ""
    #: ``work`` / ``patrol`` / ``swarm`` (recorded on the molecule root).
    mol_type: str = ""
    # Loader bookkeeping (not file keys).
    source: str = ""
    layer: str = ""
    overlay: str = ""

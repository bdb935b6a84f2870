"""The step-text renderer: {{var}} and the Handlebars blocks Gas Town's formulas use."""

import pytest

from gastown_server.formulas.errors import FormulaError
from gastown_server.formulas.template import Template


def render(text, **values):
    t = Template(text, "f.formula.toml", "steps.a.description")
    t.check(values)
    return t.render(values)


@pytest.mark.parametrize(
    "text, values, expect",
    [
        ("Fix {{issue}} now", {"issue": "gt-1"}, "Fix gt-1 now"),
        ("{{ issue }}|{{{issue}}}", {"issue": "<b>"}, "<b>|<b>"),  # nothing is HTML-escaped
        ("{{#if docs}}with docs{{else}}no docs{{/if}}", {"docs": True}, "with docs"),
        ("{{#if docs}}with docs{{else}}no docs{{/if}}", {"docs": False}, "no docs"),
        ("{{#if docs}}y{{else}}n{{/if}}", {"docs": "false"}, "n"),  # --var docs=false
        ("{{#if docs}}y{{else}}n{{/if}}", {"docs": "0"}, "n"),
        ("{{#if docs}}y{{else}}n{{/if}}", {"docs": "yes"}, "y"),
        ("{{#if docs}}y{{else}}n{{/if}}", {"docs": None}, "n"),  # declared, not given
        ("{{#if xs}}y{{else}}n{{/if}}", {"xs": []}, "n"),
        ("{{#unless quick}}run all tests{{/unless}}", {"quick": False}, "run all tests"),
        ("{{#unless quick}}run all tests{{else}}smoke{{/unless}}", {"quick": True}, "smoke"),
        ("{{#if a}}A{{else if b}}B{{else}}C{{/if}}", {"a": 0, "b": 1}, "B"),
        ("{{#if a}}A{{else if b}}B{{else}}C{{/if}}", {"a": 0, "b": 0}, "C"),
        ("{{#each xs}}[{{this}}:{{@index}}]{{/each}}", {"xs": ["p", "q"]}, "[p:0][q:1]"),
        ("{{#each xs}}{{this}}{{else}}none{{/each}}", {"xs": []}, "none"),
        ("{{#each xs}}<{{this}}>{{/each}}", {"xs": "a.py, b.py"}, "<a.py><b.py>"),  # a --var list
        (
            "{{#each people}}{{name}}={{this.age}}{{#unless @last}}, {{/unless}}{{/each}}",
            {"people": [{"name": "ann", "age": 3}, {"name": "bo", "age": 4}]},
            "ann=3, bo=4",
        ),
        (  # nested: an each inside an if inside an each; outer values seen from inside
            "{{#each groups}}{{title}}:{{#if items}}{{#each items}} {{this}}{{/each}}{{else}} -{{/if}} ({{who}});{{/each}}",
            {"who": "me", "groups": [{"title": "g1", "items": ["x", "y"]}, {"title": "g2", "items": []}]},
            "g1: x y (me);g2: - (me);",
        ),
        ("{{#each m}}{{@key}}={{this}} {{/each}}", {"m": {"a": 1, "b": 2}}, "a=1 b=2 "),
        ("{{convoy.title}} / {{x}}", {"x": 1}, "{{convoy.title}} / 1"),  # dotted, unknown head: kept
        ("{{leg.id}}", {"leg": {"id": "sec"}}, "sec"),
        ("{{ some prose here }} {{#}}", {}, "{{ some prose here }} {{#}}"),  # not tags: text
        ("a{{! a comment }}b{{!-- a }} comment --}}c", {}, "abc"),
        ("a  {{~x~}}  b", {"x": "X"}, "aXb"),
    ],
)
def test_render(text, values, expect):
    assert render(text, **values) == expect


def test_standalone_block_lines_vanish():
    text = "Steps:\n  {{#if docs}}\n  - write docs\n  {{else}}\n  - skip docs\n  {{/if}}\n{{#each xs}}\n- {{this}}\n{{/each}}\ndone\n"
    assert render(text, docs=True, xs=["a", "b"]) == "Steps:\n  - write docs\n- a\n- b\ndone\n"
    assert render(text, docs=False, xs=[]) == "Steps:\n  - skip docs\ndone\n"
    # an inline block is not standalone: its line stays
    assert render("x {{#if a}}y{{/if}}\nz", a=True) == "x y\nz"


@pytest.mark.parametrize(
    "text, problem",
    [
        ("{{#if x}}open", "block {{#if x}} is never closed (add {{/if}})"),
        ("{{#each xs}}{{#if x}}{{/each}}", "{{/each}} closes {{#if x}} (expected {{/if}})"),
        ("{{/if}}", "{{/if}} closes no open block"),
        ("{{else}}", "{{else}} outside a block"),
        ("{{#if x}}a{{else}}b{{else}}c{{/if}}", "second {{else}} in {{#if x}}"),
        ("{{#with x}}{{/with}}", "unsupported block helper {{#with x}}"),
        ("{{#if}}{{/if}}", "{{#if}} needs a variable"),
        ("{{#if (eq a b)}}{{/if}}", "only a variable name is supported here"),
    ],
)
def test_bad_blocks_are_one_error_naming_file_and_step(text, problem):
    with pytest.raises(FormulaError) as err:
        Template(text, "f.formula.toml", "steps.build.description")
    assert err.value.message.startswith("f.formula.toml: steps.build.description: ")
    assert problem in err.value.message and "\n" not in err.value.message


def test_unknown_names_outside_each_are_errors_inside_each_items_are_looked_up():
    with pytest.raises(FormulaError, match=r"unknown variable \{\{ghost\}\}"):
        render("{{ghost}}")
    with pytest.raises(FormulaError, match=r"unknown variable \{\{ghost\}\}"):
        render("{{#if ghost}}x{{/if}}")
    with pytest.raises(FormulaError, match=r"unknown variable \{\{leg.nope\}\}"):
        render("{{leg.nope}}", leg={"id": "a"})  # known head, missing field: an error, not text
    with pytest.raises(FormulaError, match=r"unknown variable \{\{nope\}\}"):
        render("{{#each xs}}{{nope}}{{/each}}", xs=[{"name": "a"}])
    with pytest.raises(FormulaError, match=r"\{\{@index\}\} outside"):
        render("{{@index}}")
    assert render("{{#each xs}}{{name}}{{/each}}", xs=[{"name": "a"}]) == "a"
    assert render("{{this}}") == "{{this}}"  # outside an each: text


def test_names_lists_variables_outside_each_bodies():
    t = Template("{{a}} {{#if b}}{{c.d}}{{/if}} {{#each xs}}{{field}} {{this.x}}{{/each}} {{@index}}")
    assert t.names == ["a", "b", "c.d", "xs"]

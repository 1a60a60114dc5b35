"""volnet's Jinja escapes output values without building Markup objects (volnet.core.templating):
the pages must come out byte for byte as Jinja's own autoescaping makes them."""
from __future__ import annotations

from decimal import Decimal

import jinja2
import pytest
from markupsafe import Markup, escape

from volnet.core.i18n import lazy_gettext
from volnet.core.templating import EscapingCodeGenerator, VolnetEnvironment, escape_to_text


class HasHtml:
    def __html__(self):
        return '<span class="badge">3</span>'


class IntLike(int):
    def __str__(self):
        return "<7>"


VALUES = ['<script>alert("x")</script> & \'quoted\'', "", "plain 한글", 0, 42, -3, 2.5, True, None,
          Decimal("1.50"), Markup("<b>safe & sound</b>"), HasHtml(), IntLike(7), ["<a>", 1], {"k": "<v>"}]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_escape_to_text_is_markupsafe_escape_as_text(value):
    assert escape_to_text(value) == str(escape(value))


TEMPLATE = """
{%- macro cell(x, cls='c') %}<td class="{{ cls }}">{{ x }}</td>{% endmacro -%}
{%- macro wrap() %}<div>{{ caller() }}</div>{% endmacro -%}
{{ s }}|{{ n }}|{{ f }}|{{ none }}|{{ m }}|{{ h }}|{{ lazy }}|{{ missing }}|{{ items }}
{{ s|e }}|{{ s|safe }}|{{ s|upper }}|{{ "%s!"|format(s) }}|{{ s ~ m }}|{{ m ~ s }}|{{ s + "<" }}
{% set block %}<i>{{ s }}</i>{% endset %}{{ block }}|{{ block|length }}
{% for x in items %}{{ cell(x) }}{{ loop.index }}{% endfor %}
{% call wrap() %}{{ s }}{{ m }}{% endcall %}
{% autoescape false %}{{ s }}{% endautoescape %}|{% autoescape flag %}{{ s }}{% endautoescape %}
{{ cell(s, cls='"><x') }}{{ 'literal <b>' }}{{ 1 + 2 }}{{ s if n else m }}
"""


def _context():
    return {"s": '<script>"x" & \'y\'</script>', "n": 5, "f": 1.25, "none": None, "m": Markup("<b>ok</b>"),
            "h": HasHtml(), "items": ["<a>", 2, Markup("<br>")], "flag": True}


def test_pages_are_byte_for_byte_what_jinja_autoescaping_makes(app):
    stock = jinja2.Environment(autoescape=True)
    ours = app.jinja_env
    assert isinstance(ours, VolnetEnvironment) and ours.code_generator_class is EscapingCodeGenerator
    ctx = _context()
    with app.test_request_context():
        ctx["lazy"] = lazy_gettext("Concerns")
        expected = stock.from_string(TEMPLATE).render(ctx)
        got = ours.from_string(TEMPLATE).render(ctx)
    assert got == expected
    assert "&lt;script&gt;&#34;x&#34; &amp; &#39;y&#39;&lt;/script&gt;" in got  # escaped, as Jinja does
    assert '<script>"x"' in got  # where the template says |safe or turns autoescaping off
    # Macros still return Markup, so their output is not escaped twice where it is used.
    macro = ours.from_string("{% macro m(x) %}<b>{{ x }}</b>{% endmacro %}").module.m("<i>")
    assert isinstance(macro, Markup) and macro == "<b>&lt;i&gt;</b>"


def test_templates_without_autoescaping_are_compiled_as_jinja_does():
    env = jinja2.Environment(autoescape=False)
    env.code_generator_class = EscapingCodeGenerator
    assert env.from_string("{{ s }}").render(s="<b>") == "<b>"

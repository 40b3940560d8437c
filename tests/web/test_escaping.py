"""The portal's templates escape what they write exactly as markupsafe does, and `_()` in templates
behaves as Jinja's newstyle gettext, though both take shortcuts for speed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st
from markupsafe import Markup, escape

from portal.settings import load_settings
from portal.web import i18n
from portal.web.escaping import escape_text
from portal.web.templating import build_environment


class _Shown:
    def __str__(self) -> str:
        return "<b>O'Brien & \"Sons\"</b>"


@pytest.mark.parametrize("value", [
    "<script>alert('x')</script> & \"q\"", Markup("<em>kept</em>"), 42, -7, True, None, 3.5, Decimal("1.10"),
    dt.date(2026, 11, 30), _Shown(), "", "plain",
])
def test_escape_text_writes_what_markupsafe_writes(value):
    assert escape_text(value) == str(escape(value))


@given(st.text())
def test_escape_text_matches_markupsafe_on_any_text(text):
    assert escape_text(text) == str(escape(text))


@pytest.fixture()
def env():
    return build_environment(load_settings())


def test_values_written_into_a_page_are_escaped_and_markup_is_not(env):
    html = env.from_string("<p>{{ a }}|{{ b }}|{{ n }}|{{ c|safe }}</p>").render(a="<i>&</i>", b=Markup("<br>"), n=5, c="<hr>")
    assert html == "<p>&lt;i&gt;&amp;&lt;/i&gt;|<br>|5|<hr></p>"


def test_a_macro_and_a_set_block_still_keep_their_output_from_being_escaped_twice(env):
    html = env.from_string(
        '{% macro m(x) %}<b>{{ x }}</b>{% endmacro %}{% set s %}<i>{{ "<" }}</i>{% endset %}{{ m("<") }}{{ s }}'
    ).render()
    assert html == "<b>&lt;</b><i>&lt;</i>"


def test_underscore_in_templates_translates_trusts_the_message_and_escapes_its_variables(env):
    i18n.set_language("en")
    html = env.from_string('{{ _("until %(when)s", when=w) }}|{{ _("100%% paid") }}').render(w="<x>")
    assert html == "until &lt;x&gt;|100% paid"



def test_ngettext_in_templates_picks_the_form_and_escapes_its_variables(env):
    i18n.set_language("en")
    template = env.from_string('{{ ngettext("%(num)s invoice for %(who)s", "%(num)s invoices for %(who)s", n, who=w) }}')
    assert template.render(n=1, w="<a>") == "1 invoice for &lt;a&gt;"
    assert template.render(n=3, w="B&C") == "3 invoices for B&amp;C"


_LAYOUT = """<html><title>{% block title %}{{ site }}{% endblock %}</title>
<body class="{{ cls }}">{% block body %}<p>{{ site }} & {{ n }}</p>{% endblock %}{{ after }}</body></html>"""
_PAGE = """{% extends "layout.html" %}{% from "m.html" import cell %}
{% block title %}{{ title }} · {{ super() }}{% endblock %}
{% block body %}{% set total %}<b>{{ n }}</b>{% endset %}
<table>{% for row in rows %}<tr data-i="{{ loop.index }}" class="{{ 'odd' if loop.odd }}">{{ cell(row.name) }}<td>{{ row.value }}</td>
{% if row.value > 1 %}<td>{{ row.value * 2 }} {{ row.name|upper }}</td>{% endif %}{% filter upper %}x{{ row.name }}{% endfilter %}</tr>
{% endfor %}</table>{{ total }}{% call cell_with_caller() %}{{ site }}<i>{{ n }}</i>{% endcall %}
{% endblock %}"""
_MACROS = """{% macro cell(x) %}<td>{{ x }}</td>{% endmacro %}"""


def test_a_page_with_layout_blocks_loops_macros_and_calls_writes_exactly_what_stock_jinja_writes(env):
    """The portal's templates yield each run of text and values as one joined string: the page
    must not change by one character, with every construct that writes output."""
    import jinja2

    from portal.web.escaping import PortalEnvironment

    sources = {"layout.html": _LAYOUT, "page.html": _PAGE.replace("{% call cell_with_caller() %}", "{% call wrap() %}"),
               "m.html": _MACROS}
    sources["page.html"] = "{% macro wrap() %}<div>{{ caller() }}</div>{% endmacro %}" + sources["page.html"]
    context = {"site": "A&B <Co>", "n": 3, "cls": Markup("x y"), "after": None, "title": "<T>",
               "rows": [{"name": "<one>", "value": 1}, {"name": "two & 'three'", "value": 2}, {"name": Markup("<em>4</em>"), "value": 4}]}
    ours = PortalEnvironment(loader=jinja2.DictLoader(sources), autoescape=True).get_template("page.html").render(context)
    stock = jinja2.Environment(loader=jinja2.DictLoader(sources), autoescape=True).get_template("page.html").render(context)
    assert ours == stock
    assert "&lt;one&gt;" in ours and "<em>4</em>" in ours and "<b>3</b>" in ours and "<div>A&amp;B &lt;Co&gt;<i>3</i></div>" in ours


def test_a_run_of_text_and_values_is_yielded_once(env):
    """The point of the joined output: a row of five values is one piece, not ten."""
    template = env.from_string("{% for r in rows %}<tr><td>{{ r.a }}</td><td>{{ r.b }}</td><td>{{ r.c }}</td></tr>{% endfor %}")
    pieces = list(template.generate(rows=[{"a": 1, "b": "<b>", "c": 3}] * 2))
    assert pieces == ["<tr><td>1</td><td>&lt;b&gt;</td><td>3</td></tr>"] * 2


def test_a_task_note_links_the_portals_staff_pages_and_nothing_else(env):
    from portal.web.escaping import link_paths

    note = 'Quality problem <b>"smudged"</b>.\nOpen the dispute: /staff/disputes/12\nSee https://evil.test/staff/x and /client/invoices/3'
    html = env.from_string("{{ note|link_paths }}").render(note=note)
    assert '<a href="/staff/disputes/12">/staff/disputes/12</a>' in html
    assert "&lt;b&gt;&#34;smudged&#34;&lt;/b&gt;" in html  # the rest is escaped text
    assert html.count("<a ") == 1  # not the other site's URL, not a client page
    assert str(link_paths('/staff/x" onclick="y')) == '<a href="/staff/x">/staff/x</a>&#34; onclick=&#34;y'

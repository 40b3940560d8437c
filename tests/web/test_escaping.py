"""The portal's templates escape what they write exactly as markupsafe does, and `_()` in templates
behaves as Jinja's newstyle gettext, though both take shortcuts for speed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
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

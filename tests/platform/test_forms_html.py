"""volnet.core.forms.html_params replaces WTForms' own: it must write exactly the same HTML."""
from __future__ import annotations

import wtforms.widgets
import wtforms.widgets.core
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from volnet.core import forms
from volnet.core.i18n import lazy_gettext

keys = st.builds(lambda prefix, name, tail: prefix + name + tail,
                 st.sampled_from(["", "data_", "aria_", "class", "for"]),
                 st.text(alphabet="abcxyz_-<&\"'", max_size=8),
                 st.sampled_from(["", "_", "__"])).filter(bool)
values = st.one_of(
    st.booleans(), st.none(), st.integers(), st.floats(allow_nan=False),
    st.text(),  # any text: quotes, <>&, Hangul, NUL, CR/LF
    st.text().map(Markup),  # already markup: its quotes are still rewritten to &quot;
    st.sampled_from(["a\"b", "<script>", "&amp;", "'", "통장 \"김\""]).map(Markup),
)


@given(st.dictionaries(keys, values, max_size=6))
@settings(max_examples=400, deadline=None)
def test_same_output_as_wtforms(kwargs):
    ours, theirs = forms.html_params(**kwargs), forms._wtforms_html_params(**kwargs)
    assert ours == theirs
    assert type(ours) is type(theirs) is Markup


def test_lazy_strings_as_wtforms_writes_them(app):
    with app.test_request_context("/"):
        for label in (lazy_gettext("Outcome"), lazy_gettext("Merge into concern number")):
            assert forms.html_params(title=label, value="x") == forms._wtforms_html_params(title=label, value="x")


def test_widgets_use_it(app):
    # Installed where the widgets and the labels look it up; a rendered select is unchanged.
    assert wtforms.widgets.core.html_params is forms.html_params
    assert wtforms.widgets.html_params is forms.html_params
    assert wtforms.widgets.core.TextInput.html_params is forms.html_params
    from volnet.concerns.forms import CloseForm, UrgencyForm

    def render():
        close, urgency = CloseForm(meta={"csrf": False}), UrgencyForm(meta={"csrf": False}, reason='"긴급" <확인>')
        attrs = {"class": "form-control", "aria-invalid": "false"}
        return (close.outcome(**attrs), close.outcome.label(), close.note(**attrs), urgency.reason(**attrs),
                urgency.urgency(required=True))

    with app.test_request_context("/"):
        ours = render()
        forms._install(forms._wtforms_html_params)
        try:
            theirs = render()
        finally:
            forms._install(forms.html_params)
    assert ours == theirs
    assert 'value="&#34;긴급&#34; &lt;확인&gt;"' in ours[3]
    assert ours[0].startswith('<select aria-invalid="false" class="form-control" id="outcome" name="outcome"')
    assert ours[1] == '<label for="outcome">결과</label>'  # Korean first

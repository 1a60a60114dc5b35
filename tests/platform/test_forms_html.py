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


def test_choice_values_read_as_wtforms_reads_choices(app):
    """Every shape of ``choices`` WTForms accepts gives the values its iter_choices would (the fast path reads
    pairs and plain values; anything else is left to WTForms)."""
    from flask_wtf import FlaskForm
    from wtforms import SelectField
    from wtforms.fields.choices import SelectChoice

    class F(FlaskForm):
        pick = SelectField()

    shapes = [
        [(1, "one"), (2, "two")],
        ["a", "b"],
        [SelectChoice("x", "X"), SelectChoice("y")],
        {"group": [("g1", "G1"), ("g2", "G2")], "other": [("o", "O")]},
        [],
    ]
    with app.test_request_context("/"):
        for choices in shapes:
            form = F(meta={"csrf": False})
            form.pick.choices = choices
            assert forms.choice_values(form.pick) == {v for v, *_ in form.pick.iter_choices()}, choices


def test_a_report_with_a_value_not_offered_is_refused(app, client):
    """The checkbox and radio fields of the report form refuse a posted value they do not offer, and save
    nothing."""
    from sqlalchemy import func, select

    from tests import builders as b
    from volnet.extensions import db
    from volnet.observations.models import Observation

    dong = b.dong()
    user = b.user("tong_leader", [dong])
    household = b.household(dong)
    db.session.commit()
    b.login(client, user)
    for field, value in (("signals", "not_a_sign"), ("urgency", "whenever"), ("meals", "fine")):
        data = {"household_id": household.id, "dong_id": dong.id, "urgency": "routine", "signals": "mail_piling",
                "client_token": f"tok-{field}"}
        data[field] = value
        resp = client.post("/report/new", data=data)
        assert resp.status_code == 400, field
        assert "제시된 항목 중에서 선택하세요." in resp.get_data(as_text=True), field
    assert db.session.scalar(select(func.count()).select_from(Observation)) == 0

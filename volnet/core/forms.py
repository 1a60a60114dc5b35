"""Form helpers shared by every domain."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.validators import ValidationError

from volnet.core.korean import clean_text


def clean_filter(value):
    return clean_text(value) if isinstance(value, str) else value


class ChoiceField(SelectField):
    """A select whose unknown values give a translated message instead of WTForms' English one."""

    def pre_validate(self, form):
        values = {str(v) for v, *_ in self.iter_choices()}
        if self.data is None or str(self.data) not in values:
            raise ValidationError(_l("Choose one of the offered options."))


def name_ok(value: str) -> bool:
    """Korean names: one field, any script, 1-60 characters, no digits-only or control characters."""
    value = clean_text(value)
    return 0 < len(value) <= 60 and not value.isdigit()

from __future__ import annotations

from django import forms
from django.test.html import parse_html

from accord.core.widgets import QuickSelect

CHOICES = [
    ("", "Any"),
    ("a&b", "Fish & <chips>"),
    ("Group “one”", [("g1", "First"), ("g2", "Second")]),
    (3, "Three"),
]


def test_quick_select_writes_the_same_markup_as_djangos_select() -> None:
    for value in ("", "a&b", "g2", 3, "3", None, "missing"):
        attrs = {"id": "id_pick", "class": "wide", "required": True}
        quick = QuickSelect(choices=CHOICES).render("pick", value, attrs=attrs)
        django = forms.Select(choices=CHOICES).render("pick", value, attrs=attrs)
        assert parse_html(quick) == parse_html(django), value


def test_quick_select_escapes_labels_and_values() -> None:
    html = QuickSelect(choices=CHOICES).render("pick", "a&b")
    assert '<option value="a&amp;b" selected>Fish &amp; &lt;chips&gt;</option>' in html
    assert '<optgroup label="Group “one”">' in html

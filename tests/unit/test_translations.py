"""Every user-facing string marked in the code has an Italian translation, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "opsapp/translations/it/LC_MESSAGES/messages.po"
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2"), ("**/templates/**.txt", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "lazy_ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)(?:\.[0-9]+)?[sdf]|%%")


def marked_strings() -> set[str]:
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            ROOT / "opsapp", METHODS, keywords=KEYWORDS,
            options_map={"**/templates/**": {"extensions": "jinja2.ext.do"}}):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def catalogue():
    with open(CATALOGUE, "rb") as fh:
        return read_po(fh, locale="it")


def test_every_marked_string_is_translated_into_italian():
    translated = {}
    for m in catalogue():
        if m.id:
            key = m.id[0] if isinstance(m.id, tuple) else m.id
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            translated[key] = all(strings) and not m.fuzzy
    missing = sorted(s for s in marked_strings() if not translated.get(s))
    assert missing == [], f"{len(missing)} strings without Italian (run `make translations`): {missing[:10]}"


def test_translations_keep_their_placeholders():
    for m in catalogue():
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        wanted = sorted(PLACEHOLDER.findall(ids[-1]))
        for s in strings:
            if s:
                assert sorted(PLACEHOLDER.findall(s)) == wanted or (
                    len(ids) > 1 and sorted(PLACEHOLDER.findall(s)) == sorted(PLACEHOLDER.findall(ids[0]))), (m.id, s)


def test_the_compiled_catalogue_is_up_to_date():
    compiled = CATALOGUE.with_suffix(".mo")
    assert compiled.exists() and compiled.stat().st_mtime >= CATALOGUE.stat().st_mtime - 1, (
        "compile the catalogue: pybabel compile -d opsapp/translations")

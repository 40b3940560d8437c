"""The catalogs are complete in every language the firm's users work in: no message untranslated or
fuzzy, each translation with exactly its message's placeholders, the plural forms each language
has, and the template current (a new English string in the code shows up here as untranslated,
named, after `make messages-update`)."""

from __future__ import annotations

import gettext
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "portal" / "locale"
LANGUAGES = {"ro": 3, "uk": 3, "bg": 2, "hu": 2}  # language: plural forms
PLACEHOLDER = re.compile(r"%\([a-z_0-9]+\)[sdif]|%%|%[sdif]")


def _read(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def _key(message) -> str:
    msgid = message.id if isinstance(message.id, str) else message.id[0]
    return f"{message.context}|{msgid}" if message.context else msgid


def _placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def test_the_template_holds_every_message_of_the_code():
    """What `make messages-extract` would write now is what messages.pot holds."""
    fresh = ROOT / "test-artifacts" / "messages-now.pot"
    fresh.parent.mkdir(exist_ok=True)
    pybabel = str(Path(sys.executable).parent / "pybabel")
    subprocess.run([pybabel, "-q", "extract", "-F", "babel.cfg", "-k", "lazy_gettext", "-k", "ngettext:1,2", "-k", "N_",
                    "-k", "NP_:1,2", "-o", str(fresh), "--project=portal", "."], cwd=ROOT, check=True, timeout=120)
    now = {_key(m) for m in _read(fresh) if m.id}
    stored = {_key(m) for m in _read(LOCALE / "messages.pot") if m.id}
    assert not now - stored, f"new messages not in the catalogs (run make messages-update, then translate): {sorted(now - stored)[:20]}"
    assert not stored - now, f"messages the code no longer has (run make messages-update): {sorted(stored - now)[:20]}"


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_message_is_translated_and_none_is_fuzzy(language):
    catalog = _read(LOCALE / language / "LC_MESSAGES" / "messages.po")
    template = {_key(m) for m in _read(LOCALE / "messages.pot") if m.id}
    entries = {_key(m): m for m in catalog if m.id}
    assert not template - set(entries), f"{language}: run make messages-update: {sorted(template - set(entries))[:10]}"
    untranslated = [k for k, m in entries.items() if k in template and not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    fuzzy = [k for k, m in entries.items() if k in template and m.fuzzy]
    assert not untranslated, f"{language}: {len(untranslated)} untranslated, e.g. {untranslated[:10]}"
    assert not fuzzy, f"{language}: {len(fuzzy)} fuzzy (check and clear the flag), e.g. {fuzzy[:10]}"
    assert catalog.num_plurals == LANGUAGES[language], f"{language}: Plural-Forms says {catalog.num_plurals} forms"


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_translation_keeps_its_placeholders(language):
    wrong = []
    for m in _read(LOCALE / language / "LC_MESSAGES" / "messages.po"):
        if not m.id or not m.string:
            continue
        if isinstance(m.id, str):
            if _placeholders(m.string) != _placeholders(m.id):
                wrong.append((m.id, m.string))
            continue
        allowed = set(_placeholders(m.id[0])) | set(_placeholders(m.id[1]))
        needed = allowed - {"%(num)s", "%(num)d"}
        for form in m.string:
            found = set(_placeholders(form))
            if found - allowed or needed - found:
                wrong.append((m.id[0], form))
    assert not wrong, f"{language}: placeholders differ from the message's: {wrong[:5]}"


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_the_compiled_catalog_is_the_translated_one(language):
    with (LOCALE / language / "LC_MESSAGES" / "messages.mo").open("rb") as f:
        compiled = read_mo(f)
    translated = [m for m in _read(LOCALE / language / "LC_MESSAGES" / "messages.po") if m.id and m.string]
    assert len([m for m in compiled if m.id]) == len(translated), f"{language}: make messages-compile"


def test_the_glossary_names_one_term_per_concept_in_every_language():
    glossary = (LOCALE / "GLOSSARY.md").read_text()
    rows = [line for line in glossary.splitlines() if line.startswith("| ") and not line.startswith("| concept") and "---" not in line]
    assert len(rows) >= 40
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 5 and all(cells), row
    for concept in ("invoice", "installment", "repayment schedule", "formal claim", "warning of court", "hand-over to lawyers",
                    "credit hold", "layout variant", "technical specification"):
        assert re.search(rf"^\| {re.escape(concept)}[ (|]", glossary, re.M), concept


# One term per concept, measured: of the messages that name the concept in English, the share whose
# translation uses the glossary's word (its stem, as the languages inflect it).
STEMS = {
    "invoice": {"ro": "factur", "uk": "рахун", "bg": "фактур", "hu": "számlá"},
    "installment": {"ro": "rat", "uk": "внес", "bg": "вноск", "hu": "részlet"},
    "ladder": {"ro": "scenari", "uk": "сценар", "bg": "сценари", "hu": "forgatókönyv"},
}


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_the_glossary_terms_are_used(language):
    for concept, stems in STEMS.items():
        naming = [m for m in _read(LOCALE / language / "LC_MESSAGES" / "messages.po")
                  if isinstance(m.id, str) and re.search(rf"\b{concept}s?\b", m.id, re.I) and m.string
                  and not re.search(r"\bladder step", m.id, re.I)]  # "a step" alone says it in context
        using = [m for m in naming if stems[language].lower() in m.string.lower().replace("számla", "számlá")]
        assert naming and len(using) / len(naming) >= 0.9, (
            f"{language}: {concept!r} is {stems[language]!r} in {len(using)} of {len(naming)} messages; "
            f"e.g. {[m.string for m in naming if m not in using][:5]}")


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_plural_forms_are_the_languages_own(language):
    """The header's Plural-Forms has the forms gettext uses for the language (Babel's table, from
    CLDR's rules) and picks the same form for every count; every plural entry fills each form."""
    from babel.messages.plurals import get_plural

    catalog = _read(LOCALE / language / "LC_MESSAGES" / "messages.po")
    expected = get_plural(language)
    assert catalog.num_plurals == expected.num_plurals == LANGUAGES[language]

    header, cldr = gettext.c2py(catalog.plural_expr), gettext.c2py(expected.plural_expr)
    assert [header(n) for n in range(250)] == [cldr(n) for n in range(250)], f"{language}: {catalog.plural_expr}"
    plural_entries = [m for m in catalog if m.id and isinstance(m.id, tuple)]
    assert plural_entries
    short = [m.id[0] for m in plural_entries if len(m.string) != catalog.num_plurals or not all(s.strip() for s in m.string)]
    assert not short, f"{language}: plural entries missing a form: {short[:10]}"


def test_the_hungarian_count_takes_the_singular_noun():
    """Hungarian writes "2 nyitott számla" (a noun after a numeral stays singular): never the
    English fallback."""
    from portal.web import i18n

    with i18n.in_language("hu"):
        two = str(i18n.template_ngettext("to pay on %(num)s open invoice", "to pay on %(num)s open invoices", 2))
        days = i18n.ngettext("%(num)s day overdue", "%(num)s days overdue", 5)
    assert two == "fizetendő (2 nyitott számla)"
    assert "overdue" not in days and "5 nap" in days

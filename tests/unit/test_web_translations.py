"""The web app speaks zh-CN and en.

Every message a page can show has a zh-CN translation that keeps its ``{placeholders}``: the
domain errors' templates, the amount messages, and every msgid the templates and page modules
use (found with the same extraction ``make translations`` runs, from ``babel.cfg``). The
catalogs parse and agree with each other; English falls back to the msgid. The language comes
from ``Accept-Language``; amounts and instants are written as each locale writes them.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import string
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

import walletbridge.domain
import walletbridge.services
from walletbridge.domain.errors import DomainError
from walletbridge.domain.money import Currency, Money, MoneyError
from walletbridge.entrypoints.web import i18n
from walletbridge.entrypoints.web.context import Msg, translate
from walletbridge.entrypoints.web.forms import MONEY_MESSAGES, money_message
from walletbridge.entrypoints.web.i18n import Formatter, negotiate, translations

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "src" / "walletbridge" / "entrypoints" / "web"
CATALOGS = WEB / "translations"
NBSP = "\u00a0"
Msgid = str | tuple[str, str]
"""A msgid as extraction reports it: a string, or (singular, plural)."""


def placeholders(text: str) -> set[str]:
    """The ``{...}`` fields of a str.format template, as written (``{key!r}``, ``{n}``)."""
    found = set()
    for _, name, spec, conversion in string.Formatter().parse(text):
        if name is not None:
            converted = f"!{conversion}" if conversion else ""
            formatted = f":{spec}" if spec else ""
            found.add(f"{{{name}{converted}{formatted}}}")
    return found


def domain_error_classes() -> list[type[DomainError]]:
    for package in (walletbridge.domain, walletbridge.services):
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")
    found: list[type[DomainError]] = []

    def walk(cls: type[DomainError]) -> None:
        found.append(cls)
        for sub in cls.__subclasses__():
            # Replays of stored refusals make classes at run time (services.idempotency); their
            # message is the stored original's, so earlier tests in the process add no msgid.
            if sub.__name__ != "StoredRefusal":
                walk(sub)

    walk(DomainError)
    return found


def amount_messages() -> list[str]:
    fallback = money_message(MoneyError("not one of the known refusals")).msgid
    return [*MONEY_MESSAGES.values(), fallback]


def web_msgids(folder: Path = WEB) -> dict[Msgid, list[str]]:
    """Every msgid under ``folder`` (default: the web app) → where it is used."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, "babel.cfg")  # type: ignore[no-untyped-call]
    found: dict[Msgid, list[str]] = defaultdict(list)
    for filename, lineno, message, _, _ in extract_from_dir(
        folder, method_map, options_map, keywords=DEFAULT_KEYWORDS
    ):
        key: Msgid = message if isinstance(message, str) else (message[0], message[1])
        found[key].append(f"{filename}:{lineno}")
    return dict(found)


def po_files(folder: str) -> list[Path]:
    return sorted((CATALOGS / folder / "LC_MESSAGES").glob("*.po"))


PO_LINE = re.compile(
    r'^(?:#.*|(?:msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) +"(?:[^"\\]|\\.)*"'
    r'|"(?:[^"\\]|\\.)*"|)$'
)
"""A well-formed line of a .po file (Babel's reader forgives a missing closing quote)."""


def read_catalog(path: Path) -> Catalog:
    """A catalog as the app reads it: in its folder's locale, whose plural rule applies unless
    the file's header says otherwise."""
    text = path.read_text(encoding="utf-8")
    malformed = [line for line in text.splitlines() if not PO_LINE.match(line)]
    assert malformed == [], path.name
    locale = path.parent.parent.name if path.suffix == ".po" else None
    with path.open("rb") as handle:
        return read_po(handle, locale=locale, abort_invalid=True)


def texts(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """A catalog entry's msgid or msgstr as a tuple (one item, or one per plural form)."""
    if value is None:
        return ("",)
    return (value,) if isinstance(value, str) else tuple(value)


def problems_with_zh_cn(msgid: Msgid) -> str | None:
    """Why the zh-CN catalog does not serve ``msgid`` properly, or None if it does."""
    zh = translations("zh-CN")
    if isinstance(msgid, str):
        shown, expected = zh.gettext(msgid), placeholders(msgid)
        untranslated = shown == msgid
    else:
        shown, expected = zh.ngettext(*msgid, 2), placeholders(msgid[1])
        untranslated = shown in msgid or zh.ngettext(*msgid, 1) in msgid
    if untranslated:
        return "no zh-CN translation"
    if placeholders(shown) != expected:
        return f"placeholders differ: {shown!r}"
    return None


# The catalogs.


def test_every_domain_error_message_has_a_zh_cn_translation_with_the_same_placeholders() -> None:
    classes = domain_error_classes()
    names = {cls.__name__ for cls in classes}
    # The walk reaches errors declared in services too, not only in domain.errors.
    assert {"InsufficientFunds", "LimitExceeded", "RateLimited", "DemoNotSeeded"} <= names
    problems = [
        f"{cls.__name__}: {cls.template!r}: {reason}"
        for cls in classes
        if (reason := problems_with_zh_cn(cls.template)) is not None
    ]
    assert not problems, "\n".join(["", *problems])


def test_every_amount_message_has_a_zh_cn_translation_with_the_same_placeholders() -> None:
    problems = [
        f"{text!r}: {reason}"
        for text in amount_messages()
        if (reason := problems_with_zh_cn(text)) is not None
    ]
    assert not problems, "\n".join(["", *problems])


def test_every_kind_of_refused_amount_has_its_own_message() -> None:
    def codes(cls: type[MoneyError]) -> Iterator[str]:
        for sub in cls.__subclasses__():
            yield sub.code
            yield from codes(sub)

    assert set(codes(MoneyError)) <= set(MONEY_MESSAGES)


def test_every_msgid_the_web_app_uses_has_a_zh_cn_translation() -> None:
    used = web_msgids()
    assert "Sign in" in used
    problems = [
        f"{msgid!r} ({', '.join(places[:3])}): {reason}"
        for msgid, places in sorted(used.items(), key=lambda item: item[1][0])
        if (reason := problems_with_zh_cn(msgid)) is not None
    ]
    assert not problems, "\n".join(["", *problems])


def test_a_translated_message_is_filled_in_with_its_values() -> None:
    message = Msg(
        "The payment is over the {limit} limit; {remaining} {currency} remains.",
        {"limit": "daily", "remaining": "12.00", "currency": "EUR"},
    )
    assert translate("en", message) == "The payment is over the daily limit; €12.00 remains."
    chinese = translate("zh-CN", message)
    assert "€12.00" in chinese
    assert "{" not in chinese
    assert chinese != translate("en", message)
    # The limit's name is the code's own English word, translated too.
    assert "daily" not in chinese


@pytest.mark.parametrize("folder", ["zh_CN", "en"])
def test_every_catalog_parses_and_keeps_the_placeholders(folder: str) -> None:
    files = po_files(folder)
    assert files, f"no catalogs in translations/{folder}"
    for path in files:
        catalog = read_catalog(path)
        assert catalog.charset.lower() == "utf-8", path.name
        for message in catalog:
            if not message.id:
                continue
            strings = texts(message.string)
            wanted = placeholders(texts(message.id)[-1])
            for text in strings:
                assert not text or placeholders(text) == wanted, (path.name, message.id, text)
            # A fuzzy translation is silently left out of the catalog the app loads.
            assert not (message.fuzzy and any(strings)), (path.name, message.id, "fuzzy")


def test_the_chinese_catalogs_have_one_plural_form_and_never_disagree() -> None:
    seen: dict[object, tuple[str, object]] = {}
    disagreements = []
    for path in po_files("zh_CN"):
        catalog = read_catalog(path)
        assert catalog.num_plurals == 1, path.name
        for message in catalog:
            if not message.id or not message.string:
                continue
            if message.id in seen and seen[message.id][1] != message.string:
                disagreements.append((message.id, seen[message.id][0], path.name))
            seen.setdefault(message.id, (path.name, message.string))
    assert disagreements == []


def test_the_english_catalog_comes_from_the_template_and_falls_back_to_the_msgids() -> None:
    template = read_catalog(CATALOGS / "messages.pot")
    english = read_catalog(CATALOGS / "en" / "LC_MESSAGES" / "messages.po")
    assert "Sign in" in template
    assert "Sign in" in english
    en = translations("en")
    for message in english:
        if not message.id:
            continue
        ids, strings = texts(message.id), texts(message.string)
        if len(ids) == 2:
            assert en.ngettext(ids[0], ids[1], 1) == (strings[0] or ids[0])
            assert en.ngettext(ids[0], ids[1], 2) == (strings[-1] or ids[1])
        else:
            assert en.gettext(ids[0]) == (strings[0] or ids[0])


# How catalogs are loaded, on catalogs made up for the purpose.

HEADER = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'


@pytest.fixture
def made_up_catalogs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(i18n, "TRANSLATIONS", tmp_path)
    translations.cache_clear()
    yield tmp_path
    translations.cache_clear()


def write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def test_catalogs_of_a_locale_are_merged_and_empty_or_fuzzy_entries_fall_back(
    made_up_catalogs: Path,
) -> None:
    zh = made_up_catalogs / "zh_CN" / "LC_MESSAGES"
    # The first file has no Plural-Forms header: the locale's rule (one form) still applies.
    write(zh, "a.po", HEADER + '\nmsgid "Payees"\nmsgstr "收款人"\n\nmsgid "Blank"\nmsgstr ""\n')
    write(
        zh,
        "b.po",
        HEADER
        + '\n#, fuzzy\nmsgid "Unsure"\nmsgstr "不确定"\n'
        + '\nmsgid "{n} payment"\nmsgid_plural "{n} payments"\nmsgstr[0] "{n} 笔付款"\n',
    )
    en = made_up_catalogs / "en" / "LC_MESSAGES"
    write(
        en,
        "messages.po",
        HEADER
        + '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n'
        + '\nmsgid "Payees"\nmsgstr ""\n'
        + '\nmsgid "{n} payment"\nmsgid_plural "{n} payments"\nmsgstr[0] ""\nmsgstr[1] ""\n',
    )
    chinese = translations("zh-CN")
    assert chinese.gettext("Payees") == "收款人"
    assert chinese.gettext("Blank") == "Blank"
    assert chinese.gettext("Unsure") == "Unsure"
    assert chinese.ngettext("{n} payment", "{n} payments", 1) == "{n} 笔付款"
    assert chinese.ngettext("{n} payment", "{n} payments", 5) == "{n} 笔付款"
    english = translations("en")
    assert english.gettext("Payees") == "Payees"
    assert english.ngettext("{n} payment", "{n} payments", 1) == "{n} payment"
    assert english.ngettext("{n} payment", "{n} payments", 5) == "{n} payments"
    assert translations("fr").gettext("Payees") == "Payees"


# Extraction: each way the app passes a msgid is found.


def test_extraction_finds_each_way_a_msgid_is_passed(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pages_example.py",
        "def handler(visitor, request):\n"
        '    flash(visitor, "Payee saved.")\n'
        '    form.error("amount", Msg("Too much {currency}.", {"currency": "EUR"}))\n'
        '    title = visitor.t("Payees")\n'
        '    label = translate(visitor.locale, "Money in" if incoming else "Money out")\n'
        '    form.error("amount", Msg(TABLE["table-key"]))\n'
        '    text = translate(visitor.locale, "Two parts " "make one.")\n'
        '    return error_page(request, 404, "Page not found", "Nothing here.")\n',
    )
    write(
        tmp_path / "templates",
        "example.html",
        '{% from "macros.html" import field as input_field with context %}\n'
        '<h1>{{ _("Send {amount}", amount=x) }}</h1><p>{{ t("Fee") }}</p>\n'
        '{{ input_field(form, "amount", "Amount", help="Such as 12.34.") }}\n'
        '{{ ngettext("{n} payment", "{n} payments", n) }}\n'
        '{% for href, label in [("/a", "First tab"), ("/b", "Second tab")] %}'
        "{{ _(label) }}{% endfor %}\n"
        '{% for word in ["Alpha", "Beta"] %}{{ t(word) }}{% endfor %}\n'
        '{% for href, label in [("/c", "Not translated")] %}{{ label }}{% endfor %}\n',
    )
    found = set(web_msgids(tmp_path))
    assert found == {
        "Payee saved.",
        "Too much {currency}.",
        "Payees",
        "Money in",
        "Money out",
        "Two parts make one.",
        "Page not found",
        "Nothing here.",
        "Send {amount}",
        "Fee",
        "Amount",
        "Such as 12.34.",
        ("{n} payment", "{n} payments"),
        "First tab",
        "Second tab",
        "Alpha",
        "Beta",
    }


# Language negotiation.


@pytest.mark.parametrize(
    ("header", "default", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "en", "zh-CN"),
        ("en-US,en;q=0.9", "zh-CN", "en"),
        ("EN-gb", "zh-CN", "en"),
        ("zh", "en", "zh-CN"),
        ("zh-Hans-CN", "en", "zh-CN"),
        ("zh-SG", "en", "zh-CN"),
        ("zh-TW", "en", "en"),
        ("zh-Hant", "zh-CN", "zh-CN"),
        ("en;q=0.5, zh-CN;q=0.8", "en", "zh-CN"),
        (" zh-CN ; q=0.7 , en ; q=0.3", "en", "zh-CN"),
        ("en, zh-CN", "zh-CN", "en"),
        ("zh-CN;q=0, en;q=0.1", "zh-CN", "en"),
        ("zh-CN;q=high, en;q=0.4", "zh-CN", "en"),
        ("fr-FR, de;q=0.9", "zh-CN", "zh-CN"),
        ("fr-FR, de;q=0.9", "en", "en"),
        ("*", "zh-CN", "zh-CN"),
        ("", "en", "en"),
        (None, "zh-CN", "zh-CN"),
    ],
)
def test_the_language_is_the_best_supported_match_of_accept_language(
    header: str | None, default: str, expected: str
) -> None:
    assert negotiate(header, default) == expected


# Formatting.


@pytest.mark.parametrize(
    ("locale", "amount_minor", "code", "exponent", "expected"),
    [
        ("en", 0, "JPY", 0, "¥0"),
        ("en", 123456, "JPY", 0, "¥123,456"),
        ("en", -123456, "JPY", 0, "-¥123,456"),
        ("en", 0, "EUR", 2, "€0.00"),
        ("en", 5, "EUR", 2, "€0.05"),
        ("en", 1234, "EUR", 2, "€12.34"),
        ("en", -1234, "EUR", 2, "-€12.34"),
        ("en", 123456789012, "EUR", 2, "€1,234,567,890.12"),
        ("en", 1000, "KWD", 3, f"KWD{NBSP}1.000"),
        ("en", 1234567, "KWD", 3, f"KWD{NBSP}1,234.567"),
        ("en", -1230, "KWD", 3, f"-KWD{NBSP}1.230"),
        ("en", 100, "CNY", 2, "CN¥1.00"),
        ("en", 100000, "USD", 2, "$1,000.00"),
        ("zh-CN", 0, "JPY", 0, "JP¥0"),
        ("zh-CN", 123456, "JPY", 0, "JP¥123,456"),
        ("zh-CN", -123456, "JPY", 0, "-JP¥123,456"),
        ("zh-CN", 0, "EUR", 2, "€0.00"),
        ("zh-CN", -1234, "EUR", 2, "-€12.34"),
        ("zh-CN", 123456789012, "EUR", 2, "€1,234,567,890.12"),
        ("zh-CN", 1000, "KWD", 3, f"KWD{NBSP}1.000"),
        ("zh-CN", -1234567, "KWD", 3, f"-KWD{NBSP}1,234.567"),
        ("zh-CN", 100, "CNY", 2, "¥1.00"),
        ("zh-CN", 12345678, "CNY", 2, "¥123,456.78"),
        ("zh-CN", 100000, "USD", 2, "US$1,000.00"),
    ],
)
def test_money_is_written_with_the_currencys_own_decimals_in_the_locales_style(
    locale: str, amount_minor: int, code: str, exponent: int, expected: str
) -> None:
    money = Money(amount_minor, Currency(code, exponent))
    assert Formatter(locale).money(money) == expected
    assert Formatter(locale).decimal_amount(money.to_decimal_string(), code) == expected


def test_numbers_are_grouped_for_the_locale() -> None:
    assert Formatter("en").number(1234567) == "1,234,567"
    assert Formatter("zh-CN").number(1234567) == "1,234,567"


NEW_YEAR_UTC_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
LATE_EVENING_UTC_US = 1_782_948_600_000_000  # 2026-07-01T23:30:00Z


def test_instants_are_shown_in_the_locales_display_zone() -> None:
    en, zh = Formatter("en"), Formatter("zh-CN")
    assert en.zone_name() == "UTC"
    assert zh.zone_name() == "Asia/Shanghai"
    assert en.instant(NEW_YEAR_UTC_US) == "Jan 1, 2026, 12:00:00\u202fAM"
    assert zh.instant(NEW_YEAR_UTC_US) == "2026年1月1日 08:00:00"
    # Half past eleven at night in UTC is already the next morning in Shanghai.
    assert en.instant(LATE_EVENING_UTC_US + 999_999) == "Jul 1, 2026, 11:30:00\u202fPM"
    assert zh.instant(LATE_EVENING_UTC_US) == "2026年7月2日 07:30:00"
    assert en.iso_instant("2026-07-01T23:30:00Z") == "Jul 1, 2026, 11:30:00\u202fPM"
    assert zh.iso_instant("2026-07-01T23:30:00+00:00") == "2026年7月2日 07:30:00"
    assert en.day(LATE_EVENING_UTC_US) == "Jul 1, 2026"
    assert zh.day(LATE_EVENING_UTC_US) == "2026年7月2日"

"""A refusal on a zh-CN page reads entirely in Chinese.

A domain error's message is its English template filled in with its fields. The web app
translates the template, and the values of the fields named in ``VOCABULARY_FIELDS`` (a reason,
a limit's name, a request's status, a channel, a scope): those are English words or phrases
written in the code where the error is raised, so each must be a msgid with a translation.

The phrases are found where they are written: every call of a ``DomainError`` class in the code
a page can reach is read (with ``ast``), and the values it passes for the vocabulary fields its
template shows are collected: literal strings as they are, f-strings of module constants as
they evaluate, and values from a variable through the enum it always holds (``FROM_ENUMS``).
A phrase made from anything else fails here: it cannot be a msgid. Each message is then rendered
in zh-CN with each phrase, and must hold no English word (three ASCII lowercase letters in a
row); placeholders that show a person's data (ids, handles) are filled with digits, so any
English left comes from a translation or a phrase that has none.
"""

from __future__ import annotations

import ast
import importlib
import itertools
import pkgutil
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import walletbridge.domain
import walletbridge.services
from walletbridge.domain.actors import RecipientKind, Scope
from walletbridge.domain.errors import DomainError
from walletbridge.domain.identity import Channel
from walletbridge.domain.limits import LimitExceeded
from walletbridge.domain.payments import RequestNotPending, RequestStatus
from walletbridge.entrypoints.web.context import VOCABULARY_FIELDS, Msg, translate
from walletbridge.entrypoints.web.i18n import translations
from walletbridge.entrypoints.web.refusals import FALLBACK, PAGE_MESSAGES

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "walletbridge"
REACHABLE = ("domain", "services", "adapters", "entrypoints/web")
"""Where the errors a page can show are raised. The API and the CLI raise a few of their own
(a malformed query parameter, say) that no page shows; their reasons stay English."""

FROM_ENUMS: dict[str, type[StrEnum]] = {
    "channel": Channel,
    "scope.value": Scope,
    "asked.status.value": RequestStatus,
    "found.status.value": RequestStatus,
    "to.kind.value": RecipientKind,
}
"""A vocabulary value passed from a variable, as the call writes it → the enum it comes from
(every member then needs a translation)."""

NOT_VOCABULARY = {("BatchItemRefused", "reason")}
"""A batch item's refusal carries the refused item's own English message as its reason. Batches
are paid through the API only; no page shows one."""

TECHNICAL = re.compile(r"`[^`]*`|Idempotency-Key")
"""Words a reader types or sends as they are: a command, an HTTP header's name."""
ENGLISH_WORD = re.compile(r"[a-z]{3,}")
SAMPLES = {"currency": "EUR", "remaining": "12.00", "fee": "0.50", "maximum": "500.00"}
"""Values for the placeholders that show data; any other such placeholder gets digits."""


@dataclass(frozen=True)
class Raised:
    """One place the code makes a domain error, with the vocabulary values it passes."""

    where: str
    error: type[DomainError]
    values: dict[str, tuple[str, ...]]

    def messages(self) -> Iterator[Msg]:
        fields = sorted(self.values)
        for chosen in itertools.product(*(self.values[name] for name in fields)):
            yield Msg(
                self.error.template,
                sample_fields(self.error, dict(zip(fields, chosen, strict=True))),
            )


def error_classes() -> dict[str, type[DomainError]]:
    for package in (walletbridge.domain, walletbridge.services):
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")
    found: dict[str, type[DomainError]] = {}
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        # Replays of stored refusals are classes made at run time (services.idempotency).
        if cls.__name__ != "StoredRefusal":
            found[cls.__name__] = cls
            pending.extend(cls.__subclasses__())
    return found


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def vocabulary_of(error: type[DomainError]) -> set[str]:
    """The vocabulary fields ``error``'s message shows."""
    return {
        name
        for name in placeholders(error.template) & VOCABULARY_FIELDS
        if (error.__name__, name) not in NOT_VOCABULARY
    }


def sample_fields(error: type[DomainError], vocabulary: dict[str, str]) -> dict[str, object]:
    return {
        name: vocabulary.get(name, SAMPLES.get(name, "42")) for name in placeholders(error.template)
    }


def values_passed(node: ast.expr, module: str, where: str) -> tuple[str, ...]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return (node.value,)
    if isinstance(node, ast.IfExp):
        return values_passed(node.body, module, where) + values_passed(node.orelse, module, where)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.IfExp):
        # (A if x else B).value: the value of each branch.
        branches = node.value
        return tuple(
            value
            for branch in (branches.body, branches.orelse)
            for value in values_passed(
                ast.fix_missing_locations(ast.Attribute(branch, node.attr, ast.Load())),
                module,
                where,
            )
        )
    written = ast.unparse(node)
    if written in FROM_ENUMS:
        return tuple(member.value for member in FROM_ENUMS[written])
    try:
        # Only expressions written in our own source, evaluated among their module's names.
        value = eval(
            compile(ast.Expression(node), where, "eval"), vars(importlib.import_module(module))
        )
    except NameError:
        raise AssertionError(
            f"{where}: {written} is made from a variable, so it cannot be a msgid: make it a "
            "fixed phrase (with the variable part in a field of its own), or name the enum it "
            "comes from in FROM_ENUMS"
        ) from None
    assert isinstance(value, str), (where, written)
    return (value,)


def raised_vocabulary() -> list[Raised]:
    classes = error_classes()
    found = []
    for folder in REACHABLE:
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            module = ".".join(path.relative_to(SRC).with_suffix("").parts)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                error = classes.get(name) if isinstance(name, str) else None
                if error is None:
                    continue
                where = f"{path.relative_to(SRC)}:{node.lineno}"
                shown = vocabulary_of(error)
                values = {
                    keyword.arg: values_passed(keyword.value, module, where)
                    for keyword in node.keywords
                    if keyword.arg in shown
                }
                found.append(Raised(where, error, values))
    return found


def english_left(text: str) -> list[str]:
    return ENGLISH_WORD.findall(TECHNICAL.sub("", text))


# The collection itself: it finds the phrases, so that the tests below are about something.


def test_the_vocabulary_is_collected_from_where_each_error_is_raised() -> None:
    raised = raised_vocabulary()
    values = {value for each in raised for many in each.values.values() for value in many}
    assert {
        "daily",
        "per-transaction",
        "paid",
        "declined",
        "email",
        "phone",
        "handle",
        "user",
        "wallet:read",
        "use at least 10 characters",
        "it does not look like an email address",
        "the locale is one of en, zh-CN",
        "the cursor is not one this list issued",
    } <= values
    # Every error whose message shows a vocabulary field is raised somewhere the scan looks.
    shown = {cls for cls in error_classes().values() if vocabulary_of(cls)}
    assert shown == {each.error for each in raised if each.values}


def test_a_phrase_made_from_a_variable_is_refused() -> None:
    call = ast.parse('InvalidPayment(reason=f"there is no {code} limit")', mode="eval").body
    assert isinstance(call, ast.Call)
    with pytest.raises(AssertionError, match="cannot be a msgid"):
        values_passed(call.keywords[0].value, "walletbridge.services.wallets", "example.py:1")
    constant = ast.parse('f"use at least {MIN_PASSWORD_LENGTH} characters"', mode="eval").body
    module = "walletbridge.domain.identity"
    assert values_passed(constant, module, "x") == ("use at least 10 characters",)


def test_english_words_are_caught_and_technical_names_are_not() -> None:
    assert english_left("请换一个密码：use at least 10 characters。") == [
        "use",
        "least",
        "characters",
    ]
    assert english_left("超出 daily 限额，剩余额度 12.00 EUR") == ["daily"]
    assert english_left("演示账本尚未初始化，请运行 `walletbridge demo`。") == []
    assert english_left("Idempotency-Key 须为 1 至 255 个可打印 ASCII 字符。") == []


# The translations.


def test_every_vocabulary_value_has_a_zh_cn_translation() -> None:
    zh = translations("zh-CN")
    missing = sorted(
        {
            f"{value!r} ({each.error.__name__}.{name}, {each.where})"
            for each in raised_vocabulary()
            for name, values in each.values.items()
            for value in values
            if zh.gettext(value) == value
        }
    )
    assert not missing, "\n".join(["", *missing])


def test_every_refusal_a_page_can_show_reads_in_chinese_with_each_phrase_it_is_given() -> None:
    problems = []
    for each in raised_vocabulary():
        for message in each.messages():
            shown = translate("zh-CN", message)
            if english_left(shown) or "{" in shown:
                problems.append(f"{each.where}: {shown}")
    assert not problems, "\n".join(["", *sorted(set(problems))])


def test_every_domain_error_template_reads_in_chinese() -> None:
    problems = []
    for error in error_classes().values():
        # Vocabulary fields are filled with a Chinese word here: the phrases themselves are
        # checked above, with the messages they are passed to.
        vocabulary = dict.fromkeys(vocabulary_of(error), "某项")
        shown = translate("zh-CN", Msg(error.template, sample_fields(error, vocabulary)))
        if english_left(shown) or "{" in shown:
            problems.append(f"{error.__name__}: {shown}")
    assert not problems, "\n".join(["", *problems])


def test_the_refusals_the_money_pages_word_themselves_read_in_chinese() -> None:
    for message in [*PAGE_MESSAGES.values(), FALLBACK]:
        shown = translate("zh-CN", message)
        assert shown != message.msgid
        assert english_left(shown) == [], shown


def test_a_limit_and_a_status_are_named_in_chinese() -> None:
    over = Msg(LimitExceeded.template, {"limit": "daily", "remaining": "12.00", "currency": "EUR"})
    assert translate("en", over) == "The payment is over the daily limit; €12.00 remains."
    chinese = translate("zh-CN", over)
    assert "每日" in chinese and "daily" not in chinese
    paid = translate("zh-CN", Msg(RequestNotPending.template, {"request_status": "paid"}))
    assert "已付款" in paid and "paid" not in paid
    # A person's own words in other fields are never translated, even when they are a msgid.
    handle = translate(
        "zh-CN", Msg("The handle {handle} is taken; choose another.", {"handle": "daily"})
    )
    assert "daily" in handle


# Every Chinese text, whatever it translates.

CATALOGS = SRC / "walletbridge" / "entrypoints" / "web" / "translations" / "zh_CN" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def chinese_texts() -> Iterator[tuple[str, str, str]]:
    """(file, msgid, msgstr) of every translated entry of the zh-CN catalogs."""
    files = sorted(CATALOGS.glob("*.po"))
    assert files
    for path in files:
        with path.open("rb") as handle:
            catalog = read_po(handle, locale="zh_CN")
        for message in catalog:
            found = message.string
            strings = [found] if isinstance(found, str) else list(found or ())
            for text in strings:
                if message.id and text:
                    yield path.name, str(message.id), text


def test_no_chinese_translation_leaves_an_english_word() -> None:
    left = [
        f"{name}: {msgid!r} → {text!r}"
        for name, msgid, text in chinese_texts()
        if english_left(PLACEHOLDER.sub("", text))
    ]
    assert not left, "\n".join(["", *left])


def test_the_reader_is_addressed_as_nin_everywhere() -> None:
    familiar = [f"{name}: {text}" for name, _, text in chinese_texts() if "你" in text]
    assert not familiar, "\n".join(["", *familiar])

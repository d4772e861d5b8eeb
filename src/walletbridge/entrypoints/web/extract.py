"""Finding the web app's msgids: the extractors ``babel.cfg`` names for ``make translations``,
also used by the test that every message a page can show has a zh-CN translation.

Templates: Jinja's extractor finds literal arguments of ``_``/``t``/``ngettext``; this one adds
the msgids the app passes in two other ways:

- to a macro that translates some of its parameters (``macros.html``: ``field`` calls
  ``t(label)`` and ``t(help)``): the literal arguments given for those parameters, by position
  or by name, wherever the macro is called;
- in a loop over a literal list that translates its loop variable (the nav labels in
  ``base.html``): the literal strings at that position of each item.

Python is read as a syntax tree rather than as tokens (as Babel's extractor does), so that
``t("In" if incoming else "Out")`` gives two msgids and ``Msg(TABLE["key"])`` none; and a call
that takes several separate messages (``error_page(request, status, title, message)``), which
one Babel keyword cannot express, gives each of them.
"""

from __future__ import annotations

import ast
import io
import itertools
from collections.abc import Collection, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import IO, Any

from jinja2 import Environment, nodes
from jinja2.ext import babel_extract

TEMPLATES = Path(__file__).parent / "templates"
MESSAGE_ARGUMENTS: Mapping[str, tuple[int, ...]] = {"error_page": (3, 4)}
"""Python calls whose arguments at these (1-based) positions are each a msgid of their own."""

Extracted = tuple[int, str | None, Any, list[str]]
"""What a Babel extraction method yields: line, keyword (None: a plain msgid), message(s),
translator comments."""


def extract_python_messages(
    fileobj: IO[bytes],
    keywords: Collection[str],
    comment_tags: Collection[str],
    options: dict[str, Any],
) -> Iterator[Extracted]:
    """Literal arguments of keyword calls (``Msg("...")``, ``visitor.t("...")``), read from the
    syntax tree rather than from tokens as Babel's Python extractor does: a table lookup
    (``Msg(TABLE["key"])``) is no msgid, and ``t("In" if incoming else "Out")`` is two. Calls
    named in ``MESSAGE_ARGUMENTS`` give each of their message arguments. Translator comments
    are not collected (the app uses none)."""
    source = fileobj.read().decode(str(options.get("encoding", "utf-8")))
    for call in ast.walk(ast.parse(source)):
        if not isinstance(call, ast.Call):
            continue
        name = _called_name(call.func)
        if name is None:
            continue
        if name in MESSAGE_ARGUMENTS:
            for position in MESSAGE_ARGUMENTS[name]:
                if position <= len(call.args):
                    for text in _strings(call.args[position - 1]):
                        yield call.lineno, None, text, []
        elif name in keywords:
            choices: list[list[str | None]] = [[*_strings(arg)] or [None] for arg in call.args]
            for arguments in itertools.product(*choices):
                yield call.lineno, name, arguments, []


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _strings(node: ast.expr) -> list[str]:
    """The msgid(s) an argument can be: a literal, or each literal branch of ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def extract_templates(
    fileobj: IO[bytes],
    keywords: Collection[str],
    comment_tags: Collection[str],
    options: dict[str, Any],
) -> Iterator[Extracted]:
    """Jinja's extractor, plus literal arguments of translating macros and translated loops."""
    source = fileobj.read()
    yield from babel_extract(io.BytesIO(source), list(keywords), list(comment_tags), options)
    encoding = str(options.get("encoding", "utf-8"))
    tree = _environment().parse(source.decode(encoding))
    translating = frozenset(keywords)
    macros = {**_library_macros(translating), **_macros_in(tree, translating)}
    for lineno, message in _macro_arguments(tree, macros):
        yield lineno, None, message, []
    for lineno, message in _loop_labels(tree, translating):
        yield lineno, None, message, []


MacroShape = tuple[tuple[str, ...], frozenset[str]]
"""A macro's parameter names, in order, and the ones its body translates."""


@cache
def _environment() -> Environment:
    return Environment(extensions=["jinja2.ext.i18n"], autoescape=True)


@cache
def _library_macros(translating: frozenset[str]) -> dict[str, MacroShape]:
    """The translating macros of every template in ``templates/`` (imported by name)."""
    found: dict[str, MacroShape] = {}
    for path in sorted(TEMPLATES.glob("*.html")):
        tree = _environment().parse(path.read_text(encoding="utf-8"))
        found.update(_macros_in(tree, translating))
    return found


def _macros_in(tree: nodes.Template, translating: frozenset[str]) -> dict[str, MacroShape]:
    found: dict[str, MacroShape] = {}
    for macro in tree.find_all(nodes.Macro):
        params = tuple(arg.name for arg in macro.args)
        translated = frozenset(
            call.args[0].name
            for call in macro.find_all(nodes.Call)
            if _calls(call, translating)
            and call.args
            and isinstance(call.args[0], nodes.Name)
            and call.args[0].name in params
        )
        if translated:
            found[macro.name] = (params, translated)
    return found


def _macro_arguments(
    tree: nodes.Template, macros: Mapping[str, MacroShape]
) -> Iterator[tuple[int, str]]:
    aliases = {name: name for name in macros}
    for imported in tree.find_all(nodes.FromImport):
        for name in imported.names:
            if isinstance(name, tuple) and name[0] in macros:
                aliases[name[1]] = name[0]
    for call in tree.find_all(nodes.Call):
        if not isinstance(call.node, nodes.Name) or call.node.name not in aliases:
            continue
        params, translated = macros[aliases[call.node.name]]
        given = [(params[i], arg) for i, arg in enumerate(call.args) if i < len(params)]
        given += [(keyword.key, keyword.value) for keyword in call.kwargs]
        for param, value in given:
            if param in translated and _literal(value) is not None:
                yield call.lineno, str(_literal(value))


def _loop_labels(tree: nodes.Template, translating: frozenset[str]) -> Iterator[tuple[int, str]]:
    for loop in tree.find_all(nodes.For):
        if not isinstance(loop.iter, nodes.List | nodes.Tuple):
            continue
        targets = loop.target.items if isinstance(loop.target, nodes.Tuple) else [loop.target]
        names = [target.name if isinstance(target, nodes.Name) else None for target in targets]
        positions = {
            names.index(call.args[0].name)
            for node in loop.body
            for call in node.find_all(nodes.Call)
            if _calls(call, translating)
            and call.args
            and isinstance(call.args[0], nodes.Name)
            and call.args[0].name in names
        }
        for item in loop.iter.items:
            if isinstance(loop.target, nodes.Tuple):
                if not isinstance(item, nodes.Tuple):
                    continue
                parts: list[nodes.Expr] = item.items
            else:
                parts = [item]
            for position in sorted(positions):
                text = _literal(parts[position]) if position < len(parts) else None
                if text is not None:
                    yield item.lineno, text


def _calls(call: nodes.Call, translating: frozenset[str]) -> bool:
    return isinstance(call.node, nodes.Name) and call.node.name in translating


def _literal(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Const) and isinstance(node.value, str):
        return node.value
    return None

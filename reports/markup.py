"""Escaping for every report template: HTML by autoescape, Markdown by a finalizer.

Reports show what runs and captured traffic contain (target names, labels,
request and response bodies, headers, paths), none of which paybench
controls. Nothing in them may become markup in a reviewer's browser or
Markdown viewer, so escaping is the default, not something each template
line has to remember:

- HTML templates get Jinja's autoescape, whatever their file name;
- Markdown templates get a ``finalize`` that escapes every ``{{ ... }}`` as
  one line of Markdown text (HTML, links, emphasis, table pipes). The
  filters ``md_code``, ``md_block`` and ``md_url`` render code spans,
  fenced blocks and link targets that are safe for any content; their
  results (and ``md``'s) are marked safe so they are not escaped twice.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup

# Every ASCII character Markdown or its inline HTML would act on anywhere in a line.
_MD_ACTIVE = re.compile(r"([\\`*\[\]<>&|~])")
# "_" starts emphasis only at a word edge; inside a word (cpu_count) it is plain text.
_MD_EDGE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
# What opens a block when a value starts a line: heading, bullet, numbered item, rule.
_MD_HEADING_OR_BULLET = re.compile(r"^(#|[-+](?=\s))")
_MD_NUMBERED = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")
_MD_RULE = re.compile(r"([-=])(\s*\1){2,}\s*")
_NEWLINES = re.compile(r"\r\n|\r|\n")
_BACKTICKS = re.compile(r"`+")


def _one_line(value: Any) -> str:
    return _NEWLINES.sub(" ", "" if value is None else str(value))


def markdown_text(value: Any) -> Markup:
    """``value`` as Markdown that shows exactly its text, on one line."""
    if isinstance(value, Markup):
        return value
    text = _MD_ACTIVE.sub(r"\\\1", _one_line(value))
    text = _MD_EDGE_UNDERSCORE.sub(r"\\_", text).lstrip(" ")
    if _MD_RULE.fullmatch(text):
        text = re.sub(r"([-=])", r"\\\1", text)
    text = _MD_HEADING_OR_BULLET.sub(r"\\\1", text)
    text = _MD_NUMBERED.sub(r"\1\\\2", text)
    if text.endswith("  "):  # two trailing spaces are a hard line break
        text = text.rstrip(" ")
    return Markup(text)


def _longest_backticks(text: str) -> int:
    return max((len(m) for m in _BACKTICKS.findall(text)), default=0)


def markdown_code(value: Any, table: bool = False) -> Markup:
    """An inline code span showing ``value`` verbatim; ``table=True`` inside a table cell.

    The fence is longer than any backtick run inside, so none can close it;
    in a table cell GFM splits on ``|`` even inside code, so pipes are escaped.
    """
    text = _one_line(value)
    if table:
        text = text.replace("|", "\\|")
    fence = "`" * (_longest_backticks(text) + 1)
    if not text.strip(" ") or text.startswith("`") or text.endswith("`") or (
        text.startswith(" ") and text.endswith(" ")
    ):
        text = f" {text} "  # CommonMark strips exactly one space from each side
    return Markup(f"{fence}{text}{fence}")


def markdown_block(value: Any, lang: str = "") -> Markup:
    """A fenced code block showing ``value`` verbatim, whatever fences it holds."""
    text = _NEWLINES.sub("\n", "" if value is None else str(value)).rstrip("\n")
    fence = "`" * max(3, _longest_backticks(text) + 1)
    info = lang if re.fullmatch(r"[A-Za-z0-9_+-]*", lang) else ""
    return Markup(f"{fence}{info}\n{text}\n{fence}")


def markdown_url(value: Any) -> Markup:
    """A relative link target: percent-encoded, so no space, parenthesis or scheme acts."""
    text = quote(str(value), safe="/")
    return Markup(text if text.startswith((".", "/")) else "./" + text)


def _finalize(value: Any) -> Any:
    return markdown_text(value)


def html_environment(loader: jinja2.BaseLoader, **options: Any) -> jinja2.Environment:
    """A Jinja environment whose every template is autoescaped as HTML."""
    return jinja2.Environment(loader=loader, autoescape=True, **options)


def markdown_environment(loader: jinja2.BaseLoader, **options: Any) -> jinja2.Environment:
    """A Jinja environment whose every ``{{ ... }}`` is escaped as Markdown text."""
    env = jinja2.Environment(loader=loader, autoescape=False, finalize=_finalize, **options)
    env.filters.update(md=markdown_text, md_code=markdown_code, md_block=markdown_block,
                       md_url=markdown_url)
    return env

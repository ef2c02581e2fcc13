"""Checks that a rendered report shows hostile text as text and never as markup.

A report is inert when every element and attribute in it came from its
template: only known tags, no event-handler attribute, no link or image
leaving the report (only relative paths and embedded PNGs). Markdown is
rendered with a CommonMark renderer that passes raw HTML through (as many
viewers do) and checked the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from html.parser import HTMLParser
from urllib.parse import urlsplit

from markdown_it import MarkdownIt

# Hostile values: markup, a script, an event handler, Markdown links and images,
# a table pipe, code and emphasis markers and an entity that must stay literal.
HOSTILE = ("<script>alert(1)</script><img src=x onerror=alert(1)> [a](https://evil.example/) "
           "![i](https://evil.example/i.png) `x` | *y* _z_ &amp; ~~s~~")
# The same without "/" for values that become file or directory names or JSON Pointers.
HOSTILE_NAME = "<img src=x onerror=alert(1)>[a](javascript:alert(1))`x`|*y*_z_&amp;"

REPORT_TAGS = frozenset({
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "h4", "p", "b", "i",
    "em", "strong", "small", "table", "thead", "tbody", "tr", "th", "td", "code", "pre", "div",
    "span", "img", "details", "summary", "section", "figure", "figcaption", "ul", "ol", "li",
    "a", "br", "hr", "blockquote",
})


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend((tag, name, value or "") for name, value in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def markdown_to_html(markdown: str) -> str:
    """CommonMark with GFM tables; raw HTML is passed through, as GitHub-like viewers do."""
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)


def assert_inert(html: str, shown: Iterable[str]) -> None:
    """No element or attribute of ``html`` came from data, and every ``shown`` text is shown."""
    page = _Collector()
    page.feed(html)
    page.close()
    unknown = set(page.tags) - REPORT_TAGS
    assert not unknown, f"elements from data: {unknown}"
    for tag, name, value in page.attrs:
        assert not name.startswith("on"), f"event handler <{tag} {name}={value!r}>"
        if name in ("href", "src"):
            if value.startswith("data:image/png;base64,"):
                continue
            parts = urlsplit(value)
            assert not parts.scheme, f"<{tag} {name}={value!r}> leaves the report"
            assert not parts.netloc, f"<{tag} {name}={value!r}> leaves the report"
    text = "".join(page.text)
    for value in shown:
        assert value in text, f"not shown verbatim: {value!r}"

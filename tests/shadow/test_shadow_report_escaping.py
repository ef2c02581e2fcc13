"""The shadow report shows captured traffic as text: no markup from a capture reaches a reader."""

from __future__ import annotations

import json
from pathlib import Path

from shadow.analysis import analyze
from shadow.audit import AuditResult, Flag, SideAudit
from shadow.capture import Exchange, RecordedRequest, SideResult
from shadow.normalize import Rules
from shadow.report import write_report
from tests.markup_checks import HOSTILE, HOSTILE_NAME, assert_inert, markdown_to_html

FENCED = "```\n</pre></code><script>alert(1)</script>\n````"


def _hostile_report(out: Path) -> None:
    request = RecordedRequest(
        "POST", f"/v1/payments/{HOSTILE_NAME}/confirm", {"q": HOSTILE},
        {"content-type": "application/json", "x-note": HOSTILE},
        json.dumps({"description": HOSTILE, HOSTILE_NAME: 1}),
    )

    def side(status: int, content_type: str, note: str) -> SideResult:
        body = {"description": HOSTILE + note, HOSTILE_NAME: note, "note": note}
        return SideResult(status=status, headers={"content-type": content_type},
                          body=json.dumps(body), latency_ms=1.0)

    exchange = Exchange(f"ex-{HOSTILE_NAME}", 0.0, request, sides={
        "primary": side(201, f"{HOSTILE} primary", "P"),
        "candidate": side(200, f"{HOSTILE} candidate", "C"),
    })
    # Plain-text bodies are shown as they are, in a block a fence inside cannot close.
    text = Exchange("ex-text", 0.0, RecordedRequest("GET", "/text"), sides={
        "primary": SideResult(status=200, body=FENCED + " P", latency_ms=1.0),
        "candidate": SideResult(status=200, body=FENCED + " C", latency_ms=1.0),
    })
    audit = AuditResult(
        sides={"primary": SideAudit(charges={HOSTILE_NAME: [1, 100]})},
        flags=[Flag("candidate", "duplicate_charge", HOSTILE, HOSTILE, HOSTILE)],
    )
    write_report(out, analyze([exchange, text], Rules()), audit,
                 meta={"label": HOSTILE, HOSTILE_NAME: HOSTILE})


def test_html_report_escapes_every_captured_field(tmp_path: Path) -> None:
    """Paths, query, bodies, headers, field names, diff values, audit and labels stay text."""
    _hostile_report(tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert "<script>" not in html
    assert_inert(html, [
        HOSTILE,  # labels, bodies, audit flags
        f"POST /v1/payments/{HOSTILE_NAME}/confirm",  # request line
        f"/{HOSTILE_NAME}",  # a field named by the capture
        "#header/content-type",
        json.dumps(f"{HOSTILE} primary", ensure_ascii=False),  # a header value in a diff
        f"ex-{HOSTILE_NAME}",
        json.dumps({"q": HOSTILE}, ensure_ascii=False),
        FENCED,
    ])


def test_markdown_report_escapes_every_captured_field(tmp_path: Path) -> None:
    """The same fields in report.md render as text, tables and code blocks intact."""
    _hostile_report(tmp_path)
    markdown = (tmp_path / "report.md").read_text()
    html = markdown_to_html(markdown)
    assert_inert(html, [
        HOSTILE,
        f"POST /v1/payments/{HOSTILE_NAME}/confirm",
        f"/{HOSTILE_NAME}",
        "#header/content-type",
        json.dumps(f"{HOSTILE} primary", ensure_ascii=False),
        f"ex-{HOSTILE_NAME}",
        FENCED,
    ])
    # Every table row keeps its columns: no pipe from the data opened a new cell.
    for table in markdown.split("\n\n"):
        rows = [ln for ln in table.splitlines() if ln.startswith("|")]
        if rows:
            widths = {len(_cells(row)) for row in rows}
            assert len(widths) == 1, table


def _cells(row: str) -> list[str]:
    """A GFM row's cells: split on pipes that are not escaped."""
    cells, current, escaped = [], "", False
    for ch in row.strip().strip("|"):
        if ch == "|" and not escaped:
            cells.append(current)
            current = ""
        else:
            current += ch
        escaped = ch == "\\" and not escaped
    return [*cells, current]

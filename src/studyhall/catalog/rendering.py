"""Markdown to safe HTML: markdown-it-py renders, nh3 (ammonia) sanitises."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable(["table", "strikethrough"])

#: nh3's defaults already drop <script>, <style>, event handlers and `javascript:` URLs;
#: links get `rel="noopener noreferrer"`.
_URL_SCHEMES = {"http", "https", "mailto"}


def render_markdown(source: str) -> str:
    """HTML for lesson content, with no script, event handler or dangerous URL left."""
    if not source:
        return ""
    return nh3.clean(_markdown.render(source), url_schemes=_URL_SCHEMES)

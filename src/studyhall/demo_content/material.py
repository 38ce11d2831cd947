"""A `file` lesson's downloadable material for the demo: its Markdown as a printable PDF.

The lesson's Markdown goes through the same renderer and sanitiser as lesson content, then
fpdf2's HTML layout. That layout knows headings, paragraphs, lists, code and tables, but
not markup inside table cells, nor whitespace between table tags: both are flattened first.
Text is set in the DejaVu Sans the certificates bundle.
"""

from __future__ import annotations

import re

from fpdf import FPDF

from studyhall.catalog.rendering import render_markdown
from studyhall.certificates.pdf import FONTS

FAMILY = "DejaVu"
_CELL = re.compile(r"<(t[dh])(?:\s[^>]*)?>(.*?)</\1>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_BETWEEN_TAGS = re.compile(r">\s+<")
_TABLE_SECTION = re.compile(r"</?t(?:head|body)>")


def lesson_pdf(title: str, markdown: str) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    # No italic face is bundled: emphasis is set upright rather than failing the layout.
    for style, font in (("", "DejaVuSans.ttf"), ("B", "DejaVuSans-Bold.ttf"), ("I", "DejaVuSans.ttf")):
        pdf.add_font(FAMILY, style, FONTS / font)
    pdf.add_font(FAMILY, "BI", FONTS / "DejaVuSans-Bold.ttf")
    pdf.add_page()
    pdf.set_font(FAMILY, "", 11)
    pdf.write_html(f"<h1>{_escape(title)}</h1>{_for_layout(render_markdown(markdown))}", font_family=FAMILY)
    return bytes(pdf.output())


def _for_layout(html: str) -> str:
    html = _CELL.sub(lambda cell: f"<{cell[1]}>{_TAG.sub('', cell[2])}</{cell[1]}>", html)
    return _TABLE_SECTION.sub("", _BETWEEN_TAGS.sub("><", html))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

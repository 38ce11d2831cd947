"""The certificate as a PDF (fpdf2), with its verification URL as text and as a QR code (segno).

Text is set in DejaVu Sans, bundled in `fonts/` (its licence beside it), which covers Latin,
Greek, Cyrillic and many more scripts; the font is embedded (subset) so every viewer shows
the same document, and text stays extractable. A character DejaVu lacks (e.g. CJK) prints as
the font's missing-glyph box (fpdf2 logs a warning naming it) instead of failing the
certificate.

Rendering is CPU work of some tens of milliseconds: callers run it in a worker thread.
"""

from __future__ import annotations

from pathlib import Path

import segno
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from studyhall.certificates.document import CertificateDocument

FONTS = Path(__file__).parent / "fonts"
FONT = "DejaVuSans"
PAGE_WIDTH_MM = 297  # A4 landscape
MARGIN_MM = 18
QR_SIZE_MM = 34
INK = (33, 37, 41)
MUTED = (108, 117, 125)
ACCENT = (31, 78, 121)
MIN_FONT_SIZE = 10


def render_pdf(document: CertificateDocument) -> bytes:
    pdf = FPDF(orientation="landscape", unit="mm", format="A4")
    pdf.set_title(f"Certificate of completion: {document.course_title}")
    pdf.set_author("StudyHall")
    pdf.set_subject(f"Verification code {document.verification_code}")
    pdf.set_creation_date(document.completed_at)
    pdf.set_auto_page_break(auto=False)
    pdf.add_font(FONT, "", FONTS / "DejaVuSans.ttf")
    pdf.add_font(FONT, "B", FONTS / "DejaVuSans-Bold.ttf")
    pdf.add_page()
    _frame(pdf)
    _body(pdf, document)
    _verification(pdf, document)
    return bytes(pdf.output())


def _frame(pdf: FPDF) -> None:
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(1.2)
    pdf.rect(8, 8, pdf.w - 16, pdf.h - 16)
    pdf.set_line_width(0.3)
    pdf.rect(11, 11, pdf.w - 22, pdf.h - 22)


def _line(
    pdf: FPDF,
    text: str,
    *,
    size: float,
    bold: bool = False,
    color: tuple[int, int, int] = INK,
    max_lines: int = 1,
) -> None:
    """One centred paragraph; long names and titles wrap, and shrink to fit in `max_lines`."""
    style = "B" if bold else ""
    room = (pdf.w - 2 * MARGIN_MM) * max_lines * 0.9  # wrapping breaks between words
    pdf.set_font(FONT, style, size)
    while size > MIN_FONT_SIZE and pdf.get_string_width(text) > room:
        size -= 1
        pdf.set_font(FONT, style, size)
    pdf.set_text_color(*color)
    pdf.set_x(MARGIN_MM)
    pdf.multi_cell(
        pdf.w - 2 * MARGIN_MM,
        size * 0.5,
        text,
        align=Align.C,
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )


def _body(pdf: FPDF, document: CertificateDocument) -> None:
    pdf.set_y(28)
    _line(pdf, "StudyHall", size=14, bold=True, color=ACCENT)
    pdf.ln(4)
    _line(pdf, "Certificate of Completion", size=30, bold=True)
    pdf.ln(6)
    _line(pdf, "This certifies that", size=13, color=MUTED)
    pdf.ln(2)
    _line(pdf, document.student_name, size=26, bold=True, max_lines=2)
    pdf.ln(2)
    _line(pdf, "has completed the course", size=13, color=MUTED)
    pdf.ln(2)
    _line(pdf, document.course_title, size=20, bold=True, color=ACCENT, max_lines=2)
    pdf.ln(4)
    if document.instructor_names:
        label = "Instructor" if len(document.instructor_names) == 1 else "Instructors"
        _line(pdf, f"{label}: {', '.join(document.instructor_names)}", size=12, max_lines=2)
    _line(pdf, f"Completed on {document.completed_at:%d %B %Y}", size=12)


def _verification(pdf: FPDF, document: CertificateDocument) -> None:
    top = pdf.h - MARGIN_MM - QR_SIZE_MM
    _qr_code(pdf, document.verification_url, x=pdf.w - MARGIN_MM - QR_SIZE_MM, y=top, size=QR_SIZE_MM)
    text_width = pdf.w - 3 * MARGIN_MM - QR_SIZE_MM
    pdf.set_xy(MARGIN_MM, top + 8)
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, "B", 11)
    pdf.cell(
        text_width, 6, f"Verification code: {document.verification_code}", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.set_x(MARGIN_MM)
    pdf.set_font(FONT, "", 9)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(
        text_width, 5, f"Verify at {document.verification_url}", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )


def _qr_code(pdf: FPDF, data: str, *, x: float, y: float, size: float) -> None:
    """The QR code as vector squares: sharp at any zoom, no image decoding."""
    qr = segno.make(data, error="m", micro=False)
    matrix = [list(row) for row in qr.matrix_iter(scale=1, border=0)]
    module = size / len(matrix)
    pdf.set_fill_color(0, 0, 0)
    for row_index, row in enumerate(matrix):
        column = 0
        while column < len(row):  # one rectangle per run of dark modules
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            pdf.rect(x + start * module, y + row_index * module, (column - start) * module, module, style="F")

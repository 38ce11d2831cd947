"""The transcript as a PDF (fpdf2), in the certificates' typeface (DejaVu Sans, embedded), so
names and titles in any script the font covers print as written and the text stays
extractable. Rendering is CPU work: `transcript.render_pdf` runs it in a worker thread."""

from __future__ import annotations

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from studyhall.analytics.transcript import CompletedCourse, Transcript
from studyhall.certificates.pdf import ACCENT, FONT, FONTS, INK, MUTED

MARGIN_MM = 15
#: Column widths (mm) of the course table on A4 portrait: course, completed, grade, certificate.
COLUMNS = (70, 26, 18, 66)
ROW_HEIGHT = 7


def render_transcript(document: Transcript, app_url: str) -> bytes:
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(f"Transcript: {document.student_name}")
    pdf.set_author("StudyHall")
    pdf.set_creation_date(document.generated_at)
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.set_auto_page_break(auto=True, margin=MARGIN_MM)
    pdf.add_font(FONT, "", FONTS / "DejaVuSans.ttf")
    pdf.add_font(FONT, "B", FONTS / "DejaVuSans-Bold.ttf")
    pdf.add_page()
    _heading(pdf, document)
    _table(pdf, document.courses)
    _footer(pdf, document, app_url)
    return bytes(pdf.output())


def _text(
    pdf: FPDF, text: str, *, size: float, bold: bool = False, color: tuple[int, int, int] = INK
) -> None:
    pdf.set_font(FONT, "B" if bold else "", size)
    pdf.set_text_color(*color)
    pdf.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _heading(pdf: FPDF, document: Transcript) -> None:
    _text(pdf, "StudyHall", size=12, bold=True, color=ACCENT)
    _text(pdf, "Academic Transcript", size=22, bold=True)
    pdf.ln(2)
    _text(pdf, f"{document.student_name} <{document.student_email}>", size=12)
    _text(pdf, f"Issued on {document.generated_at:%d %B %Y}", size=10, color=MUTED)
    pdf.ln(4)


def _table(pdf: FPDF, courses: list[CompletedCourse]) -> None:
    if not courses:
        _text(pdf, "No completed courses yet.", size=11, color=MUTED)
        return
    _row(pdf, ("Course", "Completed", "Grade", "Certificate"), bold=True)
    for completed in courses:
        grade = "—" if completed.grade_percent is None else f"{completed.grade_percent:g} %"
        certificate = completed.certificate
        code = "—" if certificate is None else certificate.verification_code
        if certificate is not None and certificate.revoked_at is not None:
            code += " (revoked)"
        _row(pdf, (completed.course.title, f"{completed.completed_at:%Y-%m-%d}", grade, code))


def _row(pdf: FPDF, cells: tuple[str, str, str, str], *, bold: bool = False) -> None:
    pdf.set_font(FONT, "B" if bold else "", 9)
    pdf.set_text_color(*INK)
    top = pdf.get_y()
    lines = max(_line_count(pdf, width, cell) for width, cell in zip(COLUMNS, cells, strict=True))
    if top + lines * ROW_HEIGHT > pdf.h - MARGIN_MM:
        pdf.add_page()
        top = pdf.get_y()
    x = MARGIN_MM
    for width, cell in zip(COLUMNS, cells, strict=True):
        pdf.set_xy(x, top)
        pdf.multi_cell(width, ROW_HEIGHT, cell, new_x=XPos.RIGHT, new_y=YPos.TOP)
        x += width
    bottom = top + lines * ROW_HEIGHT
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.4 if bold else 0.1)
    pdf.line(MARGIN_MM, bottom, MARGIN_MM + sum(COLUMNS), bottom)
    pdf.set_xy(MARGIN_MM, bottom)


def _line_count(pdf: FPDF, width: float, text: str) -> int:
    lines = pdf.multi_cell(width, ROW_HEIGHT, text, dry_run=True, output="LINES")
    assert isinstance(lines, list)
    return max(1, len(lines))


def _footer(pdf: FPDF, document: Transcript, app_url: str) -> None:
    pdf.ln(6)
    average = document.average_grade_percent
    summary = f"Courses completed: {len(document.courses)}"
    if average is not None:
        summary += f" · Average grade: {average:g} %"
    _text(pdf, summary, size=10, bold=True)
    _text(
        pdf,
        f"Certificates can be verified at {app_url.rstrip('/')}/certificates/verify/<code>.",
        size=9,
        color=MUTED,
    )

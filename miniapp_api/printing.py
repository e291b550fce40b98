"""The printable application form (申请表) of a submitted case, as HTML and as PDF.

Both outputs are built from one list of sections (`application_sections`), so the page a family prints from the
browser and the PDF a service window prints carry the same content. The tracking code is printed as text and as a
QR code, so staff can find the case by scanning the paper.

PDF fonts: a PDF only renders Chinese everywhere if the glyphs are embedded. When the machine has a TrueType CJK
font (Debian's ``fonts-arphic-uming`` or ``fonts-wqy-zenhei``) it is embedded as a subset; otherwise ReportLab's
built-in Adobe CID font ``STSong-Light`` is used, which needs no file and still extracts as real Unicode, but is
drawn by the viewer's own Chinese font (Acrobat, browsers, Windows/macOS have one; a bare Linux box shows boxes).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import segno
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import CondPageBreak, Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .domain.text import displayable

REPO_ROOT = Path(__file__).resolve().parents[1]
TITLE = "公民身后“一件事一次办”申请表"
CID_FONT = "STSong-Light"
# TrueType CJK fonts tried in order when no font is given: Song style first, as on official paper forms.
# (ReportLab embeds TrueType outlines only, so Noto/Source Han CJK, which are CFF, cannot be used here.)
SYSTEM_CJK_FONTS = (
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)
CHINA_TIME = timezone(timedelta(hours=8))
PDF_COLUMN_WEIGHTS = {"序号": 0.45, "事项": 3.0, "材料名称": 5.0, "用途": 1.6, "账号": 1.6}

GENDER_LABELS = {"male": "男", "female": "女"}
STATUS_LABELS = {
    "submitted": "已提交",
    "accepted": "已受理",
    "processing": "办理中",
    "in_progress": "办理中",
    "completed": "已办结",
    "rejected": "不予受理",
}

_env = Environment(loader=FileSystemLoader(REPO_ROOT / "templates"), autoescape=True)


@dataclass(frozen=True)
class Section:
    """One titled block of the form: label/value fields, a table, and/or a paragraph of text."""

    title: str
    fields: tuple[tuple[str, str], ...] = ()
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    text: str = ""


def format_time(value: Any) -> str:
    """Print ISO dates as 2026年11月20日 and timestamps in China time, so a UTC value never shows the wrong day."""
    if value is None or value == "":
        return ""
    try:
        if isinstance(value, datetime) or (isinstance(value, str) and len(value) > 10):
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
            if moment.tzinfo is not None:
                moment = moment.astimezone(CHINA_TIME)
            return f"{moment.year}年{moment.month:02d}月{moment.day:02d}日 {moment:%H:%M}"
        day = value if isinstance(value, date) else date.fromisoformat(str(value))
        return f"{day.year}年{day.month:02d}月{day.day:02d}日"
    except ValueError:
        return str(value)  # print what was typed rather than fail the whole form


def _text(value: Any) -> str:
    """Every value the form prints; text stored before the input rules (a lone surrogate, NUL) prints as U+FFFD."""
    return "" if value is None else displayable(str(value))


def _fields(data: Mapping[str, Any] | None, spec: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    data = data or {}
    return tuple((label, _text(data.get(key))) for label, key in spec)


def application_sections(case: Mapping[str, Any]) -> list[Section]:
    """The form's sections in print order; missing optional keys print as blanks, never crash."""
    deceased = dict(case.get("deceased") or {})
    deceased["gender"] = GENDER_LABELS.get(deceased.get("gender") or "", deceased.get("gender"))
    for key in ("death_date", "cremation_date"):
        deceased[key] = format_time(deceased.get(key))
    applicant = dict(case.get("applicant") or {})
    applicant["relationship"] = applicant.get("relationship_label") or applicant.get("relationship")

    sections = [
        Section("逝者基本情况", _fields(deceased, [
            ("姓名", "name"), ("性别", "gender"), ("民族", "ethnicity"), ("公民身份号码", "id_number"),
            ("死亡日期", "death_date"), ("死亡地点", "death_place"), ("户籍地址", "hukou_address"),
            ("火化日期", "cremation_date"),
        ])),
        Section("申请人（委托人）基本情况", _fields(applicant, [
            ("姓名", "name"), ("公民身份号码", "id_number"), ("与逝者关系", "relationship"), ("联系电话", "phone"),
            ("住址", "address"), ("工作单位", "employer"),
        ])),
    ]
    if case.get("proxy"):
        proxy = dict(case["proxy"])
        authorization = proxy.get("authorization") or {}
        proxy["relationship"] = proxy.get("relationship_to_principal_label") or proxy.get("relationship_to_principal")
        proxy["reason"] = authorization.get("reason")
        start, end = format_time(authorization.get("valid_from")), format_time(authorization.get("valid_to"))
        proxy["validity"] = f"{start} 至 {end}" if start or end else ""
        rows = [("姓名", "name"), ("公民身份号码", "id_number"), ("联系电话", "phone"), ("住址", "address"),
                ("工作单位", "employer"), ("与委托人关系", "relationship")]
        if authorization:  # a region whose form names the 被委托人 (Xinjiang) has no separate 授权委托书
            rows += [("委托事由", "reason"), ("委托期限", "validity")]
        sections.append(Section("被委托人基本情况", _fields(proxy, rows)))
    sections.append(Section(
        "收款账户", columns=("用途", "收款人", "开户银行", "户名", "账号"),
        rows=tuple(
            (_text(a.get("purpose")), _text(a.get("payee_label") or a.get("payee")), _text(a.get("bank_name")),
             _text(a.get("holder_name")), _text(a.get("account_number")))
            for a in case.get("accounts") or []
        ),
    ))
    sections.append(Section(
        "申请办理事项", columns=("序号", "事项", "办理部门", "状态", "办理时限"),
        rows=tuple(
            (str(i), _text(m.get("name")), _text(m.get("department_name") or m.get("department")),
             _text(m.get("status_label") or STATUS_LABELS.get(m.get("status") or "", m.get("status"))),
             _text(m.get("time_limit_text")))
            for i, m in enumerate(case.get("matters") or [], start=1)
        ),
    ))
    sections.append(Section(
        "一套材料", columns=("序号", "材料名称"),
        rows=tuple((str(i), _text(m.get("name"))) for i, m in enumerate(case.get("materials") or [], start=1)),
    ))
    commitment = case.get("commitment") or {}
    sections.append(Section("申请人承诺", text=_text(commitment.get("text")),
                            fields=(("承诺时间", format_time(commitment.get("accepted_at"))),)))
    sections.append(Section("申请时间", fields=(
        ("申请时间", format_time(case.get("submitted_at"))), ("查询码", _text(case.get("tracking_code"))),
    )))
    return sections


def qr_svg(text: str) -> str:
    """An inline <svg> QR code (always a full QR, never Micro QR, which phone scanners rarely read)."""
    return segno.make_qr(text, error="m").svg_inline(scale=1, unit="mm", border=2)


def render_application_html(case: Mapping[str, Any]) -> str:
    """The A4 printable page; Jinja autoescaping covers every user-typed value."""
    code = _text(case.get("tracking_code"))
    return _env.get_template("print/application.html").render(
        title=TITLE,
        region_name=_text(case.get("region_name") or case.get("region")),
        tracking_code=code,
        qr=Markup(qr_svg(code)) if code else "",  # segno's SVG holds only path data, no user text
        sections=application_sections(case),
    )


# ---------------------------------------------------------------------------------------------------- PDF


@cache
def _register_font(font: str | None) -> str:
    """Register the font once per process and return its ReportLab name (see the module docstring)."""
    if font is None:
        found = next((p for p in SYSTEM_CJK_FONTS if p.is_file()), None)
        font = str(found) if found else CID_FONT
    if font == CID_FONT:
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
        return CID_FONT
    name = f"CJK-{Path(font).stem}"
    pdfmetrics.registerFont(TTFont(name, font, subfontIndex=0))  # index 0 is the Simplified Chinese face
    return name


def _qr_drawing(text: str, size: float) -> Drawing:
    """The same segno symbol as the HTML, drawn as squares so it stays vector-sharp in print."""
    qr = segno.make_qr(text, error="m")
    rows = list(qr.matrix_iter(border=2))
    module = size / len(rows)
    drawing = Drawing(size, size)
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            if dark:
                drawing.add(Rect(x * module, size - (y + 1) * module, module, module,
                                 fillColor=colors.black, strokeColor=None))
    return drawing


def render_application_pdf(case: Mapping[str, Any], *, font: str | None = None) -> bytes:
    """An A4 PDF of the same sections as the HTML page.

    `font` is a TrueType/TTC file to embed, or "STSong-Light" for ReportLab's built-in CID font; by default the
    first installed font of SYSTEM_CJK_FONTS, else STSong-Light.
    """
    font_name = _register_font(font)
    code = _text(case.get("tracking_code"))
    region = _text(case.get("region_name") or case.get("region"))
    base = ParagraphStyle("base", fontName=font_name, fontSize=10, leading=14, wordWrap="CJK")
    title_style = ParagraphStyle("title", base, fontSize=17, leading=24)
    heading = ParagraphStyle("heading", base, fontSize=12, leading=16, spaceBefore=6, spaceAfter=3)
    label = ParagraphStyle("label", base, textColor=colors.HexColor("#333333"))
    center = ParagraphStyle("center", base, fontSize=8, leading=10, alignment=TA_CENTER)

    def para(value: str, style: ParagraphStyle = base) -> Paragraph:
        return Paragraph(escape(value), style)  # Paragraph parses markup: user text must be escaped

    width = A4[0] - 36 * mm
    header_text = [para(TITLE, title_style), Spacer(1, 3 * mm), para(f"办理地区：{region}"),
                   para(f"查询码：{code}", ParagraphStyle("code", base, fontSize=15, leading=22))]
    qr_cell: list[Flowable] = [_qr_drawing(code, 28 * mm), para("扫码查询办理进度", center)] if code else []
    header = Table([[header_text, qr_cell]], colWidths=[width - 34 * mm, 34 * mm])
    header.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "CENTER")]))
    blocks: list[list[Flowable]] = [[header]]

    grid = [("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]
    shade = colors.HexColor("#eeeeee")
    for section in application_sections(case):
        block: list[Flowable] = [para(section.title, heading)]
        if section.text:
            block += [para(section.text), Spacer(1, 2 * mm)]
        if section.fields:
            cells = [cell for name, value in section.fields for cell in (para(name, label), para(value))]
            data = [cells[i:i + 4] for i in range(0, len(cells), 4)]
            style = [*grid, ("BACKGROUND", (0, 0), (0, -1), shade), ("BACKGROUND", (2, 0), (2, -1), shade)]
            if len(data[-1]) == 2:  # an odd field out: its value takes the whole row
                data[-1] += ["", ""]
                style += [("SPAN", (1, -1), (3, -1)), ("BACKGROUND", (2, -1), (2, -1), colors.white)]
            table = Table(data, colWidths=[26 * mm, width / 2 - 26 * mm] * 2)
            table.setStyle(TableStyle(style))
            block.append(table)
        if section.columns:
            weights = [PDF_COLUMN_WEIGHTS.get(c, 1.0) for c in section.columns]
            body = [[para(cell) for cell in row] for row in section.rows]
            style = [*grid, ("BACKGROUND", (0, 0), (-1, 0), shade)]
            if not body:
                body = [[para("（无）")] + [""] * (len(weights) - 1)]
                style.append(("SPAN", (0, 1), (-1, 1)))
            table = Table([[para(c, label) for c in section.columns], *body], repeatRows=1,
                          colWidths=[width * w / sum(weights) for w in weights])
            table.setStyle(TableStyle(style))
            block.append(table)
        blocks.append(block)
    blocks[-1] += [Spacer(1, 8 * mm), para("申请人（签字）：____________________    日期：______年____月____日")]

    def footer(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.setFont(font_name, 8)
        canvas.drawCentredString(A4[0] / 2, 10 * mm, f"查询码 {code} · 第 {doc.page} 页")

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=15 * mm,
                            bottomMargin=18 * mm, title=f"{TITLE} {code}", author=region)
    # A section starts on a new page unless 45 mm are left: no heading alone at the foot of a page, small
    # sections whole, and long tables still flow on (their header row repeated).
    doc.build([flowable for block in blocks for flowable in (CondPageBreak(45 * mm), *block)],
              onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()

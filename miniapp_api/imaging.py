"""The upload pipeline for the photos and scans that families send: what the phone sent is checked,
made upright, stripped of metadata, shrunk and re-encoded; PDFs are rebuilt from their pages only.

Plain Python (no Flask): a blueprint calls :func:`process_upload` and turns :class:`UploadRejected`
into its error body.

Decisions, in short:

- Accepted: JPEG, PNG, WebP and HEIC/HEIF photos, and PDF documents. The type comes from the bytes
  (magic numbers, then Pillow restricted to that one format), never from a name or a declared type.
  GIF, TIFF, BMP, AVIF, SVG and everything else are refused: phones do not produce them for photos of
  papers, and each extra decoder is extra attack surface (TIFF and SVG especially).
- Data after the image's end is refused as a possible polyglot, except what phones legitimately put
  there: further JPEG images (MPF: HDR gain maps, depth maps), an MP4 (motion photos) and Samsung's
  "SEFT" trailer. Whatever is allowed is never kept: images are always re-encoded.
- ICC profiles are dropped, not converted: pixel values are taken as sRGB. For photos of documents the
  colour shift (Display P3, Adobe RGB) does not matter, and conversion would cost time per upload.
- Sharpness is the variance of a Laplacian on a 512-px greyscale copy: cheap, and it only reacts to
  blur that is large relative to the whole picture, so a sharp but slightly soft 12-MP photo passes.
  Calibration (a 1200×900 photo of printed text): sharp ≈ 4500, a page with only three lines ≈ 560,
  the same after GaussianBlur(4) ≈ 22 and ≈ 3, a flat picture 0; threshold 60. Blur fails from about
  σ 1.3 px of the 512-px copy: GaussianBlur(4) on pictures up to ~1600 px, (5-6) at 2000 px, (10) on a
  12-MP original — where radius 4 still leaves text readable.
- Memory: JPEGs are decoded at 1/2, 1/4 or 1/8 scale (libjpeg's draft), so a 12-MP photo costs ~3 MP;
  their size is capped by ``max_pixels`` (40 MP) from the header first. PNG, WebP and HEIF have no
  scaled decoding: they are decoded whole, so their cap is far lower, ``max_pixels_full_decode``
  (25 MP: a 24-MP iPhone HEIF, an A3 scan at 300 dpi), also read from the header before any pixel is
  decoded. An 80-KB 16-bit greyscale PNG of 6300² pixels cost ~390 MB and 1.2 s before; now it is
  refused from its header. A 16-bit greyscale PNG within the cap is shrunk while still 16-bit (2 bytes
  a pixel) and only then brought to 8 bits, never widened to 32 bits at full size.
"""

from __future__ import annotations

import io
import re
import zlib
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageFile, ImageFilter, ImageStat

from . import pdf_rebuild

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated photo must fail, never be padded with grey
pillow_heif.register_heif_opener(thumbnails=False)  # iPhones send HEIC; their embedded thumbnails are not needed

SHARPNESS_SIDE = 512  # longest side of the greyscale copy the sharpness score is measured on
THUMB_QUALITY = 80


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 15 * 1024 * 1024  # refuse larger bodies
    max_pixels: int = 40_000_000  # decompression-bomb guard (width*height) for JPEG, checked BEFORE decoding
    max_pixels_full_decode: int = 25_000_000  # the same for PNG, WebP and HEIF, which are decoded whole
    max_side: int = 2000  # longest side of the stored image
    thumb_side: int = 320  # longest side of the thumbnail
    min_side: int = 400  # smaller than this (after orientation) is too small to read
    blur_threshold: float = 60.0  # variance-of-Laplacian sharpness score below which a photo is "blurred"
    blur_action: str = "reject"  # "reject" or "warn"
    jpeg_quality: int = 85
    max_pdf_pages: int = 20

    def __post_init__(self) -> None:
        if self.blur_action not in ("reject", "warn"):
            raise ValueError(f"blur_action must be 'reject' or 'warn', not {self.blur_action!r}")


@dataclass(frozen=True)
class Processed:
    kind: str  # "image" or "document"
    content: bytes  # re-encoded JPEG for images (metadata-free); the rebuilt file for a PDF
    mimetype: str  # "image/jpeg" or "application/pdf"
    thumbnail: bytes | None  # JPEG thumbnail for images, None for PDF
    width: int | None
    height: int | None
    pages: int  # 1 for images
    source_format: str  # "JPEG", "PNG", "WEBP", "HEIF", "PDF"
    warnings: tuple[str, ...]  # e.g. ("blurred",) when blur_action == "warn"


class UploadRejected(Exception):
    """An upload the family must redo: a machine-readable code, plain Chinese words and English."""

    def __init__(self, code: str, message: str, message_en: str):
        super().__init__(message_en)
        self.code = code
        self.message = message
        self.message_en = message_en


class _Broken(Exception):
    """The container structure is cut short or inconsistent (becomes ``corrupt_image``)."""


def _reject(code: str, **fmt: object) -> UploadRejected:
    zh, en = _MESSAGES[code]
    return UploadRejected(code, zh.format(**fmt), en.format(**fmt))


_MESSAGES: dict[str, tuple[str, str]] = {
    "empty_file": ("文件是空的，请重新拍照或重新选择文件", "the file is empty"),
    "file_too_large": ("文件太大了（不能超过 {mb} MB），请直接用手机拍照上传，或换一张小一些的照片",
                       "the file is larger than {mb} MB"),
    "unsupported_type": ("无法识别这个文件。请直接用手机拍照上传，或上传 PDF 文件",
                         "unsupported file type: send a JPEG, PNG, WebP or HEIC photo, or a PDF"),
    "corrupt_image": ("照片文件已损坏或不完整，请重新拍摄后上传", "the image is truncated or corrupt"),
    "image_too_large": ("照片的尺寸太大，无法处理，请直接用手机相机拍照上传",
                        "the image has more than {pixels} pixels"),
    "polyglot_file": ("文件里夹带了照片以外的内容，为了安全不能接收。请直接用手机拍照上传（如果开着“动态照片”，请先关掉）",
                      "the file carries extra content (data after the image end, or HTML/script); refused for safety"),
    "image_too_small": ("照片太小，看不清，请靠近一些重新拍摄",
                        "the image is too small to read (shorter side under {side} pixels)"),
    "image_blurred": ("照片模糊，请在光线充足的地方对准后重新拍摄", "the photo is blurred or too plain to read"),
    "pdf_invalid": ("PDF 文件打不开或已损坏，请重新导出，或直接拍照上传", "the PDF cannot be read"),
    "pdf_not_printable": ("这个 PDF 是动态表单或文件包，无法直接显示。请先打印或另存为普通 PDF，或直接拍照上传",
                          "the PDF is a dynamic (XFA) form or a portfolio of files; save it as an ordinary PDF"),
    "pdf_encrypted": ("PDF 文件设置了密码或限制，无法使用。请上传没有密码的文件，或直接拍照上传",
                      "the PDF is encrypted"),
    "pdf_too_many_pages": ("PDF 文件页数太多（最多 {pages} 页），请分成几个文件上传",
                           "the PDF has more than {pages} pages"),
}


def process_upload(data: bytes, limits: ImageLimits = ImageLimits()) -> Processed:  # noqa: B008 - frozen, never mutated
    """Check an uploaded file and return what may be stored, or raise :class:`UploadRejected`."""
    if not data:
        raise _reject("empty_file")
    if len(data) > limits.max_bytes:
        raise _reject("file_too_large", mb=f"{limits.max_bytes / (1024 * 1024):g}")
    fmt = sniff_format(data)
    if fmt == "PDF":
        return _process_pdf(data, limits)
    _check_container(data, fmt)
    return _process_image(data, fmt, limits)


# --- what the bytes are ---------------------------------------------------------------------------

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_HEIF_GENERIC_BRANDS = {b"mif1", b"msf1"}  # also used by AVIF: then a HEVC brand must be listed too


def sniff_format(data: bytes) -> str:
    """The format from the magic bytes: the only source of truth about what a file is."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and _is_heif(data):
        return "HEIF"
    if data.startswith(b"%PDF-"):
        return "PDF"
    raise _reject("unsupported_type")


def _is_heif(data: bytes) -> bool:
    """HEIF/HEIC by its brands; AVIF (same container, other codec) is not accepted."""
    size = int.from_bytes(data[:4], "big")
    brands = {data[i:i + 4] for i in range(16, min(size, len(data), 256) - 3, 4)} | {data[8:12]}
    return bool(brands & _HEIF_BRANDS) and (data[8:12] in _HEIF_BRANDS or data[8:12] in _HEIF_GENERIC_BRANDS)


# --- container checks: truncation and polyglots, before any decoder runs ----------------------------

_MARKUP = re.compile(rb"<(?:script|html|body|iframe|svg|object|embed|\?php|!doctype\s+html)[\s/>]", re.IGNORECASE)
_JPEG_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")  # skips byte stuffing, restart markers, fill
_PADDING = b"\x00\xff\r\n\t "


def _check_container(data: bytes, fmt: str) -> None:
    """Walk the file's structure to its end: refuse cut-off files, data after the end and markup."""
    spans: list[tuple[int, int]] = []  # byte ranges that are not compressed pixels, scanned for markup
    try:
        if fmt == "JPEG":
            _check_jpeg_trailer(data, _walk_jpeg(data, 0, spans), spans)
        elif fmt == "PNG":
            _check_padding(data, _walk_png(data, spans))
        elif fmt == "WEBP":
            _check_padding(data, _walk_webp(data, spans))
        else:
            _walk_heif(data)
            spans.append((0, len(data)))  # HEIF keeps Exif/XMP inside mdat: scan it all
    except _Broken:
        raise _reject("corrupt_image") from None
    if any(_MARKUP.search(data, start, end) for start, end in spans):
        raise _reject("polyglot_file")


def _walk_jpeg(data: bytes, pos: int, spans: list[tuple[int, int]]) -> int:
    """Offset just past the EOI of the JPEG that starts at ``pos``; marker segments go to ``spans``."""
    n = len(data)
    pos += 2  # SOI
    while True:
        if pos >= n or data[pos] != 0xFF:
            raise _Broken
        while pos < n and data[pos] == 0xFF:
            pos += 1
        if pos >= n:
            raise _Broken
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # EOI
            return pos
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            continue
        end = pos + int.from_bytes(data[pos:pos + 2], "big")
        if end < pos + 2 or end > n:
            raise _Broken
        spans.append((pos, end))
        pos = end
        if marker == 0xDA:  # SOS: entropy-coded data runs to the next real marker
            found = _JPEG_NEXT_MARKER.search(data, pos)
            if found is None:
                raise _Broken
            pos = found.start()


def _check_jpeg_trailer(data: bytes, pos: int, spans: list[tuple[int, int]]) -> None:
    """After the primary image only what phones append is allowed (gain maps, motion photos, Samsung)."""
    n = len(data)
    if pos < n:
        spans.append((pos, n))
    while pos < n:
        if not data[pos:].strip(_PADDING):
            return
        if data.startswith(b"\xff\xd8\xff", pos):  # MPF secondary image (HDR gain map, depth map)
            pos = _walk_jpeg(data, pos, spans)
        elif data[pos + 4:pos + 8] == b"ftyp":  # Google / Xiaomi motion photo: an MP4 appended
            end, _ = _walk_boxes(data, pos)
            if end == pos:
                break
            pos = end
        elif _is_samsung_trailer(data, pos):
            return
        else:
            break
    if pos < n:
        raise _reject("polyglot_file")


def _is_samsung_trailer(data: bytes, pos: int) -> bool:
    """Samsung's SEF trailer: data blocks, an 'SEFH' directory, its length, then 'SEFT' at the very end."""
    if not data.endswith(b"SEFT") or len(data) - pos < 16:
        return False
    dir_start = len(data) - 8 - int.from_bytes(data[-8:-4], "little")
    return dir_start >= pos and data[dir_start:dir_start + 4] == b"SEFH"


def _walk_png(data: bytes, spans: list[tuple[int, int]]) -> int:
    """Offset just past the IEND chunk, every CRC checked; every chunk but the image data goes to ``spans``."""
    n, pos, view = len(data), 8, memoryview(data)
    while True:
        if pos + 12 > n:
            raise _Broken
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > n or zlib.crc32(view[pos + 4:end - 4]) != int.from_bytes(data[end - 4:end], "big"):
            raise _Broken  # Pillow does not check the image data's CRC; a damaged stream may still inflate
        if kind not in (b"IDAT", b"fdAT"):
            spans.append((pos + 8, pos + 8 + length))
        pos = end
        if kind == b"IEND":
            return pos


def _walk_webp(data: bytes, spans: list[tuple[int, int]]) -> int:
    """Offset of the RIFF container's end; every chunk but the image data goes to ``spans``."""
    riff_end = 8 + int.from_bytes(data[4:8], "little")
    if riff_end > len(data) or riff_end < 12:
        raise _Broken
    pos = 12
    while pos + 8 <= riff_end:
        size = int.from_bytes(data[pos + 4:pos + 8], "little")
        if pos + 8 + size > riff_end:
            raise _Broken
        if data[pos:pos + 4] not in (b"VP8 ", b"VP8L", b"ALPH", b"ANMF"):
            spans.append((pos + 8, pos + 8 + size))
        pos = min(pos + 8 + size + (size & 1), riff_end)
    return riff_end


def _walk_heif(data: bytes) -> None:
    """Top-level boxes must fill the file exactly; junk after a complete image is a polyglot."""
    end, seen = _walk_boxes(data, 0)
    if end == len(data):
        return
    if {b"meta", b"mdat"} <= seen:
        raise _reject("polyglot_file")
    raise _Broken


def _walk_boxes(data: bytes, pos: int) -> tuple[int, set[bytes]]:
    """Walk ISO-BMFF boxes from ``pos``; return where the walk stopped and the box types seen."""
    n, seen = len(data), set()
    while pos + 8 <= n:
        size = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        header = 8
        if size == 1:
            if pos + 16 > n:
                break
            size, header = int.from_bytes(data[pos + 8:pos + 16], "big"), 16
        elif size == 0:
            size = n - pos
        if size < header or pos + size > n or not all(0x20 <= c < 0x7F for c in kind):
            break
        seen.add(kind)
        pos += size
    return pos, seen


def _check_padding(data: bytes, end: int) -> None:
    """Only zero/whitespace padding may follow the image's end."""
    if data[end:].strip(_PADDING):
        raise _reject("polyglot_file")


# --- decoding and re-encoding --------------------------------------------------------------------

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _process_image(data: bytes, fmt: str, limits: ImageLimits) -> Processed:
    """Decode as little as needed, shrink, judge legibility, then orient and re-encode."""
    img, orientation = _decode(data, fmt, limits)
    if img.mode in _SIXTEEN_BIT:  # shrink first, at 2 bytes a pixel: never a 32-bit copy of the whole image
        img = img.resize(_fitted(img.size, limits.max_side), Image.Resampling.BOX)  # area average: no reduce() for I;16
    img = _flatten(_fit(_normalise_mode(img), limits.max_side))
    small = _fit(img, SHARPNESS_SIDE, Image.Resampling.BOX, 1.0)  # for the sharpness score and the thumbnail
    warnings = _legibility(small, limits)
    if orientation in _TRANSPOSE:  # after shrinking: fewer pixels to move, same result
        img = img.transpose(_TRANSPOSE[orientation])
        small = small.transpose(_TRANSPOSE[orientation])
    return Processed(
        kind="image",
        content=_encode_jpeg(img, limits.jpeg_quality),
        mimetype="image/jpeg",
        thumbnail=_encode_jpeg(_fit(small, limits.thumb_side), THUMB_QUALITY),
        width=img.width,
        height=img.height,
        pages=1,
        source_format=fmt,
        warnings=warnings,
    )


def _legibility(small: Image.Image, limits: ImageLimits) -> tuple[str, ...]:
    """Refuse (or flag) a blurred or featureless photo; the score does not depend on orientation."""
    if sharpness(small) >= limits.blur_threshold:
        return ()
    if limits.blur_action == "reject":
        raise _reject("image_blurred")
    return ("blurred",)


def _decode(data: bytes, fmt: str, limits: ImageLimits) -> tuple[Image.Image, int]:
    """Open with only the sniffed format's decoder, check the declared size, then fully decode."""
    try:
        im = Image.open(io.BytesIO(data), formats=[fmt])
        _check_dimensions(im.size, fmt, limits)
        orientation = _orientation(im)
        if fmt == "JPEG":
            _draft_jpeg(im, orientation, limits.max_side)
        im.load()
    except UploadRejected:
        raise
    except Image.DecompressionBombError:
        raise _reject("image_too_large", pixels=limits.max_pixels) from None
    except Exception:  # any decoder failure on untrusted bytes: OSError, SyntaxError, ValueError, ...
        raise _reject("corrupt_image") from None
    if fmt != "JPEG":
        orientation = _orientation(im)  # PNG may carry eXIf after the image data (HEIF comes out upright)
    return im, orientation


def _check_dimensions(size: tuple[int, int], fmt: str, limits: ImageLimits) -> None:
    """Refuse from the header alone: huge (bombs) or too small to read; rotation changes neither. Only
    JPEG is decoded at a reduced scale, so every other format has the lower cap."""
    width, height = size
    if width <= 0 or height <= 0:
        raise _reject("corrupt_image")
    cap = limits.max_pixels if fmt == "JPEG" else min(limits.max_pixels, limits.max_pixels_full_decode)
    if width * height > cap:
        raise _reject("image_too_large", pixels=cap)
    if min(width, height) < limits.min_side:
        raise _reject("image_too_small", side=limits.min_side)


def _orientation(im: Image.Image) -> int:
    """EXIF Orientation (1-8); anything unreadable counts as upright."""
    try:
        value = im.getexif().get(0x0112, 1)
    except Exception:  # malformed EXIF from an odd camera must not block the upload
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _fitted(size: tuple[int, int], side: int) -> tuple[int, int]:
    """``size`` scaled down (never up) so that its longest side is at most ``side``."""
    width, height = size
    scale = side / max(width, height)
    if scale >= 1:
        return size
    return max(1, round(width * scale)), max(1, round(height * scale))


def _draft_jpeg(im: Image.Image, orientation: int, max_side: int) -> None:
    """Let libjpeg decode at 1/2, 1/4 or 1/8 scale: never the full 12 MP when 3 MP is kept.

    The target is worked out upright and mapped back to the stored (unrotated) frame, since draft
    applies before the orientation is."""
    width, height = im.size
    swapped = orientation in (5, 6, 7, 8)
    upright = (height, width) if swapped else (width, height)
    target = _fitted(upright, max_side)
    if target != upright:
        im.draft(im.mode, (target[1], target[0]) if swapped else target)


_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N")


def _normalise_mode(im: Image.Image) -> Image.Image:
    """Bring any decoded mode to RGB, RGBA, L or LA, so that resizing is smooth and alpha is kept."""
    if im.mode in ("RGB", "L") and "transparency" in im.info:
        return im.convert("RGBA")
    if im.mode in ("RGB", "RGBA", "L", "LA"):
        return im
    if im.mode in ("P", "PA"):
        return im.convert("RGBA" if im.mode == "PA" or "transparency" in im.info else "RGB")
    if im.mode.startswith("I"):  # 16-bit greyscale PNG: scale in place (convert("L") would clip at 255)
        return im.point(lambda v: v * (1 / 256)).convert("L")
    if im.mode == "1":
        return im.convert("L")
    return im.convert("RGB")  # CMYK, YCbCr, LAB, F ...


def _fit(im: Image.Image, side: int, resample: Image.Resampling = Image.Resampling.BICUBIC,
         reducing_gap: float = 2.0) -> Image.Image:
    """Shrink so that the longest side is at most ``side`` (alpha-aware). Bicubic, not Lanczos: as
    sharp to the eye for text, and a third cheaper on this hot path. ``reducing_gap`` 1.0 box-reduces
    by the whole integer factor first: fastest, good enough for a measuring copy."""
    size = _fitted(im.size, side)
    if size == im.size:
        return im
    factor = min(im.width // size[0], im.height // size[1])
    if im.mode in ("RGBA", "LA") and factor >= 2:
        im = _reduce_in_bands(im, factor)
    return im.resize(size, resample, reducing_gap=reducing_gap)


def _reduce_in_bands(im: Image.Image, factor: int) -> Image.Image:
    """Box-reduce an image with alpha a band of rows at a time. Pillow's resize and reduce first make
    a premultiplied copy of the whole image: for a 40-MP RGBA PNG that is another 160 MB."""
    out = Image.new(im.mode, (im.width // factor, im.height // factor))
    band = factor * 256
    for top in range(0, out.height * factor, band):
        piece = im.crop((0, top, out.width * factor, min(top + band, out.height * factor)))
        out.paste(piece.reduce(factor), (0, top // factor))
    return out


def _flatten(im: Image.Image) -> Image.Image:
    """RGB for JPEG: transparent parts become white, as on paper."""
    if im.mode in ("RGBA", "LA"):
        background = Image.new("RGB", im.size, (255, 255, 255))
        background.paste(im.convert("RGB"), mask=im.getchannel("A"))
        return background
    return im if im.mode == "RGB" else im.convert("RGB")


def _encode_jpeg(im: Image.Image, quality: int) -> bytes:
    """Baseline JPEG with no metadata at all (no EXIF/GPS, XMP, ICC or comment)."""
    im.info = {}  # Pillow would otherwise carry the source's comment over
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality)
    return out.getvalue()


_LAPLACIAN = ImageFilter.Kernel((3, 3), (0, 1, 0, 1, -4, 1, 0, 1, 0), scale=1, offset=128)


def sharpness(im: Image.Image) -> float:
    """Variance of a Laplacian of the greyscale image: high for crisp edges, near 0 for blur or a
    flat picture. Measured on a copy no larger than ``SHARPNESS_SIDE`` px, so it is cheap."""
    grey = _fit(im, SHARPNESS_SIDE, Image.Resampling.BOX, 1.0).convert("L")
    edges = grey.filter(_LAPLACIAN)
    if min(edges.size) > 4:  # the filter leaves the border unfiltered
        edges = edges.crop((1, 1, edges.width - 1, edges.height - 1))
    return float(ImageStat.Stat(edges).var[0])


# --- PDF documents -------------------------------------------------------------------------------

def _process_pdf(data: bytes, limits: ImageLimits) -> Processed:
    """Never kept as sent: rebuilt from its pages' contents (:mod:`miniapp_api.pdf_rebuild`)."""
    eof = data.rfind(b"%%EOF")
    if eof < 0:
        raise _reject("pdf_invalid")
    if data[eof + 5:].strip(_PADDING) or _MARKUP.search(data):
        raise _reject("polyglot_file")
    try:
        content, pages = pdf_rebuild.rebuild(data, limits.max_pdf_pages)
    except pdf_rebuild.PdfProblem as problem:
        raise _reject(problem.code, pages=limits.max_pdf_pages) from None
    return Processed(kind="document", content=content, mimetype="application/pdf", thumbnail=None,
                     width=None, height=None, pages=pages, source_format="PDF", warnings=())

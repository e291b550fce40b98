"""The upload pipeline on real files made here with Pillow, pillow-heif, ReportLab and pypdf."""

from __future__ import annotations

import functools
import io
import random
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageCms, ImageDraw, ImageFilter, ImageFont
from pypdf import PdfReader, PdfWriter
from pypdf.actions import JavaScript
from pypdf.generic import BooleanObject, DictionaryObject, NameObject

from miniapp_api import imaging
from miniapp_api.imaging import ImageLimits, Processed, UploadRejected, process_upload
from tests import pdfs

ROOT = Path(__file__).resolve().parent.parent
RED = (220, 20, 20)


# --- making files ---------------------------------------------------------------------------------

def document(width: int, height: int, lines: int | None = None, seed: int = 1) -> Image.Image:
    """A photo of printed text: off-white paper, dark words, a little sensor noise."""
    return _document(width, height, lines, seed).copy()


@functools.cache
def _document(width: int, height: int, lines: int | None, seed: int) -> Image.Image:
    rng = random.Random(seed)
    im = Image.new("RGB", (width, height), (236, 232, 222))
    draw = ImageDraw.Draw(im)
    size = max(12, height // 40)
    font = ImageFont.load_default(size=size)
    y, row = size * 2, 0
    while y < height - size * 2 and (lines is None or row < lines):
        x = size * 2
        while x < width - size * 6:
            word = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(rng.randint(2, 8)))
            draw.text((x, y), word, fill=(30, 30, 40), font=font)
            x += int(font.getlength(word + " "))
        y, row = y + int(size * 1.6), row + 1
    return Image.blend(im, Image.effect_noise((width, height), 6).convert("RGB"), 0.08)


def marked(width: int = 800, height: int = 600) -> Image.Image:
    """A document whose stored top-left corner is a red block, to see where that corner ends up."""
    im = document(width, height)
    im.paste(RED, (0, 0, 60, 60))
    return im


def encode(im: Image.Image, fmt: str = "JPEG", **params) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


@functools.cache
def page_as(fmt: str) -> bytes:
    """The same 900×700 page in another format (cached: the HEIF encoder is slow)."""
    return encode(document(900, 700), fmt)


def phone_exif(orientation: int) -> Image.Exif:
    """What a phone writes: make/model, orientation and where the photo was taken."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Phone"
    exif[ExifTags.Base.Model] = "X 12"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (39.0, 54.0, 27.0),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (116.0, 23.0, 50.0),
    }
    return exif


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(side: int = 30000, bits: int = 1) -> bytes:
    """A valid greyscale PNG of side×side pixels, all alike: 1-bit 30000² is ~110 kB on disk and ~900 MB
    once decoded by Pillow; 16-bit 6300² (the attack round's) ~80 kB and ~390 MB the way it was decoded."""
    row = b"\x00" + b"\x00" * ((side * bits + 7) // 8)
    packer = zlib.compressobj(9)
    chunks = [1000] * (side // 1000) + [side % 1000]
    idat = b"".join(packer.compress(row * rows) for rows in chunks) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, bits, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def pdf(pages: int = 3) -> bytes:
    return pdfs.plain(pages)


def pdf_with(transform) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf(2))))
    transform(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def rejected(data: bytes, limits: ImageLimits = ImageLimits()) -> UploadRejected:  # noqa: B008
    with pytest.raises(UploadRejected) as caught:
        process_upload(data, limits)
    return caught.value


def reopened(result: Processed) -> Image.Image:
    im = Image.open(io.BytesIO(result.content))
    im.load()
    return im


def near(pixel: tuple[int, ...], colour: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


@pytest.fixture(scope="module")
def sharp_jpeg() -> bytes:
    return encode(document(1200, 900), quality=90)


# --- orientation and metadata ---------------------------------------------------------------------

def test_sideways_phone_photo_comes_out_upright_and_without_metadata():
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    data = encode(marked(800, 600), quality=92, exif=phone_exif(6), icc_profile=icc, xmp=xmp, comment=b"secret")
    source = Image.open(io.BytesIO(data))
    assert source.getexif().get_ifd(ExifTags.IFD.GPSInfo) and "icc_profile" in source.info  # the input has them

    result = process_upload(data)

    assert (result.kind, result.mimetype, result.source_format, result.pages) == ("image", "image/jpeg", "JPEG", 1)
    out = reopened(result)
    assert out.size == (600, 800) == (result.width, result.height)  # Orientation 6: turned to portrait
    assert near(out.getpixel((out.width - 10, 10)), RED)  # stored top-left is shown top-right
    assert not near(out.getpixel((10, 10)), RED)
    assert len(out.getexif()) == 0
    assert not {"exif", "icc_profile", "xmp", "comment"} & set(out.info)
    assert b"Exif" not in result.content and b"xmpmeta" not in result.content and b"secret" not in result.content
    thumb = Image.open(io.BytesIO(result.thumbnail))
    assert thumb.height > thumb.width and len(thumb.getexif()) == 0 and "exif" not in thumb.info


def test_upside_down_photo_is_turned_round():
    result = process_upload(encode(marked(800, 600), quality=92, exif=phone_exif(3)))
    out = reopened(result)
    assert out.size == (800, 600)
    assert near(out.getpixel((out.width - 10, out.height - 10)), RED)
    assert len(out.getexif()) == 0 and "exif" not in out.info


def test_big_photo_is_shrunk_and_has_a_thumbnail(monkeypatch):
    decoded = []

    def spy(im, orientation, max_side):
        draft_jpeg(im, orientation, max_side)
        decoded.append(im.size)

    draft_jpeg = imaging._draft_jpeg
    monkeypatch.setattr(imaging, "_draft_jpeg", spy)
    result = process_upload(encode(marked(4032, 3024), quality=90, exif=phone_exif(6)))
    assert decoded == [(2016, 1512)]  # never decoded at 12 MP
    assert (result.width, result.height) == (1500, 2000)
    assert max(reopened(result).size) <= ImageLimits().max_side
    thumb = Image.open(io.BytesIO(result.thumbnail))
    assert thumb.format == "JPEG" and max(thumb.size) <= ImageLimits().thumb_side and thumb.height > thumb.width
    assert near(reopened(result).getpixel((1490, 5)), RED)


def test_jpeg_is_decoded_at_a_reduced_scale_for_the_orientation_aware_target():
    im = Image.open(io.BytesIO(encode(Image.new("RGB", (4032, 3024)), quality=80)))
    imaging._draft_jpeg(im, 6, 2000)
    assert im.size == (2016, 1512)  # libjpeg decodes 1/2 scale: 3 MP instead of 12 MP
    im = Image.open(io.BytesIO(encode(Image.new("RGB", (4000, 800)), quality=80)))
    imaging._draft_jpeg(im, 8, 450)
    assert im.size == (500, 100)  # 1/8 is the smallest scale still ≥ the target


def test_custom_limits_are_respected(sharp_jpeg):
    result = process_upload(sharp_jpeg, ImageLimits(max_side=700, thumb_side=100, min_side=300))
    assert max(result.width, result.height) == 700
    assert max(Image.open(io.BytesIO(result.thumbnail)).size) <= 100


# --- the formats a phone sends ---------------------------------------------------------------------

def test_heic_from_an_iphone_is_accepted():
    data = encode(marked(800, 600), "HEIF", quality=90, exif=phone_exif(6).tobytes())
    assert data[4:12] == b"ftypheic"
    result = process_upload(data)
    assert result.source_format == "HEIF"
    out = reopened(result)
    assert out.size == (600, 800) and near(out.getpixel((out.width - 10, 10)), RED)
    assert len(out.getexif()) == 0


def test_png_with_transparency_is_put_on_white():
    im = document(900, 700).convert("RGBA")
    im.paste((0, 0, 0, 0), (0, 0, 100, 100))
    result = process_upload(encode(im, "PNG"))
    out = reopened(result)
    assert result.source_format == "PNG" and out.mode == "RGB"
    assert near(out.getpixel((20, 20)), (255, 255, 255), 5)


def test_big_transparent_png_is_reduced_band_by_band():
    im = document(1500, 1100).convert("RGBA")
    im.paste((0, 0, 0, 0), (0, 0, 200, 200))
    result = process_upload(encode(im, "PNG"), ImageLimits(max_side=700))
    out = reopened(result)
    assert max(out.size) == 700 and near(out.getpixel((20, 20)), (255, 255, 255), 5)
    assert near(out.getpixel((300, 300)), (236, 232, 222), 60)
    banded = imaging._reduce_in_bands(im, 3)
    assert banded.tobytes() == im.reduce(3).crop((0, 0, *banded.size)).tobytes()


def test_palette_png_with_transparency_and_webp_are_accepted():
    im = document(900, 700).convert("P", palette=Image.Palette.ADAPTIVE)
    im.info["transparency"] = im.getpixel((5, 5))
    assert reopened(process_upload(encode(im, "PNG", transparency=im.getpixel((5, 5))))).mode == "RGB"
    assert process_upload(encode(document(900, 700), "WEBP", quality=90)).source_format == "WEBP"


@pytest.mark.parametrize("params", [
    {"progressive": True}, {"restart_marker_blocks": 4}, {"optimize": True, "subsampling": 0}, {"mode": "L"},
], ids=["progressive", "restart-markers", "optimized-444", "greyscale"])
def test_jpeg_variants_cameras_write_are_accepted(params):
    mode = params.pop("mode", "RGB")
    data = encode(document(2400, 1800).convert(mode), quality=88, exif=phone_exif(8), **params)
    result = process_upload(data)
    assert (result.width, result.height) == (1500, 2000) and reopened(result).mode == "RGB"


def test_cmyk_jpeg_becomes_rgb():
    result = process_upload(encode(document(900, 700).convert("CMYK"), quality=90))
    out = reopened(result)
    assert out.mode == "RGB" and near(out.getpixel((3, 3)), (236, 232, 222), 30)


def test_sixteen_bit_greyscale_png_keeps_its_tones():
    grey = document(900, 700).convert("L").point(lambda v: v * 257, "I").convert("I;16")
    out = reopened(process_upload(encode(grey, "PNG")))
    assert 200 < out.getpixel((3, 3))[0] < 245  # scaled down from 16 bits, not clipped to white


# --- what is refused -------------------------------------------------------------------------------

def test_empty_and_too_big_bodies():
    assert rejected(b"").code == "empty_file"
    error = rejected(b"\xff\xd8\xff" + b"\x00" * 2000, ImageLimits(max_bytes=1000))
    assert error.code == "file_too_large" and "MB" in error.message


@pytest.mark.parametrize("data", [
    random.Random(3).randbytes(50_000),
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00" + bytes(2000),
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="900" height="900">'
    b'<script>alert(1)</script></svg>',
    b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
    b"PK\x03\x04" + bytes(100),
], ids=["random", "windows-exe", "svg", "html", "zip"])
def test_files_that_are_not_photos(data):
    assert rejected(data).code == "unsupported_type"


@pytest.mark.parametrize("fmt", ["GIF", "TIFF", "BMP", "AVIF"])
def test_image_formats_phones_do_not_send_are_refused(fmt):
    assert rejected(encode(document(120, 90), fmt)).code == "unsupported_type"  # refused before any size check


def test_truncated_jpeg_is_corrupt(sharp_jpeg):
    assert rejected(sharp_jpeg[: len(sharp_jpeg) * 2 // 3]).code == "corrupt_image"
    assert rejected(sharp_jpeg[:-2]).code == "corrupt_image"  # only the EOI marker missing


def test_damaged_png_and_heic_are_corrupt():
    png = page_as("PNG")
    assert rejected(png[: len(png) // 2]).code == "corrupt_image"
    heic = page_as("HEIF")
    assert rejected(heic[: len(heic) - 500]).code == "corrupt_image"
    damaged = bytearray(png)
    damaged[len(png) // 2: len(png) // 2 + 200] = bytes(200)  # zlib stream broken, length kept
    assert rejected(bytes(damaged)).code == "corrupt_image"


@pytest.mark.parametrize("payload", [
    b"<html><body><script>alert(document.cookie)</script></body></html>",
    b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(40) + b"PK\x05\x06" + bytes(18),
    b"MZ\x90\x00" + bytes(200),
], ids=["html", "zip", "exe"])
def test_data_after_the_image_end_is_a_polyglot(sharp_jpeg, payload):
    assert rejected(sharp_jpeg + payload).code == "polyglot_file"
    for fmt in ("PNG", "WEBP", "HEIF"):
        assert rejected(page_as(fmt) + payload).code == "polyglot_file", fmt


def test_markup_hidden_in_metadata_is_a_polyglot():
    data = encode(document(900, 700), quality=90, comment=b"<?php system($_GET['c']); ?>")
    assert rejected(data).code == "polyglot_file"
    png = page_as("PNG")
    text = png_chunk(b"tEXt", b"Comment\x00<script src=//evil.example/x.js></script>")
    assert rejected(png[:33] + text + png[33:]).code == "polyglot_file"


def test_what_phones_append_after_the_image_is_allowed(sharp_jpeg):
    gain_map = encode(document(600, 450).convert("L"), quality=70)  # MPF secondary image (HDR gain map)
    assert process_upload(sharp_jpeg + gain_map).source_format == "JPEG"
    mp4 = struct.pack(">I", 24) + b"ftypisom" + bytes(4) + b"isommp42" + struct.pack(">I", 16) + b"mdat" + bytes(8)
    assert process_upload(sharp_jpeg + gain_map + mp4).width == 1200  # motion photo
    directory = b"SEFH" + bytes(20)
    samsung = b"\x00\x00" + b"Image_UTC_Data1700000000000" + directory + struct.pack("<I", len(directory)) + b"SEFT"
    assert process_upload(sharp_jpeg + samsung).width == 1200
    assert process_upload(sharp_jpeg + b"\x00" * 64 + b"\r\n").width == 1200  # padding


@pytest.mark.parametrize(("side", "bits"), [(30000, 1), (6300, 16)], ids=["1-bit 900 MP", "16-bit 40 MP"])
def test_decompression_bomb_is_refused_from_the_header_with_little_memory(tmp_path, side, bits):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bomb(side, bits))
    assert bomb.stat().st_size < 500_000
    child = (
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from miniapp_api.imaging import UploadRejected, process_upload\n"
        "try:\n"
        f"    process_upload(open({str(bomb)!r}, 'rb').read())\n"
        "except UploadRejected as e:\n"
        "    print(e.code)\n"
        "print([line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')][0])\n"
    )
    code, peak_kib = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                                    check=True, timeout=60).stdout.split()
    assert code == "image_too_large"
    assert int(peak_kib) < 150 * 1024  # decoding would need ~900 MB (1-bit), ~390 MB (16-bit, as it was decoded)


def test_pixel_limit_is_checked_before_decoding():
    bomb = png_bomb(6500)  # 42 MP: over our 40 MP, under Pillow's own guard (89 MP)
    assert rejected(bomb).code == "image_too_large"
    wide = ImageLimits(max_pixels=50_000_000, max_pixels_full_decode=50_000_000)
    assert rejected(bomb, wide).code == "image_blurred"  # decoded: all white


def test_formats_decoded_whole_have_the_lower_pixel_cap():
    """Only JPEG is decoded at a reduced scale: a 26-MP PNG is refused from its header, a 26-MP JPEG is not."""
    error = rejected(png_bomb(5100))
    assert error.code == "image_too_large" and "25000000" in error.message_en
    assert rejected(png_bomb(5100), ImageLimits(max_pixels_full_decode=30_000_000)).code == "image_blurred"
    jpeg = encode(Image.new("RGB", (5100, 5100), (240, 240, 230)), quality=60)
    assert process_upload(jpeg, ImageLimits(blur_action="warn")).width == 2000


def test_a_large_sixteen_bit_png_is_shrunk_before_it_is_widened():
    """24 MP of 16-bit grey (under the cap) is shrunk at 2 bytes a pixel, then brought to 8 bits; the
    tones come through (bench/uploads.py measures the memory)."""
    grey = Image.new("I;16", (5600, 4200), 230 * 257)
    result = process_upload(encode(grey, "PNG", compress_level=1), ImageLimits(blur_action="warn"))
    out = reopened(result)
    assert (result.width, result.height) == (2000, 1500) and out.mode == "RGB"
    assert 225 < out.getpixel((3, 3))[0] < 235  # scaled down from 16 bits, not clipped to white


def test_jpeg_declaring_huge_dimensions_is_refused(sharp_jpeg):
    sof = sharp_jpeg.index(b"\xff\xc0")
    forged = sharp_jpeg[: sof + 5] + struct.pack(">HH", 60000, 60000) + sharp_jpeg[sof + 9:]
    error = rejected(forged)
    assert error.code == "image_too_large"


def test_pillow_bomb_guard_is_mapped_too():
    limits = ImageLimits(max_pixels=10**12)  # our own check out of the way: Pillow's own guard must answer
    assert rejected(png_bomb(), limits).code == "image_too_large"


def test_too_small_to_read():
    error = rejected(encode(document(380, 300), quality=90))
    assert error.code == "image_too_small" and error.message == "照片太小，看不清，请靠近一些重新拍摄"
    assert rejected(encode(document(1000, 390), quality=90)).code == "image_too_small"


# --- legibility -----------------------------------------------------------------------------------

def test_sharpness_separates_text_from_blurred_text():
    full, sparse = document(1200, 900), document(1200, 900, lines=3)
    threshold = ImageLimits().blur_threshold
    assert imaging.sharpness(full) > 20 * threshold
    assert imaging.sharpness(sparse) > 4 * threshold  # a mostly empty page with three lines still passes
    assert imaging.sharpness(full.filter(ImageFilter.GaussianBlur(4))) < threshold / 2
    assert imaging.sharpness(sparse.filter(ImageFilter.GaussianBlur(4))) < threshold / 2
    assert imaging.sharpness(Image.new("RGB", (900, 700), (240, 240, 240))) == 0


def test_blurred_photo_is_refused_or_flagged():
    blurred = encode(document(1200, 900).filter(ImageFilter.GaussianBlur(4)), quality=90)
    error = rejected(blurred)
    assert error.code == "image_blurred" and error.message == "照片模糊，请在光线充足的地方对准后重新拍摄"
    result = process_upload(blurred, ImageLimits(blur_action="warn"))
    assert result.warnings == ("blurred",) and result.content[:3] == b"\xff\xd8\xff"
    assert process_upload(encode(document(1200, 900), quality=90)).warnings == ()


def test_blank_photo_is_unreadable():
    assert rejected(encode(Image.new("RGB", (900, 700), (250, 250, 250)))).code == "image_blurred"


def test_blur_action_is_checked():
    with pytest.raises(ValueError):
        ImageLimits(blur_action="ignore")


# --- PDF documents --------------------------------------------------------------------------------

def test_pdf_is_rebuilt_with_its_pages():
    data = pdf(3)
    result = process_upload(data)
    assert (result.kind, result.mimetype, result.source_format, result.pages) == ("document", "application/pdf", "PDF", 3)
    assert result.content != data and result.thumbnail is None and result.width is None
    assert [p.extract_text() for p in PdfReader(io.BytesIO(result.content)).pages] == \
        [p.extract_text() for p in PdfReader(io.BytesIO(data)).pages]


def test_a_real_document_keeps_its_fonts_images_and_text():
    """Our own printed application: embedded CJK font, a QR drawing, several text runs."""
    from miniapp_api.printing import render_application_pdf
    from tests.test_printing import case

    data = render_application_pdf(case())
    result = process_upload(data)
    assert pdfs.texts(result.content) == pdfs.texts(data) and "公民身后" in pdfs.texts(data)[0]
    assert pdfs.active_parts(result.content) == set()


def test_encrypted_pdf_is_refused():
    assert rejected(pdf_with(lambda w: w.encrypt(user_password="1234", owner_password="x"))).code == "pdf_encrypted"
    assert rejected(pdf_with(lambda w: w.encrypt(user_password="", owner_password="x"))).code == "pdf_encrypted"


def test_pdf_with_too_many_pages():
    error = rejected(pdf(21))
    assert error.code == "pdf_too_many_pages" and "20" in error.message
    assert process_upload(pdf(21), ImageLimits(max_pdf_pages=30)).pages == 21


def test_broken_pdfs_are_invalid():
    assert rejected(b"%PDF-1.7\n" + random.Random(5).randbytes(4000) + b"\n%%EOF\n").code == "pdf_invalid"
    assert rejected(pdf(1)[:300]).code == "pdf_invalid"  # truncated: no %%EOF


def test_scripts_and_attachments_do_not_survive_the_rebuild():
    """Every attack vector, one by one: tests/test_upload_attacks.py. Here: pypdf's own ways of adding them."""
    scripted = process_upload(pdf_with(lambda w: w.add_open_action(JavaScript("app.alert('hi');"))))
    attached = process_upload(pdf_with(lambda w: w.add_attachment("x.exe", b"MZ" + bytes(100))))
    for result in (scripted, attached):
        assert result.pages == 2 and pdfs.active_parts(result.content) == set()
        assert b"app.alert" not in result.content and b"MZ\x00" not in result.content and b"x.exe" not in result.content


def test_dynamic_forms_and_portfolios_are_refused():
    """Their pages are not the document (an XFA form's page only says "please wait"): rebuilt, nothing would be left."""
    def xfa(writer):
        writer.root_object[NameObject("/NeedsRendering")] = BooleanObject(True)

    def portfolio(writer):
        writer.root_object[NameObject("/Collection")] = DictionaryObject({NameObject("/View"): NameObject("/D")})

    for transform in (xfa, portfolio):
        error = rejected(pdf_with(transform))
        assert error.code == "pdf_not_printable" and "普通 PDF" in error.message


def test_pdf_polyglots_are_refused():
    assert rejected(pdf(1) + b"PK\x03\x04" + bytes(60)).code == "polyglot_file"
    assert rejected(pdf(1) + b"<html><script>alert(1)</script></html>\n%%EOF\n").code == "polyglot_file"


# --- messages -------------------------------------------------------------------------------------

def test_every_message_is_chinese_and_english():
    for code, (zh, en) in imaging._MESSAGES.items():
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), code
        assert en.isascii() and en, code
    error = rejected(b"")
    assert error.message_en == str(error) == "the file is empty"

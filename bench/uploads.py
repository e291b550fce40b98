"""How fast and how lean the upload pipeline is on a typical phone photo, against the naive way.

Run: python bench/uploads.py   (from the repository root)

The photo: 4000×3000 (12 MP), noise + gradients + text-like strokes, JPEG quality 90, EXIF
Orientation 6 (a phone held upright). "naive" is what one would write first with Pillow:
``open → exif_transpose → save(JPEG)`` at full size, with the pipeline's JPEG quality.
Peak memory is the maximum resident set size of a fresh child process that imports the module and
handles ONE upload (interpreter and libraries included, nothing subtracted). It is read from the
child's own ``VmHWM`` in /proc/self/status: ``getrusage(RUSAGE_SELF).ru_maxrss`` would not do, since
Linux carries the parent's high-water mark over fork/exec, so every child would report at least the
size of this (benchmarking) parent.

Decode cost of the attack round's bomb (issue 13): an ~80 KB 16-bit greyscale PNG of 6300×6300
pixels, "before" as the pipeline used to take it (decoded whole: its 40-MP cap let it through, then
widened to 32 bits for the tone scaling) and "after" (the current pipeline: refused from the header
by the lower cap for formats decoded whole). Then the same for a 16-bit PNG of 24 MP that is still
accepted (shrunk at 16 bits, then scaled). Cost = the child's peak RSS above its RSS just before the
call (interpreter and imports left out), and the call's time; ratio = after / before.

Figures are printed for people, then one JSON line.
"""

from __future__ import annotations

import io
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw, ImageOps  # noqa: E402

from miniapp_api.imaging import ImageLimits, process_upload  # noqa: E402

RUNS = 15  # per function, in ROUNDS alternating blocks
ROUNDS = 3
SIZE = (4000, 3000)

_PEAK = """
def peak_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
"""

_CHILD_PIPELINE = _PEAK + """
import sys
sys.path.insert(0, sys.argv[1])
from miniapp_api.imaging import process_upload
data = open(sys.argv[2], "rb").read()
process_upload(data)
print(peak_kib())
"""

_COST = _PEAK + """
import io, sys, time
sys.path.insert(0, sys.argv[1])
from PIL import Image
from miniapp_api.imaging import UploadRejected, process_upload
data = open(sys.argv[2], "rb").read()

def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

def before(data):
    \"\"\"The pipeline as it was for a 16-bit greyscale PNG: decoded whole, widened, scaled, shrunk.\"\"\"
    im = Image.open(io.BytesIO(data), formats=["PNG"])
    im.load()
    im = im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    im.resize((2000, 2000 * im.height // im.width), Image.Resampling.BICUBIC, reducing_gap=2.0)

def after(data):
    try:
        process_upload(data)
    except UploadRejected:
        pass

start_kib = rss_kib()
start = time.perf_counter()
(before if sys.argv[3] == "before" else after)(data)
print(round((time.perf_counter() - start) * 1000, 1), (peak_kib() - start_kib) / 1024)
"""

_CHILD_NAIVE = _PEAK + """
import io, sys
from PIL import Image, ImageOps
data = open(sys.argv[2], "rb").read()
im = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
im.save(io.BytesIO(), "JPEG", quality=int(sys.argv[3]))
print(peak_kib())
"""


def make_photo() -> bytes:
    """A photo-like 12-MP JPEG of a document on a table, stored sideways with Orientation=6."""
    width, height = SIZE
    rng = random.Random(7)
    red = Image.linear_gradient("L").resize(SIZE)
    green = Image.radial_gradient("L").resize(SIZE)
    blue = Image.linear_gradient("L").rotate(90).resize(SIZE)
    im = Image.merge("RGB", (red, green, blue))
    draw = ImageDraw.Draw(im)
    draw.rectangle((500, 400, 3500, 2600), fill=(235, 232, 220))  # the paper
    for row in range(60):  # text-like strokes
        y = 480 + row * 35
        x = 560
        while x < 3400:
            word = rng.randint(40, 160)
            for stroke in range(x, min(x + word, 3400), 9):
                draw.line((stroke, y, stroke + rng.randint(-3, 3), y + 22), fill=(25, 25, 35), width=3)
            draw.line((x, y + rng.randint(0, 22), x + word, y + rng.randint(0, 22)), fill=(25, 25, 35), width=2)
            x += word + rng.randint(20, 40)
    noise = Image.merge("RGB", [Image.effect_noise(SIZE, 24) for _ in range(3)])
    im = Image.blend(im, noise, 0.12)
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def naive(data: bytes, quality: int) -> bytes:
    im = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality)
    return out.getvalue()


def medians_ms(first, second, rounds: int, runs: int) -> tuple[float, float]:
    """Median times of two functions, timed in alternating blocks (A×runs, B×runs, A×runs, ...):
    each block sees its own steady state (allocator, caches), and a change of load hits both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for fn, record in ((first, times[0]), (second, times[1])):
            for _ in range(runs):
                start = time.perf_counter()
                fn()
                record.append((time.perf_counter() - start) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def child_peak_mb(code: str, path: Path, quality: int) -> float:
    """Peak RSS (MB) of a fresh interpreter running ``code`` once."""
    result = subprocess.run([sys.executable, "-c", code, str(ROOT), str(path), str(quality)],
                            check=True, capture_output=True, text=True)
    return int(result.stdout.strip().splitlines()[-1]) / 1024


def sixteen_bit_png(width: int, height: int, flat: bool) -> bytes:
    """16-bit greyscale: flat (the bomb: all black, compresses to nothing) or a gradient (a real scan)."""
    im = Image.new("I;16", (width, height), 0) if flat else Image.linear_gradient("L").resize((width, height)).point(
        lambda v: v * 257, "I").convert("I;16")
    out = io.BytesIO()
    im.save(out, "PNG", compress_level=9 if flat else 1)
    return out.getvalue()


def decode_cost(data: bytes, which: str) -> tuple[float, float]:
    """(ms, MB above the start) of one call in a fresh interpreter; the median of three runs each."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "image.png"
        path.write_bytes(data)
        runs = []
        for _ in range(3):
            out = subprocess.run([sys.executable, "-c", _COST, str(ROOT), str(path), which],
                                 check=True, capture_output=True, text=True).stdout.split()
            runs.append((float(out[0]), float(out[1])))
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def bombs() -> dict[str, float]:
    figures: dict[str, float] = {}
    for label, data in (("bomb", sixteen_bit_png(6300, 6300, flat=True)),
                        ("16bit_24mp", sixteen_bit_png(5600, 4200, flat=False))):
        (ms_before, mb_before), (ms_after, mb_after) = decode_cost(data, "before"), decode_cost(data, "after")
        print(f"{label}: {len(data) / 1e3:.0f} kB   before {ms_before:7.1f} ms {mb_before:6.1f} MB   "
              f"after {ms_after:7.1f} ms {mb_after:6.1f} MB   ratio after/before: time {ms_after / ms_before:.3f}, "
              f"memory {mb_after / max(mb_before, 0.1):.3f}")
        figures |= {f"{label}_before_mb": round(mb_before, 1), f"{label}_after_mb": round(mb_after, 1),
                    f"{label}_memory_ratio": round(mb_after / max(mb_before, 0.1), 3),
                    f"{label}_time_ratio": round(ms_after / ms_before, 3)}
    return figures


def main() -> None:
    limits = ImageLimits()
    data = make_photo()
    result = process_upload(data, limits)  # warm-up, and a sanity check of what comes out
    assert max(result.width, result.height) <= limits.max_side and result.height > result.width
    naive(data, limits.jpeg_quality)

    pipeline_ms, naive_ms = medians_ms(lambda: process_upload(data, limits), lambda: naive(data, limits.jpeg_quality),
                                       ROUNDS, RUNS // ROUNDS)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "photo.jpg"
        path.write_bytes(data)
        peak = child_peak_mb(_CHILD_PIPELINE, path, limits.jpeg_quality)
        naive_peak = child_peak_mb(_CHILD_NAIVE, path, limits.jpeg_quality)
    ratio = pipeline_ms / naive_ms

    print(f"input: {SIZE[0]}×{SIZE[1]} JPEG q90, Orientation=6, {len(data) / 1e6:.1f} MB")
    print(f"output: {result.width}×{result.height} JPEG q{limits.jpeg_quality}, {len(result.content) / 1e3:.0f} kB;"
          f" thumbnail {len(result.thumbnail or b'') / 1e3:.0f} kB")
    print(f"pipeline  median of {RUNS}: {pipeline_ms:7.1f} ms   peak RSS of one upload: {peak:6.1f} MB")
    print(f"naive     median of {RUNS}: {naive_ms:7.1f} ms   peak RSS of one upload: {naive_peak:6.1f} MB")
    print(f"ratio pipeline/naive: {ratio:.2f}  (goal ≤ 0.5)   peak goal < 150 MB")
    decoding = bombs()
    print(json.dumps({"pipeline_median_ms": round(pipeline_ms, 1), "naive_median_ms": round(naive_ms, 1),
                      "ratio_vs_naive": round(ratio, 3), "peak_mb": round(peak, 1), **decoding}))


if __name__ == "__main__":
    main()

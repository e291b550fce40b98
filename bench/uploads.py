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
    print(json.dumps({"pipeline_median_ms": round(pipeline_ms, 1), "naive_median_ms": round(naive_ms, 1),
                      "ratio_vs_naive": round(ratio, 3), "peak_mb": round(peak, 1)}))


if __name__ == "__main__":
    main()

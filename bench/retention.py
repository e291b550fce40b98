"""The retention sweep at scale: 100,000 abandoned questionnaires (a tenth with an uploaded page, its files
real), bulk-inserted, then swept by ``retention.sweep`` in batches. Memory must stay bounded: the sweep holds
one batch of ids at a time, never the whole set. Figures are printed for people, then one JSON line.

Run: python bench/retention.py   (from the repository root; a SQLite file in a temporary directory, or
BENCH_DATABASE_URL=postgresql://… for PostgreSQL, whose tables are dropped and migrated first — use a
database of its own). BENCH_QUESTIONNAIRES changes the count.

``peak_mb`` is the Python heap's peak during the sweep (tracemalloc), ``rss_growth_mb`` how much the process's
maximum resident size grew during it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from miniapp_api import create_app  # noqa: E402
from miniapp_api.extensions import db  # noqa: E402
from miniapp_api.models import QuestionnaireSession, UploadedPage  # noqa: E402
from miniapp_api.services import retention  # noqa: E402

COUNT = int(os.environ.get("BENCH_QUESTIONNAIRES", "100000"))
CHUNK = 5000
NOW = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _insert(upload_folder: Path) -> None:
    """COUNT questionnaires last active 60 days before NOW; every tenth has a page with a stored file."""
    old = NOW - dt.timedelta(days=60)
    for start in range(0, COUNT, CHUNK):
        rows, pages = [], []
        for n in range(start, min(start + CHUNK, COUNT)):
            sid = f"{n:032x}"
            rows.append({"id": sid, "region": "hunan", "resume_secret_hash": hashlib.sha256(sid.encode()).hexdigest(),
                         "answers": {}, "form_draft": {}, "cursor_review": False, "created_at": old,
                         "updated_at": old, "last_activity_at": old, "version": 1})
            if n % 10 == 0:
                digest = hashlib.sha256(sid.encode() + b"page").hexdigest()
                key = f"{digest[:2]}/{digest}.jpg"
                (upload_folder / key).parent.mkdir(parents=True, exist_ok=True)
                (upload_folder / key).write_bytes(b"\xff\xd8 bench")
                pages.append({"questionnaire_id": sid, "material_id": "applicant_id_card", "kind": "image",
                              "mimetype": "image/jpeg", "storage_key": key, "thumbnail_key": None, "pages": 1,
                              "size": 8, "warnings": [], "created_at": old})
        db.session.execute(sa.insert(QuestionnaireSession), rows)
        if pages:
            db.session.execute(sa.insert(UploadedPage), pages)
        db.session.commit()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        uploads = Path(tmp) / "uploads"
        uploads.mkdir()
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite"
        app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "bench-secret-" + "x" * 32,
                          "UPLOAD_FOLDER": str(uploads)})
        with app.app_context():
            meta = sa.MetaData()
            meta.reflect(bind=db.engine)
            meta.drop_all(bind=db.engine)
            upgrade()
            started = time.perf_counter()
            _insert(uploads)
            print(f"inserted {COUNT} abandoned questionnaires in {time.perf_counter() - started:.1f} s")
            db.session.remove()
            rss_before = _rss_mb()
            tracemalloc.start()
            started = time.perf_counter()
            report = retention.sweep(now=NOW)
            seconds = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            left = db.session.scalar(sa.select(sa.func.count(QuestionnaireSession.id)))
            files_left = sum(1 for p in uploads.rglob("*.jpg"))
        peak_mb = peak / 1024 / 1024
        print(f"swept {report.questionnaires} questionnaires and {report.questionnaire_pages} pages in "
              f"{report.batches} batches: {seconds:.1f} s, peak {peak_mb:.1f} MB (Python heap), "
              f"max RSS grew {_rss_mb() - rss_before:.1f} MB; left {left} rows, {files_left} files")
        print(json.dumps({"questionnaires": report.questionnaires, "pages": report.questionnaire_pages,
                          "batches": report.batches, "seconds": round(seconds, 2), "peak_mb": round(peak_mb, 1),
                          "rss_growth_mb": round(_rss_mb() - rss_before, 1), "left": left, "files_left": files_left}))


if __name__ == "__main__":
    main()

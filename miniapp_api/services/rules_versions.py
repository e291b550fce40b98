"""Region files by version, in the database (table ``rules_versions``): the content of every version a
questionnaire or case was on, so either can be read under its own rules after the file changed.

The current version is the file's (``Dialog.version``, from ``DIALOGS_DIR``). Which of two versions is the
newer is decided by ``loaded_at``, when a server serving it last started (the app's ``rules_served_since``):
during a rolling deploy a server still on the old file, started before the new one, reads a questionnaire
already moved on from its stored content and never moves it back; after a rollback (the old file served by
servers started since) the old version is the newer one once more.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..domain.dialogs import Dialog, build_dialog, canonical, content_version, load_dialog
from ..domain.vocabulary import DIALOGS_DIR, load_vocabulary
from ..extensions import db
from ..models import RulesVersion, utcnow

_SNAPSHOTS: dict[tuple[str, str, Path], Dialog] = {}
_SNAPSHOTS_MAX = 64


def dialogs_dir() -> Path:
    """Where the region files are: ``DIALOGS_DIR`` when set (a deployment's own copy, or a test's), else dialogs/."""
    return Path(current_app.config.get("DIALOGS_DIR") or DIALOGS_DIR)


def current(region: str) -> Dialog:
    """The region's dialog as its file says now; raises UnknownRegion."""
    return load_dialog(region, dialogs_dir())


def remember(dialog: Dialog, serving: bool = True) -> RulesVersion:
    """The stored row of this dialog's version, made the first time any server sees it; its ``loaded_at`` is
    at least when this server started, if this server serves it (``serving``: it is the file's, not a stored
    one read back). Commits what it changed (nothing else is pending where it is called)."""
    key = (dialog.region, dialog.version)
    served: set[tuple[str, str]] = current_app.extensions.setdefault("rules_versions_served", set())
    since: dt.datetime = current_app.extensions["rules_served_since"]
    row = _row(*key)
    if row is None:
        row = RulesVersion(region=dialog.region, version=dialog.version, content=json.loads(canonical(dialog.raw)),
                           first_seen=utcnow(), loaded_at=since)
        db.session.add(row)
        try:
            db.session.commit()
        except IntegrityError:  # another server stored it at the same moment
            db.session.rollback()
            row = _row(*key)
    elif serving and key not in served and _aware(row.loaded_at) < since:
        row.loaded_at = since
        db.session.commit()
    if serving:
        served.add(key)
    assert row is not None
    return row


def _row(region: str, version: str) -> RulesVersion | None:
    return db.session.scalars(db.select(RulesVersion).filter_by(region=region, version=version)).first()


def is_older(region: str, version: str, than: Dialog) -> bool:
    """Whether ``version`` is older than the dialog this server serves (a version never stored counts as older:
    nothing can be read under it)."""
    row = _row(region, version)
    if row is None:
        return True
    mine = remember(than)
    return (_aware(row.loaded_at), row.id) < (_aware(mine.loaded_at), mine.id)


def snapshot(region: str, version: str) -> Dialog | None:
    """The region's dialog as it was at ``version``, from its stored content (None when it was never stored)."""
    directory = dialogs_dir()
    cached = _SNAPSHOTS.get((region, version, directory))
    if cached is not None:
        return cached
    row = _row(region, version)
    if row is None or content_version(row.content) != version:
        return None
    dialog = build_dialog(row.content, {}, directory / f"{region}.yaml@{version}", load_vocabulary(directory))
    if len(_SNAPSHOTS) >= _SNAPSHOTS_MAX:
        _SNAPSHOTS.clear()
    _SNAPSHOTS[(region, version, directory)] = dialog
    return dialog


def dialog_at(region: str, version: str | None) -> Dialog:
    """The dialog to read a questionnaire or case of ``version`` with: the current one when it is that version
    (or none was recorded), else the stored one; the current one, logged, if that was never stored."""
    now = current(region)
    if version is None or version == now.version:
        return now
    stored = snapshot(region, version)
    if stored is None:
        current_app.logger.warning("rules version %s of %s is not stored; reading it under %s", version, region,
                                   now.version)
        return now
    return stored


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite hands back naive UTC

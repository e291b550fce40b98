"""Master-key rotation (`flask keys rotate`) and what each key still protects (`flask keys status`).

Rotating re-wraps each sealed value's data key under the current master key (envelope.rewrap): the
ciphertext is unchanged, so a row costs one unwrap and one wrap, and a value is never exposed in clear
outside this process. A value still in plaintext (written before encryption) is sealed on the way. Rows are
updated by id in batches, each batch its own transaction, reading the raw column (no type decoding), so a
rotation of millions of rows runs in bounded memory and can be stopped and run again. Once `status` shows no
value under an old key, that key can be retired from the keyring.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from .. import envelope
from ..encrypted import _Sealed, provider
from ..extensions import db

BATCH = 500


@dataclass
class Report:
    rewrapped: Counter = field(default_factory=Counter)  # "table.column" -> rows re-wrapped or sealed
    keys: Counter = field(default_factory=Counter)  # master key id (or "plaintext") -> values


def sealed_columns() -> list[tuple[str, str]]:
    """Every (table, column) whose type seals its values (encrypted.py), from the models themselves."""
    return sorted((table.name, column.name) for table in db.metadata.tables.values() for column in table.columns
                  if isinstance(column.type, _Sealed))


def _table_ids_are_text(table: str) -> bool:
    return not isinstance(db.metadata.tables[table].c.id.type, sa.Integer)


def rotate(new_key: bool = True) -> tuple[str, Report]:
    """Add a master key (a keyring file) or take the configured current one, then re-wrap every value."""
    keys = provider()
    path = getattr(keys, "path", None)
    if new_key and path is not None:
        from ..keys import add_key_to_file

        add_key_to_file(path)
    current = keys.current_key_id()  # a rotated keyring file is read again here
    report = Report()
    for table, column in sealed_columns():
        report.rewrapped[f"{table}.{column}"] += _rewrap_column(table, column, f"{table}.{column}")
    files = current_app.extensions.get("rewrap_files")
    if files is not None:  # the document store (storage.py), when it seals files
        report.rewrapped["files"] += files()
    return current, report


def _rewrap_column(table: str, column: str, where: str) -> int:
    keys = provider()
    id_column = sa.column("id", sa.String if _table_ids_are_text(table) else sa.Integer)
    t = sa.table(table, id_column, sa.column(column, sa.Text))
    changed = 0
    for batch in _raw_batches(table, column):
        updates = []
        for row_id, value in batch:
            if envelope.is_sealed_text(value):
                again = envelope.rewrap_text(keys, value)
            else:
                again = envelope.seal_text(keys, value, where)  # written before encryption
            if again != value:
                updates.append({"row_id": row_id, "value": again})
        if updates:
            db.session.execute(sa.update(t).where(t.c.id == sa.bindparam("row_id"))
                               .values({column: sa.bindparam("value")}), updates)
            changed += len(updates)
        db.session.commit()
    return changed


def _raw_batches(table: str, column: str) -> Iterator[list[tuple[object, str]]]:
    id_type = sa.String if _table_ids_are_text(table) else sa.Integer
    t = sa.table(table, sa.column("id", id_type), sa.column(column, sa.Text))
    last: object = None
    while True:
        query = sa.select(t.c.id, t.c[column]).where(t.c[column].is_not(None), t.c[column] != "")
        if last is not None:
            query = query.where(t.c.id > last)
        rows = db.session.execute(query.order_by(t.c.id).limit(BATCH)).all()
        if not rows:
            return
        yield [(row_id, value) for row_id, value in rows]
        last = rows[-1][0]


def status() -> Report:
    """How many values each master key protects, and how many are still in plaintext."""
    report = Report()
    for table, column in sealed_columns():
        for batch in _raw_batches(table, column):
            for _row_id, value in batch:
                report.keys[envelope.key_id_of_text(value) if envelope.is_sealed_text(value) else "plaintext"] += 1
    return report


def reindex() -> int:
    """Rebuild every case's search keys (blind_index.form_digests) from its form, a batch of cases at a time:
    after the kinds of key change (the phone's last four were added) or a new BLIND_INDEX_KEY. Returns how
    many cases' keys changed."""
    from .. import blind_index
    from ..encrypted import index_key
    from ..models import Case, CaseSearchKey

    key, changed, last = index_key(), 0, 0
    while True:
        cases = db.session.scalars(db.select(Case).where(Case.id > last).order_by(Case.id).limit(BATCH)
                                   .options(sa.orm.selectinload(Case.search_keys))).all()
        if not cases:
            return changed
        for case in cases:
            wanted = blind_index.form_digests(key, case.form)
            if {k.digest for k in case.search_keys} != wanted:
                case.search_keys = [CaseSearchKey(region=case.region, digest=d) for d in sorted(wanted)]
                changed += 1
        last = cases[-1].id
        db.session.commit()

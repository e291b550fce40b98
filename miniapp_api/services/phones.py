"""Which numbers an applicant proved are theirs (models.VerifiedPhone), and which one an official text goes to.

The form's ``applicant.phone`` is only typed: texts sent under the government's sender name to a number nobody
proved would let anyone send 「申请已受理…」 to a stranger, and its last four digits would open the status lookup.
So a text goes to the form's number only once it is verified, else to the number the applicant signed in with,
else nowhere (the outbox keeps it for staff on the console channel).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy.exc import IntegrityError

from .. import blind_index
from ..domain.identity import IdentityError, mobile
from ..encrypted import index_key
from ..extensions import db
from ..models import Applicant, Case, VerifiedPhone


def record(applicant: Applicant, phone: str, how: str) -> None:
    """Remember that this applicant proved ``phone`` (commits; a repeat is a no-op)."""
    if phone in verified(applicant.id):
        return
    key = index_key()
    db.session.add(VerifiedPhone(applicant_id=applicant.id, phone=phone, how=how,
                                 phone_digest=blind_index.phone_digest(key, phone),
                                 tail_digest=blind_index.phone_tail_digest(key, phone[-4:])))
    try:
        db.session.commit()
    except IntegrityError:  # the same proof racing itself
        db.session.rollback()


def verified(applicant_id: str) -> list[str]:
    """The applicant's proven numbers, oldest first."""
    return list(db.session.scalars(db.select(VerifiedPhone.phone).filter_by(applicant_id=applicant_id)
                                   .order_by(VerifiedPhone.id)))


def recipient(case: Case, applicant: Applicant | None) -> str | None:
    """Where the case's texts go: the form's number if proven, else the sign-in's number, else none."""
    if applicant is None:
        return None
    numbers = verified(applicant.id)
    try:
        typed = mobile(str((case.form.get("applicant") or {}).get("phone") or ""))
    except IdentityError:
        typed = None
    if typed in numbers:
        return typed
    if applicant.phone in numbers:
        return applicant.phone
    return numbers[-1] if numbers else None


def tail_clause(tail: str) -> ColumnElement[bool] | None:
    """The status lookup's condition on a case: the last four digits of one of its applicant's proven numbers,
    compared by their blind index (no number is decrypted to answer an anonymous request); None for a tail
    that cannot match."""
    if len(tail) != 4 or not tail.isdigit():
        return None
    digest = blind_index.phone_tail_digest(index_key(), tail)
    return db.select(VerifiedPhone.id).where(VerifiedPhone.applicant_id == Case.applicant_id,
                                             VerifiedPhone.tail_digest == digest).exists()

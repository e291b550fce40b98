"""Questionnaire sessions: start, state, answer, back, review, goto (to change one answer), checklist.

The family's rights over it (PIPL art. 44-47, 49: export, withdraw the consent, delete) are reached with the
same credentials; there another family's questionnaire is a 404 like a missing one.

An anonymous questionnaire is reached with its resume secret (header ``X-Resume-Secret``), so a
family can continue on another phone; once it belongs to a signed-in applicant (started signed in,
or claimed), only that applicant's bearer token reaches it.
"""

from collections.abc import Iterator
from typing import IO

from flask import Response, jsonify, request, url_for
from flask_smorest import Blueprint

from ..services import consent, privacy, questionnaires, uploads
from . import presenters, responses
from .access import bearer_applicant, bearer_holder
from .operations import ANONYMOUS_OR_APPLICANT, BINARY, CLAIM, NO_CONTENT, QUESTIONNAIRE, operation
from .schemas import Answer, GiveConsent, GotoQuestion, Review, StartQuestionnaire, json_body

bp = Blueprint("questionnaires", __name__, description="The guided questions: start, answer, back, review, goto, "
               "the checklist. Anonymous with X-Resume-Secret, or signed in.")


def _session(session_id: str):
    return questionnaires.load(session_id, request.headers.get("X-Resume-Secret"), bearer_holder())


def _state(session, state) -> dict:
    body = presenters.state(session.id, state, session.rules_version, session.rules_notice)
    body["consent"] = consent.status(session)
    return body


@bp.post("/questionnaires")
@bp.response(201, responses.StartedQuestionnaire, description="started: the first question")
@operation("startQuestionnaire", "Start a questionnaire (anonymous, or signed in: then it is yours)", ANONYMOUS_OR_APPLICANT,
           body=StartQuestionnaire, errors=(401, 404))
def start():
    data = StartQuestionnaire().load(json_body())
    session, secret = questionnaires.start(data["region"], bearer_applicant(required=False))
    body = _state(session, questionnaires.state(session))
    body["resume_secret"] = secret
    return jsonify(body), 201


@bp.get("/questionnaires/<session_id>")
@bp.response(200, responses.QuestionnaireState)
@operation("getQuestionnaire", "Current question, answers, facts, progress", QUESTIONNAIRE, errors=(401, 403, 404))
def get_state(session_id: str):
    session = _session(session_id)
    return jsonify(_state(session, questionnaires.state(session)))


@bp.post("/questionnaires/<session_id>/answers")
@bp.response(200, responses.QuestionnaireState, description="the next question, or `current` null at the end")
@operation("answerQuestion", "Answer or change an answer", QUESTIONNAIRE, body=Answer, errors=(401, 403, 404, 409))
def answer(session_id: str):
    session = _session(session_id)
    data = Answer().load(json_body())
    return jsonify(_state(session, questionnaires.answer(session, data["question"], data["value"])))


@bp.post("/questionnaires/<session_id>/back")
@bp.response(200, responses.QuestionnaireState)
@operation("goBack", "Step back one question; every answer is kept (`previous_value`)", QUESTIONNAIRE,
           errors=(401, 403, 404, 409))
def back(session_id: str):
    session = _session(session_id)
    return jsonify(_state(session, questionnaires.back(session)))


@bp.post("/questionnaires/<session_id>/goto")
@bp.response(200, responses.QuestionnaireState)
@operation("gotoQuestion", "Go to an answered question to change it; after the answer, straight back to the end "
           "by way of any question the change made appear", QUESTIONNAIRE, body=GotoQuestion,
           errors=(401, 403, 404, 409))
def goto(session_id: str):
    session = _session(session_id)
    data = GotoQuestion().load(json_body())
    return jsonify(_state(session, questionnaires.goto(session, data["question"])))


@bp.get("/questionnaires/<session_id>/review")
@bp.response(200, Review)
@operation("reviewAnswers", "The answers that apply, in order, in words, each with the goto request that changes it",
           QUESTIONNAIRE, errors=(401, 403, 404))
def review(session_id: str):
    session = _session(session_id)
    goto_path = None if questionnaires.submitted_case(session) else url_for(".goto", session_id=session.id)
    return jsonify(presenters.review(session.id, questionnaires.state(session), questionnaires.review(session),
                                     goto_path))


@bp.post("/questionnaires/<session_id>/claim")
@bp.response(200, responses.QuestionnaireState)
@operation("claimQuestionnaire", "Make an anonymous questionnaire mine (bearer token and its resume secret)", CLAIM,
           errors=(401, 403, 404, 409))
def claim(session_id: str):
    """An anonymous questionnaire becomes the signed-in applicant's (needs its resume secret)."""
    applicant = bearer_applicant()
    session = questionnaires.claim(session_id, request.headers.get("X-Resume-Secret"), applicant)
    return jsonify(_state(session, questionnaires.state(session)))


@bp.get("/questionnaires/<session_id>/checklist")
@bp.response(200, responses.Checklist)
@operation("getChecklist", "The tailored checklist (the case's own once submitted)", QUESTIONNAIRE,
           errors=(401, 403, 404))
def checklist(session_id: str):
    session = _session(session_id)
    return jsonify(uploads.annotate(questionnaires.checklist(session), session))


@bp.get("/questionnaires/<session_id>/consent")
@bp.response(200, responses.ConsentText)
@operation("getConsent", "The separate consent's text (PIPL art. 29-30): purpose, the departments and what each "
           "receives, retention; its version and whether it is given", QUESTIONNAIRE, errors=(401, 403, 404))
def get_consent(session_id: str):
    """The separate consent's text for this questionnaire's region (PIPL art. 29-30), and whether it is given."""
    return jsonify(consent.body(_session(session_id)))


@bp.post("/questionnaires/<session_id>/consent")
@bp.response(200, responses.ConsentStatus)
@operation("giveConsent", "Consent to that version of the text (needed before the form's personal details and "
           "uploads: 403 consent_required)", QUESTIONNAIRE, body=GiveConsent, errors=(401, 403, 404, 409))
def give_consent(session_id: str):
    """The family consents to the text of ``version`` (the one GET returned)."""
    session = _session(session_id)
    data = GiveConsent().load(json_body())
    return jsonify(consent.give(session, data["version"]))


# --- the family's rights over their application (PIPL art. 44-47, 49): services/privacy.py ----------------------

def _own(session_id: str):
    return privacy.load(session_id, request.headers.get("X-Resume-Secret"), bearer_holder())


ARCHIVE = {"description": "a zip: data.json (answers, form draft, consent, checklist, pages' metadata and, once "
                          "submitted, the case with its work items and notifications) and every uploaded page's file",
           "content": {"application/zip": {"schema": BINARY}}}


@bp.get("/questionnaires/<session_id>/export")
@operation("exportPersonalData", "Download everything held about this application: one zip (PIPL art. 45; art. 49 "
           "for the deceased's data)", QUESTIONNAIRE, errors=(401, 404), success={200: ARCHIVE})
def export(session_id: str):
    return archive_response(privacy.export(_own(session_id)), session_id)


def archive_response(archive: IO[bytes], session_id: str) -> Response:
    """The archive streamed from its temporary file in chunks; private, never cached. Shared with the H5 page."""
    size = archive.seek(0, 2)
    archive.seek(0)
    return Response(_chunks(archive), mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="personal-data-{session_id[:32]}.zip"',
        "Content-Length": str(size), "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


def _chunks(archive: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := archive.read(64 * 1024):
            yield chunk
    finally:
        archive.close()


@bp.delete("/questionnaires/<session_id>/consent")
@bp.response(200, responses.ConsentStatus, description="withdrawn: the status, not given")
@operation("withdrawConsent", "Withdraw the consent (PIPL art. 15, 47): the form's personal details and every upload "
           "with its file are deleted; a submitted application: 409, ask the window", QUESTIONNAIRE,
           errors=(401, 404, 409))
def withdraw_consent(session_id: str):
    return jsonify(privacy.withdraw_consent(_own(session_id)))


@bp.delete("/questionnaires/<session_id>")
@operation("deleteQuestionnaire", "Delete an unsubmitted application: the questionnaire, its form, its pages and "
           "their files (PIPL art. 47); a submitted one: 409, ask the window", QUESTIONNAIRE, errors=(401, 404, 409),
           success={204: NO_CONTENT})
def delete(session_id: str):
    privacy.delete(_own(session_id))
    return "", 204

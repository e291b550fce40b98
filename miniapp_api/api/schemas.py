"""Request bodies of the questionnaire API, parsed and validated with marshmallow."""

from __future__ import annotations

from flask import request
from marshmallow import Schema, ValidationError, fields, validate

from ..domain import text
from ..domain.vocabulary import load_vocabulary
from ..errors import ApiError
from ..services.notify import EVENTS as NOTIFY_EVENTS


def json_body() -> dict:
    """The request's JSON object, or a clear 400."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "请以 JSON 对象提交", "the body must be a JSON object")
    return body


class Text(fields.String):
    """Every string a request carries: no lone surrogates or control characters (domain/text.py); tab and line
    breaks only where ``multiline``; in a person's ``name`` no bidi or zero-width characters either."""

    def __init__(self, *args, multiline: bool = False, name: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.multiline, self.is_name = multiline, name  # (marshmallow keeps the field's own name in .name)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if (why := text.problem(value, multiline=self.multiline, name=self.is_name)) is not None:
            raise ValidationError(why)
        return value


class StartQuestionnaire(Schema):
    region = Text(
        required=True,
        validate=validate.OneOf(load_vocabulary().regions, error="未知地区，可选：{choices} / unknown region; one of: {choices}"),
        metadata={"description": "region id, e.g. hunan"},
    )


class AnswerValue(fields.Field):
    """An answer: true/false, a string, or a list of strings (the engine checks it against the question)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            return value
        strings = [value] if isinstance(value, str) else value
        if isinstance(strings, list) and all(isinstance(v, str) for v in strings):
            for v in strings:
                if (why := text.problem(v)) is not None:
                    raise ValidationError(why)
            return value
        raise ValidationError("答案应为是/否、文字或文字列表 / must be a boolean, a string or a list of strings")


class Answer(Schema):
    question = Text(required=True, validate=validate.Length(min=1, max=64),
                    metadata={"description": "the question's id (`current.id`)", "example": "relationship"})
    value = AnswerValue(required=True, allow_none=False, metadata={
        "description": "yes_no: true or false; single: an option's value; multiple: a list of option values; "
                       "date: YYYY-MM-DD; text: the text", "example": "child"})


class GiveConsent(Schema):
    """The version of the consent text the family read and consents to (GET .../consent gives it)."""

    version = Text(required=True, validate=validate.Length(min=1, max=16))


class GotoQuestion(Schema):
    """The question to change (one of the review's, or the next to answer)."""

    question = Text(required=True, validate=validate.Length(min=1, max=64),
                             metadata={"description": "question id, e.g. requested"})


class ReviewOption(Schema):
    value = AnswerValue(required=True)
    label = Text(required=True)
    label_en = Text(required=True)


class ReviewChange(Schema):
    """The request that goes back to change this answer."""

    method = Text(required=True, metadata={"enum": ["POST"]})
    path = Text(required=True, metadata={"example": "/api/v1/questionnaires/3f2a…/goto"})
    body = fields.Nested(GotoQuestion, required=True)


class ReviewItem(Schema):
    question = Text(required=True, metadata={"description": "question id"})
    text = Text(required=True)
    text_en = Text(required=True)
    type = Text(required=True, metadata={"enum": ["single", "multiple", "yes_no", "date", "text"]})
    value = AnswerValue(required=True, metadata={"description": "the answer as given to POST …/answers"})
    label = Text(required=True, metadata={"description": "the answer in words (the chosen options' labels "
                                                                  "joined with 、, or the date or text itself)"})
    label_en = Text(required=True)
    options = fields.List(fields.Nested(ReviewOption), required=True,
                          metadata={"description": "the chosen options; empty for a date or a text"})
    change = fields.Nested(ReviewChange, required=True, allow_none=True,
                           metadata={"description": "null once the questionnaire is submitted"})


class Review(Schema):
    """Response of GET …/review: the answers that still apply, in the order the questions are asked."""

    id = Text(required=True)
    region = Text(required=True)
    complete = fields.Boolean(required=True)
    items = fields.List(fields.Nested(ReviewItem), required=True)


class WechatSignIn(Schema):
    code = Text(required=True, validate=validate.Length(min=1, max=128))
    phone_code = Text(validate=validate.Length(min=1, max=128))


class HostSignIn(Schema):
    channel = Text(required=True, validate=validate.Length(min=1, max=32))
    assertion = Text(required=True, validate=validate.Length(min=1, max=4096))


PHONE = {"description": "a mainland mobile number (checked with phonenumbers; +86 and spaces allowed)",
         "example": "13800138000"}


class SmsCodeRequest(Schema):
    phone = Text(required=True, validate=validate.Length(min=1, max=20), metadata=PHONE)
    challenge = Text(validate=validate.Length(max=2000), metadata={  # issue 13: SMS pumping
        "description": "the answer to GET /auth/sms/challenge, once a 429 otp_challenge_required asked for it"})


class SmsVerify(Schema):
    phone = Text(required=True, validate=validate.Length(min=1, max=20), metadata=PHONE)
    code = Text(required=True, validate=validate.Regexp(r"^[0-9]{6}$", error="6位数字 / six digits"))


class SubscriptionConsents(Schema):
    """The subscribe-message events the family just allowed in wx.requestSubscribeMessage (one message each)."""

    events = fields.List(Text(validate=validate.OneOf(NOTIFY_EVENTS)), required=True,
                         validate=validate.Length(min=1, max=10))


def _line(max_length: int = 100, name: bool = False) -> Text:
    return Text(allow_none=True, validate=validate.Length(max=max_length), name=name)


class DeceasedForm(Schema):
    name = _line(50, name=True)
    gender = Text(allow_none=True, validate=validate.OneOf(["male", "female"]))
    ethnicity = _line(20)
    id_number = _line(24)
    death_date = _line(10)
    death_place = _line()
    hukou_address = _line()
    cremation_date = _line(10)
    employer = _line()
    # Fields only a department reads (form.facts with `department`), asked where the region's form has them.
    enterprise_employee = fields.Raw(allow_none=True, validate=validate.OneOf([True, False, "true", "false"]))
    employment_status = _line(20)
    other_insurance = fields.List(Text(validate=validate.Length(max=20)), allow_none=True,
                                  validate=validate.Length(max=5))


class ApplicantForm(Schema):
    name = _line(50, name=True)
    id_number = _line(24)
    phone = _line(20)
    address = _line(200)
    employer = _line()
    relationship = _line(20)  # asked here only where the questionnaire did not (form view `fields`)
    self_supporting = fields.Boolean(allow_none=True)


class AuthorizationForm(Schema):
    signed = fields.Boolean(allow_none=True)
    reason = _line(200)
    valid_from = _line(10)
    valid_to = _line(10)


class ProxyForm(Schema):
    name = _line(50, name=True)
    id_number = _line(24)
    phone = _line(20)
    address = _line(200)
    employer = _line()
    relationship_to_principal = _line(20)
    authorization = fields.Nested(AuthorizationForm, allow_none=True)


class AccountForm(Schema):
    purpose = _line(50)
    payee = _line(40)
    bank_name = _line(50)
    holder_name = _line(50, name=True)
    account_number = _line(30)


class ApplicationForm(Schema):
    """The draft form: any part may be missing while the family types; `submit` checks completeness."""

    deceased = fields.Nested(DeceasedForm, load_default=dict)
    applicant = fields.Nested(ApplicantForm, load_default=dict)
    proxy = fields.Nested(ProxyForm, allow_none=True)
    accounts = fields.List(fields.Nested(AccountForm), validate=validate.Length(max=5), load_default=list)
    commitment_accepted = fields.Boolean(load_default=False)

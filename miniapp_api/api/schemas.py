"""Request bodies of the questionnaire API, parsed and validated with marshmallow."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from ..domain.vocabulary import load_vocabulary


class StartQuestionnaire(Schema):
    region = fields.String(
        required=True,
        validate=validate.OneOf(load_vocabulary().regions, error="未知地区 / unknown region"),
        metadata={"description": "region id, e.g. hunan"},
    )


class AnswerValue(fields.Field):
    """An answer: true/false, a string, or a list of strings (the engine checks it against the question)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool | str):
            return value
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise ValidationError("答案应为是/否、文字或文字列表 / must be a boolean, a string or a list of strings")


class Answer(Schema):
    question = fields.String(required=True, validate=validate.Length(min=1, max=64))
    value = AnswerValue(required=True, allow_none=False)

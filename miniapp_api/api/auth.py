"""Sign-in: WeChat mini-program, host apps, SMS one-time codes. Each returns our bearer token."""

from flask import Blueprint, current_app, jsonify
from flask_limiter.util import get_remote_address

from ..domain.identity import mask_phone
from ..services import auth, notify, phones
from .access import bearer_applicant
from .schemas import HostSignIn, SmsCodeRequest, SmsVerify, SubscriptionConsents, WechatSignIn, json_body

bp = Blueprint("auth", __name__)


@bp.post("/auth/wechat")
def wechat():
    data = WechatSignIn().load(json_body())
    return jsonify(auth.issue_token(auth.sign_in_wechat(data["code"], data.get("phone_code"))))


@bp.post("/auth/host")
def host():
    data = HostSignIn().load(json_body())
    return jsonify(auth.issue_token(auth.sign_in_host(data["channel"], data["assertion"])))


@bp.post("/auth/sms/code")
def sms_code():
    data = SmsCodeRequest().load(json_body())
    phone = auth.request_sms_code(data["phone"], address=get_remote_address(), challenge=data.get("challenge"))
    return jsonify({"sent_to": mask_phone(phone)}), 202


@bp.get("/auth/sms/challenge")
def sms_challenge():
    """What to answer (as ``challenge``) once a code request was refused with 429 otp_challenge_required."""
    response = jsonify({"challenge": current_app.extensions["sms_challenge"].issue()})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/auth/sms/verify")
def sms_verify():
    data = SmsVerify().load(json_body())
    return jsonify(auth.issue_token(auth.verify_sms_code(data["phone"], data["code"])))


@bp.get("/me")
def me():
    applicant = bearer_applicant()
    return jsonify({"id": applicant.id, "channel": applicant.channel.split(":")[0],
                    "phone": mask_phone(applicant.phone) if applicant.phone else None,
                    "verified_phones": [mask_phone(p) for p in phones.verified(applicant.id)]})


@bp.post("/me/phone/code")
def phone_code():
    """Prove another number (the form's ``applicant.phone``): official texts go only to proven numbers."""
    applicant = bearer_applicant()
    data = SmsCodeRequest().load(json_body())
    phone = auth.request_sms_code(data["phone"], auth.verification_scope(applicant), get_remote_address(),
                                  data.get("challenge"))
    return jsonify({"sent_to": mask_phone(phone)}), 202


@bp.post("/me/phone/verify")
def phone_verify():
    applicant = bearer_applicant()
    data = SmsVerify().load(json_body())
    auth.verify_phone(applicant, data["phone"], data["code"])
    return jsonify({"verified_phones": [mask_phone(p) for p in phones.verified(applicant.id)]})


@bp.post("/me/subscriptions")
def subscriptions():
    """The mini-program reports the subscribe-message templates the family just allowed (one each)."""
    data = SubscriptionConsents().load(json_body())
    return jsonify({"remaining": notify.record_consent(bearer_applicant(), data["events"])})

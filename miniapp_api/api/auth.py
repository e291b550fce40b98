"""Sign-in: WeChat mini-program, host apps, SMS one-time codes. Each returns our bearer token."""

from flask import current_app, jsonify
from flask_limiter.util import get_remote_address
from flask_smorest import Blueprint

from ..domain.identity import mask_phone
from ..services import auth, notify, phones
from . import responses
from .access import bearer_applicant
from .operations import APPLICANT, PUBLIC, operation
from .schemas import HostSignIn, SmsCodeRequest, SmsVerify, SubscriptionConsents, WechatSignIn, json_body

bp = Blueprint("auth", __name__, description="Sign-in (WeChat, host apps, SMS codes) and the signed-in family's numbers")


@bp.post("/auth/wechat")
@bp.response(200, responses.Token)
@operation("signInWechat", "Mini-program sign-in (wx.login code, optional getPhoneNumber code)", PUBLIC,
           body=WechatSignIn, errors=(401, 404, 429, 502))
def wechat():
    data = WechatSignIn().load(json_body())
    return jsonify(auth.issue_token(auth.sign_in_wechat(data["code"], data.get("phone_code"))))


@bp.post("/auth/host")
@bp.response(200, responses.Token)
@operation("signInHost", "Host-app (湘易办-style) signed assertion (a JWT)", PUBLIC, body=HostSignIn, errors=(401, 404, 429, 502))
def host():
    data = HostSignIn().load(json_body())
    return jsonify(auth.issue_token(auth.sign_in_host(data["channel"], data["assertion"])))


@bp.post("/auth/sms/code")
@bp.response(202, responses.SentTo, description="sent")
@operation("requestSmsCode", "Send an SMS sign-in code (capped per address, per number and in all; after a few, 429 "
           "otp_challenge_required: answer GET /auth/sms/challenge and send it as `challenge`)", PUBLIC,
           body=SmsCodeRequest, errors=(403, 429))
def sms_code():
    data = SmsCodeRequest().load(json_body())
    phone = auth.request_sms_code(data["phone"], address=get_remote_address(), challenge=data.get("challenge"))
    return jsonify({"sent_to": mask_phone(phone)}), 202


@bp.get("/auth/sms/challenge")
@bp.response(200, responses.Challenge)
@operation("getSmsChallenge", "A challenge to answer once a code request says otp_challenge_required", PUBLIC)
def sms_challenge():
    """What to answer (as ``challenge``) once a code request was refused with 429 otp_challenge_required."""
    response = jsonify({"challenge": current_app.extensions["sms_challenge"].issue()})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/auth/sms/verify")
@bp.response(200, responses.Token)
@operation("verifySmsCode", "Sign in with the SMS code", PUBLIC, body=SmsVerify, errors=(401, 429))
def sms_verify():
    data = SmsVerify().load(json_body())
    return jsonify(auth.issue_token(auth.verify_sms_code(data["phone"], data["code"])))


@bp.get("/me")
@bp.response(200, responses.Me)
@operation("getMe", "Who am I (phone masked, and the numbers proven)", APPLICANT, errors=(401,))
def me():
    applicant = bearer_applicant()
    return jsonify({"id": applicant.id, "channel": applicant.channel.split(":")[0],
                    "phone": mask_phone(applicant.phone) if applicant.phone else None,
                    "verified_phones": [mask_phone(p) for p in phones.verified(applicant.id)]})


@bp.post("/me/phone/code")
@bp.response(202, responses.SentTo, description="sent")
@operation("requestPhoneCode", "Send a code to prove another number (the form's)", APPLICANT, body=SmsCodeRequest,
           errors=(401, 403, 429))
def phone_code():
    """Prove another number (the form's ``applicant.phone``): official texts go only to proven numbers."""
    applicant = bearer_applicant()
    data = SmsCodeRequest().load(json_body())
    phone = auth.request_sms_code(data["phone"], auth.verification_scope(applicant), get_remote_address(),
                                  data.get("challenge"))
    return jsonify({"sent_to": mask_phone(phone)}), 202


@bp.post("/me/phone/verify")
@bp.response(200, responses.VerifiedPhones)
@operation("verifyPhone", "Prove the number with its code: official texts go only to proven numbers", APPLICANT,
           body=SmsVerify, errors=(401, 429))
def phone_verify():
    applicant = bearer_applicant()
    data = SmsVerify().load(json_body())
    auth.verify_phone(applicant, data["phone"], data["code"])
    return jsonify({"verified_phones": [mask_phone(p) for p in phones.verified(applicant.id)]})


@bp.post("/me/subscriptions")
@bp.response(200, responses.Consents)
@operation("recordSubscriptions", "Record WeChat subscribe-message consents (one consent, one message)", APPLICANT,
           body=SubscriptionConsents, errors=(401,))
def subscriptions():
    """The mini-program reports the subscribe-message templates the family just allowed (one each)."""
    data = SubscriptionConsents().load(json_body())
    return jsonify({"remaining": notify.record_consent(bearer_applicant(), data["events"])})

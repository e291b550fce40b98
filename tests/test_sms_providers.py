"""The Aliyun and Tencent SMS clients against loopback peers that verify their signatures."""

from __future__ import annotations

import socket
import uuid

import pytest

from miniapp_api import sms_providers
from miniapp_api.sms_providers import AliyunSms, SmsError, TencentSms, aliyun_rpc_signature, tc3_authorization
from tests.peers.sms import AliyunSmsPeer, TencentSmsPeer, aliyun_expected_signature, tc3_expected_signature

PHONE = "13812345678"
# "*" must become %2A, space %20 (not +), "~" stays: the places where Aliyun's encoding differs from form encoding.
PARAMS = {"name": "张*", "code": "7KQ2M-9XH4P", "note": "事项 a+b ~/&=?"}


@pytest.fixture
def aliyun_peer():
    peer = AliyunSmsPeer()
    yield peer
    peer.stop()


@pytest.fixture
def tencent_peer():
    peer = TencentSmsPeer()
    yield peer
    peer.stop()


def aliyun(peer: AliyunSmsPeer, **kw) -> AliyunSms:
    args = {"access_key_id": peer.access_key_id, "access_key_secret": peer.access_key_secret,
            "sign_name": "湘易办", "endpoint": peer.base, "timeout": 5} | kw
    return AliyunSms(**args)


def tencent(peer: TencentSmsPeer, **kw) -> TencentSms:
    args = {"secret_id": peer.secret_id, "secret_key": peer.secret_key, "sdk_app_id": peer.sdk_app_id,
            "sign_name": "湘易办", "endpoint": peer.base, "timeout": 5} | kw
    return TencentSms(**args)


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def key() -> str:
    return f"notif-{uuid.uuid4().hex}"


# --- signatures against the providers' published examples ---------------------------------------------

def test_aliyun_signature_matches_the_documented_example():
    # Alibaba Cloud's RPC V2 signature walkthrough: DescribeRegions, AccessKeySecret "testsecret".
    params = {"AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML", "SignatureMethod": "HMAC-SHA1",
              "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "SignatureVersion": "1.0",
              "Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26"}
    assert aliyun_rpc_signature("GET", params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    assert aliyun_expected_signature("GET", params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_tc3_signature_matches_the_documented_example():
    # Tencent Cloud's signature v3 walkthrough: CVM DescribeInstances at 1551113065.
    payload = rb'{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}'
    expected = "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
    headers = {"content-type": "application/json; charset=utf-8", "host": "cvm.tencentcloudapi.com"}
    auth = tc3_authorization("AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******", "Gu5t9xGARNpq86cd98joQYCN3*******", "cvm",
                             1551113065, headers, payload)
    assert auth == ("TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, "
                    f"SignedHeaders=content-type;host, Signature={expected}")
    canonical = "content-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n"
    assert tc3_expected_signature("Gu5t9xGARNpq86cd98joQYCN3*******", "2019-02-25", "cvm", "1551113065", "POST",
                                  canonical, "content-type;host", payload) == expected


# --- successful sends -----------------------------------------------------------------------------------

def test_aliyun_send_is_accepted_and_arrives_intact(aliyun_peer):
    k = key()
    result = aliyun(aliyun_peer).send(PHONE, "SMS_465870123", PARAMS, k)
    assert result.provider == "aliyun"
    [d] = aliyun_peer.deliveries
    assert (d.phone, d.sign_name, d.template, d.params, d.key) == (PHONE, "湘易办", "SMS_465870123", PARAMS, k)
    assert d.message_id == result.message_id


def test_aliyun_accepts_plus86_and_sends_the_bare_number(aliyun_peer):
    aliyun(aliyun_peer).send("+8613812345678", "SMS_1", {"code": "1"}, key())
    assert aliyun_peer.deliveries[0].phone == PHONE


def test_tencent_send_is_accepted_and_arrives_intact(tencent_peer):
    k = key()
    result = tencent(tencent_peer).send(PHONE, "1865432", ["张*", "7KQ2M-9XH4P"], k)
    assert result.provider == "tencent"
    [d] = tencent_peer.deliveries
    assert (d.phone, d.sign_name, d.template, d.params, d.key) == ("+8613812345678", "湘易办", "1865432",
                                                                   ["张*", "7KQ2M-9XH4P"], k)
    assert d.message_id == result.message_id


def test_tencent_dict_params_go_in_positional_order(tencent_peer):
    client = tencent(tencent_peer)
    client.send(PHONE, "1", {"2": "7KQ2M-9XH4P", "1": "张*", "10": "x", "3": "y"}, key())
    client.send(PHONE, "1", PARAMS, key())  # named keys: insertion order
    assert tencent_peer.deliveries[0].params == ["张*", "7KQ2M-9XH4P", "y", "x"]
    assert tencent_peer.deliveries[1].params == list(PARAMS.values())


def test_each_request_has_a_fresh_nonce_and_a_replayed_one_is_refused(aliyun_peer, monkeypatch):
    client = aliyun(aliyun_peer)
    client.send(PHONE, "SMS_1", {"code": "1"}, key())
    client.send(PHONE, "SMS_1", {"code": "2"}, key())
    assert len(aliyun_peer.deliveries) == 2
    fixed = uuid.uuid4()
    monkeypatch.setattr(sms_providers.uuid, "uuid4", lambda: fixed)
    client.send(PHONE, "SMS_1", {"code": "3"}, key())
    with pytest.raises(SmsError) as err:
        client.send(PHONE, "SMS_1", {"code": "4"}, key())
    assert err.value.code == "SignatureNonceUsed" and err.value.retryable  # a retry draws a new nonce


# --- refused credentials ----------------------------------------------------------------------------------

def test_aliyun_wrong_secret_is_refused_and_not_retryable(aliyun_peer):
    with pytest.raises(SmsError) as err:
        aliyun(aliyun_peer, access_key_secret="not-the-secret").send(PHONE, "SMS_1", PARAMS, key())
    assert err.value.code == "SignatureDoesNotMatch" and not err.value.retryable
    assert err.value.request_id
    # The provider echoes its string to sign (phone, code); it must not end up in our error.
    assert PHONE not in str(err.value) and "7KQ2M" not in str(err.value)
    assert aliyun_peer.deliveries == []


def test_aliyun_unknown_access_key_is_not_retryable(aliyun_peer):
    with pytest.raises(SmsError) as err:
        aliyun(aliyun_peer, access_key_id="LTAI-other").send(PHONE, "SMS_1", PARAMS, key())
    assert err.value.code == "InvalidAccessKeyId.NotFound" and not err.value.retryable


def test_tencent_wrong_secret_is_refused_and_not_retryable(tencent_peer):
    with pytest.raises(SmsError) as err:
        tencent(tencent_peer, secret_key="not-the-key").send(PHONE, "1", ["1"], key())
    assert err.value.code == "AuthFailure.SignatureFailure" and not err.value.retryable
    assert tencent_peer.deliveries == []


def test_tencent_unknown_secret_id_is_not_retryable(tencent_peer):
    with pytest.raises(SmsError) as err:
        tencent(tencent_peer, secret_id="AKID-other").send(PHONE, "1", ["1"], key())
    assert err.value.code == "AuthFailure.SecretIdNotFound" and not err.value.retryable


# --- transient failures --------------------------------------------------------------------------------

def test_aliyun_flow_control_is_retryable_and_a_retry_delivers_once(aliyun_peer):
    client, k = aliyun(aliyun_peer), key()
    aliyun_peer.fail_next = 1
    with pytest.raises(SmsError) as err:
        client.send(PHONE, "SMS_1", PARAMS, k)
    assert err.value.code == "isv.BUSINESS_LIMIT_CONTROL" and err.value.retryable
    client.send(PHONE, "SMS_1", PARAMS, k)
    assert len(aliyun_peer.deliveries_for(k)) == 1 and aliyun_peer.duplicates == 0


def test_tencent_frequency_limit_is_retryable_and_a_retry_delivers_once(tencent_peer):
    client, k = tencent(tencent_peer), key()
    tencent_peer.fail_next = 1
    with pytest.raises(SmsError) as err:
        client.send(PHONE, "1", ["1"], k)
    assert err.value.code == "LimitExceeded.PhoneNumberThirtySecondLimit" and err.value.retryable
    client.send(PHONE, "1", ["1"], k)
    assert len(tencent_peer.deliveries_for(k)) == 1 and tencent_peer.duplicates == 0


@pytest.mark.parametrize("which", ["aliyun", "tencent"])
def test_http_500_is_retryable(which, aliyun_peer, tencent_peer):
    peer = aliyun_peer if which == "aliyun" else tencent_peer
    client = aliyun(peer) if which == "aliyun" else tencent(peer)
    peer.fail_next, peer.fail_with = 2, "http500"
    for _ in range(2):
        with pytest.raises(SmsError) as err:
            client.send(PHONE, "SMS_1", {"code": "1"}, key())
        assert err.value.retryable
    assert peer.deliveries == []
    client.send(PHONE, "SMS_1", {"code": "1"}, key())
    assert len(peer.deliveries) == 1


@pytest.mark.parametrize("make", [
    lambda url: AliyunSms("id", "secret", "湘易办", endpoint=url, timeout=2),
    lambda url: TencentSms("id", "key", "1400000001", "湘易办", endpoint=url, timeout=2),
], ids=["aliyun", "tencent"])
def test_connection_refused_is_retryable(make):
    with pytest.raises(SmsError) as err:
        make(closed_port_url()).send(PHONE, "SMS_1", {"code": "1"}, key())
    assert err.value.code == "network.connect" and err.value.retryable


def test_a_timeout_is_retryable_but_the_message_may_have_gone(aliyun_peer):
    client, k = aliyun(aliyun_peer, timeout=0.3), key()
    aliyun_peer.delay = 1.0
    with pytest.raises(SmsError) as err:
        client.send(PHONE, "SMS_1", PARAMS, k)
    assert err.value.code == "network.timeout" and err.value.retryable
    aliyun_peer.delay = 0
    client.send(PHONE, "SMS_1", PARAMS, k)
    # Providers do not de-duplicate on OutId: retrying after a timeout can send twice.
    assert len(aliyun_peer.deliveries_for(k)) == 2 and aliyun_peer.duplicates == 1


# --- permanent failures ---------------------------------------------------------------------------------

def test_aliyun_business_errors_are_not_retryable(aliyun_peer):
    client = aliyun(aliyun_peer)
    aliyun_peer.templates["SMS_2"] = ["name", "code", "deadline"]
    with pytest.raises(SmsError) as err:
        client.send(PHONE, "SMS_2", PARAMS, key())
    assert err.value.code == "isv.TEMPLATE_MISSING_PARAMETERS" and not err.value.retryable
    aliyun_peer.permanent_error = "isv.MOBILE_NUMBER_ILLEGAL"
    with pytest.raises(SmsError) as err:
        client.send(PHONE, "SMS_1", PARAMS, key())
    assert err.value.code == "isv.MOBILE_NUMBER_ILLEGAL" and not err.value.retryable


def test_tencent_business_errors_are_not_retryable(tencent_peer):
    client = tencent(tencent_peer)
    tencent_peer.templates["9"] = 3
    with pytest.raises(SmsError) as err:
        client.send(PHONE, "9", ["only one"], key())
    assert err.value.code == "FailedOperation.TemplateParamSetNotMatchApprovedTemplate" and not err.value.retryable
    tencent_peer.permanent_error = "InvalidParameterValue.IncorrectPhoneNumber"
    with pytest.raises(SmsError) as err:
        client.send(PHONE, "1", ["1"], key())
    assert err.value.code == "InvalidParameterValue.IncorrectPhoneNumber" and not err.value.retryable
    assert tencent_peer.deliveries == []


@pytest.mark.parametrize("phone", ["1381234567", "23812345678", "+1 2025550123", "138-1234-5678", ""])
def test_a_bad_number_is_refused_before_any_request(phone, aliyun_peer, tencent_peer):
    for client in (aliyun(aliyun_peer), tencent(tencent_peer)):
        with pytest.raises(SmsError) as err:
            client.send(phone, "1", {"code": "1"}, key())
        assert err.value.code == "invalid_phone" and not err.value.retryable
    assert aliyun_peer.received == tencent_peer.received == 0


# --- idempotency keys -------------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["aliyun", "tencent"])
def test_peers_count_repeats_of_a_key_like_the_real_services(which, aliyun_peer, tencent_peer):
    peer = aliyun_peer if which == "aliyun" else tencent_peer
    client = aliyun(peer) if which == "aliyun" else tencent(peer)
    k = key()
    first = client.send(PHONE, "1", {"code": "1"}, k)
    second = client.send(PHONE, "1", {"code": "1"}, k)
    assert first.message_id != second.message_id
    assert len(peer.deliveries_for(k)) == 2 and peer.duplicates == 1

    peer.dedupe = True
    third = client.send(PHONE, "1", {"code": "1"}, k)
    assert third.message_id == first.message_id
    assert len(peer.deliveries_for(k)) == 2 and peer.duplicates == 2

"""一次性告知 through the JSON API: a department asks for two materials with a note, the family sees exactly those,
uploads photos of exactly those (every other material is frozen), and declares them supplied; the clerk then sees
``supplied`` and goes on as from a new item. Also the texts naming the channel the family uses."""

from __future__ import annotations

import io

import pytest

from miniapp_api.extensions import db
from miniapp_api.models import Applicant, AuditEvent, Case, Notification, WorkItem
from miniapp_api.services import notify
from tests.test_uploads import photo
from tests.test_workflow import hunan_case, item_id, move, staff  # noqa: F401 (fixtures)

ASKED = ["household_register", "cremation_certificate"]
NOTE = "户口页要逝者本人那一页；火化证明要盖章的那页"


def send(client, headers, code, material, *files):
    data = {"file": [(io.BytesIO(f), "photo.jpg") for f in files]}
    return client.post(f"/api/v1/cases/{code}/supplements/{material}/pages", data=data, headers=headers,
                       content_type="multipart/form-data")


@pytest.fixture()
def asked(client, staff, hunan_case):  # noqa: F811
    family, case = hunan_case
    item = item_id(case, "hukou_cancellation")
    response = move(client, staff["hn_police"], item, "needs_supplement", missing=[*ASKED, "逝者生前住址"], reason=NOTE)
    assert response.status_code == 200, response.get_json()
    return family, case["tracking_code"], item


def test_the_family_sees_what_is_asked_with_the_note(client, asked):
    family, code, item = asked
    body = client.get(f"/api/v1/cases/{code}/supplements", headers=family).get_json()
    assert [(r["item"], r["materials"], r["other"], r["note"]) for r in body["requests"]] == \
        [(item, ASKED, ["逝者生前住址"], NOTE)]
    assert [m["id"] for m in body["materials"]] == ASKED
    assert all(m["new_pages"] == 0 for m in body["materials"])
    assert body["materials"][0]["name"].startswith("死亡人员户口页")  # the region's own wording


def test_only_the_asked_materials_take_photos_and_the_rest_stay_frozen(client, app, asked):
    family, code, _ = asked
    refused = send(client, family, code, "applicant_id_card", photo())
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "material_not_requested"
    with app.app_context():
        case = db.session.scalars(db.select(Case)).one()
        sid = case.questionnaire_id
    old = client.post(f"/api/v1/questionnaires/{sid}/materials/household_register/pages",
                      data={"file": [(io.BytesIO(photo()), "p.jpg")]}, headers=family, content_type="multipart/form-data")
    assert old.status_code == 409 and old.get_json()["error"]["code"] == "already_submitted"  # the old way: frozen
    sent = send(client, family, code, "household_register", photo())
    assert sent.status_code == 201, sent.get_json()
    page = sent.get_json()["pages"][0]
    assert page["material"] == "household_register"
    listing = client.get(f"/api/v1/cases/{code}/supplements", headers=family).get_json()
    assert [m["new_pages"] for m in listing["materials"]] == [1, 0]
    assert listing["materials"][0]["pages"][-1]["new"] is True
    # A photo sent for the request can be taken back before 「我已补齐」.
    assert client.delete(f"/api/v1/cases/{code}/supplements/pages/{page['id']}", headers=family).status_code == 204
    assert client.delete(f"/api/v1/cases/{code}/supplements/pages/{page['id']}", headers=family).status_code == 404
    assert send(client, family, code, "household_register").get_json()["error"]["code"] == "no_file"


def test_declaring_supplied_needs_a_photo_of_every_asked_material(client, app, staff, asked):  # noqa: F811
    family, code, item = asked
    nothing = client.post(f"/api/v1/cases/{code}/supplied", headers=family)
    assert nothing.status_code == 409
    error = nothing.get_json()["error"]
    assert error["code"] == "supplement_incomplete" and error["fields"]["materials"] == ASKED
    assert "户口页" in error["message"] and "household" in error["message_en"].lower()
    assert send(client, family, code, "household_register", photo()).status_code == 201
    half = client.post(f"/api/v1/cases/{code}/supplied", headers=family).get_json()["error"]
    assert half["fields"]["materials"] == ["cremation_certificate"]
    per_item = client.post(f"/api/v1/cases/{code}/items/{item}/supplied", headers=family)  # the per-item way: same rule
    assert per_item.status_code == 409 and per_item.get_json()["error"]["code"] == "supplement_incomplete"
    assert send(client, family, code, "cremation_certificate", photo(), photo(orientation=1)).status_code == 201

    done = client.post(f"/api/v1/cases/{code}/supplied", headers=family)
    assert done.status_code == 200
    mine = next(w for w in done.get_json()["work_items"] if w["id"] == item)
    assert mine["status"] == "supplied" and mine["missing"][:2] == ASKED  # the clerk checks the new pages against it
    with app.app_context():
        last = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert last.actor.startswith("applicant:") and (last.from_status, last.to_status) == ("needs_supplement", "supplied")

    # The clerk sees it as supplied, and goes on from there as from a new item.
    listed = client.get("/api/v1/staff/work-items?status=supplied", headers=staff["hn_police"]).get_json()
    assert [w["id"] for w in listed["items"]] == [item] and listed["items"][0]["status"] == "supplied"
    again = client.post(f"/api/v1/cases/{code}/supplied", headers=family)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "supplement_not_requested"
    late = send(client, family, code, "household_register", photo())
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "material_not_requested"  # frozen again
    assert move(client, staff["hn_police"], item, "accepted").status_code == 200
    with app.app_context():
        assert db.session.get(WorkItem, item).missing == []


def test_a_request_naming_only_typed_things_is_supplied_without_photos(client, staff, hunan_case):  # noqa: F811
    family, case = hunan_case
    item = item_id(case, "hukou_cancellation")
    assert move(client, staff["hn_police"], item, "needs_supplement", missing=["开户行名称"]).status_code == 200
    code = case["tracking_code"]
    assert client.get(f"/api/v1/cases/{code}/supplements", headers=family).get_json()["materials"] == []
    assert client.post(f"/api/v1/cases/{code}/supplied", headers=family).status_code == 200


def test_another_family_and_strangers_get_nothing(client, app, wechat_peer, asked):
    from tests.test_applications import sign_in

    _, code, _ = asked
    other = sign_in(client, app, wechat_peer, "wechat")
    for response in (client.get(f"/api/v1/cases/{code}/supplements", headers=other),
                     send(client, other, code, "household_register", photo()),
                     client.post(f"/api/v1/cases/{code}/supplied", headers=other)):
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "case_not_found"
    assert client.get(f"/api/v1/cases/{code}/supplements").status_code == 401


@pytest.mark.parametrize(("channel", "words"), [
    ("wechat", "请在小程序中补充"), ("host:xiangyiban", "请在湘易办中补充"), ("sms", "请打开https://zwfw.example.cn/h5/status补充"),
    ("window", "请带上材料到窗口补充")])
def test_the_supplement_text_names_the_channel_the_family_uses(app, channel, words):
    with app.app_context():
        app.config["HOST_CHANNELS"] = {**app.config["HOST_CHANNELS"], "xiangyiban": {"app_name": "湘易办"}}
        app.config["H5_PUBLIC_URL"] = "https://zwfw.example.cn/h5/"
        applicant = Applicant(id="x", channel=channel, channel_user_id="u")
        assert notify.channel_hints(applicant)["supply_where"] == words


def test_the_supplement_text_is_sent_with_the_channel_words_and_fits(client, app, asked):
    with app.app_context():
        note = db.session.scalars(db.select(Notification).filter_by(event="needs_supplement")).one()
        text = note.payload["text"] if "text" in note.payload else str(note.payload)
        assert "小程序" in text or note.channel == "wechat"  # the hunan_case family signed in with WeChat
        assert "查询码" in text and "受理编号" not in text
        assert len(text) <= app.config["NOTIFY_SMS_MAX_CHARS"]


def test_a_long_list_of_missing_things_is_cut_to_fit_one_text(app):
    context = {"code": "7KQ2M-9XH4P", "matter": "死亡人员户口注销", "supply_where": "请打开https://zwfw.example.cn/h5/status补充",
               "missing_names": [f"很长很长的材料名称第{i}项" for i in range(12)]}
    context["missing"] = "、".join(context["missing_names"])
    with app.app_context():
        text = notify.render_sms("needs_supplement", context, 140)
    assert len(text) <= 140 and "等12项" in text and "很长很长的材料名称第0项" in text

"""Issue 13, the upload pipeline: what an attack round got through, each reproduced over HTTP.

- PDFs carrying scripts or launch actions reached staff byte for byte: every PDF is now rebuilt from
  its pages' contents, and PDFs are always downloaded (``Content-Disposition: attachment``), never
  opened in the browser's viewer from our origin.
- Decode cost: a tiny 16-bit PNG cost ~390 MB to decode, and parallel uploads stalled the workers:
  lossless formats have a lower pixel cap read from the header, decodes per process are bounded
  (503 ``busy_try_again``) and uploads are rate limited per address and per questionnaire (429)."""

from __future__ import annotations

import io
import re

import pikepdf
import pytest

from miniapp_api.services import uploads as upload_service
from tests import pdfs
from tests.test_applications import HUNAN, first_choice, give_consent, good_form, questionnaire, sign_in, submit
from tests.test_imaging import png_bomb
from tests.test_uploads import photo, stored_files, upload

MATERIAL = "applicant_id_card"


@pytest.fixture()
def family(client, app, wechat_peer):
    headers = sign_in(client, app, wechat_peer, "wechat")
    return headers, questionnaire(client, headers)


def anonymous(client, address: str = "127.0.0.1") -> tuple[dict, str]:
    """An anonymous questionnaire walked to its end from ``address``: (its X-Resume-Secret header, its id)."""
    env = {"REMOTE_ADDR": address}
    state = client.post("/api/v1/questionnaires", json={"region": "hunan"}, environ_base=env).get_json()
    headers = {"X-Resume-Secret": state["resume_secret"]}
    while not state["complete"]:
        q = state["current"]
        state = client.post(f"/api/v1/questionnaires/{state['id']}/answers", headers=headers, environ_base=env,
                            json={"question": q["id"], "value": HUNAN.get(q["id"], first_choice(q))}).get_json()
    give_consent(client, headers, state["id"])
    return headers, state["id"]


# --- 2. PDFs carrying JavaScript --------------------------------------------------------------------------

def _served(client, headers, sid, page_id):
    response = client.get(f"/api/v1/questionnaires/{sid}/pages/{page_id}", headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    return response.data


@pytest.mark.parametrize("vector", sorted(pdfs.VECTORS))
def test_an_active_pdf_is_stored_and_served_as_its_pages_only(client, app, family, vector):
    headers, sid = family
    sent = pdfs.malicious(vector, pages=2)
    assert pdfs.active_parts(sent)  # the attack is really in what is sent
    response = upload(client, headers, sid, MATERIAL, sent, name="scan.pdf")
    assert response.status_code == 201, response.get_json()
    page = response.get_json()["pages"][0]
    assert page["pages"] == 2 and page["mimetype"] == "application/pdf"
    served = _served(client, headers, sid, page["id"])
    [stored] = stored_files(app)
    key = stored.relative_to(app.config["UPLOAD_FOLDER"]).as_posix()
    assert app.extensions["storage"].get(key) == served != sent  # what is kept is the rebuilt file, never the original
    assert not stored.read_bytes().startswith(b"%PDF")  # and it is kept encrypted
    assert pdfs.active_parts(served) == set()
    assert pdfs.texts(served) == pdfs.texts(sent) == ["Death certificate, page 1", "Death certificate, page 2"]
    with pikepdf.open(io.BytesIO(served)) as rebuilt, pikepdf.open(io.BytesIO(sent)) as original:
        assert len(rebuilt.pages) == 2
        for new, old in zip(rebuilt.pages, original.pages, strict=True):
            assert list(new.mediabox) == list(old.mediabox)
            assert new.obj.Contents.read_bytes() == old.obj.Contents.read_bytes()


def test_a_filled_in_form_keeps_what_was_typed_but_not_its_scripts(client, app, family):
    headers, sid = family
    response = upload(client, headers, sid, MATERIAL, pdfs.filled_form(), name="form.pdf")
    assert response.status_code == 201, response.get_json()
    served = _served(client, headers, sid, response.get_json()["pages"][0]["id"])
    assert pdfs.active_parts(served) == set()
    [text] = pdfs.texts(served)
    assert "Death certificate, page 1" in text and "ZHANG SAN FILLED" in text  # the field's appearance, flattened


def test_a_plain_pdf_still_uploads_with_its_pages(client, family):
    headers, sid = family
    sent = pdfs.plain(3)
    response = upload(client, headers, sid, MATERIAL, sent, name="certificate.pdf")
    assert response.status_code == 201, response.get_json()
    page = response.get_json()["pages"][0]
    assert page["pages"] == 3
    assert pdfs.texts(_served(client, headers, sid, page["id"])) == pdfs.texts(sent)


def test_every_pdf_download_is_an_attachment(client, app, wechat_peer):
    """Family's and staff's page downloads, in the API and on the pages, and every printed application:
    a PDF never opens in a viewer running under our origin."""
    from tests.test_console_pages import console_sign_in, make_staff
    from tests.test_h5_pages import Family
    from tests.test_workflow import PASSWORD

    headers = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, headers)
    page = upload(client, headers, sid, MATERIAL, pdfs.plain(1), name="x.pdf").get_json()["pages"][0]
    client.put(f"/api/v1/questionnaires/{sid}/form", json=good_form(), headers=headers)
    code = submit(client, headers, sid).get_json()["tracking_code"]
    make_staff(app, "hn_police")
    token = client.post("/api/v1/staff/auth", json={"username": "hn_police", "password": PASSWORD}).get_json()["token"]
    staff = {"Authorization": f"Bearer {token}"}
    downloads = {
        "family page": client.get(f"/api/v1/questionnaires/{sid}/pages/{page['id']}", headers=headers),
        "family application": client.get(f"/api/v1/cases/{code}/application.pdf", headers=headers),
        "staff page": client.get(f"/api/v1/staff/cases/{code}/pages/{page['id']}", headers=staff),
    }
    console = app.test_client()
    assert console_sign_in(console, "hn_police").status_code == 302
    downloads["console page"] = console.get(f"/console/cases/{code}/pages/{page['id']}/image")
    downloads["console application"] = console.get(f"/console/cases/{code}/application.pdf")

    h5 = Family(app.test_client(), app)
    h5.start()
    h5.answer_all()
    h5.get(f"/h5/materials/{MATERIAL}")
    h5.post(f"/h5/materials/{MATERIAL}", {"file": (io.BytesIO(pdfs.plain(1)), "x.pdf")}, content_type="multipart/form-data")
    link = re.search(r'<a href="(/h5/pages/\d+)" download>', h5.get(f"/h5/materials/{MATERIAL}").get_data(as_text=True))
    assert link, "the material page links the PDF as a download"
    downloads["h5 page"] = h5.get(link.group(1))
    h5.sign_in()
    done = h5.submit()
    downloads["h5 application"] = h5.get(done.location + "/application.pdf")

    for what, response in downloads.items():
        assert response.status_code == 200 and response.mimetype == "application/pdf", what
        assert response.headers.get("Content-Disposition", "").startswith("attachment"), what
        assert response.headers.get("X-Content-Type-Options") == "nosniff", what


# --- 5. decode cost -----------------------------------------------------------------------------------

def test_a_sixteen_bit_png_bomb_is_refused_from_its_header(client, app, family):
    headers, sid = family
    bomb = png_bomb(6300, bits=16)  # ~80 KB; decoded as it was: ~390 MB and 1.2 s
    assert len(bomb) < 100_000
    response = upload(client, headers, sid, MATERIAL, bomb, name="x.png")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "image_too_large" and error["message"] and error["message_en"]
    assert stored_files(app) == []


@pytest.fixture()
def limits(app):
    saved = {k: app.config[k] for k in ("UPLOAD_LIMITS_PER_ADDRESS", "UPLOAD_LIMITS_PER_QUESTIONNAIRE")}
    yield app.config
    app.config.update(saved)


def _refused_as_rate_limited(response) -> None:
    assert response.status_code == 429, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "upload_rate_limited" and error["message"] and error["message_en"]
    assert int(response.headers["Retry-After"]) > 0


def test_uploads_per_questionnaire_are_limited(client, family, limits):
    limits["UPLOAD_LIMITS_PER_QUESTIONNAIRE"] = "3 per hour"
    headers, sid = family
    image = photo()
    assert upload(client, headers, sid, MATERIAL, image, image).status_code == 201  # two files count two
    assert upload(client, headers, sid, MATERIAL, image).status_code == 201
    _refused_as_rate_limited(upload(client, headers, sid, MATERIAL, image))
    page = client.get(f"/api/v1/questionnaires/{sid}/materials", headers=headers).get_json()["materials"][0]["pages"][0]
    replaced = client.put(f"/api/v1/questionnaires/{sid}/pages/{page['id']}", headers=headers,
                          data={"file": (io.BytesIO(image), "x.jpg")}, content_type="multipart/form-data")
    _refused_as_rate_limited(replaced)
    other = questionnaire(client, headers)  # the same family's other questionnaire has its own allowance
    assert upload(client, headers, other, MATERIAL, image).status_code == 201


def test_a_strangers_refused_attempts_do_not_use_up_a_familys_allowance(client, app, wechat_peer, family, limits):
    limits["UPLOAD_LIMITS_PER_QUESTIONNAIRE"] = "2 per hour"
    headers, sid = family
    stranger = sign_in(client, app, wechat_peer, "sms")
    for _ in range(3):
        assert upload(client, stranger, sid, MATERIAL, photo()).status_code == 403
    assert upload(client, headers, sid, MATERIAL, photo(), photo()).status_code == 201


def test_uploads_per_address_are_limited_across_questionnaires(client, limits):
    limits["UPLOAD_LIMITS_PER_ADDRESS"] = "3 per hour"
    image = photo()
    results = []
    for _ in range(4):  # a new anonymous questionnaire each time: the address still counts
        headers, sid = anonymous(client, "203.0.113.9")
        results.append(client.post(f"/api/v1/questionnaires/{sid}/materials/{MATERIAL}/pages", headers=headers,
                                   data={"file": (io.BytesIO(image), "x.jpg")}, content_type="multipart/form-data",
                                   environ_base={"REMOTE_ADDR": "203.0.113.9"}))
    assert [r.status_code for r in results[:3]] == [201, 201, 201]
    _refused_as_rate_limited(results[3])
    headers, sid = anonymous(client, "198.51.100.4")  # another address is not held back
    assert client.post(f"/api/v1/questionnaires/{sid}/materials/{MATERIAL}/pages", headers=headers,
                       data={"file": (io.BytesIO(image), "x.jpg")}, content_type="multipart/form-data",
                       environ_base={"REMOTE_ADDR": "198.51.100.4"}).status_code == 201


def test_h5_uploads_are_limited_with_a_friendly_page(client, app, limits):
    from tests.test_h5_pages import Family, text

    limits["UPLOAD_LIMITS_PER_QUESTIONNAIRE"] = "1 per hour"
    h5 = Family(client, app)
    h5.start()
    h5.answer_all()
    h5.get(f"/h5/materials/{MATERIAL}")
    post = lambda: h5.post(f"/h5/materials/{MATERIAL}", {"file": (io.BytesIO(photo()), "x.jpg")},  # noqa: E731
                           content_type="multipart/form-data")
    assert post().status_code == 302
    limited = post()
    assert limited.status_code == 429 and "太频繁" in text(limited) and int(limited.headers["Retry-After"]) > 0


def test_busy_decoders_answer_503_with_retry_after_and_store_nothing(client, app, family):
    headers, sid = family
    app.config["UPLOAD_DECODE_WAIT"] = 0.1  # seconds an upload waits for a slot
    with app.app_context():
        slots = upload_service.decode_slots()
        held = 0
        while slots.acquire(blocking=False):  # every decode slot of this process taken, as by long uploads
            held += 1
    assert held == app.config["UPLOAD_MAX_CONCURRENT_DECODES"]
    try:
        response = upload(client, headers, sid, MATERIAL, photo())
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "busy_try_again"
        assert int(response.headers["Retry-After"]) > 0
        assert stored_files(app) == []
    finally:
        for _ in range(held):
            slots.release()
        app.config["UPLOAD_DECODE_WAIT"] = 3
    assert upload(client, headers, sid, MATERIAL, photo()).status_code == 201

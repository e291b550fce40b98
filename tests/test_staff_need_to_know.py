"""Each clerk sees what their own matters need (issue 13, item 12): a department sees the photos of the
materials its matters of the case list (the case's checklist), the bank accounts only if it pays money out
(application_form.MONEY_DEPARTMENTS), its own matters of the checklist; the one-stop window sees all of a case
of its region; a supervisor opens no case and sees no personal data, in the staff API and in the console."""

from __future__ import annotations

import json
import re

import pytest

from tests.test_applications import APPLICANT_ID, DECEASED_ID, good_form, make_card, questionnaire, sign_in, submit
from tests.test_console_pages import console_sign_in, make_staff, text_of
from tests.test_uploads import photo, upload
from tests.test_workflow import PASSWORD

CARD = make_card()
# Hunan: hukou_cancellation (public_security) lists the household register; the pension payout and survivor
# benefits (hrss) list the social security card; every matter lists the applicant's ID card.
PHOTOS = ("applicant_id_card", "household_register", "social_security_card")


@pytest.fixture()
def case_with_photos(client, app, wechat_peer):
    make_staff(app, "hn_window", "hn_police", "hn_hrss", "hn_super")
    family = sign_in(client, app, wechat_peer, "wechat")
    sid = questionnaire(client, family)
    pages = {}
    for material in PHOTOS:
        response = upload(client, family, sid, material, photo())
        assert response.status_code == 201, response.get_json()
        pages[material] = response.get_json()["pages"][0]["id"]
    form = good_form()
    form["accounts"][0]["account_number"] = CARD
    client.put(f"/api/v1/questionnaires/{sid}/form", json=form, headers=family)
    case = submit(client, family, sid)
    assert case.status_code == 201, case.get_json()
    return case.get_json()["tracking_code"], pages


def token(client, username: str) -> dict[str, str]:
    response = client.post("/api/v1/staff/auth", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def api_view(client, username: str, code: str, pages: dict[str, int]) -> tuple[dict, str, set[str]]:
    """The case as this clerk's API call returns it, and which of the photos they may open."""
    headers = token(client, username)
    response = client.get(f"/api/v1/staff/cases/{code}", headers=headers)
    assert response.status_code == 200, response.get_json()
    opened = {m for m, page in pages.items()
              if client.get(f"/api/v1/staff/cases/{code}/pages/{page}?size=thumb", headers=headers).status_code == 200}
    return response.get_json(), json.dumps(response.get_json(), ensure_ascii=False), opened


def test_the_police_see_no_bank_account_and_only_their_matters_photos(client, case_with_photos):
    code, pages = case_with_photos
    body, text, opened = api_view(client, "hn_police", code, pages)
    assert CARD not in text and "中国工商银行" not in text
    assert body["accounts"] == [] and "accounts" in body["withheld"]
    assert opened == {"applicant_id_card", "household_register"}  # not the social security card
    refused = client.get(f"/api/v1/staff/cases/{code}/pages/{pages['social_security_card']}", headers=token(client, "hn_police"))
    assert refused.status_code == 404 and refused.get_json()["error"]["code"] == "page_not_found"
    assert {m["id"] for m in body["checklist"]["matters"]} == {"hukou_cancellation"}
    assert "social_security_card" not in {m["id"] for m in body["checklist"]["materials"]}
    assert {w["department"] for w in body["work_items"]} == {"public_security"}
    assert DECEASED_ID in text and APPLICANT_ID in text  # who died and who applies: every matter's business


def test_social_security_sees_the_account_and_its_photos(client, case_with_photos):
    code, pages = case_with_photos
    body, text, opened = api_view(client, "hn_hrss", code, pages)
    assert body["accounts"][0]["account_number"] == CARD and body["withheld"] == []
    assert opened == {"applicant_id_card", "social_security_card"}  # not the household register
    assert {m["id"] for m in body["checklist"]["matters"]} == {"pension_account_payout", "survivor_benefits"}


def test_the_window_sees_the_whole_case(client, case_with_photos):
    code, pages = case_with_photos
    body, text, opened = api_view(client, "hn_window", code, pages)
    assert body["accounts"][0]["account_number"] == CARD and body["withheld"] == []
    assert opened == set(PHOTOS)
    assert {m["id"] for m in body["checklist"]["matters"]} >= {"hukou_cancellation", "pension_account_payout"}


def test_a_supervisor_opens_no_case_and_sees_no_personal_data(client, case_with_photos):
    code, pages = case_with_photos
    headers = token(client, "hn_super")
    assert client.get(f"/api/v1/staff/cases/{code}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/staff/cases/{code}/pages/{pages['applicant_id_card']}", headers=headers).status_code == 404
    seen = "".join(client.get(url, headers=headers).get_data(as_text=True) for url in
                   ("/api/v1/staff/supervision", "/api/v1/staff/ratings", "/api/v1/staff/notifications/dead"))
    console_sign_in(client, "hn_super")
    seen += "".join(text_of(client.get(url)) for url in ("/console/supervision", "/console/notifications"))
    assert client.get(f"/console/cases/{code}").status_code == 403
    for secret in (CARD, DECEASED_ID, APPLICANT_ID, "13800138000", "张三丰", "张小梅"):
        assert secret not in seen


def test_the_console_shows_each_clerk_what_their_matters_need(client, case_with_photos):
    code, pages = case_with_photos
    shown = {}
    for username in ("hn_police", "hn_hrss", "hn_window"):
        console_sign_in(client, username)
        page = text_of(client.get(f"/console/cases/{code}"))
        thumbs = {int(p) for p in re.findall(r"/pages/(\d+)/image\?size=thumb", page)}
        images = {m for m, p in pages.items() if client.get(f"/console/cases/{code}/pages/{p}/image").status_code == 200}
        viewers = {m for m, p in pages.items() if client.get(f"/console/cases/{code}/pages/{p}").status_code == 200}
        shown[username] = (page, {m for m, p in pages.items() if p in thumbs}, images, viewers)
        client.post("/console/sign-out", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)})
    police, hrss, window = shown["hn_police"], shown["hn_hrss"], shown["hn_window"]
    assert CARD not in police[0] and "收款账户" not in police[0] and "中国工商银行" not in police[0]
    assert police[1] == police[2] == police[3] == {"applicant_id_card", "household_register"}
    assert CARD in hrss[0] and hrss[1] == hrss[2] == hrss[3] == {"applicant_id_card", "social_security_card"}
    assert CARD in window[0] and window[1] == window[2] == window[3] == set(PHOTOS)
    assert DECEASED_ID in police[0] and APPLICANT_ID in police[0]


# --- The declared table (config/need_to_know.yaml, issue 16 item 6) ------------------------------------------

def test_the_declared_table_says_todays_rule():
    """By default the file says what the code did before it: the money departments see the accounts, the others
    not; every department the photos of its own matters; the window everything; a supervisor nothing."""
    from miniapp_api.domain import need_to_know
    from miniapp_api.domain.application_form import MONEY_DEPARTMENTS
    from miniapp_api.domain.vocabulary import load_vocabulary

    departments = list(load_vocabulary().departments)
    table = need_to_know.load(need_to_know.DEFAULT_FILE, departments)
    assert set(table) == {*departments, "window", "supervisor"}
    for department in departments:
        rule = table[department]
        assert rule.photos == "own_matters", department
        money = {"accounts"} if department in MONEY_DEPARTMENTS else set()
        assert rule.fields == {"deceased", "applicant", "proxy", "other"} | money, department
    assert table["window"].fields == set(need_to_know.GROUPS) and table["window"].photos == "all"
    assert table["supervisor"].fields == frozenset() and table["supervisor"].photos == "none"


def test_a_broken_table_is_refused_at_start_naming_every_problem(app, tmp_path):
    from miniapp_api import create_app
    from miniapp_api.domain import need_to_know

    text = need_to_know.DEFAULT_FILE.read_text(encoding="utf-8")
    broken = re.sub(r"(?m)^  health:.*\n(    .*\n)*", "", text)  # a department left out
    broken = broken.replace("photos: own_matters", "photos: everything", 1)  # a value the table does not know
    broken = re.sub(r"(?m)^(  supervisor:\n    fields: )\[\]", r"\1[applicant, bank]", broken)
    path = tmp_path / "need_to_know.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(need_to_know.NeedToKnowError) as caught:
        need_to_know.load(path, ["health", "public_security", "hrss"])
    message = str(caught.value)
    for expected in ("health", "everything", "bank", "supervisor"):
        assert expected in message, message
    with pytest.raises(RuntimeError, match="need_to_know.yaml"):
        create_app({"TESTING": True, "SECRET_KEY": "test-secret", "NEED_TO_KNOW_FILE": str(path),
                    "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    path.write_text("sees: [1, 2]\n", encoding="utf-8")
    with pytest.raises(need_to_know.NeedToKnowError, match="sees"):
        need_to_know.load(path, ["health"])


@pytest.fixture()
def changed_table(app, tmp_path):
    """Another server, on the same database and store, started with a test copy of the table: the police see the
    deceased and the accounts and every photo, nothing of the applicant; social security no photo, no account."""
    from miniapp_api import create_app
    from miniapp_api.domain import need_to_know

    text = need_to_know.DEFAULT_FILE.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(  public_security:\n    fields: )\[[^]]*\]\n    photos: own_matters",
                  r"\1[deceased, accounts]\n    photos: all", text)
    text = re.sub(r"(?m)^(  hrss:\n    fields: )\[[^]]*\]\n    photos: own_matters",
                  r"\1[deceased, applicant]\n    photos: none", text)
    path = tmp_path / "need_to_know.yaml"
    path.write_text(text, encoding="utf-8")
    other = create_app({"TESTING": True, "SECRET_KEY": app.config["SECRET_KEY"], "NEED_TO_KNOW_FILE": str(path),
                        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                        "REDIS_URL": app.config["REDIS_URL"], "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"],
                        "STAFF_REQUIRE_TOTP": False})
    yield other
    with other.app_context():
        from miniapp_api.extensions import db

        db.session.remove()
        db.engine.dispose()


def test_a_changed_table_changes_what_each_clerk_is_shown(client, case_with_photos, changed_table):
    code, pages = case_with_photos
    other = changed_table.test_client()
    police, text, opened = api_view(other, "hn_police", code, pages)
    assert police["accounts"][0]["account_number"] == CARD and DECEASED_ID in text
    assert police["applicant"] == {} and APPLICANT_ID not in text and "13800138000" not in text and "张小梅" not in text
    assert police["withheld"] == ["applicant", "proxy", "other"]
    assert "长沙市芙蓉区某路1号" not in text  # the applicant's address: "other"
    assert opened == set(PHOTOS)
    hrss, text, opened = api_view(other, "hn_hrss", code, pages)
    assert hrss["accounts"] == [] and CARD not in text and APPLICANT_ID in text and opened == set()
    assert hrss["withheld"] == ["proxy", "accounts", "other"]

    console_sign_in(other, "hn_police")
    page = text_of(other.get(f"/console/cases/{code}"))
    assert CARD in page and DECEASED_ID in page
    assert APPLICANT_ID not in page and "13800138000" not in page and "张小梅" not in page
    printed = text_of(other.get(f"/console/cases/{code}/application.html"))
    assert "张三丰" in printed and "张小梅" not in printed and "长沙市芙蓉区某路1号" not in printed
    assert CARD[-4:] in printed  # the accounts, masked as on every print-out


def test_config_readme_shows_the_table_as_shipped():
    """The table of who sees what in config/README.md is the file's, row by row."""
    from pathlib import Path

    from miniapp_api.domain import need_to_know
    from miniapp_api.domain.vocabulary import load_vocabulary

    table = need_to_know.load(need_to_know.DEFAULT_FILE, load_vocabulary().departments)
    readme = (Path(need_to_know.DEFAULT_FILE).parent / "README.md").read_text(encoding="utf-8")
    rows = {m.group(1): [c.strip() for c in m.group(2).split("|")]
            for m in re.finditer(r"(?m)^\| `([a-z_]+)` [^|]*\|(.*)\|$", readme)}
    assert set(rows) >= set(table)
    photos = {"own_matters": "own matters", "all": "all", "none": "none"}
    for name, rule in table.items():
        cells = rows[name]
        assert cells[:5] == ["✓" if g in rule.fields else "—" for g in need_to_know.GROUPS], name
        assert cells[5] == photos[rule.photos], name

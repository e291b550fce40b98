"""The printed application form: escaped HTML, and a PDF whose Chinese text really extracts."""

from __future__ import annotations

import copy
import io

import pytest
from pypdf import PdfReader

from miniapp_api import printing
from miniapp_api.printing import format_time, qr_svg, render_application_html, render_application_pdf

CASE = {
    "tracking_code": "7KQ2M-9XH4P",
    "region": "hunan",
    "region_name": "湖南省",
    "submitted_at": "2026-11-26T10:00:00+08:00",
    "deceased": {"name": "张三丰", "gender": "male", "ethnicity": "汉族", "id_number": "430102********0017",
                 "death_date": "2026-11-20", "death_place": "长沙市第一医院", "hukou_address": "湖南省长沙市芙蓉区",
                 "cremation_date": "2026-11-22"},
    "applicant": {"name": "张小明", "id_number": "430102********0031", "relationship": "child",
                  "relationship_label": "子女", "phone": "138****5678", "address": "长沙市芙蓉区某路1号",
                  "employer": "某公司"},
    "proxy": None,
    "accounts": [{"purpose": "养老保险、丧葬补助金", "payee": "deceased_social_security_card",
                  "payee_label": "逝者社会保障卡", "bank_name": "中国工商银行", "holder_name": "张三丰",
                  "account_number": "6222********1234"}],
    "matters": [{"id": "hukou_cancellation", "name": "死亡人员户口注销", "department": "public_security",
                 "department_name": "公安", "status": "submitted", "time_limit_text": "2个工作日内"}],
    "materials": [{"id": "death_certificate", "name": "死亡证明"}],
    "commitment": {"text": "申请人承诺遵守国家和地方各项殡葬政策规定……", "accepted_at": "2026-11-26T09:59:00+08:00"},
}
PROXY = {"name": "李四", "id_number": "430103********0052", "phone": "139****0001", "address": "长沙市天心区某街2号",
         "relationship_to_principal": "朋友",
         "authorization": {"reason": "申请人在外地", "valid_from": "2026-11-25", "valid_to": "2026-12-25"}}
XSS = "<script>alert(1)</script>"


def case(**changes) -> dict:
    result = copy.deepcopy(CASE)
    result.update(changes)
    return result


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


# ------------------------------------------------------------------------------------------------ HTML


def test_html_prints_every_section_with_the_tracking_code_and_its_qr():
    html = render_application_html(CASE)
    assert "公民身后“一件事一次办”申请表" in html and "湖南省" in html
    assert "7KQ2M-9XH4P" in html and "<svg" in html
    for text in ["逝者基本情况", "申请人（委托人）基本情况", "收款账户", "申请办理事项", "一套材料", "申请人承诺",
                 "申请时间", "张三丰", "男", "430102********0017", "子女", "6222********1234", "死亡人员户口注销",
                 "公安", "已提交", "2个工作日内", "死亡证明", "殡葬政策", "2026年11月26日 09:59",
                 "2026年11月26日 10:00", "2026年11月20日"]:
        assert text in html, text


def test_html_escapes_everything_the_family_typed():
    html = render_application_html(case(
        deceased={**CASE["deceased"], "name": XSS},
        applicant={**CASE["applicant"], "address": '"><img src=x onerror=alert(2)>'},
        materials=[{"name": "<b>bold</b>"}],
        commitment={"text": "<iframe>", "accepted_at": None},
    ))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "&lt;img src=x" in html
    assert "<b>bold" not in html and "<iframe>" not in html


def test_proxy_section_only_when_there_is_a_proxy():
    assert "被委托人基本情况" not in render_application_html(CASE)
    assert "被委托人基本情况" not in pdf_text(render_application_pdf(CASE))
    html = render_application_html(case(proxy=PROXY))
    assert "被委托人基本情况" in html and "李四" in html and "2026年11月25日 至 2026年12月25日" in html
    assert "被委托人基本情况" in pdf_text(render_application_pdf(case(proxy=PROXY)))


def test_a_proxy_without_an_authorization_prints_the_forms_proxy_section_only():
    """Issue 14 item 11: Xinjiang's 「被委托人基本情况（如无被委托人，无需填写）」 prints 「姓名」「身份证件号码」「常住地址」
    「工作单位」; with no separate 授权委托书 there is no 委托事由 or 委托期限 to print."""
    proxy = {"name": "李四", "id_number": "650102********0052", "phone": "139****0001",
             "address": "乌鲁木齐市天山区某路2号", "employer": "某公司"}
    html = render_application_html(case(proxy=proxy))
    assert "被委托人基本情况" in html and "某公司" in html and "乌鲁木齐市天山区某路2号" in html
    assert "委托事由" not in html and "委托期限" not in html
    assert "委托事由" in render_application_html(case(proxy=PROXY))


def test_missing_optional_keys_do_not_crash():
    bare = {"tracking_code": "ABCDE-FGHIJ"}
    assert "ABCDE-FGHIJ" in render_application_html(bare)
    assert "ABCDE-FGHIJ" in pdf_text(render_application_pdf(bare))
    assert "（无）" in render_application_html(bare)
    assert render_application_html({})  # not even a code: no QR, still a page


def test_times_print_in_china_time_and_odd_values_print_as_given():
    assert format_time("2026-11-25T18:30:00+00:00") == "2026年11月26日 02:30"
    assert format_time("2026-11-20") == "2026年11月20日"
    assert format_time("去年冬天") == "去年冬天"
    assert format_time(None) == ""


def test_qr_is_a_full_qr_code_svg():
    svg = qr_svg("7KQ2M-9XH4P")
    assert svg.startswith("<svg") and "<path" in svg and 'width="25mm"' in svg  # version 1: 21 modules + border


# ------------------------------------------------------------------------------------------------- PDF

FONTS = [
    pytest.param(None, id="default"),
    pytest.param(printing.CID_FONT, id="cid-STSong-Light"),
    *(pytest.param(str(path), id=path.name) for path in printing.SYSTEM_CJK_FONTS if path.is_file()),
]


@pytest.mark.parametrize("font", FONTS)
def test_pdf_text_extracts_as_real_chinese(font):
    pdf = render_application_pdf(case(proxy=PROXY), font=font)
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    for expected in ["7KQ2M-9XH4P", "张三丰", "湖南省", "公民身后“一件事一次办”申请表", "死亡人员户口注销",
                     "430102********0017", "6222********1234", "李四"]:
        assert expected in text, expected


def test_pdf_prints_markup_in_names_literally():
    text = pdf_text(render_application_pdf(case(deceased={**CASE["deceased"], "name": XSS},
                                                applicant={**CASE["applicant"], "employer": "A&B <公司>"})))
    assert XSS in text and "A&B <公司>" in text


def test_pdf_embeds_a_system_font_when_one_is_installed():
    if not any(path.is_file() for path in printing.SYSTEM_CJK_FONTS):
        pytest.skip("no TrueType CJK font installed (apt-get install fonts-arphic-uming)")
    fonts = PdfReader(io.BytesIO(render_application_pdf(CASE))).pages[0]["/Resources"]["/Font"]
    assert any("/FontFile2" in font.get_object()["/FontDescriptor"] for font in fonts.values()
               if "/FontDescriptor" in font.get_object())

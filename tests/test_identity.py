"""Personal number checks. Elderly people carry ID numbers whose area code was created after
their birth (IDs were issued from 1984 on): those must be accepted."""

import pytest
from stdnum.cn import ric

from miniapp_api.domain.identity import IdentityError, bank_card, mask_account, mask_id, mask_phone, mobile, resident_id


def make_id(area: str, birth: str, seq: str = "001") -> str:
    body = area + birth + seq
    return body + ric.calc_check_digit(body + "0")


def test_elderly_person_with_an_area_code_newer_than_their_birth_is_accepted():
    # 430102 is 长沙市芙蓉区 since 1996 (东区 1983–1995); a man born in 1940 there holds this number.
    person = resident_id(make_id("430102", "19400101"))
    assert person.birth_date.year == 1940 and person.gender == "male"


@pytest.mark.parametrize(
    ("number", "code"),
    [
        (make_id("430102", "19400101")[:-1] + "9" if make_id("430102", "19400101")[-1] != "9" else "0",
         "id_number_invalid"),
        (make_id("999999", "19400101"), "id_number_invalid"),  # no such area
        (make_id("430102", "19401301"), "id_number_invalid"),  # month 13
        ("43010219400101", "id_number_length"),
        ("", "id_number_length"),
    ],
)
def test_bad_id_numbers(number, code):
    with pytest.raises(IdentityError) as exc:
        resident_id(number)
    assert exc.value.code == code


def test_gender_from_the_17th_digit_and_x_check_digit():
    assert resident_id(make_id("110105", "19491231", "002")).gender == "female"
    with_x = next(make_id("110105", "19800101", f"{n:03d}") for n in range(1000)
                  if make_id("110105", "19800101", f"{n:03d}").endswith("X"))
    assert resident_id(with_x.lower()).number == with_x


def test_mobile_and_bank_card_and_masks():
    assert mobile("+86 138 0013 8000") == "13800138000"
    with pytest.raises(IdentityError):
        mobile("010-12345678")
    assert bank_card("6222 0200 0000 0001 230") == "6222020000000001230"
    with pytest.raises(IdentityError):
        bank_card("6222020000000001237")
    assert mask_id("110105194912310021") == "110105********0021"
    assert mask_account("6222020000000001238") == "6222***********1238"
    assert mask_phone("13800138000") == "138****8000"

"""Checks and masks for personal numbers, on well-kept libraries: python-stdnum (resident ID
numbers, Luhn) and phonenumbers (mainland mobiles). Every failure says which rule in both languages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import phonenumbers
from stdnum import luhn, numdb
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

# Loaded once when the module is imported (each server process at start), not on a family's first form.
_AREA_CODES = numdb.get("cn/loc")


class IdentityError(ValueError):
    def __init__(self, code: str, message: str, message_en: str):
        super().__init__(message_en)
        self.code = code
        self.message = message
        self.message_en = message_en


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: dt.date
    gender: str  # male / female, from the 17th digit's parity

    def age_on(self, day: dt.date) -> int:
        years = day.year - self.birth_date.year
        return years - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))


def resident_id(value: str) -> ResidentId:
    """An 18-digit resident identity number: check digit, real birth date, known area code.

    python-stdnum's own ``validate`` also insists that the area code existed in the birth year, which
    refuses many elderly people (numbers were issued from 1984, with the codes of that time), so the
    area is checked against every period of its database instead.
    """
    number = ric.compact(value or "").upper()
    if len(number) != 18:
        raise IdentityError("id_number_length", "身份证号码应为18位", "the ID number must have 18 characters")
    invalid = IdentityError("id_number_invalid", "身份证号码有误，请核对（校验位、出生日期或地区码不符）",
                            "the ID number is not valid (check digit, birth date or area code wrong)")
    if not number[:-1].isdigit() or number[-1] != ric.calc_check_digit(number):
        raise invalid
    try:
        birth = ric.get_birth_date(number)
    except StdnumError:
        raise invalid from None
    if birth > dt.date.today() or not _AREA_CODES.info(number[:6])[-1][1]:
        raise invalid
    gender = "male" if int(number[16]) % 2 else "female"
    return ResidentId(number=number, birth_date=birth, gender=gender)


def mobile(value: str) -> str:
    """A mainland China mobile number in national form (11 digits)."""
    try:
        parsed = phonenumbers.parse(value or "", "CN")
    except phonenumbers.NumberParseException:
        parsed = None
    ok = (
        parsed is not None
        and parsed.country_code == 86
        and phonenumbers.is_valid_number(parsed)
        and phonenumbers.number_type(parsed) in (phonenumbers.PhoneNumberType.MOBILE,
                                                  phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    )
    if not ok:
        raise IdentityError("phone_invalid", "请填写正确的11位大陆手机号码", "please give a valid mainland mobile number")
    return str(parsed.national_number)


def bank_card(value: str) -> str:
    """A bank card number: 12–19 digits passing the Luhn check."""
    digits = "".join(ch for ch in (value or "") if not ch.isspace())
    if not digits.isdigit() or not 12 <= len(digits) <= 19 or not luhn.is_valid(digits):
        raise IdentityError("bank_card_invalid", "银行卡号有误，请核对", "the bank card number is not valid")
    return digits


def mask_id(number: str) -> str:
    return number[:6] + "*" * 8 + number[-4:] if len(number) >= 10 else "*" * len(number)


def mask_account(number: str) -> str:
    return number[:4] + "*" * (len(number) - 8) + number[-4:] if len(number) > 8 else "*" * len(number)


def mask_phone(number: str) -> str:
    return number[:3] + "****" + number[-4:] if len(number) == 11 else "*" * len(number)


def mask_name(name: str) -> str:
    """张三丰 -> 张**: enough for the family to recognise, little for anyone else."""
    return name[:1] + "*" * (len(name) - 1) if name else name

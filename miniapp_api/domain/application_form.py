"""The one form (一张表单): what a complete, consistent application must hold.

Pure Python. ``check_form`` returns every problem at once (一次性告知), keyed by the field's
dotted path (``applicant.id_number``), each message in Chinese and English, so the family can
fix everything in one go. Facts from the questionnaire are never asked again: the form reads
them (death date, relationship, proxy) instead of its own copies. A fact the region's form needs
(``form.facts``) that the questionnaire did not ask on this family's path is asked on the form, and
from then on the case reads that one value like any other fact.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from typing import Any

from .dialogs import Dialog, FormFact
from .identity import IdentityError, ResidentId, bank_card, mobile, resident_id
from .vocabulary import FactError, load_vocabulary, parse_date, validate_fact

Errors = dict[str, list[str]]
MONEY_DEPARTMENTS = ("hrss", "medical_security", "housing_fund", "veterans_affairs")
# Facts the one form itself reads (the dates' order, the printed 与逝者关系): each region's questionnaire
# answers them on every path that submits, or its ``form.facts`` names the field that asks them.
FORM_FACTS = ("death_date", "relationship")
# Every fact the form's own rules read (``check_form``): a question that sets one of these is never idle.
FORM_RULE_FACTS = (*FORM_FACTS, "applicant_is_proxy")


def _add(errors: Errors, field: str, zh: str, en: str) -> None:
    errors.setdefault(field, []).append(f"{zh} / {en}")


def _text(form: Mapping[str, Any], section: str, key: str, errors: Errors, label: str, label_en: str,
          required: bool = True, max_length: int = 100) -> str | None:
    value = (form.get(section) or {}).get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            _add(errors, f"{section}.{key}", f"请填写{label}", f"{label_en} is required")
        return None
    if not isinstance(value, str) or len(value.strip()) > max_length:
        _add(errors, f"{section}.{key}", f"{label}不能超过{max_length}字", f"{label_en} is too long")
        return None
    return value.strip()


def _id(form: Mapping[str, Any], section: str, errors: Errors, label: str, label_en: str) -> ResidentId | None:
    raw = _text(form, section, "id_number", errors, label, label_en, max_length=24)
    if raw is None:
        return None
    try:
        return resident_id(raw)
    except IdentityError as exc:
        _add(errors, f"{section}.id_number", exc.message, exc.message_en)
        return None


def _date(form: Mapping[str, Any], section: str, key: str, errors: Errors, label: str, label_en: str,
          today: dt.date, required: bool = True) -> dt.date | None:
    raw = (form.get(section) or {}).get(key)
    if raw in (None, ""):
        if required:
            _add(errors, f"{section}.{key}", f"请填写{label}", f"{label_en} is required")
        return None
    day = parse_date(raw)
    if day is None:
        _add(errors, f"{section}.{key}", f"{label}应为日期，例如 2026-01-31", f"{label_en} must be a date like 2026-01-31")
    elif day > today:
        _add(errors, f"{section}.{key}", f"{label}不能晚于今天", f"{label_en} cannot be in the future")
        return None
    return day


def asked_on_form(dialog: Dialog, facts: Mapping[str, Any]) -> list[FormFact]:
    """The form facts the questionnaire did not answer on this path: the form asks these (a department's
    field only while its ``when`` holds, e.g. that department's matter was asked for)."""
    return [f for f in dialog.form_facts if f.field and f.fact not in facts
            and (f.when is None or f.when.evaluate(facts) is True)]


def _form_value(spec: FormFact, raw: Any) -> Any:
    """A posted value in the fact's own shape: HTML posts "true"/"false" for a yes/no field and a single
    value (or several) for a list field, whose exclusive option (都没有) is the empty list."""
    if any(isinstance(o.value, bool) for o in spec.options) and raw in ("true", "false"):
        return raw == "true"
    if spec.multiple:
        values = raw if isinstance(raw, list) else [raw]
        if any(not isinstance(v, str) for v in values):
            return values
        exclusive = {o.value for o in spec.options if o.exclusive}
        if exclusive & set(values):
            return [] if len(values) == 1 else None
        return values
    return raw.strip() if isinstance(raw, str) else raw


def value_at(form: Mapping[str, Any], path: str) -> Any:
    node: Any = form
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def with_answers(form: Mapping[str, Any], dialog: Dialog, facts: Mapping[str, Any]) -> dict[str, Any]:
    """The form with every field bound to an answered fact set to that answer, so the case, the print-out
    and every department read one value (a copy typed on the form never wins over the questionnaire)."""
    out = copy.deepcopy(dict(form))
    for spec in dialog.form_facts:
        if spec.field and spec.fact in facts:
            *parents, leaf = spec.field.split(".")
            node = out
            for part in parents:
                if not isinstance(node.get(part), dict):
                    node[part] = {}
                node = node[part]
            node[leaf] = facts[spec.fact]
    return out


def form_facts(form: Mapping[str, Any], dialog: Dialog, facts: Mapping[str, Any], errors: Errors | None = None,
               today: dt.date | None = None) -> dict[str, Any]:
    """The facts the form supplies (validated); problems go to ``errors`` under each fact's field."""
    errors = {} if errors is None else errors
    specs = load_vocabulary().facts
    out: dict[str, Any] = {}
    asked = {id(f) for f in asked_on_form(dialog, facts)}
    for spec in dialog.form_facts:
        if spec.fact in facts or (spec.field is not None and id(spec) not in asked):
            continue
        if spec.field is None:
            _add(errors, "questionnaire", f"请先在问答中回答：{spec.label.zh}",
                 f"answer in the questionnaire first: {spec.label.en}")
            continue
        raw = value_at(form, spec.field)
        if raw is None or (isinstance(raw, str | list) and not raw) or (isinstance(raw, str) and not raw.strip()):
            _add(errors, spec.field, f"请填写{spec.label.zh}", f"{spec.label.en} is required")
            continue
        try:
            value = validate_fact(specs[spec.fact], _form_value(spec, raw), today)
        except FactError:
            value = None
        offered = {o.value for o in spec.options if not o.exclusive}
        if value is None or (spec.options and not (set(value) <= offered if spec.multiple else value in offered)):
            if spec.options:
                _add(errors, spec.field, f"请从选项中选择{spec.label.zh}", f"choose {spec.label.en} from the list")
            elif specs[spec.fact].type == "date":
                _add(errors, spec.field, f"{spec.label.zh}应为不晚于今天的日期，如 2024-05-01",
                     f"{spec.label.en} must be a date no later than today, e.g. 2024-05-01")
            else:
                _add(errors, spec.field, f"{spec.label.zh}的填写不正确", f"{spec.label.en} is not valid")
            continue
        out[spec.fact] = value
    return out


def check_form(form: Mapping[str, Any], facts: Mapping[str, Any], checklist: Mapping[str, Any], dialog: Dialog,
               today: dt.date | None = None) -> Errors:
    """Every problem that stops this form from being submitted; empty when it can go.

    Only fields the form has are named: a matter the checklist blocks is simply not submitted (it never
    stops the others), so no precondition of a matter becomes a form error."""
    today = today or dt.date.today()
    errors: Errors = {}
    rules = dialog.form
    facts = {**facts, **form_facts(form, dialog, facts, errors, today)}

    # The deceased.
    _text(form, "deceased", "name", errors, "逝者姓名", "the deceased's name", max_length=50)
    gender = (form.get("deceased") or {}).get("gender")
    if gender not in ("male", "female"):
        _add(errors, "deceased.gender", "请选择逝者性别", "the deceased's gender must be male or female")
    _text(form, "deceased", "ethnicity", errors, "民族", "ethnicity", required=False, max_length=20)
    _text(form, "deceased", "death_place", errors, "死亡地点", "place of death", required=False)
    _text(form, "deceased", "hukou_address", errors, "户籍所在地", "household registration", required=False)
    deceased = _id(form, "deceased", errors, "逝者身份证号码", "the deceased's ID number")
    death = parse_date(facts.get("death_date"))
    if deceased and gender in ("male", "female") and deceased.gender != gender:
        _add(errors, "deceased.gender", "性别与身份证号码不符", "the gender does not match the ID number")
    if deceased and death and deceased.birth_date > death:
        _add(errors, "deceased.id_number", "身份证上的出生日期晚于死亡日期", "the birth date on the ID is after the death")
    cremation = _date(form, "deceased", "cremation_date", errors, "火化日期", "the cremation date", today, False)
    if cremation and death and cremation < death:
        _add(errors, "deceased.cremation_date", "火化日期不能早于死亡日期", "cremation cannot be before the death")

    # The applicant.
    _text(form, "applicant", "name", errors, "申请人姓名", "the applicant's name", max_length=50)
    _text(form, "applicant", "address", errors, "常住地址", "the applicant's address", max_length=200)
    _text(form, "applicant", "employer", errors, "工作单位", "employer", required=False)
    phone = _text(form, "applicant", "phone", errors, "联系电话", "the applicant's phone", max_length=20)
    if phone:
        try:
            mobile(phone)
        except IdentityError as exc:
            _add(errors, "applicant.phone", exc.message, exc.message_en)
    applicant = _id(form, "applicant", errors, "申请人身份证号码", "the applicant's ID number")
    if applicant and deceased and applicant.number == deceased.number:
        _add(errors, "applicant.id_number", "申请人不能是逝者本人", "the applicant cannot be the deceased")
    if applicant:
        _check_age(applicant.age_on(today), form, rules, errors)

    # The proxy: required exactly when the family said a proxy applies.
    if facts.get("applicant_is_proxy") is True:
        _check_proxy(form, errors, today, needs_authorization(dialog))

    # Where the money goes.
    money = [m for m in checklist.get("matters", []) if m["status"] == "required"
             and m["department"] in MONEY_DEPARTMENTS]
    _check_accounts(form, rules["payees"], bool(money), errors)

    # The commitment must be accepted explicitly.
    if form.get("commitment_accepted") is not True:
        _add(errors, "commitment_accepted", "请阅读并同意申请人承诺", "read and accept the applicant's commitment")

    return errors


def _check_age(age: int, form: Mapping[str, Any], rules: Mapping[str, Any], errors: Errors) -> None:
    minimum = rules.get("applicant_min_age", 16)
    adult = rules.get("adult_age", 18)
    if age < minimum:
        _add(errors, "applicant.id_number", f"申请人须年满{minimum}周岁", f"the applicant must be at least {minimum}")
    elif age < adult and rules.get("minor_requires_self_support"):
        if (form.get("applicant") or {}).get("self_supporting") is not True:
            _add(errors, "applicant.self_supporting",
                 f"未满{adult}周岁的申请人须以本人劳动收入为主要生活来源",
                 f"an applicant under {adult} must live mainly on their own earnings")


def needs_authorization(dialog: Dialog) -> bool:
    """Whether a proxy brings a separate 授权委托书; a region whose one form itself names the 被委托人
    (Xinjiang) says ``proxy_authorization: false``."""
    return dialog.form.get("proxy_authorization", True)


def _check_proxy(form: Mapping[str, Any], errors: Errors, today: dt.date, authorization_needed: bool = True) -> None:
    if not isinstance(form.get("proxy"), dict):
        if authorization_needed:
            _add(errors, "proxy", "委托办理须填写被委托人信息和授权委托书",
                 "a proxy application needs the proxy and the power of attorney")
        else:
            _add(errors, "proxy", "委托办理须填写被委托人信息", "a proxy application needs the proxy's details")
        return
    _text(form, "proxy", "name", errors, "受托人姓名", "the proxy's name", max_length=50)
    _id(form, "proxy", errors, "受托人身份证号码", "the proxy's ID number")
    phone = _text(form, "proxy", "phone", errors, "受托人联系电话", "the proxy's phone", max_length=20)
    if phone:
        try:
            mobile(phone)
        except IdentityError as exc:
            _add(errors, "proxy.phone", exc.message, exc.message_en)
    if not authorization_needed:
        return
    authorization = form["proxy"].get("authorization")
    if not isinstance(authorization, dict) or authorization.get("signed") is not True:
        _add(errors, "proxy.authorization", "请上传并确认委托人签署的授权委托书",
             "the power of attorney signed by the principal is required")
        return
    if not str(authorization.get("reason") or "").strip():
        _add(errors, "proxy.authorization.reason", "请填写委托原因（如因病行动不便）", "give the reason for the proxy")
    valid_to = parse_date(authorization.get("valid_to"))
    if valid_to is None:
        _add(errors, "proxy.authorization.valid_to", "请填写委托期限", "give the end of the authorization")
    elif valid_to < today:
        _add(errors, "proxy.authorization.valid_to", "授权委托已过期", "the authorization has expired")


def _check_accounts(form: Mapping[str, Any], payees: list[str], needed: bool, errors: Errors) -> None:
    accounts = form.get("accounts")
    if not accounts:
        if needed:
            _add(errors, "accounts", "请填写收款账户", "give the account the money is paid into")
        return
    if not isinstance(accounts, list):
        _add(errors, "accounts", "收款账户格式有误", "accounts must be a list")
        return
    for i, account in enumerate(accounts):
        where = f"accounts.{i}"
        if not isinstance(account, dict):
            _add(errors, where, "收款账户格式有误", "an account must be an object")
            continue
        if account.get("payee") not in payees:
            _add(errors, f"{where}.payee", f"本地区不支持向该账户付款，可选：{'、'.join(payees)}",
                 f"this region does not pay into that kind of account; one of: {', '.join(payees)}")
        if not str(account.get("holder_name") or "").strip():
            _add(errors, f"{where}.holder_name", "请填写户名", "the account holder's name is required")
        if not str(account.get("bank_name") or "").strip():
            _add(errors, f"{where}.bank_name", "请填写开户行", "the bank is required")
        try:
            bank_card(str(account.get("account_number") or ""))
        except IdentityError as exc:
            _add(errors, f"{where}.account_number", exc.message, exc.message_en)

"""One evaluation, two runtimes (issue 14, item 14): the mini-program evaluates ``show_if`` with json-logic-js
from ``GET /regions/<r>/dialog``; every condition of every region file, with generated fact sets, must give
the same answer there as here, plain and three-valued.

The vectors run through node (``tests/jsonlogic/``, json-logic-js pinned by its package-lock.json): without
node the test is skipped, unless ``REQUIRE_NODE=1`` (set by CI) makes that a failure.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from miniapp_api.cli import dialogs_group
from miniapp_api.domain.conditions import apply
from tests.node import node_for
from tests.walk import walk

JSONLOGIC_DIR = Path(__file__).parent / "jsonlogic"


def _node() -> str:
    return node_for(JSONLOGIC_DIR, "json-logic-js")


def test_every_condition_and_operator_agrees_with_json_logic_js(app, tmp_path):
    """Issue 14: "Export the conditions with generated fact sets as test vectors, and run them in CI through
    json-logic-js … and through our evaluator: every vector agrees". ``plain`` is one JsonLogic evaluation;
    ``expected`` is the three-valued answer (tests/jsonlogic/three_valued.js is how the client gets it)."""
    node = _node()
    path = tmp_path / "vectors.json"
    result = app.test_cli_runner().invoke(dialogs_group, ["vectors", str(path)])
    assert result.exit_code == 0, result.output
    exported = json.loads(path.read_text(encoding="utf-8"))
    conditions, vectors = exported["conditions"], exported["vectors"]
    assert {c["region"] for c in conditions} >= {"hunan", "jining", "inner_mongolia", "xinjiang", "fuyuan"}
    run = subprocess.run([node, str(JSONLOGIC_DIR / "run_vectors.js"), str(path)], capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)
    assert len(results) == len(vectors) > 10_000
    differ = [(conditions[v["condition"]], v, js) for v, js in zip(vectors, results, strict=True)
              if [v["plain"], v["expected"]] != js]
    shown = "\n".join(f"{c['region']}:{c['line']} {c['where']} {json.dumps(c['rule'], ensure_ascii=False)} "
                      f"data={json.dumps(v['data'], ensure_ascii=False)} ours={[v['plain'], v['expected']]} js={js}"
                      for c, v, js in differ[:10])
    assert not differ, f"{len(differ)} vector(s) differ:\n{shown}"
    assert {None, True, False} == {v["expected"] for v in vectors}  # unknown facts are exercised too


def test_three_valued_and_plain_part_only_where_a_fact_is_absent(app, tmp_path):
    """The one place the three-valued rule differs from plain JsonLogic (dialogs/README.md): a fact that is
    not known yet. Where every fact a condition reads is in the data, the answers are the same."""
    path = tmp_path / "vectors.json"
    assert app.test_cli_runner().invoke(dialogs_group, ["vectors", str(path)]).exit_code == 0
    exported = json.loads(path.read_text(encoding="utf-8"))
    parted = 0
    for v in exported["vectors"]:
        domains = exported["conditions"][v["condition"]]["domains"]
        if set(domains) <= set(v["data"]):
            assert v["expected"] == v["plain"], v
        elif v["expected"] != v["plain"]:
            parted += 1
    assert parted > 0


def test_null_compares_as_in_javascript():
    """Bug: the Python library read ``null == false`` (and ``null == 0``) as true, json-logic-js as false,
    so a question the region did not ask counted as answered "no" on the server but not on the phone."""
    assert apply({"==": [{"var": "x"}, False]}, {"x": None}) is False
    assert apply({"!=": [{"var": "x"}, False]}, {"x": None}) is True
    assert apply({"==": [{"var": "x"}, 0]}, {"x": None}) is False
    assert apply({"==": [{"var": "x"}, None]}, {"x": None}) is True
    assert apply({"!=": [{"var": "x"}, True]}, {"x": None}) is True  # how "not answered yes" is written
    assert apply({"==": [{"var": "x"}, 0]}, {"x": ""}) is True  # JavaScript: "" is 0
    assert apply({"in": [True, {"var": "x"}]}, {"x": [1]}) is False  # indexOf is strict
    assert apply({"in": ["", {"var": "x"}]}, {"x": ""}) is False  # json-logic-js: an empty haystack holds nothing
    assert apply({"<": [{"var": "x"}, "1"]}, {"x": None}) is True  # null is 0 in a comparison


def test_dialog_endpoint_gives_what_an_unanswered_fact_is_tried_with(client):
    """What the mini-program needs to evaluate show_if as we do: for each fact a show_if reads, the values an
    unanswered one is tried with (null: cannot be enumerated)."""
    body = client.get("/api/v1/regions/inner_mongolia/dialog").get_json()
    conditional = [q for q in body["questions"] if q["show_if"]]
    assert conditional
    for q in conditional:
        assert set(q["show_if_domains"]) == _facts_read(q["show_if"])
    after_abroad = next(q for q in conditional if "died_abroad" in q["show_if_domains"])
    assert after_abroad["show_if_domains"]["died_abroad"] == [True, False]
    assert all(q["show_if_domains"] is None for q in body["questions"] if not q["show_if"])


def _facts_read(rule) -> set[str]:
    if isinstance(rule, dict):
        found = set()
        for op, args in rule.items():
            if op == "var":
                name = args[0] if isinstance(args, list) else args
                found.add(name.split(".")[0])
            else:
                found |= _facts_read(args)
        return found
    if isinstance(rule, list):
        return set().union(*(_facts_read(r) for r in rule)) if rule else set()
    return set()


# --- What reading null as JavaScript does changes for families -----------------------------------------------

FUYUAN_SCOPE = {"death_type": "normal", "death_place": "medical_institution", "local_death": True,
                "death_date": "2026-01-10", "local_hukou": True, "local_insured": True, "local_cremation": True}


def test_fuyuan_pickup_warning_only_when_the_body_is_said_not_to_be_at_the_funeral_home():
    """Fuyuan 登记表: 「是否已运达殡仪馆（是：殡仪馆名称；否：遗体接运地址、接运时间）」 is asked only with the
    火化前期手续办理 box. Bug: a family that did not tick it was told 「遗体尚未运达殡仪馆：请在登记表中填写遗体接运
    地址和接运时间」, because the unasked answer read as "no" (null == false)."""
    state, checklist = walk("fuyuan", {**FUYUAN_SCOPE, "requested_matters": ["hukou_cancellation"]})
    assert "body_at_funeral_home" not in state.answers
    assert "fuyuan_body_pickup" not in {w["code"] for w in checklist["warnings"]}
    _, not_there = walk("fuyuan", {**FUYUAN_SCOPE, "requested_matters": ["cremation_certificate"],
                                   "body_at_funeral_home": False})
    assert "fuyuan_body_pickup" in {w["code"] for w in not_there["warnings"]}


def test_inner_mongolia_death_abroad_gives_only_its_own_reason():
    """Inner Mongolia: 「在国（境）外死亡的，其死亡医学证明原件及翻译公证书不在“一件事一次办”的材料范围内」 ends the
    questions; a family that is not a proxy must not be told 「仅在逝者只有一位直系亲属或近亲属且身患重疾…才可出具委托书
    委托他人办理」 (the proxy condition reads "not answered yes")."""
    script = {"relationship": "child", "applicant_is_proxy": False, "death_date": "2026-11-20",
              "death_type": "normal", "died_abroad": True}
    state, checklist = walk("inner_mongolia", script)
    assert list(state.answers)[-1] == "died_abroad"
    assert len(checklist["reasons"]) == 1 and "国（境）外" in checklist["reasons"][0]
    assert "proxy_not_allowed" not in {w["code"] for w in checklist["warnings"]}


def test_dialogs_check_refuses_an_operator_missing_an_argument(tmp_path):
    """A missing argument is undefined in json-logic-js and null here, which compare differently
    (``{"<": [-1]}``): ``flask dialogs check`` reports the rule instead of letting the runtimes part."""
    from tests.test_checker import copy_region, edit, problems

    path = copy_region(tmp_path, "xinjiang")
    edit(path, '{"==": [{"var": "funeral_home_registered"}, true]}', '{"==": [{"var": "funeral_home_registered"}]}')
    found = problems(path)
    assert any("operator '==' takes 2 argument(s), given 1" in p for p in found), found

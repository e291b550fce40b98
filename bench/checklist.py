"""How fast the rules and the engine are: median time to evaluate a checklist per region, and to
answer one question through the engine. Figures are printed for people, then one JSON line.

Run: python bench/checklist.py   (from the repository root)

"cold" clears every condition's memo before each evaluation (a family whose facts were never
seen); "warm" lets the memo work (the usual case: families' facts repeat a lot). The headline
``checklist_median_ms`` is the slowest region's cold median.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from miniapp_api.domain import engine, rules  # noqa: E402
from miniapp_api.domain.dialogs import Dialog, Question, load_dialog  # noqa: E402
from miniapp_api.domain.vocabulary import load_vocabulary  # noqa: E402

FAMILIES = 60  # random complete, eligible questionnaires per region
REPEAT = 5  # timings per family


def random_answer(q: Question, rng: random.Random):
    if q.type == "yes_no":
        return rng.random() < 0.5
    if q.type == "single":
        return rng.choice(q.options).value
    if q.type == "multiple":
        plain = [o.value for o in q.options if not o.exclusive]
        exclusive = [o.value for o in q.options if o.exclusive]
        if exclusive and rng.random() < 0.3:
            return [exclusive[0]]
        return rng.sample(plain, rng.randint(1, len(plain)))
    if q.type == "date":
        return (dt.date.today() - dt.timedelta(days=rng.randint(0, 60))).isoformat()
    return "张三"


def walk(dialog: Dialog, rng: random.Random) -> tuple[dict, list[tuple[dict, str, object]]]:
    answers: dict = {}
    steps = []
    while (current := engine.state(dialog, answers).current) is not None:
        value = random_answer(current, rng)
        steps.append((dict(answers), current.id, value))
        answers = engine.answer(dialog, answers, current.id, value)
    return answers, steps


def conditions(dialog: Dialog):
    for q in dialog.questions:
        if q.show_if:
            yield q.show_if
    for c in dialog.eligibility:
        yield c.when
    for m in dialog.matters:
        if m.applies_if:
            yield m.applies_if
        yield from (p.when for p in m.preconditions)
        yield from (u.when for u in m.materials if u.when)
        yield from (t.when for t in m.trips if t.when)
    for w in dialog.warnings:
        yield w.when


def clear(dialog: Dialog) -> None:
    for c in conditions(dialog):
        c.clear_cache()


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    rng = random.Random(20261126)
    results = {}
    answer_times: list[float] = []
    for region in load_vocabulary().regions:
        dialog = load_dialog(region)
        cold, warm = [], []
        families = 0
        while families < FAMILIES:
            answers, steps = walk(dialog, rng)
            facts = engine.state(dialog, answers).rule_facts
            if rules.evaluate_checklist(dialog, facts)["eligible"] is not True:
                continue  # time the families the service actually works for
            families += 1
            for _ in range(REPEAT):
                clear(dialog)
                cold.append(timed(rules.evaluate_checklist, dialog, facts))
                warm.append(timed(rules.evaluate_checklist, dialog, facts))
            before, qid, value = rng.choice(steps)
            clear(dialog)
            answer_times.append(timed(engine.answer, dialog, before, qid, value))
        results[region] = (statistics.median(cold), statistics.median(warm))
        print(f"{region:15s} checklist median: cold {results[region][0]:.3f} ms, warm {results[region][1]:.3f} ms")
    answer_median = statistics.median(answer_times)
    print(f"answer one question (engine, cold) median: {answer_median:.3f} ms over {len(answer_times)} answers")
    slowest = max(results, key=lambda r: results[r][0])
    print(f"slowest region: {slowest}; goal: checklist under 1 ms")
    print(json.dumps({
        "checklist_median_ms": round(results[slowest][0], 4),
        "checklist_warm_median_ms": round(max(w for _, w in results.values()), 4),
        "answer_median_ms": round(answer_median, 4),
    }))


if __name__ == "__main__":
    main()

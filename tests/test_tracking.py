"""Tracking codes: short, unguessable, and a mistyped or swapped character is caught."""

from miniapp_api.domain import tracking


def test_codes_are_ten_characters_readable_and_valid():
    codes = {tracking.new_code() for _ in range(2000)}
    assert len(codes) == 2000  # random, no repeats
    for code in list(codes)[:200]:
        assert len(code) == 10
        assert not set(code) & set("ILOU")
        assert tracking.normalise(code) == code
        assert tracking.normalise(tracking.display(code).lower()) == code


def test_every_single_substitution_is_caught():
    for _ in range(300):
        code = tracking.new_code()
        for i in range(len(code)):
            for ch in tracking.ALPHABET:
                if ch != code[i]:
                    assert tracking.normalise(code[:i] + ch + code[i + 1:]) is None


def test_every_neighbour_swap_is_caught():
    for _ in range(3000):
        code = tracking.new_code()
        for i in range(len(code) - 1):
            if code[i] != code[i + 1]:
                swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
                assert tracking.normalise(swapped) is None, (code, swapped)


def test_confusable_letters_are_read_as_digits_and_junk_is_refused():
    code = tracking.new_code()
    typed = code.replace("0", "O").replace("1", "I")
    assert tracking.normalise(typed) == code
    assert tracking.normalise("") is None
    assert tracking.normalise("ABC") is None
    assert tracking.normalise("'; drop table cases;--") is None

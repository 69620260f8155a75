"""Teacher and multi-turn prompts (paper Table 2, §5.1)."""

from types import SimpleNamespace

from sdpo_cli.config import solve_config
from sdpo_cli.methods.sdpo import build_examples
from sdpo_cli.problem import problem_from_dict
from sdpo_cli.reprompt import (
    FEEDBACK_HEADER,
    INSTRUCTION,
    fit_teacher_messages,
    hint_text,
    multiturn_messages,
    pick_demonstration,
    teacher_messages,
)

PROBLEM = problem_from_dict(
    {
        "id": "q",
        "prompt": "Add two numbers.",
        "system": "Be terse.",
        "verifier": {"kind": "answer", "expected": "1"},
    }
)


def words(text):
    return len(text.split())


def test_feedback_only_path_matches_the_paper_template():
    messages = teacher_messages(PROBLEM, "Wrong Answer\nInput: 1", None, 2000)
    assert messages == [
        {"role": "system", "content": "Be terse."},
        {
            "role": "user",
            "content": "Add two numbers.\n\nThe following is feedback from your unsuccessful "
            "earlier attempt:\nWrong Answer\nInput: 1\n\nCorrectly solve the original question.",
        },
    ]


def test_demonstration_replaces_feedback_and_is_never_the_attempt_itself():
    texts, passed = ["mine", "sibling", "other"], [True, True, False]
    assert pick_demonstration(0, passed, texts) == "sibling"
    assert pick_demonstration(1, passed, texts) == "mine"
    assert pick_demonstration(0, [True, False, False], texts) is None
    content = teacher_messages(PROBLEM, "feedback", "sibling", 2000)[-1]["content"]
    assert "Correct solution:\nsibling" in content and FEEDBACK_HEADER not in content


def test_no_signal_means_no_teacher():
    assert teacher_messages(PROBLEM, "", None, 2000) is None
    assert teacher_messages(PROBLEM, None, None, 2000) is None


def test_caps_keep_question_and_closing_instruction():
    long = "x " * 5000
    content = teacher_messages(PROBLEM, long, None, 300)[-1]["content"]
    assert content.startswith("Add two numbers.") and content.endswith(INSTRUCTION)
    assert "(feedback truncated)" in content and len(content) <= 16 + 2 + len(
        FEEDBACK_HEADER
    ) + 1 + 300 + 2 + len(INSTRUCTION)
    fitted = fit_teacher_messages(PROBLEM, long, None, 2000, max_tokens=200, count_tokens=words)
    assert words(fitted[-1]["content"]) <= 200 and fitted[-1]["content"].endswith(INSTRUCTION)


def test_multiturn_keeps_all_feedback_and_drops_oldest_past_budget():
    messages = multiturn_messages(PROBLEM, ["first", "second"], 1000, words)
    assert messages[-1]["content"] == (
        f"Add two numbers.\n\n{FEEDBACK_HEADER}\n\nfirst\n\nsecond\n\n{INSTRUCTION}"
    )
    short = multiturn_messages(PROBLEM, ["old " * 50, "new"], 30, words)
    assert "old" not in short[-1]["content"] and "new" in short[-1]["content"]
    assert multiturn_messages(PROBLEM, [], 10, words)[-1]["content"] == "Add two numbers."


WRONG = (
    "Wrong Answer\nPassed 1/4 tests.\n\nInput: 1\nOutput: 2\nExpected: 3\n\n"
    "Input: 10\nOutput: 0\nExpected: 30"
)
CRASH = "Runtime Error\nValueError: boom\nLine 3: x = int(s)\nLast input: 'a'"


def test_hint_formats_keep_what_they_name():
    assert hint_text(WRONG, "full") == WRONG
    assert hint_text(WRONG, "first") == (
        "Wrong Answer\nPassed 1/4 tests.\n\nInput: 1\nOutput: 2\nExpected: 3"
    )
    assert hint_text(WRONG, "error") == "Wrong Answer\nPassed 1/4 tests."
    assert hint_text(CRASH, "first") == CRASH  # one block: the error is the first failure
    assert hint_text(CRASH, "error") == "Runtime Error\nValueError: boom"


# build_examples needs of a policy only its chat template and token count
TEXT_POLICY = SimpleNamespace(
    chat_ids=lambda messages: list(messages[-1]["content"].encode()), count_tokens=len
)


def failed(text="x", feedback=WRONG, score=0.0):
    return SimpleNamespace(
        passed=False,
        verdict=SimpleNamespace(feedback=feedback, score=score),
        completion=SimpleNamespace(text=text, token_ids=[1], logprobs=[-1.0]),
    )


def test_the_teacher_sees_the_hint_format_of_the_run():
    seen = {}
    for hint in ("full", "first", "error"):
        (example,) = build_examples(TEXT_POLICY, PROBLEM, [failed()], solve_config(hint=hint))
        seen[hint] = bytes(example.teacher_prompt).decode()
    assert "Expected: 30" in seen["full"] and "Expected: 30" not in seen["first"]
    assert "Expected: 3\n" in seen["first"] and "Input:" not in seen["error"]
    assert "Passed 1/4 tests." in seen["error"]


def test_repeated_failures_weigh_what_repeat_weight_says():
    """ "a" was trained on in an earlier round; this round: "a " (the same), "b", "b"."""
    round_ = [failed("a "), failed("b"), failed("b")]
    for weight, want in ((1.0, [1.0, 1.0, 1.0]), (0.25, [0.25, 1.0, 0.25])):
        config = solve_config(repeat_weight=weight)
        built = build_examples(TEXT_POLICY, PROBLEM, round_, config, trained={"a"})
        assert [e.weight for e in built] == want
    skipped = build_examples(TEXT_POLICY, PROBLEM, round_, solve_config(repeat_weight=0.0), {"a"})
    assert [e.teacher_prompt is None for e in skipped] == [True, False, True]


def test_the_round_carries_group_normalised_scores():
    round_ = [failed(score=0.0), failed(score=0.5), failed(score=1.0)]
    built = build_examples(TEXT_POLICY, PROBLEM, round_, solve_config(hybrid=0.5))
    assert [round(e.advantage, 4) for e in built] == [-1.2247, 0.0, 1.2247]


def test_the_teacher_can_see_earlier_rounds_distinct_feedback():
    from sdpo_cli.methods.sdpo import distinct_feedback, teacher_feedback

    earlier = distinct_feedback(
        [[failed(feedback="A"), failed(feedback="A")], [failed(feedback="B")]]
    )
    assert earlier == ["A", "B"]
    assert teacher_feedback(earlier, "C", "full") == "A\n\nB\n\nC"
    assert teacher_feedback(earlier, "A", "full") == "A\n\nB"  # its own is not repeated
    assert teacher_feedback([], None, "full") is None
    (example,) = build_examples(
        TEXT_POLICY, PROBLEM, [failed(feedback="C")], solve_config(), earlier_feedback=earlier
    )
    assert "A\n\nB\n\nC" in bytes(example.teacher_prompt).decode()

"""Teacher and multi-turn prompts (paper Table 2, §5.1)."""

from sdpo_cli.problem import problem_from_dict
from sdpo_cli.reprompt import (
    FEEDBACK_HEADER,
    INSTRUCTION,
    fit_teacher_messages,
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

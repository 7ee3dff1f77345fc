"""The reader's training data: the answerability stage's balanced draw."""

from rag.train.reader_train import SquadQuestion, balanced


def question(n: int, answerable: bool) -> SquadQuestion:
    answers = ((0, "the harbour"),) if answerable else ()
    return SquadQuestion("file.json", "Article", n, f"question {n}?", "the harbour was built", answers)


def test_the_answerability_stage_keeps_every_unanswerable_question_and_draws_as_many_answerable():
    questions = [question(n, answerable=n % 4 != 0) for n in range(40)]  # 10 unanswerable, 30 answerable
    drawn = balanced(questions, seed=13)
    assert [q for q in drawn if not q.answers] == [q for q in questions if not q.answers]
    assert sum(bool(q.answers) for q in drawn) == 10
    assert drawn == sorted(drawn, key=questions.index)  # file order kept
    assert balanced(questions, seed=13) == drawn and balanced(questions, seed=14) != drawn


def test_with_fewer_answerable_than_unanswerable_questions_all_are_kept():
    questions = [question(n, answerable=n < 3) for n in range(10)]
    assert balanced(questions, seed=13) == questions

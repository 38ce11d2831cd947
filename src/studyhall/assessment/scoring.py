"""Pure quiz logic: question snapshots, answer validation and scoring. No I/O."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

from studyhall.assessment.errors import InvalidAnswers, InvalidGrade
from studyhall.assessment.models import QuestionType
from studyhall.assessment.schemas import QuestionIn
from studyhall.core.errors import error_entry

Question = dict[str, Any]


def build_questions(questions: list[QuestionIn]) -> list[Question]:
    """Stored form of a quiz's questions; ids are kept when given, generated otherwise."""
    return [
        {
            "id": str(q.id or uuid.uuid4()),
            "type": q.type.value,
            "text": q.text,
            "points": float(q.points),
            "options": [
                {"id": str(o.id or uuid.uuid4()), "text": o.text, "is_correct": o.is_correct}
                for o in q.options
            ],
        }
        for q in questions
    ]


def attempt_questions(questions: list[Question], *, shuffle: bool, seed: uuid.UUID) -> list[Question]:
    """The questions one attempt asks, shuffled per attempt (deterministically by its id)."""
    ordered = [dict(q) for q in questions]
    if shuffle:
        random.Random(seed.int).shuffle(ordered)
    return ordered


def max_points(questions: list[Question]) -> float:
    return float(sum(q["points"] for q in questions))


@dataclass(frozen=True)
class Score:
    results: list[dict[str, Any]]
    points: float
    max_points: float
    pending_review: bool

    @property
    def percent(self) -> float:
        return percent(self.points, self.max_points)


def percent(points: float, maximum: float) -> float:
    return round(100.0 * points / maximum, 2) if maximum > 0 else 0.0


def _normalised_answers(questions: list[Question], answers: dict[uuid.UUID, Any]) -> dict[str, Any]:
    by_id = {q["id"]: q for q in questions}
    problems: list[dict[str, Any]] = []
    normalised: dict[str, Any] = {}
    for raw_id, value in answers.items():
        loc: list[str | int] = ["body", "answers", str(raw_id)]
        question = by_id.get(str(raw_id))
        if question is None:
            problems.append(error_entry(loc, "This attempt asks no such question", "unknown_question"))
            continue
        problem = _answer_problem(question, value)
        if problem is not None:
            problems.append(error_entry(loc, *problem))
        elif question["type"] == QuestionType.TEXT:
            normalised[question["id"]] = value
        else:
            normalised[question["id"]] = sorted(str(option_id) for option_id in value)
    if problems:
        raise InvalidAnswers("The answers do not fit the attempt's questions; see `errors`.", errors=problems)
    return normalised


def _answer_problem(question: Question, value: Any) -> tuple[str, str] | None:
    """(message, type) of what is wrong with one answer, or None."""
    if question["type"] == QuestionType.TEXT:
        return None if isinstance(value, str) else ("A text question takes a text answer", "text_expected")
    if not isinstance(value, list):
        return "A choice question takes a list of option ids", "option_list_expected"
    chosen = [str(option_id) for option_id in value]
    valid = {o["id"] for o in question["options"]}
    unknown = [option_id for option_id in chosen if option_id not in valid]
    if unknown:
        return f"The question has no option {unknown[0]}", "unknown_option"
    if len(set(chosen)) != len(chosen):
        return "An option is listed twice", "duplicate_option"
    if question["type"] == QuestionType.SINGLE_CHOICE and len(chosen) > 1:
        return "A single_choice question takes one option", "too_many_options"
    return None


def _question_result(question: Question, answer: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "question_id": question["id"],
        "type": question["type"],
        "max_points": question["points"],
        "selected_option_ids": [],
        "correct_option_ids": sorted(o["id"] for o in question["options"] if o["is_correct"]),
        "text_answer": None,
    }
    if question["type"] == QuestionType.TEXT:
        answered = isinstance(answer, str) and answer.strip() != ""
        result["text_answer"] = answer if answered else None
        # An unanswered text question scores 0 at once; an answered one waits for review.
        result["points_awarded"] = None if answered else 0.0
        result["correct"] = None if answered else False
        return result
    selected = answer or []
    correct = selected == result["correct_option_ids"]  # all or nothing, single and multiple
    result["selected_option_ids"] = selected
    result["correct"] = correct
    result["points_awarded"] = question["points"] if correct else 0.0
    return result


def score_answers(questions: list[Question], answers: dict[uuid.UUID, Any]) -> tuple[dict[str, Any], Score]:
    """Validate against the attempt's own questions, then score. Raises `InvalidAnswers`."""
    normalised = _normalised_answers(questions, answers)
    results = [_question_result(q, normalised.get(q["id"])) for q in questions]
    return normalised, totals(results)


def totals(results: list[dict[str, Any]]) -> Score:
    pending = any(r["points_awarded"] is None for r in results)
    points = float(sum(r["points_awarded"] or 0.0 for r in results))
    return Score(results, points, float(sum(r["max_points"] for r in results)), pending)


def apply_manual_grades(results: list[dict[str, Any]], grades: dict[uuid.UUID, float]) -> Score:
    """Points for answered text questions; anything else is an `InvalidGrade`."""
    by_id = {r["question_id"]: r for r in results}
    updated = [dict(r) for r in results]
    index = {r["question_id"]: i for i, r in enumerate(updated)}
    for raw_id, awarded in grades.items():
        result = by_id.get(str(raw_id))
        if result is None or result["type"] != QuestionType.TEXT or result["text_answer"] is None:
            raise InvalidGrade(f"question {raw_id} is not an answered text question of this attempt")
        if awarded > result["max_points"]:
            raise InvalidGrade(f"question {raw_id} is worth at most {result['max_points']} points")
        entry = updated[index[str(raw_id)]]
        entry["points_awarded"] = float(awarded)
        entry["correct"] = awarded >= result["max_points"]
    return totals(updated)

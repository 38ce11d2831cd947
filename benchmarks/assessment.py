"""Assessment benchmarks on PostgreSQL: quiz submission and a 1,000 × 50 gradebook.

    ./dev run python -m benchmarks.assessment [--students 1000] [--items 50] [--submits 300]

Seeds a course with N enrolled students, items/2 quizzes (each student with a graded
attempt) and items/2 graded assignments, boots the server, then measures:
- `POST /attempts/{id}/submit` latency (start + submit pairs, concurrency 8), and
- `GET /courses/{id}/gradebook` as JSON and as CSV (sequential requests).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine
from tests.servers import PostgresServer

from benchmarks.learning import BENCH_SECRET as SECRET
from benchmarks.run import serving
from benchmarks.sessions import mint_token, session_rows
from studyhall.assessment.models import Assignment, Quiz, QuizAttempt, Submission
from studyhall.catalog.models import Course, Lesson
from studyhall.config import TokenEncryption
from studyhall.core.clock import utcnow
from studyhall.core.migrate import upgrade
from studyhall.core.security import TokenCodec
from studyhall.identity.models import AuthSession, User
from studyhall.learning.models import Enrollment

QUESTIONS = [
    {
        "id": str(uuid.UUID(int=q + 1)),
        "type": "single_choice",
        "text": f"Question {q}",
        "points": 1.0,
        "options": [
            {"id": str(uuid.UUID(int=1000 + q * 10 + o)), "text": f"Option {o}", "is_correct": o == 1}
            for o in range(4)
        ],
    }
    for q in range(10)
]


def token(user_id: uuid.UUID, role: str) -> str:
    return mint_token(TokenCodec(SECRET, TokenEncryption.NONE), user_id, role)


async def seed(url: str, students: int, items: int) -> dict[str, Any]:
    engine = create_async_engine(url)
    now = utcnow()
    owner_id, course_id = uuid.uuid4(), uuid.uuid4()
    student_ids = [uuid.uuid4() for _ in range(students)]
    quiz_count = items // 2
    lesson_ids = [uuid.uuid4() for _ in range(quiz_count + 1)]
    quiz_ids = [uuid.uuid4() for _ in range(quiz_count)]
    assignment_ids = [uuid.uuid4() for _ in range(items - quiz_count)]
    async with engine.begin() as conn:
        users = [{"id": owner_id, "email": "owner@bench.test", "full_name": "Owner", "role": "instructor"}]
        users += [
            {"id": sid, "email": f"s{n}@bench.test", "full_name": f"Student {n:05d}", "role": "student"}
            for n, sid in enumerate(student_ids)
        ]
        await conn.execute(insert(User), users)
        await conn.execute(insert(AuthSession), session_rows([owner_id, *student_ids]))
        await conn.execute(
            insert(Course),
            [
                {
                    "id": course_id,
                    "slug": "bench",
                    "title": "Bench",
                    "owner_id": owner_id,
                    "status": "published",
                    "lesson_count": len(lesson_ids),
                    "enrollment_count": students,
                    "published_at": now,
                }
            ],
        )
        await conn.execute(
            insert(Lesson),
            [
                {"id": lid, "course_id": course_id, "title": f"Quiz {n}", "type": "quiz", "position": n}
                for n, lid in enumerate(lesson_ids)
            ],
        )
        await conn.execute(
            insert(Quiz),
            [
                {
                    "id": qid,
                    "lesson_id": lesson_ids[n],
                    "course_id": course_id,
                    "title": f"Quiz {n}",
                    "passing_score": 60,
                    "questions": QUESTIONS,
                }
                for n, qid in enumerate(quiz_ids)
            ],
        )
        await conn.execute(
            insert(Enrollment), [{"user_id": sid, "course_id": course_id} for sid in student_ids]
        )
        attempts = [
            {
                "quiz_id": qid,
                "user_id": sid,
                "course_id": course_id,
                "lesson_id": lesson_ids[n],
                "number": 1,
                "quiz_revision": 1,
                "status": "graded",
                "questions": QUESTIONS,
                "passing_score": 60,
                "points": float(hash((sid, qid)) % 11),
                "max_points": 10.0,
                "score_percent": float(hash((sid, qid)) % 11) * 10,
                "passed": True,
            }
            for n, qid in enumerate(quiz_ids)
            for sid in student_ids
        ]
        for start in range(0, len(attempts), 5000):
            await conn.execute(insert(QuizAttempt), attempts[start : start + 5000])
        await conn.execute(
            insert(Assignment),
            [
                {"id": aid, "course_id": course_id, "title": f"Assignment {n}", "max_points": 10.0}
                for n, aid in enumerate(assignment_ids)
            ],
        )
        submissions = [
            {
                "assignment_id": aid,
                "user_id": sid,
                "course_id": course_id,
                "text": "work",
                "status": "graded",
                "points": 7.0,
            }
            for aid in assignment_ids
            for sid in student_ids
        ]
        for start in range(0, len(submissions), 5000):
            await conn.execute(insert(Submission), submissions[start : start + 5000])
    await engine.dispose()
    spare_quiz = {"lesson_id": lesson_ids[-1], "course_id": course_id}
    return {"owner": owner_id, "course": course_id, "students": student_ids, "spare_quiz": spare_quiz}


def summary(name: str, latencies: list[float], seconds: float) -> str:
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{name:<28} {len(ordered) / seconds:>8.1f} req/s  p50 {p50:8.2f} ms  p99 {p99:8.2f} ms  "
        f"mean {statistics.fmean(ordered):8.2f} ms  n={len(ordered)}"
    )


async def bench_submit(client: httpx.AsyncClient, data: dict[str, Any], count: int) -> str:
    owner = {"Authorization": f"Bearer {token(data['owner'], 'instructor')}"}
    quiz_body = {
        "title": "Timed",
        "passing_score": 50,
        "questions": [dict(q) for q in QUESTIONS],
    }
    quiz = (
        await client.put(
            f"/api/v1/lessons/{data['spare_quiz']['lesson_id']}/quiz", json=quiz_body, headers=owner
        )
    ).json()
    answers = {q["id"]: [o["id"] for o in q["options"] if o["is_correct"]] for q in quiz["questions"]}
    latencies: list[float] = []
    queue = list(data["students"][:count])

    async def worker() -> None:
        while queue:
            student = queue.pop()
            headers = {"Authorization": f"Bearer {token(student, 'student')}"}
            attempt = (await client.post(f"/api/v1/quizzes/{quiz['id']}/attempts", headers=headers)).json()
            began = time.perf_counter()
            response = await client.post(
                f"/api/v1/attempts/{attempt['id']}/submit", json={"answers": answers}, headers=headers
            )
            latencies.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, response.text

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(8)))
    return summary("quiz submit (c=8)", latencies, time.perf_counter() - started)


async def bench_gradebook(client: httpx.AsyncClient, data: dict[str, Any], fmt: str, rounds: int) -> str:
    headers = {"Authorization": f"Bearer {token(data['owner'], 'instructor')}"}
    latencies: list[float] = []
    started = time.perf_counter()
    for _ in range(rounds):
        began = time.perf_counter()
        response = await client.get(
            f"/api/v1/courses/{data['course']}/gradebook", params={"format": fmt}, headers=headers
        )
        latencies.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.text
    return (
        summary(f"gradebook {fmt}", latencies, time.perf_counter() - started)
        + f"  {len(response.content) // 1024} KiB"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--submits", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    server = PostgresServer().start()
    try:
        url = server.create_database("bench")
        await upgrade(url)
        began = time.perf_counter()
        data = await seed(url, args.students, args.items)
        print(f"seeded {args.students} students × {args.items} items in {time.perf_counter() - began:.1f}s")
        data_dir = Path(tempfile.mkdtemp(prefix="studyhall-bench-"))
        with serving(url, data_dir) as base_url:
            async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
                print(await bench_submit(client, data, min(args.submits, args.students)), flush=True)
                print(await bench_gradebook(client, data, "json", args.rounds), flush=True)
                print(await bench_gradebook(client, data, "csv", args.rounds), flush=True)
    finally:
        server.remove()


if __name__ == "__main__":
    asyncio.run(main())

"""A course with its people, as every community test needs them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi import FastAPI

from studyhall.catalog.models import Course, CourseInstructor
from studyhall.identity.models import Role
from tests.factories import Actor, create_course, create_user, enroll_directly


@dataclass
class Classroom:
    teacher: Actor
    co_teacher: Actor
    student: Actor
    classmate: Actor
    #: Signed in and able to see the course, not enrolled in it.
    outsider: Actor
    admin: Actor
    course: Course
    #: A published course `student` is not in.
    other_course: Course


@pytest.fixture
async def room(app: FastAPI) -> Classroom:
    teacher = await create_user(app, Role.INSTRUCTOR, full_name="Grace Hopper")
    co_teacher = await create_user(app, Role.INSTRUCTOR, full_name="Alan Kay")
    student = await create_user(app, full_name="Ada Lovelace")
    classmate = await create_user(app, full_name="Edsger Dijkstra")
    outsider = await create_user(app, full_name="Linus Torvalds")
    admin = await create_user(app, Role.ADMIN)
    course = await create_course(app, teacher, title="Compilers", lessons=1)
    other_course = await create_course(app, co_teacher, title="Operating systems", lessons=1)
    async with app.state.database.sessionmaker() as session, session.begin():
        session.add(CourseInstructor(course_id=course.id, user_id=co_teacher.user.id))
    await enroll_directly(app, student, course)
    await enroll_directly(app, classmate, course)
    return Classroom(teacher, co_teacher, student, classmate, outsider, admin, course, other_course)

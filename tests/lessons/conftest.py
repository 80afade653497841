"""Lessons and exercises fixtures: the classwork area's (an app on each database with a
clock the test moves, the two-school world, API clients), since an exercise is the
content of a homework item."""

from tests.classwork.conftest import app, as_user, clock, queries, world

__all__ = ["app", "as_user", "clock", "queries", "world"]

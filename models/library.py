"""The library's reads: a page of one user's jobs, newest first, and a count with a ceiling.

Every read walks an index that starts with user_id (and the filter's column, if any) and
ends with (created_at DESC, id DESC) (migration 0006), so none sorts or reads the user's
whole history: page 1 and a keyset page cost the same at a million rows as at a thousand.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal_column, select, tuple_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable

from models.jobs import Job

# Up to this many matching rows are counted exactly; beyond it, the total is an estimate.
COUNT_BOUND = 10_000
# The columns the library filters on; each has its own index (migration 0006).
FILTERS = ("status", "generation_mode", "provider", "campaign_id")


@dataclass(frozen=True)
class Position:
    """The last row already shown: the next page starts just after it."""

    created_at: dt.datetime
    id: int


@dataclass(frozen=True)
class Total:
    """How many jobs match: exact up to COUNT_BOUND, else an estimate above it."""

    count: int
    is_estimate: bool


def conditions(user_id: int, filters: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    """The WHERE of every library read: always the user, then each filter given."""
    where = [Job.user_id == user_id]
    where += [
        getattr(Job, name) == filters[name] for name in FILTERS if filters.get(name) is not None
    ]
    return where


def page_query(
    where: Sequence[ColumnElement[bool]], *, after: Position | None, offset: int, limit: int
) -> Select[Job]:
    """Up to limit jobs, newest first (ties by id), after a position or an offset."""
    query = select(Job).where(*where)
    if after is not None:
        # A row-value comparison, which the index's (created_at DESC, id DESC) answers as a
        # range; the OR form (a < x OR a = x AND b < y) would be a filter, not a range.
        query = query.where(tuple_(Job.created_at, Job.id) < tuple_(after.created_at, after.id))
    query = query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    return query.offset(offset) if offset else query


def read_page(
    session: Session,
    where: Sequence[ColumnElement[bool]],
    *,
    after: Position | None = None,
    offset: int = 0,
    limit: int,
) -> list[Job]:
    """The jobs of page_query, in order."""
    return list(session.scalars(page_query(where, after=after, offset=offset, limit=limit)))


def capped_count_query(where: Sequence[ColumnElement[bool]]) -> Select[int]:
    """count(*) of the matching rows, stopping at COUNT_BOUND + 1 (an index-only scan)."""
    capped: Select[Any] = (
        select(literal_column("1")).select_from(Job).where(*where).limit(COUNT_BOUND + 1)
    )
    return select(func.count()).select_from(capped.subquery())


def total(session: Session, where: Sequence[ColumnElement[bool]]) -> Total:
    """How many jobs match; never reads more than COUNT_BOUND + 1 index entries."""
    counted = int(session.scalar(capped_count_query(where)) or 0)
    if counted <= COUNT_BOUND:
        return Total(counted, is_estimate=False)
    estimate = planner_estimate(session, where) or 0
    # The count proved there are more than the bound, whatever the statistics say.
    return Total(max(estimate, COUNT_BOUND + 1), is_estimate=True)


def planner_estimate(session: Session, where: Sequence[ColumnElement[bool]]) -> int | None:
    """Postgres's estimate of the matching rows (from its statistics); None elsewhere."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    plan = session.scalar(_Explain(select(Job.id).where(*where)))
    if isinstance(plan, str):  # json, when the driver does not parse it
        plan = json.loads(plan)
    try:
        return int(plan[0]["Plan"]["Plan Rows"])
    except (TypeError, LookupError, ValueError):
        return None


class _Explain(Executable, ClauseElement):
    """EXPLAIN (FORMAT JSON) of a statement: the plan only, the statement is not run."""

    inherit_cache = False

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement


@compiles(_Explain, "postgresql")
def _explain_postgresql(element: _Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)

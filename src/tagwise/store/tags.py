"""The tag store: every read and every write of tag values, and the change feed.

No SQL touches the tables of schema ``tags`` (nor ``meta.runs``) outside this module:
readers get typed rows from :class:`TagStore`, and every change of a tag value — a run's
swap, a person's decision on one customer (manual value, import, review), a lock's
expiry — goes through one of its writes, which move current values, history, locks and the
change feed together in one warehouse transaction.

Storage (schema ``tags``) is narrow where it is big and wide where it is small:

* ``computed`` what the rules say now: ``(cid, tag_id, value, score, run_id)``, one row per
               customer, tag and value (a multi tag has one row per value); ``run_id`` is
               the run that set the value. These are the open intervals of history.
* ``defs``     one row per tag: ``tag_id`` (stable), code, kind, the definition version and
               the method (``rule``/``sql``) its computed values rest on.
* ``locks``    values decided by people (manual, import, review): they win over
               ``computed`` for that customer and tag until released or expired; the
               computed value stays beside them as the *shadow*.
* ``past``     closed intervals ``[valid_from, valid_to)`` of computed values in valid
               time, with the run that ended each (``closed_run``).
* ``commits``  the change feed's spine: one row per committed change set with its sequence
               number ``seq`` (monotonic, never reused): a run (``run_id``; its changes are
               derived exactly from the intervals it opened and closed, so a run writes each
               value once) or an edit (its changes are the rows of ``edits``).
* ``edits``    the changes of edit commits, one row per customer, tag and value.

Views give the long shape DESIGN.md describes:

* ``current``  (cid, tag, value, score, source, confidence, version, run_id, valid_from,
               expires_at, locked, shadow_value, shadow_score): locks, else computed values.
* ``history``  computed values ever held, open (``valid_to`` null) and closed, so "tags on
               date D" is one range predicate.
* ``changes``  the computed layer's change log derived from the intervals.

**History moves forward.** A run as of a date earlier than the values it would replace is
refused (:meth:`TagStore.check_forward`): an interval may never end before it starts, and
"values as of D" is always the values of the last run as of D or before.

**Followers** (the segment index, entry/exit records, caches) keep the ``seq`` of the last
commit they applied and read :meth:`TagStore.commits_since` / :meth:`TagStore.commit_changes`
from it: every change arrives exactly once, in commit order, whenever the follower resumes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from tagwise.errors import Conflict
from tagwise.store.layout import Part, Revision
from tagwise.store.sql import lit
from tagwise.store.warehouse import Warehouse

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "LAYOUT",
    "Change",
    "Commit",
    "CommittedRun",
    "Edit",
    "Interval",
    "RunTag",
    "SwapResult",
    "TagStore",
    "TagValue",
]

Layer = Literal["computed", "lock"]
EDIT_SOURCES = ("manual", "import", "review", "expiry")
"""Sources of edit commits (runs have their method: ``rule`` or ``sql``)."""

_TABLES = """
CREATE SCHEMA IF NOT EXISTS tags;
CREATE TABLE IF NOT EXISTS tags.defs (
    tag_id INTEGER PRIMARY KEY, tag VARCHAR NOT NULL UNIQUE, kind VARCHAR NOT NULL,
    version INTEGER, source VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS tags.computed (
    cid INTEGER NOT NULL, tag_id INTEGER NOT NULL, value VARCHAR, score DOUBLE,
    run_id BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS tags.locks (
    cid INTEGER NOT NULL, tag_id INTEGER NOT NULL, value VARCHAR, score DOUBLE,
    source VARCHAR NOT NULL, confidence DOUBLE, locked_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP, locked_by VARCHAR
);
CREATE TABLE IF NOT EXISTS tags.past (
    cid INTEGER NOT NULL, tag_id INTEGER NOT NULL, value VARCHAR, score DOUBLE,
    source VARCHAR NOT NULL, version INTEGER, run_id BIGINT,
    valid_from TIMESTAMP NOT NULL, valid_to TIMESTAMP NOT NULL, closed_run BIGINT
);
CREATE TABLE IF NOT EXISTS meta.runs (
    run_id BIGINT PRIMARY KEY, as_of DATE NOT NULL, committed_at TIMESTAMP NOT NULL,
    tags VARCHAR[] NOT NULL, tag_values BIGINT NOT NULL, changes BIGINT NOT NULL
);
"""

_FEED = """
CREATE TABLE IF NOT EXISTS tags.commits (
    seq BIGINT PRIMARY KEY, kind VARCHAR NOT NULL, run_id BIGINT UNIQUE,
    source VARCHAR NOT NULL, actor VARCHAR, reason VARCHAR,
    valid_at TIMESTAMP NOT NULL, recorded_at TIMESTAMP NOT NULL, changes BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS tags.edits (
    seq BIGINT NOT NULL, cid INTEGER NOT NULL, tag_id INTEGER NOT NULL,
    old_value VARCHAR, new_value VARCHAR, old_score DOUBLE, new_score DOUBLE
);
"""

_ACTIVE_LOCKS = "(SELECT * FROM tags.locks WHERE expires_at IS NULL OR expires_at > now())"

_VIEWS = f"""
CREATE OR REPLACE VIEW tags.current AS
    SELECT c.cid, d.tag, c.value, c.score, d.source, CAST(NULL AS DOUBLE) AS confidence,
        d.version, c.run_id, CAST(r.as_of AS TIMESTAMP) AS valid_from,
        CAST(NULL AS TIMESTAMP) AS expires_at, FALSE AS locked,
        CAST(NULL AS VARCHAR) AS shadow_value, CAST(NULL AS DOUBLE) AS shadow_score
    FROM tags.computed c
    JOIN tags.defs d ON d.tag_id = c.tag_id
    LEFT JOIN meta.runs r ON r.run_id = c.run_id
    ANTI JOIN {_ACTIVE_LOCKS} l ON l.cid = c.cid AND l.tag_id = c.tag_id
    UNION ALL
    SELECT l.cid, d.tag, l.value, l.score, l.source, l.confidence, NULL, NULL, l.locked_at,
        l.expires_at, TRUE, s.value, s.score
    FROM {_ACTIVE_LOCKS} l
    JOIN tags.defs d ON d.tag_id = l.tag_id
    LEFT JOIN (SELECT c.cid, c.tag_id, min(c.value) AS value, max(c.score) AS score
               FROM tags.computed c
               SEMI JOIN tags.locks k ON k.cid = c.cid AND k.tag_id = c.tag_id
               GROUP BY c.cid, c.tag_id) s
        ON s.cid = l.cid AND s.tag_id = l.tag_id;
CREATE OR REPLACE VIEW tags.history AS
    SELECT c.cid, d.tag, c.value, c.score, d.source, d.version, c.run_id,
        CAST(r.as_of AS TIMESTAMP) AS valid_from, CAST(NULL AS TIMESTAMP) AS valid_to
    FROM tags.computed c
    JOIN tags.defs d ON d.tag_id = c.tag_id
    LEFT JOIN meta.runs r ON r.run_id = c.run_id
    UNION ALL
    SELECT p.cid, d.tag, p.value, p.score, p.source, p.version, p.run_id, p.valid_from,
        p.valid_to
    FROM tags.past p JOIN tags.defs d ON d.tag_id = p.tag_id;
"""  # noqa: S608 (fixed tables; values int() or lit())

_EDIT_COLUMNS = (
    ("seq", "int64"),
    ("cid", "int32"),
    ("tag_id", "int32"),
    ("old_value", "string"),
    ("new_value", "string"),
    ("old_score", "float64"),
    ("new_score", "float64"),
)
_LOCK_COLUMNS = (
    ("cid", "int32"),
    ("tag_id", "int32"),
    ("value", "string"),
    ("score", "float64"),
    ("source", "string"),
    ("confidence", "float64"),
    ("locked_at", "timestamp[us]"),
    ("expires_at", "timestamp[us]"),
    ("locked_by", "string"),
)
_PAIRS_CURRENT = f"""
WITH p AS (SELECT DISTINCT p.cid, d.tag_id, d.tag, d.kind FROM tw_index_pairs p
           JOIN tags.defs d ON d.tag = p.tag),
     l AS (SELECT a.* FROM {_ACTIVE_LOCKS} a SEMI JOIN p ON p.cid = a.cid AND p.tag_id = a.tag_id)
SELECT CAST(c.cid AS UINTEGER) AS cid, p.tag, p.kind, c.value, c.score
FROM tags.computed c JOIN p ON p.cid = c.cid AND p.tag_id = c.tag_id
ANTI JOIN l ON l.cid = c.cid AND l.tag_id = c.tag_id
UNION ALL
SELECT CAST(l.cid AS UINTEGER), p.tag, p.kind, l.value, l.score
FROM l JOIN p ON p.cid = l.cid AND p.tag_id = l.tag_id
"""  # noqa: S608 (fixed tables)
"""The current values (locks win, as ``tags.current``) of the pairs in ``tw_index_pairs``:
the pairs are the small side of every join, so the computed values are probed, not the
whole view computed (its shadow values are not needed here)."""

_CHANGES = "tw_changes"
_RUN_TAGS = "tw_run_tags"


# --------------------------------------------------------------------------- typed rows


@dataclass(frozen=True, slots=True)
class RunTag:
    """A tag computed by a run: its code, kind and the definition version used."""

    code: str
    kind: str
    version: int


@dataclass(slots=True)
class SwapResult:
    """What a run's swap changed."""

    tag_values: int = 0
    changes: int = 0
    per_tag: dict[str, tuple[int, int]] = field(default_factory=dict)
    """tag → (computed values now, changes in this run)."""
    seq: int = 0
    """The run's commit in the change feed."""


@dataclass(frozen=True, slots=True)
class TagValue:
    """One current (or as-of) value of one customer's tag, with its provenance."""

    cid: int
    tag: str
    value: str | None
    score: float | None
    source: str
    version: int | None
    run_id: int | None
    since: datetime | None
    """Valid time the value has held since (a run's as-of date, or when it was locked)."""
    locked: bool = False
    confidence: float | None = None
    expires_at: datetime | None = None
    shadow_value: str | None = None
    """For a locked value: what the rules compute now."""
    shadow_score: float | None = None


@dataclass(frozen=True, slots=True)
class Interval:
    """A computed value held over ``[valid_from, valid_to)`` (``valid_to`` None: open)."""

    cid: int
    tag: str
    value: str | None
    score: float | None
    run_id: int | None
    valid_from: datetime
    valid_to: datetime | None


@dataclass(frozen=True, slots=True)
class Change:
    """One change of one customer's tag: ``old`` → ``new`` in one layer, in one commit."""

    seq: int | None
    """The commit in the change feed (None for a run committed before the feed existed)."""
    run_id: int | None
    cid: int
    tag: str
    layer: Layer
    """``computed`` (what rules compute) or ``lock`` (what people decided)."""
    old_value: str | None
    new_value: str | None
    old_score: float | None
    new_score: float | None
    source: str
    as_of: date | None
    """Valid time of the change."""


@dataclass(frozen=True, slots=True)
class Commit:
    """One committed change set of the feed."""

    seq: int
    kind: Literal["run", "edit"]
    run_id: int | None
    source: str
    actor: str | None
    reason: str | None
    valid_at: datetime
    recorded_at: datetime
    changes: int


@dataclass(frozen=True, slots=True)
class CommittedRun:
    """A run whose values the warehouse committed (``meta.runs``)."""

    run_id: int
    as_of: date
    committed_at: datetime
    tags: tuple[str, ...]
    tag_values: int
    changes: int


@dataclass(frozen=True, slots=True)
class Edit:
    """A person's decision on one customer's tag: lock it to values (or a score), or
    release the lock (``release``), so the computed value holds again."""

    cid: int
    tag: str
    values: tuple[str, ...] = ()
    """The values (one for enum/flag tags, any number for multi tags)."""
    score: float | None = None
    """The value of a score tag."""
    release: bool = False
    confidence: float | None = None
    expires_at: datetime | None = None


# --------------------------------------------------------------------------- layout


def _narrow(wh: Warehouse) -> None:
    """Revision 2: narrow tables (from Tagwise 0.1's wide ones when they are there)."""
    old = _old_layout(wh)
    wh.execute(_TABLES)
    if old:
        _upgrade_wide(wh)


def _views_only(wh: Warehouse) -> None:
    """Revision 3 changed only the views (re-created by :func:`_finish`)."""
    del wh


def _feed(wh: Warehouse) -> None:
    """Revision 4: the change feed; every committed run becomes a commit, existing locks
    one edit commit, so replaying the feed from 0 gives the current state."""
    wh.execute(_FEED)
    wh.execute(
        "INSERT INTO tags.commits SELECT row_number() OVER (ORDER BY run_id), 'run', run_id, "
        "'rule', NULL, NULL, CAST(as_of AS TIMESTAMP), committed_at, changes "
        "FROM meta.runs WHERE run_id NOT IN (SELECT run_id FROM tags.commits "
        "WHERE run_id IS NOT NULL)"
    )
    if wh.scalar("SELECT count(*) FROM tags.locks"):
        seq = _next_seq(wh)
        wh.execute(
            "INSERT INTO tags.edits SELECT ?, cid, tag_id, NULL, value, NULL, score "
            "FROM tags.locks",
            [seq],
        )
        wh.execute(
            "INSERT INTO tags.commits VALUES (?, 'edit', NULL, 'import', NULL, "
            "'locks held before the change feed existed', now(), now(), "
            "(SELECT count(*) FROM tags.locks))",
            [seq],
        )


def _cuts(wh: Warehouse) -> None:
    """Revision 5: the cut points of quantile tags, per run (frozen population statistics
    that explanations and real-time scoring reuse)."""
    wh.execute(
        "CREATE TABLE IF NOT EXISTS tags.cuts (run_id BIGINT NOT NULL, tag VARCHAR NOT NULL, "
        "cuts DOUBLE[] NOT NULL, PRIMARY KEY (run_id, tag))"
    )


def _finish(wh: Warehouse) -> None:
    wh.execute(_VIEWS)
    wh.execute(f"CREATE OR REPLACE VIEW tags.changes AS {changes_sql()}")


def _detect(wh: Warehouse) -> int | None:
    return 1 if _old_layout(wh) else None


LAYOUT = Part(
    name="tags",
    revisions=(
        Revision(2, _narrow, "narrow computed/defs/locks/past tables"),
        Revision(3, _views_only, "shadow values of tags.current aggregate only locked pairs"),
        Revision(4, _feed, "change feed: tags.commits and tags.edits"),
        Revision(5, _cuts, "quantile cut points per run: tags.cuts"),
    ),
    detect=_detect,
    finish=_finish,
)
"""The tag store's part of the warehouse layout (:mod:`tagwise.store.layout`)."""


# --------------------------------------------------------------------------- the store


class TagStore:
    """Reads and writes of tag values in one warehouse (the only SQL on ``tags.*``)."""

    def __init__(self, wh: Warehouse) -> None:
        self.wh = wh

    # -- reads ------------------------------------------------------------------------------

    def current(self, *, cid: int | None = None, tag: str | None = None) -> list[TagValue]:
        """Current values (locks win), ordered by customer, tag and value."""
        where, params = _filters(cid=cid, tag=tag)
        rows = self.wh.rows(
            "SELECT cid, tag, value, score, source, version, run_id, valid_from, locked, "  # noqa: S608 (fixed tables; values int() or lit())
            "confidence, expires_at, shadow_value, shadow_score "
            f"FROM tags.current{where} ORDER BY cid, tag, value",
            params,
        )
        return [TagValue(*r) for r in rows]

    def as_of(self, day: date, *, cid: int | None = None, tag: str | None = None) -> list[TagValue]:
        """Computed values held on ``day`` (valid time), ordered by customer, tag, value."""
        where, params = _filters(cid=cid, tag=tag)
        joiner = " AND " if where else " WHERE "
        rows = self.wh.rows(
            "SELECT cid, tag, value, score, source, version, run_id, valid_from "  # noqa: S608 (fixed tables; values int() or lit())
            f"FROM tags.history{where}{joiner}valid_from <= ? "
            "AND (valid_to IS NULL OR valid_to > ?) ORDER BY cid, tag, value",
            [*params, day, day],
        )
        return [TagValue(*r) for r in rows]

    def history(self, *, cid: int | None = None, tag: str | None = None) -> list[Interval]:
        """Every interval of computed values, oldest first."""
        where, params = _filters(cid=cid, tag=tag)
        rows = self.wh.rows(
            "SELECT cid, tag, value, score, run_id, valid_from, valid_to "  # noqa: S608 (fixed tables; values int() or lit())
            f"FROM tags.history{where} ORDER BY cid, tag, valid_from, valid_to NULLS LAST, value",
            params,
        )
        return [Interval(*r) for r in rows]

    def changes(
        self,
        *,
        cid: int | None = None,
        tag: str | None = None,
        run_id: int | None = None,
        limit: int | None = None,
    ) -> list[Change]:
        """Changes of both layers, newest first (runs' changes and people's edits)."""
        computed = (
            f"SELECT m.seq, x.run_id, x.cid, x.tag, 'computed' AS layer, x.old_value, "  # noqa: S608 (fixed tables; values int() or lit())
            "x.new_value, x.old_score, x.new_score, x.source, x.as_of "
            f"FROM ({changes_sql(cid=cid, tag=tag, run_id=run_id)}) x "
            "LEFT JOIN tags.commits m ON m.run_id = x.run_id"
        )
        parts = [computed]
        if run_id is None:
            tests = [f"e.cid = {int(cid)}"] if cid is not None else []
            tests += [f"d.tag = {lit(tag)}"] if tag is not None else []
            where = " WHERE " + " AND ".join(tests) if tests else ""
            parts.append(
                "SELECT e.seq, NULL, e.cid, d.tag, 'lock', e.old_value, e.new_value, "  # noqa: S608 (fixed tables; values int() or lit())
                "e.old_score, e.new_score, m.source, CAST(m.valid_at AS DATE) FROM tags.edits e "
                "JOIN tags.commits m ON m.seq = e.seq JOIN tags.defs d ON d.tag_id = e.tag_id"
                f"{where}"
            )
        order = " ORDER BY seq DESC NULLS LAST, run_id DESC, tag, new_value, old_value"
        cap = f" LIMIT {int(limit)}" if limit is not None else ""
        rows = self.wh.rows(" UNION ALL ".join(parts) + order + cap)
        return [Change(*r) for r in rows]

    def distribution(self, tag: str, *, limit: int = 20) -> list[tuple[str, int]]:
        """Customers per current value of a tag (scores rounded to 2 places), most first."""
        rows = self.wh.rows(
            "SELECT coalesce(value, CAST(round(score, 2) AS VARCHAR)) AS v, count(*) "
            "FROM tags.current WHERE tag = ? GROUP BY v ORDER BY 2 DESC, 1 LIMIT ?",
            [tag, limit],
        )
        return [(str(v), int(n)) for v, n in rows]

    def run_changes(self, tag: str, run_id: int, *, limit: int = 20) -> list[tuple[Any, Any, int]]:
        """(old value, new value, customers) of one tag's changes in one run, most first."""
        rows = self.wh.rows(
            "SELECT old_value, new_value, count(*) "  # noqa: S608 (fixed tables; values int() or lit())
            f"FROM ({changes_sql(tag=tag, run_id=run_id)}) GROUP BY ALL "
            f"ORDER BY 3 DESC, 1 NULLS FIRST, 2 NULLS FIRST LIMIT {int(limit)}"
        )
        return [(o, n, int(c)) for o, n, c in rows]

    def wide_values(
        self, members: str, tags: Sequence[str], *, kinds: Mapping[str, str]
    ) -> pa.Table:
        """Current values (locks win) of ``tags`` for the customers of a registered
        relation ``members`` (a column ``cid``), one row per member in one query.

        Each tag is one column named by its code, as expressions read it: an enum its
        value, a flag true/false, a multi tag the sorted list of its values, a score tag
        its score. A member without a value has null (a flag: false).

        Args:
            members: the name of a relation registered on the warehouse connection.
            tags: tag codes.
            kinds: each code's kind (enum, flag, multi, score).
        """
        picks = []
        for i, code in enumerate(tags):
            test = f"c.tag = {lit(code)}"
            picks.append(
                {
                    "flag": f"coalesce(bool_or({test}), FALSE)",
                    "multi": f"list(c.value ORDER BY c.value) FILTER (WHERE {test})",
                    "score": f"max(c.score) FILTER (WHERE {test})",
                }.get(kinds[code], f"min(c.value) FILTER (WHERE {test})")
                + f" AS t{i}"
            )
        wanted = ", ".join(lit(code) for code in tags) or "NULL"
        table = self.wh.arrow(
            f"SELECT m.cid{''.join(', ' + p for p in picks)} FROM {members} m "  # noqa: S608 (codes through lit(); members is a registered name)
            f"LEFT JOIN tags.current c ON c.cid = m.cid AND c.tag IN ({wanted}) "
            "GROUP BY m.cid"
        )
        return table.rename_columns(["cid", *tags])

    def coverage(self) -> dict[str, int]:
        """Customers having at least one current value, per tag."""
        rows = self.wh.rows("SELECT tag, count(DISTINCT cid) FROM tags.current GROUP BY tag")
        return {str(t): int(n) for t, n in rows}

    def tagged_customers(self) -> int:
        """Customers having at least one current value."""
        return int(self.wh.scalar("SELECT count(DISTINCT cid) FROM tags.current") or 0)

    def computed_tags(self) -> set[str]:
        """Codes of the tags that have computed values now."""
        rows = self.wh.rows(
            "SELECT d.tag FROM tags.defs d "
            "WHERE d.tag_id IN (SELECT DISTINCT tag_id FROM tags.computed)"
        )
        return {str(r[0]) for r in rows}

    def committed_runs(self, *, limit: int | None = None) -> list[CommittedRun]:
        """Runs the warehouse committed, newest first."""
        cap = f" LIMIT {int(limit)}" if limit is not None else ""
        rows = self.wh.rows(
            "SELECT run_id, as_of, committed_at, tags, tag_values, changes FROM meta.runs "  # noqa: S608 (fixed tables; values int() or lit())
            f"ORDER BY run_id DESC{cap}"
        )
        return [CommittedRun(int(r), a, c, tuple(t), int(v), int(n)) for r, a, c, t, v, n in rows]

    def watermarks(self, codes: Iterable[str]) -> dict[str, date]:
        """Per tag, the as-of date of the latest committed run that computed it."""
        wanted = list(dict.fromkeys(codes))
        if not wanted:
            return {}
        rows = self.wh.rows(
            "SELECT t.tag, max(r.as_of) FROM meta.runs r, unnest(r.tags) AS t(tag) "
            "WHERE list_contains(?, t.tag) GROUP BY t.tag",
            [wanted],
        )
        return {str(t): d for t, d in rows}

    def check_forward(self, as_of: date, codes: Iterable[str]) -> None:
        """Refuse a run as of a date earlier than the values it would replace.

        Raises:
            Conflict: a tag already has values as of a later date.
        """
        later = {c: d for c, d in self.watermarks(codes).items() if d > as_of}
        if not later:
            return
        day = max(later.values())
        code = min(c for c, d in later.items() if d == day)
        more = f" (and {len(later) - 1} more tags)" if len(later) > 1 else ""
        raise Conflict(
            f"cannot run as of {as_of.isoformat()}: tag `{code}` already has values as of "
            f"{day.isoformat()}{more}, and history only moves forward",
            hint=f"run as of {day.isoformat()} or later; read earlier values with "
            "`tagwise customer show ID --as-of DATE`",
        )

    def cuts(self, run_id: int, tag: str) -> tuple[float | None, ...] | None:
        """The cut points a committed run recorded for a quantile tag (None: no such run,
        or one from before cut points were recorded)."""
        found = self.wh.rows(
            "SELECT cuts FROM tags.cuts WHERE run_id = ? AND tag = ?", [run_id, tag]
        )
        if not found:
            return None
        return tuple(None if c is None else float(c) for c in found[0][0])

    def last_seq(self) -> int:
        """The sequence number of the newest commit (0 when there is none)."""
        return int(self.wh.scalar("SELECT coalesce(max(seq), 0) FROM tags.commits"))

    def commits_since(self, seq: int, *, limit: int | None = None) -> list[Commit]:
        """Commits after ``seq``, oldest first: what a follower at ``seq`` must apply."""
        cap = f" LIMIT {int(limit)}" if limit is not None else ""
        rows = self.wh.rows(
            "SELECT seq, kind, run_id, source, actor, reason, valid_at, recorded_at, changes "  # noqa: S608 (fixed tables; values int() or lit())
            f"FROM tags.commits WHERE seq > ? ORDER BY seq{cap}",
            [seq],
        )
        return [Commit(*r) for r in rows]

    def commit_changes(self, commit: Commit) -> list[Change]:
        """Every change of one commit (a run's derived from its intervals), ordered by
        customer, tag and value."""
        return [Change(*r) for r in self.wh.rows(_commit_sql(commit))]

    def commit_changes_table(self, commit: Commit) -> pa.Table:
        """:meth:`commit_changes` as an Arrow table (the columns of :class:`Change`), for
        followers that apply millions of changes without a Python object per change."""
        return self.wh.arrow(_commit_sql(commit))

    # -- bulk reads for the segment index (Arrow, no object per value) ----------------------

    def current_table(self, *, tag: str | None = None, pairs: pa.Table | None = None) -> pa.Table:
        """Current values (locks win) as Arrow: ``cid`` (uint32), ``tag``, ``kind``,
        ``value``, ``score``; only one tag's, or only the (cid, tag) pairs of ``pairs``."""
        source = "tags.current c"
        if tag is not None:
            source = f"(SELECT * FROM tags.current WHERE tag = {lit(tag)}) c"  # noqa: S608 (fixed tables; values lit())
        query = (
            "SELECT CAST(c.cid AS UINTEGER) AS cid, c.tag, d.kind, c.value, c.score "  # noqa: S608 (fixed tables)
            f"FROM {source}{{pairs}} JOIN tags.defs d ON d.tag = c.tag"
        )
        if pairs is None:
            return self.wh.arrow(query.format(pairs=""))
        with self.wh.registered("tw_index_pairs", pairs.select(["cid", "tag"])):
            return self.wh.arrow(_PAIRS_CURRENT)

    def as_of_table(self, day: date) -> pa.Table:
        """Computed values held on ``day`` (valid time) as Arrow, with the columns of
        :meth:`current_table`."""
        return self.wh.arrow(
            "SELECT CAST(h.cid AS UINTEGER) AS cid, h.tag, d.kind, h.value, h.score "  # noqa: S608 (fixed tables; values lit())
            "FROM tags.history h JOIN tags.defs d ON d.tag = h.tag "
            f"WHERE h.valid_from <= CAST({lit(day.isoformat())} AS DATE) "
            f"AND (h.valid_to IS NULL OR h.valid_to > CAST({lit(day.isoformat())} AS DATE))"
        )

    def tag_kinds(self) -> dict[str, str]:
        """The kind the store holds for each tag code."""
        return {str(t): str(k) for t, k in self.wh.rows("SELECT tag, kind FROM tags.defs")}

    def commit_pairs(self, after: int, upto: int) -> pa.Table:
        """The (cid, tag) pairs that the commits ``after < seq <= upto`` changed, once each,
        as Arrow (what a follower must re-read)."""
        parts = [
            f"SELECT cid, tag FROM ({_commit_sql(c)})"  # noqa: S608 (fixed tables; values int())
            for c in self.commits_since(after)
            if c.seq <= upto
        ]
        if not parts:
            return self.wh.arrow("SELECT CAST(NULL AS INTEGER) AS cid, '' AS tag LIMIT 0")
        union = " UNION ALL ".join(parts)
        return self.wh.arrow(f"SELECT DISTINCT cid, tag FROM ({union})")  # noqa: S608 (fixed tables; values int())

    def lock_expiries(self, *, after: datetime | None, until: datetime) -> pa.Table:
        """(cid, tag) of the locks whose ``expires_at`` falls in ``(after, until]``: values
        that stopped being current without a commit (until :meth:`expire` runs)."""
        low = "" if after is None else f" AND l.expires_at > {lit(after.isoformat(sep=' '))}"
        return self.wh.arrow(
            "SELECT DISTINCT l.cid, d.tag FROM tags.locks l JOIN tags.defs d USING (tag_id) "  # noqa: S608 (fixed tables; values lit())
            f"WHERE l.expires_at <= {lit(until.isoformat(sep=' '))}{low}"
        )

    def next_lock_expiry(self, after: datetime) -> datetime | None:
        """The earliest ``expires_at`` of a lock after ``after`` (None: no lock expires)."""
        found = self.wh.scalar(
            "SELECT min(expires_at) FROM tags.locks WHERE expires_at > ?", [after]
        )
        return found if isinstance(found, datetime) else None

    # -- writes -----------------------------------------------------------------------------

    def tag_ids(self, codes: Sequence[str], *, kinds: Mapping[str, str]) -> dict[str, int]:
        """The stable ``tag_id`` of each code, assigning the next free ids to new codes."""
        return tag_ids(self.wh, codes, kinds=kinds)

    def swap_run(
        self,
        *,
        new: str,
        tags: Sequence[RunTag],
        run_id: int,
        as_of: date,
        source: str = "rule",
        retire: Sequence[str] = (),
        actor: str | None = None,
        cuts: Mapping[str, Sequence[float | None]] | None = None,
    ) -> SwapResult:
        """Make the rows of ``new`` the computed values of ``tags`` as of ``as_of``, with
        their history and the run's commit in the feed, in one transaction.

        ``new`` is a table name or a parenthesized query with the columns
        ``(cid, tag_id, value, score)`` (ids from :meth:`tag_ids`); it is read once per
        path (fresh tags, diffed tags), filtered by ``tag_id``. ``retire`` lists deprecated
        tags whose values end at ``as_of``; ``cuts`` holds the cut points of the run's
        quantile tags (:mod:`tagwise.compile.quantiles`).

        Raises:
            Conflict: a tag already has values as of a later date (:meth:`check_forward`).
        """
        self.check_forward(as_of, [t.code for t in tags] + list(retire))
        ids = tag_ids(
            self.wh, [t.code for t in tags] + list(retire), kinds={t.code: t.kind for t in tags}
        )
        present = {r[0] for r in self.wh.rows("SELECT DISTINCT tag_id FROM tags.computed")}
        fresh = [t for t in tags if ids[t.code] not in present]
        diffed = [t for t in tags if ids[t.code] in present]
        _run_tags(self.wh, tags, retire, ids)
        when = f"CAST({lit(as_of.isoformat())} AS DATE)"
        with self.wh.transaction():
            if fresh:
                self.wh.execute(
                    f"INSERT INTO tags.computed SELECT cid, tag_id, value, score, {int(run_id)} "  # noqa: S608 (fixed tables; values int() or lit())
                    f"FROM {new} WHERE tag_id IN {_ids(fresh, ids)}"
                )
            changed = 0
            if diffed or retire:
                changed = _apply_diff(self.wh, new, diffed, ids, run_id=run_id, when=when)
            self.wh.execute(
                "UPDATE tags.defs d SET kind = t.kind, version = t.version, "  # noqa: S608 (fixed tables; values int() or lit())
                f"source = {lit(source)} "
                f"FROM {_RUN_TAGS} t WHERE d.tag_id = t.tag_id AND NOT t.retire"
            )
            result = _result(self.wh, tags, ids, fresh={t.code for t in fresh}, changed=changed)
            self.wh.execute(
                f"INSERT INTO meta.runs VALUES (?, {when}, now(), ?, ?, ?)",  # noqa: S608 (fixed tables; values int() or lit())
                [run_id, [t.code for t in tags], result.tag_values, result.changes],
            )
            result.seq = _next_seq(self.wh)
            if cuts:
                self.wh.con.executemany(
                    "INSERT INTO tags.cuts VALUES (?, ?, ?)",
                    [[run_id, tag, list(points)] for tag, points in sorted(cuts.items())],
                )
            self.wh.execute(
                f"INSERT INTO tags.commits VALUES (?, 'run', ?, ?, ?, NULL, {when}, now(), ?)",  # noqa: S608 (fixed tables; values int() or lit())
                [result.seq, run_id, source, actor, result.changes],
            )
        self.wh.execute(f"DROP TABLE IF EXISTS {_CHANGES}")
        return result

    def apply(
        self,
        edits: Sequence[Edit],
        *,
        source: str,
        actor: str | None,
        kinds: Mapping[str, str] | None = None,
        reason: str | None = None,
        at: datetime | None = None,
    ) -> Commit | None:
        """Apply people's decisions on single customers as one commit: locks set, replaced
        or released, with the change rows of the feed, in one transaction.

        Args:
            edits: the decisions; a later edit of the same customer and tag wins.
            source: ``manual``, ``import`` or ``review`` (``expiry`` for :meth:`expire`).
            actor: who decided (recorded on the locks and the commit).
            kinds: kinds of tags the store has not seen yet (``multi`` takes several values).
            reason: why, recorded on the commit.
            at: valid time of the decision (default: now).

        Returns:
            The commit, or None when nothing changed (no commit is written).
        """
        if source not in EDIT_SOURCES:
            raise ValueError(f"unknown edit source {source!r}")
        last = {(e.cid, e.tag): e for e in edits}
        if not last:
            return None
        ids = tag_ids(self.wh, sorted({t for _, t in last}), kinds=kinds or {})
        with self.wh.transaction():
            held = self._held_locks(last, ids)
            rows = _edit_rows(last.values(), held, ids)
            if not rows:
                return None
            seq = _next_seq(self.wh)
            moment = at or datetime.now()  # naive local, as now() in SQL
            self._replace_locks(last.values(), ids, source=source, actor=actor, at=moment)
            self.wh.insert("tags.edits", [(seq, *r) for r in rows], _EDIT_COLUMNS)
            self.wh.execute(
                "INSERT INTO tags.commits VALUES (?, 'edit', NULL, ?, ?, ?, ?, now(), ?)",
                [seq, source, actor, reason, moment, len(rows)],
            )
        return self.commits_since(seq - 1, limit=1)[0]

    def expire(self, *, now: datetime | None = None, actor: str | None = None) -> Commit | None:
        """Release every lock whose ``expires_at`` has passed, as one commit."""
        moment = now or datetime.now()
        rows = self.wh.rows(
            "SELECT DISTINCT l.cid, d.tag FROM tags.locks l JOIN tags.defs d USING (tag_id) "
            "WHERE l.expires_at IS NOT NULL AND l.expires_at <= ?",
            [moment],
        )
        edits = [Edit(cid=int(c), tag=str(t), release=True) for c, t in rows]
        return self.apply(edits, source="expiry", actor=actor, reason="expired", at=moment)

    def _held_locks(
        self, edits: Mapping[tuple[int, str], Edit], ids: Mapping[str, int]
    ) -> dict[tuple[int, int], dict[str | None, float | None]]:
        self.wh.execute("CREATE OR REPLACE TEMP TABLE tw_edit_keys (cid INTEGER, tag_id INTEGER)")
        self.wh.insert(
            "tw_edit_keys", [(c, ids[t]) for c, t in edits], [("cid", "int32"), ("tag_id", "int32")]
        )
        held: dict[tuple[int, int], dict[str | None, float | None]] = {}
        for cid, tag_id, value, score in self.wh.rows(
            "SELECT l.cid, l.tag_id, l.value, l.score FROM tags.locks l "
            "SEMI JOIN tw_edit_keys k ON k.cid = l.cid AND k.tag_id = l.tag_id"
        ):
            held.setdefault((int(cid), int(tag_id)), {})[value] = score
        return held

    def _replace_locks(
        self,
        edits: Iterable[Edit],
        ids: Mapping[str, int],
        *,
        source: str,
        actor: str | None,
        at: datetime,
    ) -> None:
        self.wh.execute(
            "DELETE FROM tags.locks l USING tw_edit_keys k "
            "WHERE k.cid = l.cid AND k.tag_id = l.tag_id"
        )
        rows = [
            (e.cid, ids[e.tag], value, score, source, e.confidence, at, e.expires_at, actor)
            for e in edits
            if not e.release
            for value, score in _wanted(e).items()
        ]
        self.wh.insert("tags.locks", rows, _LOCK_COLUMNS)


# --------------------------------------------------------------------------- helpers


def _filters(*, cid: int | None, tag: str | None) -> tuple[str, list[Any]]:
    tests: list[str] = []
    params: list[Any] = []
    if cid is not None:
        tests.append("cid = ?")
        params.append(int(cid))
    if tag is not None:
        tests.append("tag = ?")
        params.append(tag)
    return (" WHERE " + " AND ".join(tests) if tests else ""), params


def _commit_sql(commit: Commit) -> str:
    """The changes of one commit, with the columns of :class:`Change`."""
    if commit.kind == "run" and commit.run_id is not None:
        return (
            f"SELECT {int(commit.seq)} AS seq, run_id, cid, tag, 'computed' AS layer, "  # noqa: S608 (fixed tables; values int() or lit())
            "old_value, new_value, old_score, new_score, source, as_of "
            f"FROM ({changes_sql(run_id=commit.run_id)}) ORDER BY cid, tag, new_value, old_value"
        )
    return (
        "SELECT e.seq, CAST(NULL AS BIGINT) AS run_id, e.cid, d.tag, 'lock' AS layer, "  # noqa: S608 (fixed tables; values int() or lit())
        "e.old_value, e.new_value, e.old_score, e.new_score, m.source, "
        "CAST(m.valid_at AS DATE) AS as_of FROM tags.edits e "
        "JOIN tags.commits m ON m.seq = e.seq JOIN tags.defs d ON d.tag_id = e.tag_id "
        f"WHERE e.seq = {int(commit.seq)} ORDER BY e.cid, d.tag, e.new_value, e.old_value"
    )


def _next_seq(wh: Warehouse) -> int:
    return int(wh.scalar("SELECT coalesce(max(seq), 0) + 1 FROM tags.commits"))


def _wanted(edit: Edit) -> dict[str | None, float | None]:
    """value → score of the locks an edit asks for (empty for a release)."""
    if edit.release:
        return {}
    if edit.values:
        return dict.fromkeys(edit.values, edit.score)
    return {None: edit.score}


def _edit_rows(
    edits: Iterable[Edit],
    held: Mapping[tuple[int, int], Mapping[str | None, float | None]],
    ids: Mapping[str, int],
) -> list[tuple[int, int, str | None, str | None, float | None, float | None]]:
    """The feed's rows of the edits: (cid, tag_id, old value, new value, old, new score).

    A single value pairs old with new; several values (multi tags) pair by value, so a
    value removed is ``v → None`` and a value added ``None → v``.
    """
    out = []
    for e in edits:
        key = (e.cid, ids[e.tag])
        old, new = dict(held.get(key, {})), _wanted(e)
        if old == new:
            continue
        if len(old) <= 1 and len(new) <= 1:
            (ov, os_), (nv, ns) = (next(iter(d.items()), (None, None)) for d in (old, new))
            out.append((e.cid, key[1], ov, nv, os_, ns))
            continue
        for value in sorted(set(old) | set(new), key=lambda v: (v is None, v or "")):
            if value in old and value in new and old[value] == new[value]:
                continue
            out.append(
                (
                    e.cid,
                    key[1],
                    value if value in old else None,
                    value if value in new else None,
                    old.get(value),
                    new.get(value),
                )
            )
    return out


def tag_ids(wh: Warehouse, codes: Sequence[str], *, kinds: Mapping[str, str]) -> dict[str, int]:
    """The stable ``tag_id`` of each code, assigning the next free ids to new codes."""
    known = dict(wh.rows("SELECT tag, tag_id FROM tags.defs"))
    new = [c for c in dict.fromkeys(codes) if c not in known]
    if new:
        start = max(known.values(), default=0) + 1
        rows = [(start + i, c, kinds.get(c, "enum")) for i, c in enumerate(new)]
        wh.con.executemany("INSERT INTO tags.defs VALUES (?, ?, ?, NULL, 'rule')", rows)
        known.update({c: i for i, c, _ in rows})
    return {c: int(known[c]) for c in codes}


def changes_sql(
    *, cid: int | None = None, tag: str | None = None, run_id: int | None = None
) -> str:
    """The computed layer's change log as a query (the ``tags.changes`` view without
    filters).

    Columns: run_id, cid, tag, old_value, new_value, old_score, new_score, source,
    version, as_of, changed_at. A value a run set (an interval starting in the run) and a
    value the run ended for the same customer and tag pair up; for a multi tag only the
    same value pairs (its score changed). The filters are applied to both sides before
    the pairing, so a filtered read touches only matching rows.
    """

    def where(run_column: str) -> str:
        tests = [f"x.cid = {int(cid)}"] if cid is not None else []
        tests += [f"d.tag = {lit(tag)}"] if tag is not None else []
        tests += [f"x.{run_column} = {int(run_id)}"] if run_id is not None else []
        return " WHERE " + " AND ".join(tests) if tests else ""

    pick = "x.cid, d.tag, x.value, x.score, CASE WHEN d.kind = 'multi' THEN x.value END AS pair"
    opened = (
        f"SELECT x.run_id, {pick}, d.source, d.version, r.as_of AS at "  # noqa: S608 (fixed tables; values int() or lit())
        "FROM tags.computed x JOIN tags.defs d ON d.tag_id = x.tag_id "
        f"LEFT JOIN meta.runs r ON r.run_id = x.run_id{where('run_id')} "
        f"UNION ALL SELECT x.run_id, {pick}, x.source, x.version, CAST(x.valid_from AS DATE) "
        f"FROM tags.past x JOIN tags.defs d ON d.tag_id = x.tag_id{where('run_id')}"
    )
    closed = (
        f"SELECT x.closed_run AS run_id, {pick}, x.source, x.version, "  # noqa: S608 (fixed tables; values int() or lit())
        "CAST(x.valid_to AS DATE) AS at "
        f"FROM tags.past x JOIN tags.defs d ON d.tag_id = x.tag_id{where('closed_run')}"
    )
    return (
        f"WITH o AS ({opened}), c AS ({closed}) "  # noqa: S608 (fixed tables; values int() or lit())
        "SELECT coalesce(o.run_id, c.run_id) AS run_id, coalesce(o.cid, c.cid) AS cid, "
        "coalesce(o.tag, c.tag) AS tag, c.value AS old_value, o.value AS new_value, "
        "c.score AS old_score, o.score AS new_score, coalesce(o.source, c.source) AS source, "
        "coalesce(o.version, c.version) AS version, coalesce(o.at, c.at) AS as_of, "
        "r.committed_at AS changed_at "
        "FROM o FULL OUTER JOIN c ON o.run_id = c.run_id AND o.cid = c.cid AND o.tag = c.tag "
        "AND o.pair IS NOT DISTINCT FROM c.pair "
        "LEFT JOIN meta.runs r ON r.run_id = coalesce(o.run_id, c.run_id)"
    )


def _run_tags(
    wh: Warehouse, tags: Sequence[RunTag], retire: Sequence[str], ids: Mapping[str, int]
) -> None:
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE {_RUN_TAGS} "
        "(tag_id INTEGER, kind VARCHAR, version INTEGER, retire BOOLEAN)"
    )
    rows: list[tuple[int, str, int | None, bool]] = [
        (ids[t.code], t.kind, t.version, False) for t in tags
    ]
    rows += [(ids[code], "enum", None, True) for code in retire]
    if rows:
        wh.con.executemany(f"INSERT INTO {_RUN_TAGS} VALUES (?, ?, ?, ?)", rows)  # noqa: S608 (fixed tables; values int() or lit())


def _ids(tags: Sequence[RunTag], ids: Mapping[str, int]) -> str:
    """``(3, 7)``: literal lists let the warehouse prune a union's branches by tag."""
    return "(" + ", ".join(str(int(ids[t.code])) for t in tags) + ")" if tags else "(NULL)"


def _apply_diff(
    wh: Warehouse,
    new: str,
    tags: Sequence[RunTag],
    ids: Mapping[str, int],
    *,
    run_id: int,
    when: str,
) -> int:
    """Diff the tags that have values (and the retired ones), then end, delete and insert
    only what changed.

    Returns:
        The number of changes.
    """

    def diff(tag_id: int, multi: bool) -> str:
        on = " AND n.value = o.value" if multi else ""
        return (
            "SELECT coalesce(n.cid, o.cid), coalesce(n.tag_id, o.tag_id), o.value, n.value, "  # noqa: S608 (fixed tables; values int() or lit())
            f"o.score, n.score, o.cid IS NOT NULL, n.cid IS NOT NULL, {lit(multi)} "
            f"FROM (SELECT * FROM {new} WHERE tag_id = {tag_id}) n "
            f"FULL OUTER JOIN (SELECT * FROM tags.computed WHERE tag_id = {tag_id}) o "
            f"ON n.cid = o.cid AND n.tag_id = o.tag_id{on} "
            "WHERE o.cid IS NULL OR n.cid IS NULL OR n.value IS DISTINCT FROM o.value "
            "OR n.score IS DISTINCT FROM o.score"
        )

    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE {_CHANGES} (cid INTEGER, tag_id INTEGER, "
        "old_value VARCHAR, new_value VARCHAR, old_score DOUBLE, new_score DOUBLE, "
        "had_old BOOLEAN, has_new BOOLEAN, multi BOOLEAN)"
    )
    # one join per tag: the hash table holds one tag's values (a million rows, not all
    # tags' tens of millions), so a diff stays fast and small in memory
    for t in tags:
        wh.execute(f"INSERT INTO {_CHANGES} {diff(ids[t.code], t.kind == 'multi')}")
    # retired tags: every value ends (matched by value, as for multi tags)
    wh.execute(
        f"INSERT INTO {_CHANGES} SELECT cid, tag_id, value, NULL, score, NULL, TRUE, FALSE, TRUE "  # noqa: S608 (fixed tables; values int() or lit())
        f"FROM tags.computed WHERE tag_id IN (SELECT tag_id FROM {_RUN_TAGS} WHERE retire)"
    )
    match = (
        "c.cid = ch.cid AND c.tag_id = ch.tag_id "
        "AND (NOT ch.multi OR c.value IS NOT DISTINCT FROM ch.old_value) "
        "AND ch.had_old"
    )
    wh.execute(
        "INSERT INTO tags.past SELECT c.cid, c.tag_id, c.value, c.score, d.source, d.version, "  # noqa: S608 (fixed tables; values int() or lit())
        f"c.run_id, CAST(r.as_of AS TIMESTAMP), {when}, {int(run_id)} FROM tags.computed c "
        f"JOIN {_CHANGES} ch ON {match} JOIN tags.defs d ON d.tag_id = c.tag_id "
        "LEFT JOIN meta.runs r ON r.run_id = c.run_id"
    )
    wh.execute(f"DELETE FROM tags.computed c USING {_CHANGES} ch WHERE {match}")  # noqa: S608 (fixed tables; values int() or lit())
    wh.execute(
        f"INSERT INTO tags.computed SELECT cid, tag_id, new_value, new_score, {int(run_id)} "  # noqa: S608 (fixed tables; values int() or lit())
        f"FROM {_CHANGES} WHERE has_new"
    )
    return int(wh.scalar(f"SELECT count(*) FROM {_CHANGES}"))  # noqa: S608 (fixed tables; values int() or lit())


def _result(
    wh: Warehouse,
    tags: Sequence[RunTag],
    ids: Mapping[str, int],
    *,
    fresh: set[str],
    changed: int,
) -> SwapResult:
    values = dict(
        wh.rows(
            f"SELECT tag_id, count(*) FROM tags.computed WHERE tag_id IN {_ids(tags, ids)} "  # noqa: S608 (fixed tables; values int() or lit())
            "GROUP BY tag_id"
        )
    )
    changes: dict[int, int] = {}
    if changed:
        changes = dict(wh.rows(f"SELECT tag_id, count(*) FROM {_CHANGES} GROUP BY tag_id"))  # noqa: S608 (fixed tables; values int() or lit())
    result = SwapResult()
    for t in tags:
        n = int(values.get(ids[t.code], 0))
        result.per_tag[t.code] = (n, n if t.code in fresh else int(changes.get(ids[t.code], 0)))
    result.tag_values = sum(v for v, _ in result.per_tag.values())
    result.changes = changed + sum(result.per_tag[code][0] for code in fresh)
    return result


def _old_layout(wh: Warehouse) -> bool:
    """Whether the warehouse has the layout of Tagwise 0.1 (wide current, history and
    changes tables)."""
    return bool(
        wh.scalar(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'tags' "
            "AND table_name IN ('current', 'history', 'changes')"
        )
    )


def _upgrade_wide(wh: Warehouse) -> None:
    """Move a 0.1 layout into this one: tags get ids (multi when a customer ever held
    several values), open intervals become computed values, locked current values locks,
    and closed intervals move to ``past`` with the run that ended each (from the old change
    log); the old tables are dropped (inside the revision's transaction)."""
    # a multi tag: some customer held several values at once (set by one run, or open)
    wh.execute(
        "INSERT INTO tags.defs SELECT (row_number() OVER (ORDER BY tag))::INTEGER, tag, "
        "CASE WHEN bool_or(n > 1) THEN 'multi' ELSE 'enum' END, max(version), "
        "coalesce(min(source) FILTER (WHERE source <> 'manual'), 'rule') FROM ("
        "SELECT tag, count(*) AS n, max(version) AS version, min(source) AS source "
        "FROM tags.history GROUP BY tag, cid, valid_from UNION ALL "
        "SELECT tag, count(*), max(version), min(source) FROM tags.history "
        "WHERE valid_to IS NULL GROUP BY tag, cid) GROUP BY tag"
    )
    wh.execute(
        "INSERT INTO tags.defs SELECT (SELECT coalesce(max(tag_id), 0) FROM tags.defs) "
        "+ (row_number() OVER (ORDER BY tag))::INTEGER, tag, 'enum', max(version), 'rule' "
        "FROM tags.current WHERE tag NOT IN (SELECT tag FROM tags.defs) GROUP BY tag"
    )
    # the open intervals are exactly the computed values (locked ones included)
    wh.execute(
        "INSERT INTO tags.computed SELECT h.cid, d.tag_id, h.value, h.score, h.run_id "
        "FROM tags.history h JOIN tags.defs d USING (tag) "
        "WHERE h.valid_to IS NULL AND h.run_id IS NOT NULL"
    )
    wh.execute(
        "INSERT INTO tags.locks SELECT c.cid, d.tag_id, c.value, c.score, c.source, "
        "c.confidence, c.valid_from, c.expires_at, NULL "
        "FROM tags.current c JOIN tags.defs d USING (tag) WHERE c.locked"
    )
    wh.execute(
        "INSERT INTO tags.past SELECT h.cid, d.tag_id, h.value, h.score, h.source, "
        "h.version, h.run_id, h.valid_from, h.valid_to, (SELECT min(ch.run_id) "
        "FROM tags.changes ch WHERE ch.cid = h.cid AND ch.tag = h.tag "
        "AND ch.as_of = CAST(h.valid_to AS DATE) "
        "AND ch.old_value IS NOT DISTINCT FROM h.value) "
        "FROM tags.history h JOIN tags.defs d USING (tag) WHERE h.valid_to IS NOT NULL"
    )
    for name in ("changes", "history", "current"):
        wh.execute(f"DROP TABLE IF EXISTS tags.{name}")

"""What the workspace's operations return: declared, frozen models shared by the CLI, the
Python API and the HTTP API.

``--json`` prints ``result.model_dump(mode="json")``, so these field names are the JSON
keys, the same everywhere: a run is ``run_id``, a customer ``customer_id`` (its key in the
customer master) and ``cid`` (its internal number), a business date ``as_of``; a value a
change ends is ``old_value``/``old_score`` and the one it sets ``new_value``/``new_score``.
``tests/test_results.py`` walks every model and refuses known synonyms.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from tagwise.errors import TagwiseError

__all__ = [
    "CappedCount",
    "CappedIdentifiers",
    "ChangeCount",
    "ClusterSize",
    "ColumnQuality",
    "CustomerProfile",
    "CustomerTags",
    "DecisionResult",
    "ExportResult",
    "IdentifierQuality",
    "IdentityEvent",
    "IdentityQuality",
    "IndexedTagValue",
    "IngestError",
    "IngestResult",
    "LastIngest",
    "LastResolution",
    "LintResult",
    "MatchingModel",
    "MatchingQuality",
    "ModelLevelResult",
    "PlanChange",
    "PlanResult",
    "PlanSummary",
    "Problem",
    "ProfileTag",
    "QualityResult",
    "QuarantineResult",
    "QuarantineRow",
    "Record",
    "ResolveResult",
    "Result",
    "ReviewPair",
    "ReviewQueue",
    "ReviewRecord",
    "RunList",
    "RunResult",
    "RunSummary",
    "SegmentBreakdownRow",
    "SegmentCount",
    "SegmentDetail",
    "SegmentExplainResult",
    "SegmentExportFile",
    "SegmentExportInfo",
    "SegmentExportResult",
    "SegmentList",
    "SegmentOverlapResult",
    "SegmentPredicate",
    "SegmentSaveResult",
    "SegmentSize",
    "SegmentSnapshotInfo",
    "SegmentSnapshotResult",
    "SegmentSummary",
    "SourceQuality",
    "SourceResult",
    "SourceRows",
    "TagChange",
    "TagComputation",
    "TagCounts",
    "TagDetail",
    "TagList",
    "TagOverview",
    "TagVersion",
    "TopIdentifier",
    "TrainingSession",
    "ValueCount",
]


class Result(BaseModel):
    """Base of every result: frozen, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Problem(Result):
    """A problem found in a file or a source (``TagwiseError.to_dict()`` as a model)."""

    code: str
    message: str
    hint: str | None = None
    file: str | None = None
    line: int | None = None
    col: int | None = None
    start: int | None = None
    end: int | None = None
    exit_code: int = 1
    text: str
    """The problem in one line as the CLI prints it (``error[code]: file:line: message``)."""

    @classmethod
    def of(cls, err: TagwiseError) -> Problem:
        """The problem an error describes."""
        location = f"{err.location}: " if err.location else ""
        hint = f" (hint: {err.hint})" if err.hint else ""
        text = f"error[{err.code}]: {location}{err.message}{hint}"
        if hasattr(err, "span"):  # an expression error renders its source and position
            text = f"error[{err.code}]: {err}"
        return cls.model_validate(
            {**err.to_dict(), "exit_code": err.exit_code, "text": text.replace("\n", " ")}
        )


# -- ingest and identity -------------------------------------------------------------------


class SourceResult(Result):
    """What ingesting one source did; ``loaded + rejected == read``."""

    name: str
    files: list[str]
    read: int
    loaded: int
    rejected: int
    new_customers: int
    reasons: dict[str, int]
    warnings: dict[str, int] = {}
    """Values that did not parse in optional columns, loaded as null (their rows are
    loaded), by column and reason; each is in the quarantine with its raw value."""
    seconds: float


class IngestError(Problem):
    """A source that could not be read (its previous data stays)."""

    source: str


class ResolveResult(Result):
    """What one identity resolution found and changed."""

    resolution_id: int
    records: int
    customers: int
    merged_customers: int
    """Customers holding more than one record."""
    merged_records: int
    """Records in those customers."""
    identifiers: int
    linking_identifiers: int
    capped: int
    matches: int
    """Probabilistic pairs at or above the merge threshold."""
    matching: str
    """Where pairs were found: duckdb, spark, reused (records unchanged) or off."""
    review: int
    """Pairs waiting for a person."""
    changed: int
    """Records whose customer changed."""
    events: dict[str, int]
    rounds: int
    seconds: float
    timings: dict[str, float]


class ModelLevelResult(Result):
    """One comparison level of the trained matching model."""

    field: str
    level: str
    m: float
    """Share of true pairs that land in this level (trained by expectation maximisation)."""
    u: float
    """Share of random pairs that land in this level (measured on random pairs; an
    exact level's u is the chance that two random values agree)."""
    weight: float | None
    """log2(m / u): the evidence this level adds to a pair's match weight (before the term
    frequency adjustment of an exact level)."""


class TrainingSession(Result):
    """One expectation-maximisation session: the pairs of one blocking rule."""

    rule: list[str]
    pairs: int
    iterations: int | None = None
    share_of_matches: float | None = None
    """Share of the rule's pairs that the session found to be matches (splink's lambda)."""
    skipped: str | None = None
    """Why the session trained nothing (too few pairs, or no other field)."""


class MatchingModel(Result):
    """The matching model of the last resolution that trained one."""

    resolution_id: int
    resolved_at: datetime
    prior: float
    """Probability that two random records match."""
    blocking: list[list[str]]
    training: list[TrainingSession]
    levels: list[ModelLevelResult]


class IngestResult(Result):
    """The result of ``ingest``: one result per source, in ingest order."""

    sources: list[SourceResult]
    errors: list[IngestError]
    identity: ResolveResult | None
    """The identity resolution that followed, when a source could change who is who."""


class ReviewRecord(Result):
    """One record of a pair to review, with the fields matching compares."""

    rid: int
    customer_id: str
    fields: dict[str, Any]


class ReviewPair(Result):
    """Two records that matching found likely, but not certainly, one customer."""

    probability: float
    left: ReviewRecord
    right: ReviewRecord


class ReviewQueue(Result):
    """Pairs waiting for a person, most likely first."""

    pairs: list[ReviewPair]
    """The page shown: at most ``limit`` pairs."""
    total: int
    """Pairs waiting in all."""
    limit: int
    """The most pairs a page holds."""
    truncated: bool
    """Whether ``limit`` cut the list (``total`` is larger than the page)."""


# -- runs ----------------------------------------------------------------------------------


class TagCounts(Result):
    """One tag's values and changes in a run."""

    values: int
    changes: int


class RunResult(Result):
    """What a run did. A ``run --due`` with nothing due computes and records nothing:
    ``run_id`` is ``None`` and ``tags`` is empty."""

    run_id: int | None
    as_of: date
    tags: list[str]
    customers: int = 0
    tag_values: int = 0
    changes: int = 0
    timings: dict[str, float] = {}
    retired: list[str] = []
    per_tag: dict[str, TagCounts] = {}


class DecisionResult(Result):
    """A person's identity decision: its ids, the resolution it caused and the run that
    recomputed the tags of the customers concerned (``None``: not recomputed)."""

    decisions: list[int]
    identity: ResolveResult
    recomputed: RunResult | None


class RunSummary(Result):
    """One run as the catalog records it."""

    run_id: int
    status: str
    as_of: date
    started_at: datetime
    finished_at: datetime | None
    tags: int
    customers: int
    tag_values: int
    changes: int
    timings: dict[str, float]
    error: str | None
    actor: str
    engine: str


class RunList(Result):
    """Latest runs first."""

    runs: list[RunSummary]


# -- specs ---------------------------------------------------------------------------------


class LintResult(Result):
    """Every problem in the spec files."""

    ok: bool
    problems: list[Problem]


class PlanChange(Result):
    """One definition ``apply`` records (or recorded)."""

    kind: str
    code: str
    action: str
    """add, change, remove (→ deprecated) or restore."""
    version: int
    status: str
    fields: list[str]
    diff: str


class PlanSummary(Result):
    """Changes per action."""

    add: int
    change: int
    remove: int
    restore: int


class PlanResult(Result):
    """The difference between the spec files and the catalog's versions."""

    changes: list[PlanChange]
    summary: PlanSummary
    errors: list[Problem]

    @property
    def is_empty(self) -> bool:
        """Nothing to apply."""
        return not self.changes


# -- tags ----------------------------------------------------------------------------------


class TagOverview(Result):
    """A defined tag with its coverage and last computation."""

    code: str
    name: str
    category: str
    kind: str
    status: str
    refresh: str
    sensitivity: str
    owner: str | None
    customers: int
    coverage: float | None
    last_run_id: int | None
    last_computed_at: datetime | None


class TagList(Result):
    """Every defined tag."""

    tags: list[TagOverview]


class TagVersion(Result):
    """One recorded version of a tag definition."""

    version: int
    status: str
    applied_at: datetime
    applied_by: str


class ValueCount(Result):
    """Customers holding one value."""

    value: str
    customers: int


class ChangeCount(Result):
    """Customers whose value went from ``old_value`` to ``new_value`` in a run."""

    old_value: str | None
    new_value: str | None
    customers: int


class TagComputation(Result):
    """A successful computation of a tag by a run."""

    run_id: int
    version: int
    as_of: date
    computed_at: datetime
    customers: int
    tag_values: int
    changes: int


class TagDetail(Result):
    """A tag's definition, distribution, coverage, last computation and versions."""

    code: str
    definition: dict[str, Any]
    """The definition as written in its YAML file."""
    version: int | None
    versions: list[TagVersion]
    distribution: list[ValueCount]
    customers: int
    coverage: float | None
    last_computation: TagComputation | None
    last_run_changes: list[ChangeCount]


# -- customers -----------------------------------------------------------------------------


class Record(Result):
    """One record (customer-master row) of a customer."""

    customer_id: str
    rid: int
    file: str | None
    line: int | None
    survivor: bool
    linked_by: str | None


class IdentityEvent(Result):
    """A merge, split or move that involved a customer."""

    resolution_id: int
    at: datetime
    record: str
    kind: str
    old_cid: int | None
    new_cid: int | None
    reason: str | None


class ProfileTag(Result):
    """One tag of a customer with its provenance.

    ``run_id`` is the run whose computation the value is explained on: the latest run, up
    to the profile's state, that computed the tag (it set or confirmed the value);
    ``as_of`` is that run's as-of date, ``since`` the date the value started and
    ``set_by_run_id`` the run that set it.
    """

    tag: str
    name: str
    category: str | None
    kind: str | None
    values: list[str]
    score: float | None
    source: str
    version: int | None
    run_id: int | None
    as_of: date | None
    set_by_run_id: int | None
    since: datetime | None
    locked: bool
    shadow: str | None
    why: str | None


class TagChange(Result):
    """One change of a customer's tag value: by a run, or by a person (``run_id`` None: a
    manual value, import, review decision or lock expiry)."""

    run_id: int | None
    as_of: date | None
    tag: str
    old_value: str | None
    new_value: str | None
    old_score: float | None
    new_score: float | None


class CustomerProfile(Result):
    """A customer as of one moment: the state of the run ``run_id``.

    The state run is the latest committed run that computed tags (with ``--as-of D``, the
    latest as of D or earlier). ``features`` are that run's profile snapshot (``None``
    when it is no longer kept, holds no row for the customer, or there is no run); each
    tag names the run it is explained on.
    """

    customer_id: str
    cid: int
    as_of: date | None
    """The date the tags shown held: ``--as-of``, else the state run's as-of date."""
    historical: bool
    """The tags come from history (``--as-of``), not the current values."""
    run_id: int | None
    """The state run."""
    run_as_of: date | None
    """The state run's as-of date (the features are as of it)."""
    attributes: dict[str, Any]
    """The customer master's columns (the golden record), as declared in sources.yaml."""
    records: list[Record]
    attribute_sources: dict[str, str]
    """Golden-record attribute → the record key its value came from."""
    identity_history: list[IdentityEvent]
    features: dict[str, Any] | None
    """Feature name → value in the state run's snapshot."""
    tags: list[ProfileTag]
    changes: list[TagChange]


# -- sources -------------------------------------------------------------------------------


class QuarantineRow(Result):
    """A rejected row with its place and reason."""

    source: str
    file: str | None
    line: int | None
    column: str | None
    raw_value: str | None
    reason: str
    problems: str | None
    """Every problem of the row (JSON text)."""
    record: str | None
    """The raw record (JSON text)."""


class QuarantineResult(Result):
    """Rejected rows, by source, file and line."""

    rows: list[QuarantineRow]


class SourceRows(Result):
    """Rows written for one source."""

    name: str
    rows: int


class ExportResult(Result):
    """Where ``sources export`` or ``publish`` wrote the sources."""

    target: str
    sources: list[SourceRows]


class ColumnQuality(Result):
    """Completeness and validity of one declared column."""

    column: str
    file_column: str
    type: str
    filled: int | None
    completeness: float | None
    rejected: int
    validity: float | None
    nulled: int = 0
    """Values that did not parse and were loaded as null (``on_invalid: null``)."""


class LastIngest(Result):
    """How a source's last ingest ended."""

    status: str
    at: datetime


class SourceQuality(Result):
    """The quality of one source."""

    name: str
    role: str
    table: str
    ingested: bool
    read: int
    loaded: int
    rejected: int
    rejected_rate: float | None
    duplicates: int
    duplicate_rate: float | None
    columns: list[ColumnQuality]
    reasons: dict[str, int]
    warnings: int = 0
    """Values loaded as null because they did not parse (their rows were loaded)."""
    warning_reasons: dict[str, int] = {}
    last_ingest: LastIngest | None = None


class ClusterSize(Result):
    """Customers holding ``size`` records."""

    size: int
    customers: int


class IdentifierQuality(Result):
    """One identifier type's coverage and linking."""

    type: str
    strong: bool
    rows: int
    records: int
    values: int
    shared: int
    capped: int
    linking: int


class CappedCount(Result):
    """Capped identifier values of one type and reason."""

    type: str
    reason: str
    values: int
    records: int


class TopIdentifier(Result):
    """A (masked) identifier value shared by many records."""

    type: str
    value: str
    records: int
    reason: str


class CappedIdentifiers(Result):
    """Identifier values that link nobody."""

    values: int
    by_reason: list[CappedCount]
    top: list[TopIdentifier]


class MatchingQuality(Result):
    """Probabilistic matching's pairs."""

    threshold: float | None
    matches: int
    review: int


class LastResolution(Result):
    """The last identity resolution."""

    resolution_id: int
    resolved_at: datetime
    report: Any
    """The resolution's report as recorded (a JSON object; text when it cannot be read)."""


class IdentityQuality(Result):
    """The quality of identity resolution."""

    master: str
    resolved: bool
    up_to_date: bool
    records: int
    customers: int
    merged_customers: int
    merged_records: int
    cluster_sizes: list[ClusterSize]
    identifiers: list[IdentifierQuality]
    linking_identifiers: int
    capped: CappedIdentifiers
    matching: MatchingQuality
    last_resolution: LastResolution | None


class QualityResult(Result):
    """The data quality report of the sources and of identity resolution."""

    sources: list[SourceQuality]
    identity: IdentityQuality | None


# Segments: evaluation ---------------------------------------------------------------------


class SegmentBreakdownRow(Result):
    """Members holding one value of the breakdown tag (``value`` None: no value)."""

    value: str | None
    count: int
    share: float
    """Of the members."""


class SegmentCount(Result):
    """A segment expression evaluated: how many customers meet it, and who.

    ``share`` is ``count / total`` (0 when there are no customers); ``sample`` holds up to
    the asked number of members' customer ids, spread evenly over the members in cid order
    (the same members give the same sample); ``breakdown`` counts the members per value of
    the ``by`` tag, most first. ``seq`` is the tag store's change-feed commit the index
    reflects (for ``as_of``: the values held on that date, from history).
    """

    expression: str
    count: int
    share: float
    total: int
    as_of: date | None
    seq: int
    sample: list[str]
    by: str | None = None
    breakdown: list[SegmentBreakdownRow] | None = None
    answered: dict[str, str] = {}
    """Sub-expression → ``index`` or ``warehouse``: where each part was answered."""
    warnings: list[str] = []


class IndexedTagValue(Result):
    """One tag of a customer as the segment index holds it (values, or a score)."""

    tag: str
    values: list[str]
    score: float | None


class CustomerTags(Result):
    """A customer's current tags read from the segment index (membership tests of its
    bitmaps, no scan of the tag store): the values only, without provenance (``customer
    show`` has the provenance). ``seq`` is the change-feed commit the index reflects."""

    customer_id: str
    cid: int
    seq: int
    tags: list[IndexedTagValue]


# Segments: saved, exports, snapshots -------------------------------------------------------


class SegmentSaveResult(Result):
    """A segment written to its file and recorded in the catalog (``segment save``)."""

    name: str
    expr: str
    file: str
    version: int
    """The segment's recorded version (unchanged when the definition was the same)."""
    changed: bool
    """Whether this save recorded a new version."""


class SegmentSummary(Result):
    """One saved segment in ``segment list``."""

    name: str
    expr: str
    description: str
    owner: str
    version: int | None
    """The newest recorded version (None: never applied)."""
    applied: bool
    """Whether the file's definition is the newest recorded version."""
    members: int
    share: float | None
    """Members / all customers (None when there are no customers)."""


class SegmentList(Result):
    """Every saved segment."""

    segments: list[SegmentSummary]


class SegmentSize(Result):
    """A segment's size as of one run (the tags customers held on the run's as-of date)."""

    run_id: int
    as_of: date
    members: int


class SegmentSnapshotInfo(Result):
    """One frozen member list of a segment."""

    label: str
    version: int | None
    seq: int
    """The tag store's change-feed sequence the members reflect."""
    taken_at: datetime
    actor: str
    members: int


class SegmentExportInfo(Result):
    """One export of a segment, as the catalog's log keeps it."""

    exported_at: datetime
    actor: str
    version: int | None
    snapshot: str | None
    files: list[str]
    members: int
    control_members: int | None
    holdout: float | None


class SegmentDetail(Result):
    """A saved segment: definition, size, size trend across runs, what it reads, snapshots."""

    name: str
    expr: str
    description: str
    owner: str
    file: str
    version: int | None
    applied: bool
    versions: list[TagVersion]
    members: int
    share: float | None
    tags_used: list[str]
    segments_used: list[str]
    trend: list[SegmentSize]
    """Oldest first: the size as of each of the latest runs (one per as-of date)."""
    snapshots: list[SegmentSnapshotInfo]
    exports: list[SegmentExportInfo]
    """The latest exports first (at most 10): the catalog's export log."""


class SegmentExportFile(Result):
    """One file an export wrote."""

    path: str
    members: int


class SegmentExportResult(Result):
    """What ``segment export`` wrote: the target list and, with a holdout, the control list."""

    name: str
    snapshot: str | None
    """The snapshot label exported (None: the segment's members now)."""
    version: int | None
    members: int
    target: SegmentExportFile
    control: SegmentExportFile | None
    holdout: float | None
    """The share asked for the control group."""
    seed: str | None
    columns: list[str]
    file_format: str
    bom: bool
    exported_at: datetime
    actor: str
    """Who exported (``name@via``), as the catalog's export log records it."""


class SegmentOverlapResult(Result):
    """Members shared by each pair of segments, and their Jaccard similarity."""

    segments: list[str]
    sizes: list[int]
    shared: list[list[int]]
    """``shared[i][j]``: members of both segment i and segment j (the diagonal: the sizes)."""
    jaccard: list[list[float]]


class SegmentSnapshotResult(Result):
    """A snapshot just taken."""

    name: str
    label: str
    version: int | None
    seq: int
    taken_at: datetime
    actor: str
    members: int


class SegmentPredicate(Result):
    """One predicate of a segment for one customer."""

    text: str
    met: bool | None
    """None: a value the predicate needs is missing (so it is not met)."""
    values: dict[str, Any]
    segment: str | None
    """The nested segment the predicate belongs to (None: the segment explained)."""
    depth: int


class SegmentExplainResult(Result):
    """Why a customer is in a segment or not."""

    name: str
    expr: str
    customer_id: str
    cid: int
    is_member: bool
    """Whether the customer is among the segment's members (the index's answer)."""
    run_id: int | None
    """The run whose features the predicates read (tags: the current values)."""
    as_of: date | None
    predicates: list[SegmentPredicate]

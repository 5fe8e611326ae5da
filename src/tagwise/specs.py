"""Loading every spec of a workspace at once, and checking them all together (``lint``).

This module wires the spec loaders (``spec/``) to the checks that need the engine's view
of the data (feature and rule checks in ``engine/``); it sits beside ``workspace.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tagwise.errors import SpecError, TagwiseError
from tagwise.lang import Schema
from tagwise.settings import Settings
from tagwise.spec.features import FeaturesSpec, load_features
from tagwise.spec.load import Document
from tagwise.spec.naming import check_names
from tagwise.spec.segments import SegmentsSpec, check_segments, collect_segments
from tagwise.spec.sources import SourcesSpec, load_sources, match_type_problems
from tagwise.spec.tagfiles import collect_tags
from tagwise.spec.tags import TagsSpec
from tagwise.spec.taxonomy import Taxonomy, load_taxonomy

if TYPE_CHECKING:
    from tagwise.compile.plan import TagPlan

__all__ = ["Specs", "load_specs", "source_tables"]

SOURCES_FILE = "sources.yaml"
FEATURES_FILE = "features.yaml"
TAXONOMY_FILE = "taxonomy.yaml"
TAGS_DIR = "tags"
SEGMENTS_DIR = "segments"


@dataclass(slots=True)
class Specs:
    """Every spec of a workspace, and every problem found while loading and checking."""

    sources: SourcesSpec | None = None
    features: FeaturesSpec | None = None
    features_doc: Document | None = None
    taxonomy: Taxonomy | None = None
    tags: TagsSpec | None = None
    segments: SegmentsSpec | None = None
    schema: Schema | None = None
    """The profile schema (attributes + features), when sources and features are valid."""
    segment_schema: Schema | None = None
    """What segments may read: attributes, features and every tag that is not deprecated
    (tag columns named by code), when sources, features and tags are valid."""
    plan: TagPlan | None = None
    """The checked plan of every tag, when nothing has a problem (a run reuses it instead
    of checking the rules a second time)."""
    errors: list[TagwiseError] = field(default_factory=list)

    def items(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Canonical definitions for plan/apply: kind → code → definition."""
        out: dict[str, dict[str, dict[str, Any]]] = {
            "category": {},
            "feature": {},
            "tag": {},
            "segment": {},
        }
        if self.taxonomy is not None:
            for category in self.taxonomy:
                parent = self.taxonomy.parent(category.code)
                out["category"][category.code] = {
                    "name": category.name,
                    "prefix": category.prefix,
                    "description": category.description,
                    "parent": parent.code if parent else None,
                    "status": "published",
                }
        if self.features is not None:
            for name, feature in self.features.features.items():
                out["feature"][name] = {
                    **feature.model_dump(mode="json", exclude_defaults=True),
                    "status": "published",
                }
        if self.tags is not None:
            for code, tag in self.tags.tags.items():
                definition = tag.model_dump(mode="json", by_alias=True, exclude_defaults=True)
                definition["status"] = tag.status.value
                out["tag"][code] = definition
        if self.segments is not None:
            for name, segment in self.segments.segments.items():
                out["segment"][name] = segment.definition()
        return out

    @property
    def draft_tags(self) -> frozenset[str]:
        """Codes of the draft tags (runs compute them; segments may not use them)."""
        if self.tags is None:
            return frozenset()
        return frozenset(c for c, t in self.tags.tags.items() if t.status.value == "draft")

    @property
    def deprecated_tags(self) -> frozenset[str]:
        """Codes of the deprecated tags (runs skip them; segments may not use them)."""
        if self.tags is None:
            return frozenset()
        return frozenset(c for c, t in self.tags.tags.items() if t.status.value == "deprecated")


def load_specs(root: Path, settings: Settings, *, check: bool = True) -> Specs:
    """Load every spec file; with ``check``, run every check and collect all problems."""
    from tagwise.compile.features import check_features, profile_schema  # noqa: PLC0415
    from tagwise.compile.rules import checked_plan  # noqa: PLC0415

    specs = Specs()
    specs.sources = _collect(specs, lambda: load_sources(root / SOURCES_FILE))
    loaded = _collect(specs, lambda: load_features(root / FEATURES_FILE))
    if loaded is not None:
        specs.features, specs.features_doc = loaded
    specs.taxonomy = _collect(specs, lambda: load_taxonomy(root / TAXONOMY_FILE))
    tags, problems = collect_tags(root / TAGS_DIR)
    specs.tags = tags
    specs.errors.extend(problems)
    specs.segments, segment_problems = collect_segments(root / SEGMENTS_DIR)
    specs.errors.extend(segment_problems)
    if not check:
        return specs
    if specs.taxonomy is not None:
        specs.errors.extend(check_names(tags, specs.taxonomy, settings.naming))
    if specs.sources is not None:
        specs.errors.extend(match_type_problems(specs.sources))
    if specs.sources is not None and specs.features is not None:
        feature_errors = check_features(specs.features, specs.features_doc, specs.sources)
        specs.errors.extend(feature_errors)
        if not feature_errors:
            specs.schema = profile_schema(specs.features, specs.sources)
            plan, tag_errors = checked_plan(
                list(tags.tags.values()),
                specs.schema,
                locate=tags.where,
                sources=source_tables(specs.sources),
            )
            specs.errors.extend(tag_errors)
            specs.plan = plan
            specs.segment_schema = plan.schema
            specs.errors.extend(
                check_segments(
                    specs.segments,
                    plan.schema,
                    drafts=specs.draft_tags,
                    deprecated=specs.deprecated_tags,
                )
            )
    if specs.errors:
        specs.plan = None
    specs.errors.sort(key=_position)
    return specs


def source_tables(sources: SourcesSpec) -> dict[str, list[str]]:
    """The columns of each ``src.<source>`` table as SQL tags see them."""
    return {
        name: [*(["cid"] if spec.customer_key else []), *spec.columns]
        for name, spec in sources.sources.items()
    }


def _collect(specs: Specs, load: Any) -> Any:
    try:
        return load()
    except SpecError as exc:  # a file's problems come together (spec.load.SpecProblems)
        specs.errors.extend(getattr(exc, "problems", [exc]))
        return None


def _position(err: TagwiseError) -> tuple[str, int, int]:
    loc = err.location
    if loc is None:
        return ("", 0, 0)
    return (str(loc.path), loc.line or 0, loc.col or 0)

"""Corrupted person records with a known truth, in the style of public deduplication data.

The demo's own customers (:mod:`tagwise.demo.customers`) carry the formatting noise of
Chinese retail channels. Public record-linkage benchmarks (FEBRL and the data sets made
with its generator) look different: romanized names, a street number and street, a
suburb, a postcode and state, a birth date written ``YYYYMMDD`` and an id number, where
each original person has one to five duplicate records, and each duplicate carries one to
three corruptions. This module makes such data from its own vocabulary (nothing is
copied): deterministic for a ``seed``, vectorized with numpy (a million records in a few
seconds), with the truth (the person of each record) and the corruptions each record got.

Corruption kinds (:class:`Kind`), applied to duplicates only:

* ``typo``: one character inserted, deleted or replaced in a name, street or suburb;
* ``transposition``: two neighbouring characters swapped (one Damerau–Levenshtein edit);
* ``swapped_names``: given name and surname exchanged;
* ``missing``: one field left empty;
* ``date``: the birth date with day and month swapped, one digit changed (the result may
  be an impossible date such as ``19870231``), or cut short;
* ``abbreviation``: the street type abbreviated (``street`` → ``st``) or written out.

Records are shuffled, so an original is not always the first record of its person.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["COLUMNS", "Kind", "PairScore", "Persons", "components", "generate_persons"]

COLUMNS = (
    "rid",
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
)
"""The columns of :attr:`Persons.records`; all but ``rid`` may be null."""


class Kind(IntFlag):
    """The corruptions a record got (a bit set; 0: an original record)."""

    TYPO = 1
    TRANSPOSITION = 2
    SWAPPED_NAMES = 4
    MISSING = 8
    DATE = 16
    ABBREVIATION = 32


_S = np.dtypes.StringDType()

_ONSETS = (
    "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w",
    "y", "z", "br", "ch", "cl", "dr", "gr", "kr", "sh", "st", "th", "tr", "",
)  # fmt: skip
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "ee", "ie", "oo", "ou", "ay")
_CODAS = ("", "", "", "n", "r", "s", "l", "m", "t", "ck", "nd", "rd", "ll", "th", "ng")
_STREET_TYPES = (
    ("street", "st"), ("road", "rd"), ("avenue", "ave"), ("place", "pl"),
    ("crescent", "cres"), ("drive", "dr"), ("court", "ct"), ("close", "cl"),
    ("parade", "pde"), ("circuit", "cct"), ("terrace", "tce"), ("highway", "hwy"),
)  # fmt: skip
_STATES = ("nsw", "vic", "qld", "wa", "sa", "tas", "act", "nt")
_LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"), dtype=_S)
_VOCAB_SEED = 20_261_204
"""The vocabulary is the same for every data seed (names keep their frequencies)."""

# how many duplicates an original gets (0 to 5) and how many corruptions a duplicate gets
_DUPLICATES = np.array([0.40, 0.22, 0.14, 0.10, 0.08, 0.06])
_CORRUPTIONS = np.array([0.0, 0.6, 0.3, 0.1])
_KIND_WEIGHTS = {
    Kind.TYPO: 0.26,
    Kind.TRANSPOSITION: 0.14,
    Kind.SWAPPED_NAMES: 0.08,
    Kind.MISSING: 0.22,
    Kind.DATE: 0.16,
    Kind.ABBREVIATION: 0.14,
}


@dataclass(frozen=True)
class PairScore:
    """Pairwise precision and recall of found pairs against the truth."""

    found: int
    correct: int
    true: int

    @property
    def precision(self) -> float:
        """Share of the found pairs that are true (1.0 when nothing was found)."""
        return self.correct / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        """Share of the true pairs found."""
        return self.correct / self.true if self.true else 1.0


@dataclass(frozen=True)
class Persons:
    """Generated records, the person of each and the corruptions it got."""

    records: pa.Table
    """The :data:`COLUMNS`; ``rid`` is 0..n-1."""
    person: np.ndarray
    """Person id of each record, indexed by rid."""
    kinds: np.ndarray
    """:class:`Kind` bits of each record (0: the person's original record)."""
    corruptions: np.ndarray | None = None
    """How many corruptions each record got (a kind may repeat: two typos)."""

    def true_pair_count(self) -> int:
        """Pairs of records of the same person."""
        sizes = np.bincount(self.person)
        return int((sizes * (sizes - 1) // 2).sum())

    def score(self, left: Any, right: Any) -> PairScore:
        """Precision and recall of the pairs ``(left[i], right[i])`` (rids, each pair once)."""
        left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
        correct = int((self.person[left] == self.person[right]).sum())
        return PairScore(len(left), correct, self.true_pair_count())

    def score_clusters(self, left: Any, right: Any) -> PairScore:
        """Precision and recall of the customers the pairs make: records linked by a chain
        of pairs are one customer (connected components, as resolution merges them), and
        every two records of one customer count as a found pair."""
        labels = components(len(self.person), left, right)
        found = _pairs_within(labels)
        both = labels.astype(np.int64) * (int(self.person.max()) + 1) + self.person
        return PairScore(found, _pairs_within(both), self.true_pair_count())

    def score_kind(self, kind: Kind, left: Any, right: Any) -> PairScore:
        """Recall on the pairs of an original and a duplicate corrupted once, by ``kind``;
        ``found`` and ``correct`` count the found pairs among those."""
        left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
        single = self.kinds == int(kind)
        if self.corruptions is not None:
            single &= self.corruptions == 1
        original = self.kinds == 0
        same = self.person[left] == self.person[right]
        hit = same & ((original[left] & single[right]) | (single[left] & original[right]))
        persons_with_original = np.zeros(self.person.max() + 1, dtype=bool)
        persons_with_original[self.person[original]] = True
        true = int((single & persons_with_original[self.person]).sum())
        return PairScore(int(hit.sum()), int(hit.sum()), true)


def components(n: int, left: Any, right: Any) -> np.ndarray:
    """The smallest record of each record's connected component under the pairs
    (label propagation, vectorized)."""
    label = np.arange(n, dtype=np.int64)
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    if not len(left):
        return label
    while True:
        low = np.minimum(label[left], label[right])
        before = label.copy()
        np.minimum.at(label, left, low)
        np.minimum.at(label, right, low)
        label = label[label]  # follow the chain to its root
        if np.array_equal(label, before):
            return label


def _pairs_within(groups: np.ndarray) -> int:
    sizes = np.unique(groups, return_counts=True)[1].astype(np.int64)
    return int((sizes * (sizes - 1) // 2).sum())


def generate_persons(n: int, *, seed: int = 0) -> Persons:
    """``n`` records of persons with one to five duplicates each (or none), corrupted as
    the module text says; the same ``n`` and ``seed`` give the same records."""
    if n < 1:
        return _empty()
    rng = np.random.default_rng(seed)
    vocab = _Vocabulary()
    mean_records = 1 + float((_DUPLICATES * np.arange(len(_DUPLICATES))).sum())
    persons = max(1, int(np.ceil(n / mean_records * 1.05)))
    copies = 1 + rng.choice(len(_DUPLICATES), size=persons, p=_DUPLICATES)
    person = np.repeat(np.arange(persons), copies)[:n]
    persons = int(person[-1]) + 1
    base = _originals(rng, vocab, persons)
    fields = {name: column[person] for name, column in base.items()}
    missing = {name: np.zeros(n, dtype=bool) for name in fields}
    first = np.r_[True, person[1:] != person[:-1]]
    kinds = np.zeros(n, dtype=np.int64)
    duplicates = np.flatnonzero(~first)
    count = rng.choice(len(_CORRUPTIONS), size=len(duplicates), p=_CORRUPTIONS)
    names = list(_KIND_WEIGHTS)
    weights = np.array(list(_KIND_WEIGHTS.values()))
    for round_ in range(len(_CORRUPTIONS) - 1):
        rows = duplicates[count > round_]
        picked = rng.choice(len(names), size=len(rows), p=weights / weights.sum())
        for index, kind in enumerate(names):
            chosen = rows[picked == index]
            if len(chosen):
                _corrupt(rng, kind, chosen, fields, missing)
                kinds[chosen] |= int(kind)
    order = rng.permutation(n)
    columns: dict[str, pa.Array] = {"rid": pa.array(np.arange(n, dtype=np.int32))}
    for name in COLUMNS[1:]:
        columns[name] = pa.array(fields[name][order], type=pa.string(), mask=missing[name][order])
    applied = np.zeros(n, dtype=np.int64)
    applied[duplicates] = count
    return Persons(pa.table(columns), person[order], kinds[order], applied[order])


def _empty() -> Persons:
    schema = pa.schema([("rid", pa.int32()), *((c, pa.string()) for c in COLUMNS[1:])])
    none = np.zeros(0, np.int64)
    return Persons(schema.empty_table(), none, none, none)


class _Vocabulary:
    """Made-up words with Zipf-like frequencies, the same for every data seed."""

    def __init__(self) -> None:
        rng = np.random.default_rng(_VOCAB_SEED)
        self.surnames = _words(rng, 12_000, syllables=(2, 3))
        self.given = _words(rng, 3_000, syllables=(1, 2))
        self.streets = _words(rng, 6_000, syllables=(2, 3))
        self.suburbs = _words(rng, 2_500, syllables=(2, 4))
        self.postcodes = np.array(
            [f"{p:04d}" for p in rng.choice(np.arange(800, 9999), len(self.suburbs), False)],
            dtype=_S,
        )
        self.states = np.array(_STATES, dtype=_S)[rng.integers(0, len(_STATES), len(self.suburbs))]


def _words(rng: np.random.Generator, count: int, *, syllables: tuple[int, int]) -> np.ndarray:
    """``count`` distinct pronounceable words, most common first."""
    found: list[str] = []
    seen: set[str] = set()
    while len(found) < count:
        batch = count * 2
        word: np.ndarray = np.full(batch, "", dtype=_S)
        length = rng.integers(syllables[0], syllables[1] + 1, batch)
        for i in range(syllables[1]):
            part: np.ndarray = np.strings.add(
                np.array(_ONSETS, dtype=_S)[rng.integers(0, len(_ONSETS), batch)],
                np.array(_VOWELS, dtype=_S)[rng.integers(0, len(_VOWELS), batch)],
            )
            last = length == i + 1
            coda = np.array(_CODAS, dtype=_S)[rng.integers(0, len(_CODAS), batch)]
            part = np.where(last, np.strings.add(part, coda), part)
            word = np.where(length > i, np.strings.add(word, part), word)
        for w in word.tolist():
            if len(w) >= 3 and w not in seen:
                seen.add(w)
                found.append(w)
    return np.array(found[:count], dtype=_S)


def _zipf(rng: np.random.Generator, size: int, n: int, exponent: float = 1.05) -> np.ndarray:
    """Indices into ``size`` values, the first most likely (a truncated Zipf law)."""
    weights = 1.0 / np.arange(1, size + 1) ** exponent
    cumulative = np.cumsum(weights / weights.sum())
    found = np.searchsorted(cumulative, rng.random(n), side="right")
    return np.asarray(np.minimum(found, size - 1), dtype=np.int64)


def _originals(rng: np.random.Generator, vocab: _Vocabulary, n: int) -> dict[str, np.ndarray]:
    suburb = _zipf(rng, len(vocab.suburbs), n, 0.8)
    street_type = rng.integers(0, len(_STREET_TYPES), n)
    abbreviated = rng.random(n) < 0.15
    full = np.array([t for t, _ in _STREET_TYPES], dtype=_S)
    short = np.array([s for _, s in _STREET_TYPES], dtype=_S)
    kind = np.where(abbreviated, short[street_type], full[street_type])
    street = vocab.streets[_zipf(rng, len(vocab.streets), n, 0.7)]
    born = np.datetime64("1940-01-01") + rng.integers(0, 65 * 365, n).astype("timedelta64[D]")
    birth = np.strings.replace(np.datetime_as_string(born, unit="D").astype(_S), "-", "")
    return {
        "given_name": vocab.given[_zipf(rng, len(vocab.given), n, 0.9)],
        "surname": vocab.surnames[_zipf(rng, len(vocab.surnames), n, 0.75)],
        "street_number": rng.integers(1, 400, n).astype(_S),
        "address_1": np.strings.add(np.strings.add(street, " "), kind),
        "suburb": vocab.suburbs[suburb],
        "postcode": vocab.postcodes[suburb],
        "state": vocab.states[suburb],
        "date_of_birth": birth,
        "soc_sec_id": rng.integers(1_000_000, 9_999_999, n).astype(_S),
    }


_TEXT_FIELDS = ("given_name", "surname", "address_1", "suburb")
_TEXT_WEIGHTS = np.array([0.3, 0.3, 0.2, 0.2])
_MISSING_FIELDS = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "suburb",
    "postcode",
    "date_of_birth",
    "soc_sec_id",
)


def _corrupt(
    rng: np.random.Generator,
    kind: Kind,
    rows: np.ndarray,
    fields: dict[str, np.ndarray],
    missing: dict[str, np.ndarray],
) -> None:
    """Apply one corruption of ``kind`` to each of ``rows`` (in place)."""
    if kind is Kind.SWAPPED_NAMES:
        given = fields["given_name"][rows].copy()
        fields["given_name"][rows] = fields["surname"][rows]
        fields["surname"][rows] = given
        given_missing = missing["given_name"][rows].copy()
        missing["given_name"][rows] = missing["surname"][rows]
        missing["surname"][rows] = given_missing
    elif kind is Kind.MISSING:
        which = rng.integers(0, len(_MISSING_FIELDS), len(rows))
        for index, name in enumerate(_MISSING_FIELDS):
            missing[name][rows[which == index]] = True
    elif kind is Kind.DATE:
        _corrupt_dates(rng, rows, fields["date_of_birth"])
    elif kind is Kind.ABBREVIATION:
        address = fields["address_1"][rows]
        for full, short in _STREET_TYPES:
            long_form = np.strings.endswith(address, " " + full)
            short_form = np.strings.endswith(address, " " + short)
            cut = np.strings.str_len(address) - len(full)
            address = np.where(
                long_form, np.strings.add(np.strings.slice(address, 0, cut), short), address
            )
            cut = np.strings.str_len(address) - len(short)
            address = np.where(
                short_form & ~long_form,
                np.strings.add(np.strings.slice(address, 0, cut), full),
                address,
            )
        fields["address_1"][rows] = address
    else:
        which = rng.choice(len(_TEXT_FIELDS), size=len(rows), p=_TEXT_WEIGHTS)
        for index, name in enumerate(_TEXT_FIELDS):
            chosen = rows[which == index]
            values = fields[name][chosen]
            edit = _transpose if kind is Kind.TRANSPOSITION else _typo
            fields[name][chosen] = edit(rng, values)


def _typo(rng: np.random.Generator, values: np.ndarray) -> np.ndarray:
    """One character inserted, deleted or replaced at a random position."""
    length = np.strings.str_len(values)
    position = (rng.random(len(values)) * np.maximum(length, 1)).astype(np.int64)
    drawn = rng.integers(0, len(_LETTERS), len(values))
    letter = _LETTERS[drawn]
    op = rng.integers(0, 3, len(values))
    head = np.strings.slice(values, 0, position)
    inserted = np.strings.add(
        np.strings.add(head, letter), np.strings.slice(values, position, None)
    )
    deleted = np.strings.add(head, np.strings.slice(values, position + 1, None))
    # a replacement by the same letter would change nothing: take the next letter
    same = np.strings.slice(values, position, position + 1) == letter
    letter = np.where(same, _LETTERS[(drawn + 1) % len(_LETTERS)], letter)
    replaced = np.strings.add(
        np.strings.add(head, letter), np.strings.slice(values, position + 1, None)
    )
    out = np.where(op == 0, inserted, np.where((op == 1) & (length > 3), deleted, replaced))
    return np.asarray(out, dtype=_S)


def _transpose(rng: np.random.Generator, values: np.ndarray) -> np.ndarray:
    """Two neighbouring, different characters swapped (a word without any stays)."""
    length = np.strings.str_len(values)
    position = (rng.random(len(values)) * np.maximum(length - 1, 1)).astype(np.int64)
    first = np.strings.slice(values, position, position + 1)
    second = np.strings.slice(values, position + 1, position + 2)
    # doubled letters (``ll``) swap into themselves: move one step to the right then
    shift = (first == second) & (position + 2 < length)
    position = np.where(shift, position + 1, position)
    first = np.strings.slice(values, position, position + 1)
    second = np.strings.slice(values, position + 1, position + 2)
    swapped = np.strings.add(
        np.strings.add(np.strings.add(np.strings.slice(values, 0, position), second), first),
        np.strings.slice(values, position + 2, None),
    )
    return np.asarray(np.where(length >= 2, swapped, values), dtype=_S)


def _corrupt_dates(rng: np.random.Generator, rows: np.ndarray, dates: np.ndarray) -> None:
    values = dates[rows]
    year = np.strings.slice(values, 0, 4)
    month = np.strings.slice(values, 4, 6)
    day = np.strings.slice(values, 6, 8)
    swapped = np.strings.add(np.strings.add(year, day), month)
    position = rng.integers(2, 8, len(values))  # not the century
    old = np.strings.slice(values, position, position + 1)
    known = np.strings.isdigit(old)
    shifted = (np.where(known, old, "0").astype(np.int64) + rng.integers(1, 10, len(values))) % 10
    digit = shifted.astype(_S)
    changed = np.strings.add(
        np.strings.add(np.strings.slice(values, 0, position), digit),
        np.strings.slice(values, position + 1, None),
    )
    short = np.strings.slice(values, 0, 7)
    op = rng.choice(3, size=len(values), p=[0.45, 0.45, 0.10])
    out = np.where(op == 0, swapped, np.where(op == 1, changed, short))
    # a swap of equal day and month changes nothing: change a digit instead
    out = np.where(out == values, changed, out)
    dates[rows] = out

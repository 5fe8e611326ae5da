"""Synthetic customer records with a known truth, for record matching tests and benchmarks.

Persons have one to three records (about 10 % of the records are extra records of a person
already present). Every record is spelled with the formatting noise of real channels
(spaces in names, full-width digits, addresses with or without the city or district
prefix, cities with or without 市), and a few carry real errors: a one-character typo in
the name, a birthday with one field wrong, a missing field, an address typo, a person who
moved. Households share an address and city (children also the surname) but have their
own birthdays and given names; namesakes share a full name but not the birthday.

``generate(n)`` is vectorized with numpy and makes 1M records in a few seconds; the same
``seed`` gives the same records. The truth is the ``person`` id of each record: two
records are a true pair when they belong to the same person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from tagwise.demo import vocab

DISTRICTS = (
    "朝阳区", "海淀区", "东城区", "西城区", "浦东新区", "黄浦区", "徐汇区", "天河区",
    "越秀区", "南山区", "福田区", "武侯区", "锦江区", "西湖区", "江汉区", "雁塔区",
    "鼓楼区", "高新区", "滨江区", "龙岗区",
)  # fmt: skip
ROADS = (
    "建国路", "人民路", "解放路", "中山路", "长安街", "和平路", "胜利路", "新华路",
    "青年路", "文化路", "东风路", "光明路", "建设路", "朝阳路", "幸福路", "友谊路",
    "学府路", "南京路", "淮海路", "世纪大道", "科技路", "黄河路", "长江路", "迎宾大道",
    "滨河路", "花园路", "春晖路", "金融街", "振兴路", "复兴路", "育才路", "体育路",
)  # fmt: skip
ESTATES = (
    "阳光小区", "幸福家园", "翠苑", "锦绣花园", "金色家园", "碧水湾", "紫荆花园",
    "康乐新村", "华府", "绿城桂园", "东方明珠苑", "万科城",
)  # fmt: skip
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class People:
    """Generated records and their truth."""

    records: pa.Table
    """Columns rid (int32, 0..n-1), name, birthday (date32), city, address."""
    person: np.ndarray
    """Person id of each record, indexed by rid."""
    household: np.ndarray
    """Household id of each record (persons sharing it share the address), indexed by rid."""

    def true_pairs(self) -> set[tuple[int, int]]:
        """All (rid_l, rid_r) with rid_l < rid_r of the same person."""
        order = np.argsort(self.person, kind="stable")
        persons = self.person[order]
        pairs: set[tuple[int, int]] = set()
        for gap in (1, 2):  # a person has at most three records
            same = persons[gap:] == persons[:-gap]
            left, right = order[:-gap][same], order[gap:][same]
            low, high = np.minimum(left, right).tolist(), np.maximum(left, right).tolist()
            pairs.update(zip(low, high, strict=True))
        return pairs


def generate(n: int, *, seed: int = 7) -> People:
    """About ``n`` records (exactly ``n``) of persons with 1–3 records each."""
    rng = np.random.default_rng(seed)
    persons = _persons(rng, n)
    copies = rng.choice(3, size=len(persons["surname"]), p=[0.915, 0.0705, 0.0145]) + 1
    person = np.repeat(np.arange(len(copies)), copies)[:n]
    rng.shuffle(person)  # records of one person are not adjacent
    return People(_records(rng, persons, person), person, persons["household"][person])


def _persons(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Attributes of about ``n`` persons: households, namesakes, then the rest."""
    surnames = np.array([s for s, _, _ in vocab.SURNAMES])
    weights = np.array([w for *_, w in vocab.SURNAMES])
    surname = surnames[rng.choice(len(surnames), n, p=weights / weights.sum())]
    given = _given_names(rng, n)
    birthday = rng.integers(_day(date(1950, 1, 1)), _day(date(2006, 12, 31)), n)
    cities = np.array([c[0] for c in vocab.CITIES])
    city_w = np.array([c[3] for c in vocab.CITIES])
    city = cities[rng.choice(len(cities), n, p=city_w / city_w.sum())]
    address = _addresses(rng, n)
    # households: a member takes the head's address and city; children the surname, too
    member = rng.random(n) < 0.3
    head = rng.integers(0, n, n)
    member &= ~member[head]
    address[member], city[member] = address[head[member]], city[head[member]]
    child = member & (rng.random(n) < 0.6) & (birthday[head] < _day(date(1985, 1, 1)))
    surname[child] = surname[head[child]]
    room = np.minimum(16 * 365, _day(date(2008, 12, 31)) - birthday[head[child]] - 20 * 365)
    birthday[child] = (
        birthday[head[child]] + 20 * 365 + (rng.random(child.sum()) * room).astype(int)
    )
    spouse = member & ~child
    birthday[spouse] = birthday[head[spouse]] + rng.integers(-6 * 365, 6 * 365, spouse.sum())
    # namesakes (outside households): someone else's full name, another birthday
    alone = ~member & ~np.isin(np.arange(n), head[member])
    namesake = alone & (rng.random(n) < 0.03)
    other = rng.integers(0, n, n)
    surname[namesake], given[namesake] = surname[other[namesake]], given[other[namesake]]
    household = np.where(member, head, np.arange(n))
    _distinct_names_in_households(rng, household, surname, given)
    return {
        "household": household,
        "surname": surname,
        "given": given,
        "birthday": birthday,
        "city": city,
        "address": address,
    }


def _distinct_names_in_households(
    rng: np.random.Generator, household: np.ndarray, surname: np.ndarray, given: np.ndarray
) -> None:
    """Parents do not give a child their own name or a sibling's: draw again on a clash."""
    for _ in range(10):
        full = np.char.add(surname, given)
        order = np.lexsort((full, household))
        same = (household[order][1:] == household[order][:-1]) & (
            full[order][1:] == full[order][:-1]
        )
        clash = order[1:][same]
        if not len(clash):
            return
        given[clash] = _given_names(rng, len(clash))


def _given_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """One or two characters, Zipf-like over the vocabulary (伟 far more common than 楠)."""
    chars = np.array([c for c, _ in (*vocab.GIVEN_MALE, *vocab.GIVEN_FEMALE)])
    half = len(vocab.GIVEN_MALE)
    rank_w = 1.0 / np.arange(1, half + 1) ** 0.8
    p = rank_w / rank_w.sum()
    female = (rng.random(n) < 0.5) * half
    first = chars[rng.choice(half, n, p=p) + female]
    second = chars[rng.choice(half, n, p=p) + female]
    two = rng.random(n) < 0.75
    return np.where(two, np.char.add(first, second), first)


def _addresses(rng: np.random.Generator, n: int) -> np.ndarray:
    """``朝阳区建国路88号3单元502室`` or ``朝阳区阳光小区12栋1801室``."""
    district = np.array(DISTRICTS)[rng.integers(0, len(DISTRICTS), n)]
    road = np.array(ROADS)[rng.integers(0, len(ROADS), n)]
    estate = np.array(ESTATES)[rng.integers(0, len(ESTATES), n)]
    number = rng.integers(1, 400, n).astype(str)
    unit = rng.integers(1, 9, n).astype(str)
    room = (rng.integers(1, 33, n) * 100 + rng.integers(1, 5, n)).astype(str)
    street = np.char.add(np.char.add(np.char.add(road, number), "号"), np.char.add(unit, "单元"))
    block = np.char.add(estate, np.char.add(number, "栋"))
    place = np.where(rng.random(n) < 0.7, street, block)
    return np.char.add(np.char.add(district, place), np.char.add(room, "室"))


def _records(rng: np.random.Generator, p: dict[str, np.ndarray], person: np.ndarray) -> pa.Table:
    n = len(person)
    name = _noisy_names(rng, p["surname"][person], p["given"][person])
    birthday = _noisy_birthdays(rng, p["birthday"][person])
    city = p["city"][person].astype(object)
    address = _noisy_addresses(rng, p["address"][person], city)
    roll = rng.random((3, n))
    city[roll[0] < 0.08] = np.char.add(p["city"][person][roll[0] < 0.08], "市")
    city[(roll[0] >= 0.08) & (roll[0] < 0.10)] = " " + city[(roll[0] >= 0.08) & (roll[0] < 0.10)]
    name_null, birthday_null = roll[1] < 0.01, (roll[1] >= 0.01) & (roll[1] < 0.04)
    city_null, address_null = roll[2] < 0.02, (roll[2] >= 0.02) & (roll[2] < 0.05)
    days = pa.array(birthday.astype(np.int32), mask=birthday_null).cast(pa.date32())
    return pa.table(
        {
            "rid": pa.array(np.arange(n, dtype=np.int32)),
            "name": pa.array(name.tolist(), pa.string(), mask=name_null),
            "birthday": days,
            "city": pa.array(city.tolist(), pa.string(), mask=city_null),
            "address": pa.array(address.tolist(), pa.string(), mask=address_null),
        }
    )


def _noisy_names(rng: np.random.Generator, surname: np.ndarray, given: np.ndarray) -> np.ndarray:
    """4 % a one-character typo in the given name, 6 % stray (full-width) spaces."""
    n = len(surname)
    chars = np.array([c for c, _ in (*vocab.GIVEN_MALE, *vocab.GIVEN_FEMALE)])
    roll = rng.random(n)
    typo = roll < 0.04
    wrong = chars[rng.integers(0, len(chars), n)]
    last = np.array([g[-1] for g in given]) if n else np.array([], dtype=str)
    wrong = np.where(wrong == last, chars[(rng.integers(1, len(chars), n))], wrong)
    head = np.array([g[:-1] for g in given]) if n else np.array([], dtype=str)
    given = np.where(typo, np.char.add(head, wrong), given)
    spaced = (roll >= 0.04) & (roll < 0.10)
    sep = np.array([" ", "\u3000", ""])[rng.integers(0, 3, n)]
    pad = np.array(["", " "])[rng.integers(0, 2, n)]
    name = np.char.add(surname, given)
    spelled = np.char.add(np.char.add(np.char.add(surname, sep), given), pad)
    return np.where(spaced, spelled, name)


def _noisy_birthdays(rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
    """2 % have one field wrong: the day, the year, or day and month swapped."""
    out = days.copy()
    wrong = np.flatnonzero(rng.random(len(days)) < 0.02)
    for i, kind in zip(wrong.tolist(), rng.integers(0, 3, len(wrong)).tolist(), strict=True):
        d = date.fromordinal(EPOCH.toordinal() + int(days[i]))
        if kind == 0:
            d = d.replace(day=(d.day % 28) + 1)
        elif kind == 1:
            d = d.replace(year=d.year + int(rng.choice([-1, 1, -10, 10])), day=min(d.day, 28))
        elif d.day <= 12 and d.day != d.month:
            d = d.replace(month=d.day, day=d.month)
        else:
            d = d.replace(day=(d.day + 10) % 28 + 1)
        out[i] = (d - EPOCH).days
    return out


def _noisy_addresses(rng: np.random.Generator, address: np.ndarray, city: np.ndarray) -> np.ndarray:
    """Spelling noise on most, a typo or a move on a few."""
    n = len(address)
    out = address.astype(object)
    roll = rng.random((5, n))
    moved = roll[0] < 0.03
    out[moved] = _addresses(rng, int(moved.sum()))
    no_district = roll[1] < 0.2
    out[no_district] = [a[a.index("区") + 1 :] for a in out[no_district]]
    with_city = (roll[1] >= 0.2) & (roll[1] < 0.3)
    out[with_city] = (
        city[with_city]
        + np.where(rng.random(with_city.sum()) < 0.5, "市", "")
        + out[with_city].astype(str)
    )
    wide = roll[2] < 0.15
    out[wide] = [a.translate(FULL_WIDTH) for a in out[wide]]
    spaced = roll[3] < 0.1
    out[spaced] = [a.replace("号", "号 ").replace("区", "区 ") for a in out[spaced]]
    typo = roll[4] < 0.02
    shifts = rng.integers(0, 9, typo.sum())
    out[typo] = [_digit_typo(a, int(k)) for a, k in zip(out[typo], shifts, strict=True)]
    return out


def _digit_typo(text: str, k: int) -> str:
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    if not digits:
        return text
    i = digits[k % len(digits)]
    return text[:i] + str((int(text[i]) + 1) % 10) + text[i + 1 :]


def _day(d: date) -> int:
    return (d - EPOCH).days

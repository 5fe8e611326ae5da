"""customers.csv, with its formatting noise and spoiled rows, and consent.csv."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tagwise.demo import vocab
from tagwise.demo.addresses import address_styles, street_addresses
from tagwise.demo.arrays import (
    STR,
    BoolArray,
    IntArray,
    full_width,
    identifiers,
    join,
    pick,
    replace,
    row_mask,
    scramble,
    take,
    texts,
    weights,
)
from tagwise.demo.faults import Fault
from tagwise.demo.formats import csv_bytes, write_csv
from tagwise.demo.identities import EMAIL, FUZZY, MINI_PROGRAM, PHONE, respell
from tagwise.demo.population import Population
from tagwise.demo.timeline import (
    DAY_S,
    HISTORY_DAYS,
    START_DAY,
    US,
    iso_seconds,
    mixed_dates,
    mixed_datetimes,
)

# --- customers.csv ------------------------------------------------------------------------


_BAD_BIRTH = ("1990-02-30", "不详", "1985-13-01", "2001/2/29")
_BAD_REGISTERED = ("2024-13-45 10:00:00", "昨天下午", "2025-02-29 09:30:00", "0000-00-00")
_BAD_PHONES = ("12345", "138001380", "23800138000", "138-0013-80000")


def write_customers(
    out: Path,
    rng: np.random.Generator,
    pop: Population,
    *,
    faults: list[Fault],
    dup_source: IntArray,
    ids: pa.Array,
) -> None:
    """Write customers.csv: mixed spellings, extra accounts, and the rows in `faults`."""
    n = len(ids)
    rows = {f.kind + f.column: f.lines - 2 for f in faults}
    key = pa.array(np.arange(n), mask=row_mask(n, rows["missing_required客户编号"]))
    dup_rows = rows["duplicate_key客户编号"]
    key = pc.replace_with_mask(key, pa.array(row_mask(n, dup_rows)), pa.array(dup_source))
    registered = mixed_datetimes(rng, pop.registered_s)
    names, pinyin = _names(rng, pop)
    links = pop.links
    fuzzy = np.flatnonzero(links.link == FUZZY)
    # a fuzzy match needs the birthday on both accounts
    no_birthday = (rng.random(n) < 0.08) & ~row_mask(n, np.append(fuzzy, links.linked[fuzzy]))
    table = pa.table(
        {
            "客户编号": ids.take(key),
            "姓名": names,
            "性别": _genders(rng, pop.sex),
            "出生日期": replace(
                mixed_dates(rng, pop.birth_day, no_birthday),
                rows["bad_date出生日期"],
                _BAD_BIRTH,
            ),
            "手机号": replace(_phone_texts(rng, pop), rows["bad_phone手机号"], _BAD_PHONES),
            "邮箱": _emails(rng, pop, pinyin),
            **_wechat(rng, pop),
            **_places(rng, pop.city),
            "地址": street_addresses(
                rng, pop.city, pop.identity.address, address_styles(rng, links)
            ),
            "注册渠道": take(texts([c for c, _ in vocab.REGISTRATION_CHANNELS]), pop.channel),
            "会员卡号": _member_cards(rng, pop.channel),
            "会员等级": take(texts([lv for lv, _ in vocab.MEMBER_LEVELS]), pop.level),
            "注册时间": replace(registered, rows["bad_date注册时间"], _BAD_REGISTERED),
        }
    )
    path = out / "customers.csv"
    _write_spoiled_csv(table, path, rows["malformed_line"], rows["bad_encoding"])


def _names(rng: np.random.Generator, pop: Population) -> tuple[pa.Array, pa.Array]:
    """Names (surname by frequency, one or two gendered characters) and their pinyin.

    Accounts of one person and namesakes share a name, family members often a surname; some
    extra accounts carry a one-character typo, and the pinyin keeps the original.
    """
    n = len(pop.sex)
    name, surname_of = pop.identity.name, pop.identity.surname
    weights = np.array([w for *_, w in vocab.SURNAMES])
    surname = pick(rng, weights, n)[surname_of]
    given = (*vocab.GIVEN_MALE, *vocab.GIVEN_FEMALE)
    size = len(vocab.GIVEN_MALE)
    first = (pop.sex * size + rng.integers(0, size, n))[name]
    single = (rng.random(n) < 0.25)[name]
    second = np.where(single, 2 * size, pop.sex * size + rng.integers(0, size, n))[name]
    pinyin = join(
        take(texts([p for _, p, _ in vocab.SURNAMES]), surname),
        pc.if_else(pa.array(rng.random(n) < 0.4), ".", ""),
        take(texts([p for _, p in given] + [""]), first),
        take(texts([p for _, p in given] + [""]), second),
    )
    typo = pop.links.name_typo
    shift = rng.integers(1, size, n)
    first = np.where(typo & single, pop.sex * size + (first + shift) % size, first)
    second = np.where(typo & ~single, pop.sex * size + (second + shift) % size, second)
    chars = texts([c for c, _ in given] + [""])
    surnames = texts([s for s, _, _ in vocab.SURNAMES])
    return join(take(surnames, surname), take(chars, first), take(chars, second)), pinyin


def _genders(rng: np.random.Generator, sex: IntArray) -> pa.Array:
    spellings = texts([s for m, f, _ in vocab.GENDER_SPELLINGS for s in (m, f)])
    share = np.array([w for *_, w in vocab.GENDER_SPELLINGS])
    style = pick(rng, np.append(share, 1 - share.sum()), len(sex))
    return take(spellings, np.minimum(style, len(share) - 1) * 2 + sex, style == len(share))


def _phone_texts(rng: np.random.Generator, pop: Population) -> pa.Array:
    """Mobile numbers in seven spellings; accounts linked by phone spell theirs differently.

    Full-width digits are kept out of those links, so stripping non-digits (and a leading
    86) is enough to match them.
    """
    n = len(pop.phone)
    s = pc.cast(pa.array(pop.phone), STR)
    a, b, c = (pc.utf8_slice_codeunits(s, i, j) for i, j in ((0, 3), (3, 7), (7, 11)))
    forms = (
        s,
        join(a, " ", b, " ", c),
        join(a, "-", b, "-", c),
        join("+86 ", s),
        join("+86-", a, "-", b, "-", c),
        join("86", s),
    )
    fmt = pick(rng, np.array([0.62, 0.1, 0.1, 0.07, 0.04, 0.06, 0.01]), n)
    respell(rng, fmt, pop.links, PHONE, len(forms))
    text = pc.choose(pa.array(np.minimum(fmt, len(forms) - 1)), *forms)
    wide = np.flatnonzero(fmt == len(forms))
    return pc.replace_with_mask(text, pa.array(row_mask(n, wide)), full_width(s.take(wide)))


def _emails(rng: np.random.Generator, pop: Population, pinyin: pa.Array) -> pa.Array:
    """Unique addresses per holder; case and stray spaces vary, and some are missing.

    Accounts linked by email spell the same address differently; other extra accounts have
    an address of their own, built from the same pinyin, or none.
    """
    n = len(pop.person)
    holder = np.maximum(pop.identity.email, 0)
    domain = pick(rng, weights(vocab.EMAIL_DOMAINS), n)[holder]
    numeric = (domain == 0) & (rng.random(n) < 0.7)[holder]
    local = pc.if_else(
        pa.array(numeric),
        pc.cast(pa.array(10_000 + scramble(holder, 10**9)), STR),
        join(
            pinyin.take(pa.array(holder)),
            pc.cast(pa.array(scramble(holder, 10**7, salt=5_550_001)), STR),
        ),
    )
    base = join(local, "@", take(texts([d for d, _ in vocab.EMAIL_DOMAINS]), domain))
    title = pc.utf8_title(base)
    forms = (base, title, pc.utf8_upper(base), join(" ", base, " "), join(title, " "))
    style = pick(rng, np.array([0.85, 0.06, 0.03, 0.04, 0.02]), n)
    respell(rng, style, pop.links, EMAIL, len(forms))
    return pc.choose(pa.array(style, mask=pop.identity.email < 0), *forms)


_ID_CHARS = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8
)
_OPENID_APPS = (b"oX3Kp", b"oR7tQ")
"""First characters of the OpenIDs of the mini-program and of the official account."""
_UNIONID_PLATFORM = (b"o6_bm",)
"""First characters of the UnionIDs of the retailer's WeChat open platform."""


def _wechat(rng: np.random.Generator, pop: Population) -> dict[str, pa.Array]:
    """28-character OpenIDs, one per person and app, and UnionIDs, one per person."""
    app = (pop.channel != MINI_PROGRAM).astype(np.int64)
    return {
        "微信OpenID": _wechat_ids(rng, pop.person * 2 + app, pop.identity.openid, _OPENID_APPS),
        "微信UnionID": _wechat_ids(rng, pop.person, pop.identity.unionid, _UNIONID_PLATFORM),
    }


def _wechat_ids(
    rng: np.random.Generator, keys: IntArray, present: BoolArray, prefixes: tuple[bytes, ...]
) -> pa.Array:
    """One random id per distinct key where `present`, starting with `prefixes[key % len]`."""
    unique, inverse = np.unique(keys[present], return_inverse=True)
    m = len(unique)
    heads = np.frombuffer(b"".join(prefixes), dtype=np.uint8).reshape(len(prefixes), -1)
    body = _ID_CHARS[rng.integers(0, len(_ID_CHARS), (m, 28 - heads.shape[1]), dtype=np.uint8)]
    chars = np.concatenate([heads[unique % len(prefixes)], body], axis=1)
    offsets = np.arange(m + 1, dtype=np.int32) * 28
    values = pa.StringArray.from_buffers(m, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes()))
    at = np.zeros(len(keys), dtype=np.int64)
    at[present] = inverse
    return values.take(pa.array(at, mask=~present))


def _places(rng: np.random.Generator, city: IntArray) -> dict[str, pa.Array]:
    """Province and city; a few cities carry a stray full-width space."""
    provinces = texts([c[1] for c in vocab.CITIES])
    cities = texts([c[0] for c in vocab.CITIES])
    names = take(cities, city)
    stray = rng.random(len(city)) < 0.003
    padded = pc.if_else(
        pa.array(rng.random(len(city)) < 0.5), join(names, "\u3000"), join("\u3000", names)
    )
    return {"省份": take(provinces, city), "城市": pc.if_else(pa.array(stray), padded, names)}


def _member_cards(rng: np.random.Generator, channel: IntArray) -> pa.Array:
    """`M` + 10 digits for store sign-ups and a few online members; null otherwise."""
    n = len(channel)
    has_card = (channel == vocab.STORE_CHANNEL) | (rng.random(n) < 0.05)
    cards = identifiers("M", scramble(np.arange(n), 10**10, salt=1_234_567), 10)
    return pc.if_else(pa.array(has_card), cards, pa.scalar(None, STR))


def _write_spoiled_csv(table: pa.Table, path: Path, truncate: IntArray, garble: IntArray) -> None:
    """Write CSV with some rows (0-based) cut short and others in invalid UTF-8.

    The file is written in slices around the spoiled rows, so no line has to be searched.
    """
    spoil = {int(r): _truncated for r in truncate} | {int(r): _garbled for r in garble}
    with path.open("wb") as f:
        f.write((",".join(table.column_names) + "\n").encode())
        done = 0
        for row in sorted(spoil):
            f.write(csv_bytes(table.slice(done, row - done), quoting="none", header=False))
            line = csv_bytes(table.slice(row, 1), quoting="none", header=False)
            f.write(spoil[row](line.rstrip(b"\n")) + b"\n")
            done = row + 1
        f.write(csv_bytes(table.slice(done), quoting="none", header=False))


def _truncated(line: bytes) -> bytes:
    return b",".join(line.split(b",")[:5])


def _garbled(line: bytes) -> bytes:
    """The line with its name in GB18030, as a mis-configured export writes it."""
    fields = line.split(b",")
    # \xff is never valid UTF-8, whatever the GB18030 bytes of the name happen to be.
    fields[1] = fields[1].decode("utf-8").encode("gb18030") + b"\xff"
    return b",".join(fields)


# --- consent.csv --------------------------------------------------------------------------


def write_consent(out: Path, rng: np.random.Generator, pop: Population, ids: pa.Array) -> int:
    """One row per customer and channel for most pairs; granted in mixed spellings."""
    channels = len(vocab.CONSENT_CHANNELS)
    cust = np.repeat(np.flatnonzero(pop.valid), channels)
    channel = np.tile(np.arange(channels), len(cust) // channels)
    keep = rng.random(len(cust)) < 0.9
    cust, channel = cust[keep], channel[keep]
    m = len(cust)
    granted = rng.random(m) < np.array([p for _, p in vocab.CONSENT_CHANNELS])[channel]
    spelling = pick(rng, np.array([w for *_, w in vocab.GRANTED_SPELLINGS]), m)
    words = texts([w for yes, no, _ in vocab.GRANTED_SPELLINGS for w in (yes, no)])
    now = (START_DAY + HISTORY_DAYS) * DAY_S
    since = pop.registered_s[cust]
    updated = since + np.floor(rng.random(m) * (now - since)).astype(np.int64)
    write_csv(
        pa.table(
            {
                "customer_id": ids.take(pa.array(cust)),
                "channel": take(texts([c for c, _ in vocab.CONSENT_CHANNELS]), channel),
                "granted": take(words, spelling * 2 + ~granted),
                "updated_at": iso_seconds(updated * US),
            }
        ),
        out / "consent.csv",
    )
    return m

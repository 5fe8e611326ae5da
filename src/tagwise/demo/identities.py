"""Who holds which account, and which identifiers tie the accounts of one person together.

A person registers once, and some register again through another channel: a share
`duplicates` of the rows of customers.csv are such extra accounts, of persons with two or
three accounts. Each extra account links to an earlier account of its person in one of the
ways in `LINKS`:

- ``phone``: the same mobile number, written differently;
- ``email``: the same address, in another case or with stray spaces;
- ``unionid``: the same WeChat UnionID, from a second WeChat app with its own OpenID;
- ``fuzzy``: no shared identifier (a new phone, no email, no WeChat ids), only the same
  birthday, city and address in another spelling, and the same name (a fifth of them with
  a one-character typo).

A person's third account links to the first or, as often, to the second one with another
link, so that only following the chain (A–B by phone, B–C by UnionID) joins all three.

Traps that a correct resolver must not merge are placed among persons with one account:
families (two to four persons with one phone, different birthdays, often one surname and
one address), placeholder phones typed in by staff, and namesakes in one city.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tagwise.demo import vocab
from tagwise.demo.arrays import BoolArray, IntArray, below, chance, pick, weights

LINKS = ("phone", "email", "unionid", "fuzzy")
"""How an extra account links to an earlier account of its person, as `_truth/` names it."""
PHONE, EMAIL, UNIONID, FUZZY = range(len(LINKS))
_LINK_SHARES = np.array([0.35, 0.20, 0.15, 0.30])
_TYPO_SHARE = np.array([0.1, 0.1, 0.1, 0.2])
"""Share of extra accounts whose name carries a one-character typo, per link."""
_THIRD_ACCOUNTS = 0.2
"""Share of extra accounts that are a person's third account."""
_CHAINED = 0.6
"""Share of third accounts that link to the second account rather than the first."""

SHARED_KINDS = ("family", "placeholder")
"""Kinds of phone numbers shared by different persons; `Identity.shared_phone` is 1 + index."""
PLACEHOLDER_PHONES = (13800000000, 13888888888)
"""Numbers staff type in when a customer gives none."""
_FAMILY_ROWS = 0.003
_PLACEHOLDER_ROWS = 0.0005
_NAMESAKE_PAIRS = 1 / 2000
"""Planted namesake pairs per row (common names make more of them by chance)."""

MINI_PROGRAM = 3
"""Index of 微信小程序 in `vocab.REGISTRATION_CHANNELS`: its sign-ups carry WeChat ids."""
_UNIONID_CHANNELS = np.array([1.0, 1.0, 1e-6, 200.0, 1e-6, 1e-6])
"""Channel weights of accounts that join through a second WeChat app: the mini-program,
else the official account bound on the website or in the APP (a store only as a last resort)."""


@dataclass(frozen=True, slots=True)
class Links:
    """The extra accounts and how each links to an earlier account of its person."""

    second: IntArray
    """Rows of second accounts."""
    third: IntArray
    """Rows of third accounts; `third[i]` belongs to the person of `second[i]`."""
    link: IntArray
    """Index into `LINKS` for extra accounts, -1 for first accounts."""
    linked: IntArray
    """Row of the earlier account an extra account links to; the row itself otherwise."""
    name_typo: BoolArray
    """Extra accounts whose name has one character wrong."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Which identifiers every row of customers.csv carries.

    Arrays that name a row ("row whose …") say which row's value a row repeats: equal values
    are drawn once, and customers.csv spells them per row.
    """

    name: IntArray
    """Row whose name (and its pinyin) the row carries: its person's first row, or the
    namesake's."""
    surname: IntArray
    """Row whose surname the row carries: the name row, or the head of the family."""
    email: IntArray
    """Row whose email address the row carries, -1 for none."""
    address: IntArray
    """Row whose street address the row carries, -1 for none."""
    openid: BoolArray
    """Rows with a WeChat OpenID (of the app of their channel)."""
    unionid: BoolArray
    """Rows with their person's WeChat UnionID."""
    shared_phone: IntArray
    """0 for an own number, else 1 + index into `SHARED_KINDS`."""


@dataclass(frozen=True, slots=True)
class Traps:
    """Rows of persons with one account that look alike but are different persons."""

    family: IntArray
    """(groups, 4) rows of families; the first column is the head, -1 pads small families."""
    placeholder: IntArray
    namesakes: IntArray
    """(pairs, 2) rows: the second row is named like the first, in the same city."""


def links(rng: np.random.Generator, n: int, duplicates: float) -> tuple[IntArray, Links]:
    """The person of every row (row of its first account) and the links of extra accounts."""
    extra = round(n * duplicates)
    triples = round(extra * _THIRD_ACCOUNTS / 2)
    firsts = extra - triples
    rows = rng.permutation(n)[: firsts + extra]
    first, second, third = rows[:firsts], rows[firsts : 2 * firsts], rows[2 * firsts :]
    person = np.arange(n)
    person[second] = first
    person[third] = first[:triples]
    linked = person.copy()
    link = np.full(n, -1, dtype=np.int64)
    link[second] = pick(rng, _LINK_SHARES, firsts)
    link[third] = pick(rng, _LINK_SHARES, triples)
    # A chained third account links to the second one by another kind of strong link (or
    # fuzzily); a second account that shares nothing strong is only reachable by its phone.
    before = second[:triples]
    chained = chance(rng, _CHAINED, triples)
    same = chained & (link[third] == link[before]) & (link[third] != FUZZY)
    link[third[same]] = (link[third[same]] + 1 + below(rng, 2, int(same.sum()))) % 3
    chained &= (link[before] != FUZZY) | (link[third] == PHONE) | (link[third] == FUZZY)
    linked[third] = np.where(chained, before, first[:triples])
    typo = np.zeros(n, dtype=np.bool_)
    is_extra = link >= 0
    typo[is_extra] = chance(rng, _TYPO_SHARE[link[is_extra]], int(is_extra.sum()))
    return person, Links(second=second, third=third, link=link, linked=linked, name_typo=typo)


def extra_channels(
    rng: np.random.Generator, channel: IntArray, person: IntArray, links: Links
) -> None:
    """Give extra accounts a channel that no earlier account of their person used.

    Only UnionID links join through WeChat; the others never use the mini-program, whose
    sign-ups carry WeChat ids. Changes `channel` in place.
    """
    base = np.log(weights(vocab.REGISTRATION_CHANNELS))
    for rows, earlier in (
        (links.second, [person[links.second]]),
        (links.third, [person[links.third], links.second[: len(links.third)]]),
    ):
        m = len(rows)
        score = np.where(
            (links.link[rows] == UNIONID)[:, None],
            np.log(_UNIONID_CHANNELS / _UNIONID_CHANNELS.sum()),
            np.where(np.arange(len(base)) == MINI_PROGRAM, -np.inf, base),
        )
        score = score + rng.gumbel(size=(m, len(base)))  # weighted draw without replacement
        for prior in earlier:
            score[np.arange(m), channel[prior]] = -np.inf
        channel[rows] = np.argmax(score, axis=1)


def traps(rng: np.random.Generator, eligible: BoolArray) -> Traps:
    """Choose families, placeholder-phone holders and namesakes among `eligible` rows."""
    n = len(eligible)
    pool = rng.permutation(np.flatnonzero(eligible))
    sizes = 2 + pick(rng, np.array([0.5, 0.3, 0.2]), max(2, round(n * _FAMILY_ROWS)))
    groups = max(2, int(np.searchsorted(np.cumsum(sizes), n * _FAMILY_ROWS, side="right")))
    sizes = sizes[:groups]
    taken = int(sizes.sum())
    family = np.full((groups, 4), -1, dtype=np.int64)
    family[np.arange(4) < sizes[:, None]] = pool[:taken]
    held = max(2 * len(PLACEHOLDER_PHONES), round(n * _PLACEHOLDER_ROWS))
    placeholder = pool[taken : taken + held]
    pairs = max(3, round(n * _NAMESAKE_PAIRS))
    namesakes = pool[taken + held : taken + held + 2 * pairs].reshape(-1, 2)
    return Traps(family=family, placeholder=placeholder, namesakes=namesakes)


def assign_identifiers(
    rng: np.random.Generator,
    links: Links,
    traps: Traps,
    *,
    person: IntArray,
    channel: IntArray,
    phone: IntArray,
) -> Identity:
    """Draw who has an email, an address and WeChat ids, and share them along the links.

    `phone` holds a distinct number per row and is changed in place: phone links repeat the
    linked account's number, and families and placeholder holders share one.
    """
    n = len(person)
    rows = np.arange(n)
    link = links.link
    is_extra = link >= 0
    email = np.where(chance(rng, 0.88, n), rows, -1)
    keeps = chance(rng, 0.5, n) & ((link == PHONE) | (link == UNIONID))
    email[is_extra] = np.where(keeps[is_extra], rows[is_extra], -1)
    address = np.where(chance(rng, 0.85, n), person, -1)
    openid = (channel == MINI_PROGRAM) | chance(rng, 0.05, n)
    unionid = openid | chance(rng, 0.08, n)
    openid[is_extra] = unionid[is_extra] = False
    # A third account that joins the second one's WeChat leaves the first one off WeChat
    # (unless it signed up in the mini-program), so only the chain ties them together.
    via_second = links.third[links.linked[links.third] != person[links.third]]
    first = person[via_second[link[via_second] == UNIONID]]
    first = first[channel[first] != MINI_PROGRAM]
    openid[first] = unionid[first] = False
    for extra in (links.second, links.third):  # second accounts first: thirds may link to them
        kind, target = link[extra], links.linked[extra]
        x, t = extra[kind == PHONE], target[kind == PHONE]
        phone[x] = phone[t]
        x, t = extra[kind == EMAIL], target[kind == EMAIL]
        email[t] = np.where(email[t] < 0, t, email[t])
        email[x] = email[t]
        x, t = extra[kind == UNIONID], target[kind == UNIONID]
        unionid[t] = unionid[x] = openid[x] = True
        x, t = extra[kind == FUZZY], target[kind == FUZZY]
        address[x] = address[t] = person[x]
    shared = np.zeros(n, dtype=np.int64)
    head, members = family_members(traps)
    phone[members] = phone[head]
    shared[traps.family[traps.family >= 0]] = 1 + SHARED_KINDS.index("family")
    together = chance(rng, 0.7, len(members))
    address[members[together]] = address[head[together]] = head[together]
    surname = person.copy()
    surname[members] = np.where(chance(rng, 0.7, len(members)), head, members)
    held = traps.placeholder
    phone[held] = np.array(PLACEHOLDER_PHONES)[np.arange(len(held)) % len(PLACEHOLDER_PHONES)]
    shared[held] = 1 + SHARED_KINDS.index("placeholder")
    name = person.copy()
    original, namesake = traps.namesakes[:, 0], traps.namesakes[:, 1]
    name[namesake] = surname[namesake] = original
    return Identity(
        name=name,
        surname=surname,
        email=email,
        address=address,
        openid=openid,
        unionid=unionid,
        shared_phone=shared,
    )


def respell(rng: np.random.Generator, style: IntArray, links: Links, link: int, k: int) -> None:
    """Give extra accounts linked by `link` another of the first `k` styles than their target.

    The targets keep to those `k` styles. Second accounts go first, as third accounts may
    link to them.
    """
    for extra in (links.second, links.third):
        x = extra[links.link[extra] == link]
        target = links.linked[x]
        style[target] = np.minimum(style[target], k - 1)
        style[x] = (style[target] + 1 + below(rng, k - 1, len(x))) % k


def family_members(traps: Traps) -> tuple[IntArray, IntArray]:
    """The rows of family members other than the head, and the head of each."""
    member = traps.family[:, 1:] >= 0
    head = np.broadcast_to(traps.family[:, :1], member.shape)[member]
    return head, traps.family[:, 1:][member]

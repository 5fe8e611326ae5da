"""Benchmark: the batch run of the starter taxonomy, beside hand-written SQL, pandas and a floor.

On one demo workspace (data ingested once, reused), each repetition runs, interleaved and
each in a fresh process (``bench/measure.py``: wall time and peak RSS):

* ``tagwise run --as-of 2026-11-01 --json --tags <the 39 starter tags>`` on a **fresh**
  warehouse (the ingested data without any tag values, restored from a copy before every
  repetition: the first run of a workspace, nothing to diff against), then a **rerun** on
  top of it (diffs 28M values against the current ones, no changes); ``--tags`` keeps the
  work equal when the workspace was built from newer templates with more tags;
* (a) **one hand-written DuckDB statement** (``HAND_SQL``: CTEs per source with FILTER
  aggregates, CASE per tag, rank/count windows for the RFM quintiles, UNPIVOT into the long
  ``(cid, tag, value, score)`` table), written from the YAML, not by tagwise's compiler;
  plus its feature part alone, one source at a time (``sql-features``);
* (b) a **straightforward pandas** implementation (Arrow → pandas, ``groupby`` per source,
  ``np.select`` per tag, quintiles by searchsorted), written to a DuckDB table at the end;
* (c) the **floor** for the order features: numpy ``bincount`` / ``reduceat`` over dense
  ``cid`` arrays (load from DuckDB timed apart from the arithmetic).

Every approach reads the same warehouse; (a), (b), (c) write into scratch DuckDB files.
DuckDB uses all cores (2 here), pandas and numpy one (``OMP_NUM_THREADS=1``).

    python bench/bench_run.py --customers 1000000 --repeat 3   # results → bench/run_results.json
    python bench/bench_run.py --check                          # 20,000 customers, exact check
    python bench/bench_run.py --repeat 1 --memory-limit 1500MB --results /tmp/r.json

The demo workspace (``bench/out/run/ws<N>``, ~2.5 min at 1M) and its clean warehouse copy
are built on first use and reused. ``--memory-limit`` sets DuckDB's memory_limit for
tagwise (``TAGWISE_WAREHOUSE__MEMORY_LIMIT``) and for (a).

The check compares (a), (b) and tagwise value by value (every customer, tag and value;
scores within 1e-9 relative) and the features of (a), (b) and the floor with tagwise's
profile. At the benchmark size the same comparison runs on the last repetition's outputs,
together with counts per (tag, value). Known difference: ``m_score`` ranks customers by a sum
of doubles; when two customers' spend is the same decimal amount but pandas (compensated
summation) and DuckDB round the sum to neighbouring doubles, the two are no longer tied and
can land in different quintiles (2 customers of 1M in the starter data).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

HERE = Path(__file__).resolve().parent
AS_OF = date(2026, 11, 1)
END = datetime.combine(AS_OF + timedelta(days=1), datetime.min.time())
"""Rows at or after the day after the as-of date never count (docs/tags.md, windows)."""


def _since(days: int) -> str:
    return (END - timedelta(days=days)).isoformat(sep=" ")


WINDOWS = {
    "as_of": AS_OF.isoformat(),
    "end": END.isoformat(sep=" "),
    "d365": _since(365),
    "d180": _since(180),
    "d90": _since(90),
    "d7": _since(7),
}

# ----------------------------------------------------------------------- value lists
# Copied from src/tagwise/demo/templates/tags/*.yaml; shared by the SQL and pandas versions.

REGIONS = {
    "华东": ["上海", "上海市", "江苏", "江苏省", "浙江", "浙江省", "安徽", "安徽省",
             "福建", "福建省", "江西", "江西省", "山东", "山东省"],
    "华北": ["北京", "北京市", "天津", "天津市", "河北", "河北省", "山西", "山西省",
             "内蒙古", "内蒙古自治区"],
    "华南": ["广东", "广东省", "广西", "广西壮族自治区", "海南", "海南省"],
    "华中": ["河南", "河南省", "湖北", "湖北省", "湖南", "湖南省"],
    "西南": ["重庆", "重庆市", "四川", "四川省", "贵州", "贵州省", "云南", "云南省", "西藏",
             "西藏自治区"],
    "西北": ["陕西", "陕西省", "甘肃", "甘肃省", "青海", "青海省", "宁夏", "宁夏回族自治区",
             "新疆", "新疆维吾尔自治区"],
    "东北": ["辽宁", "辽宁省", "吉林", "吉林省", "黑龙江", "黑龙江省"],
}  # fmt: skip
TIER1 = ["上海", "北京", "广州", "深圳"]
NEW_TIER1 = ["成都", "杭州", "重庆", "武汉", "苏州", "西安", "南京", "长沙", "天津", "郑州",
             "东莞", "无锡", "宁波", "青岛", "合肥"]  # fmt: skip
TIER2 = ["佛山", "沈阳", "昆明", "济南", "厦门", "福州", "温州", "大连", "哈尔滨", "长春", "泉州",
         "石家庄", "南宁", "金华", "贵阳", "南昌", "常州", "嘉兴", "珠海", "南通", "惠州", "太原",
         "中山", "徐州", "绍兴", "台州", "烟台", "兰州", "潍坊", "临沂"]  # fmt: skip
MEMBER_LEVELS = ["钻石会员", "铂金会员", "金卡会员", "银卡会员", "普通会员"]
SIGNUP_CHANNELS = ["官网", "APP", "线下门店", "微信小程序", "天猫旗舰店", "抖音小店"]
INCOME_BANDS = ["5k以下", "5k-10k", "10k-20k", "20k-50k", "50k以上"]
CATEGORIES = ["女装", "食品生鲜", "美妆护肤", "个护清洁", "男装", "零食饮料", "数码", "母婴",
              "家居", "鞋靴", "家电", "运动户外", "手机", "箱包", "图书", "内衣", "童装", "厨具",
              "家纺", "电脑办公", "宠物", "医药保健", "珠宝配饰", "酒水", "玩具乐器", "汽车用品",
              "钟表眼镜", "户外装备", "文具", "鲜花绿植"]  # fmt: skip
LIFESTYLES = ["精致白领", "都市新锐", "小镇青年", "精明妈妈", "资深中产", "银发一族", "Z世代学生",
              "品质家庭"]  # fmt: skip
BROWSE_TYPES = ["page_view", "click", "search", "add_to_cart"]
PAGE_TYPES = ["page_view", "click", "add_to_cart"]
INTERESTS: list[tuple[str, list[str], list[str]]] = [
    # value, categories (top_category or top_browsed_page in …), survey words (like '%w%')
    ("运动健身", ["运动户外", "户外装备"], ["运动", "健身", "户外"]),
    ("旅行摄影", [], ["旅行", "摄影"]),
    ("美妆时尚", ["美妆护肤", "珠宝配饰", "钟表眼镜", "箱包"], ["美妆", "时尚"]),
    ("服饰穿搭", ["女装", "男装", "鞋靴", "内衣"], ["时尚"]),
    ("数码科技", ["数码", "手机", "电脑办公", "家电"], ["科技数码"]),
    ("母婴亲子", ["母婴", "童装", "玩具乐器"], ["亲子"]),
    ("美食", ["食品生鲜", "零食饮料", "酒水"], ["美食"]),
    ("宠物", ["宠物"], ["宠物"]),
    ("阅读学习", ["图书", "文具"], ["阅读"]),
    ("影音娱乐", [], ["音乐", "电影", "游戏"]),
    ("家居生活", ["家居", "家纺", "厨具", "个护清洁", "鲜花绿植"], []),
]
RFM = [  # rfm_segment: (r high, f high, m high) → value; "high" is score >= 3
    ((True, True, True), "重要价值"),
    ((True, False, True), "重要发展"),
    ((False, True, True), "重要保持"),
    ((False, False, True), "重要挽留"),
    ((True, True, False), "一般价值"),
    ((True, False, False), "一般发展"),
    ((False, True, False), "一般保持"),
    ((False, False, False), "一般挽留"),
]
TEXT_TAGS = [
    "age_band", "generation", "gender_label", "region", "city_tier", "member_grade",
    "signup_channel", "income_level", "asset_status", "purchase_frequency", "recency_band",
    "browse_activity", "email_engagement", "campaign_participation", "lifecycle_stage",
    "new_signup_30d", "favorite_category", "price_sensitivity", "preferred_channel",
    "order_value_band", "satisfaction_group", "nps_group", "loyalty", "lifestyle_type",
    "churn_risk", "complaint_risk", "credit_risk", "fraud_warning", "influence_level",
    "opinion_leader", "spend_level", "rfm_segment", "high_value",
]  # fmt: skip
"""Enum and flag tags (a flag's value is 'true')."""
SCORE_TAGS = ["purchase_interval_days", "interaction_index", "r_score", "f_score", "m_score"]
MULTI_TAGS = ["interests"]
ALL_TAGS = TEXT_TAGS + SCORE_TAGS + MULTI_TAGS


def q(values: list[str]) -> str:
    """A SQL list of string literals: ``'a', 'b'``."""
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


# ------------------------------------------------------------------- (a) hand-written SQL
# Feature CTEs, one per source (plus one per `mode` feature: counts per value, then the most
# frequent, ties → the smallest value). The full statement is HAND_SQL; `sql-features`
# times each feature CTE alone.

W = WINDOWS
PAID = "status = 'paid'"
FEATURE_CTES: dict[str, str] = {
    "orders_f": f"""
    SELECT cid,
        sum(amount) FILTER (WHERE {PAID} AND paid_at >= '{W["d365"]}') AS spend_365d,
        sum(amount) FILTER (WHERE {PAID}) AS spend_total,
        count(*) FILTER (WHERE {PAID}) AS orders_total,
        count(*) FILTER (WHERE {PAID} AND paid_at >= '{W["d365"]}') AS orders_365d,
        count(*) FILTER (WHERE {PAID} AND paid_at >= '{W["d180"]}') AS orders_180d,
        date_diff('day', max(paid_at) FILTER (WHERE {PAID})::DATE, DATE '{W["as_of"]}')
            AS last_order_days,
        date_diff('day', min(paid_at) FILTER (WHERE {PAID})::DATE, DATE '{W["as_of"]}')
            AS first_order_days,
        avg(amount) FILTER (WHERE {PAID} AND paid_at >= '{W["d365"]}') AS avg_order_value,
        max(amount) FILTER (WHERE {PAID}) AS max_order_amount,
        count(*) FILTER (WHERE paid_at >= '{W["d365"]}') AS all_365d,
        count(*) FILTER (WHERE paid_at >= '{W["d365"]}' AND discount > 0) AS discounted_365d,
        count(*) FILTER (WHERE paid_at >= '{W["d365"]}' AND channel = 'online') AS online_365d,
        count(*) FILTER (WHERE paid_at >= '{W["d365"]}' AND channel = 'offline') AS offline_365d,
        count(*) FILTER (WHERE paid_at >= '{W["d365"]}' AND channel = 'mini_program')
            AS mini_program_365d,
        count(*) FILTER (WHERE paid_at >= '{W["d365"]}' AND status = 'refunded') AS refunds_365d,
        count(*) FILTER (WHERE paid_at >= '{W["d365"]}' AND payment_method = 'installment')
            AS installment_orders_365d,
        max(overdue_days) FILTER (WHERE payment_method = 'installment') AS max_overdue_days,
        count(*) FILTER (WHERE paid_at >= '{W["d7"]}') AS orders_7d
    FROM src.orders WHERE paid_at < '{W["end"]}'
    GROUP BY cid""",
    "top_category_f": f"""
    SELECT cid, arg_min(category, row(-n, category)) AS top_category
    FROM (SELECT cid, category, count(*) AS n FROM src.orders
          WHERE {PAID} AND paid_at >= '{W["d365"]}' AND paid_at < '{W["end"]}'
            AND category IS NOT NULL
          GROUP BY cid, category)
    GROUP BY cid""",
    "events_f": f"""
    SELECT cid,
        count(*) FILTER (WHERE occurred_at >= '{W["d90"]}' AND event_type IN ({q(BROWSE_TYPES)}))
            AS browse_events_90d,
        count(*) FILTER (WHERE event_type = 'email_open') AS email_opens_180d,
        count(*) FILTER (WHERE event_type = 'email_click') AS email_clicks_180d,
        count(*) FILTER (WHERE event_type = 'campaign_join') AS campaign_joins_180d
    FROM src.events WHERE occurred_at >= '{W["d180"]}' AND occurred_at < '{W["end"]}'
    GROUP BY cid""",
    "top_page_f": f"""
    SELECT cid, arg_min(page, row(-n, page)) AS top_browsed_page
    FROM (SELECT cid, page, count(*) AS n FROM src.events
          WHERE occurred_at >= '{W["d180"]}' AND occurred_at < '{W["end"]}'
            AND event_type IN ({q(PAGE_TYPES)}) AND page IS NOT NULL
          GROUP BY cid, page)
    GROUP BY cid""",
    "social_f": """
    SELECT cid, max(followers) AS max_followers, sum(posts)::BIGINT AS social_posts
    FROM src.social_profiles GROUP BY cid""",
    "interactions_f": f"""
    SELECT cid,
        count(*) FILTER (WHERE occurred_at >= '{W["d90"]}') AS interactions_90d,
        count(*) AS interactions_365d
    FROM src.social_interactions
    WHERE occurred_at >= '{W["d365"]}' AND occurred_at < '{W["end"]}'
    GROUP BY cid""",
    "surveys_f": f"""
    SELECT cid, avg(nps) AS nps_avg, avg(satisfaction) AS survey_satisfaction_avg
    FROM src.surveys WHERE submitted_at < '{W["end"]}' GROUP BY cid""",
    "survey_interests_f": f"""
    SELECT cid, arg_min(interests, row(-n, interests)) AS survey_interests
    FROM (SELECT cid, interests, count(*) AS n FROM src.surveys
          WHERE submitted_at < '{W["end"]}' AND interests IS NOT NULL GROUP BY cid, interests)
    GROUP BY cid""",
    "lifestyle_f": f"""
    SELECT cid, arg_min(lifestyle, row(-n, lifestyle)) AS lifestyle
    FROM (SELECT cid, lifestyle, count(*) AS n FROM src.surveys
          WHERE submitted_at < '{W["end"]}' AND lifestyle IS NOT NULL GROUP BY cid, lifestyle)
    GROUP BY cid""",
    "tickets_f": f"""
    SELECT cid,
        count(*) FILTER (WHERE created_at >= '{W["d180"]}' AND type = '投诉') AS complaints_180d,
        count(*) FILTER (WHERE type = '投诉') AS complaints_365d,
        count(*) FILTER (WHERE created_at >= '{W["d180"]}' AND type = '投诉' AND severity = '高')
            AS severe_complaints_180d,
        count(*) FILTER (WHERE created_at >= '{W["d180"]}' AND type = '投诉'
                           AND resolved = false) AS unresolved_complaints_180d,
        count(*) AS tickets_365d
    FROM src.tickets WHERE created_at >= '{W["d365"]}' AND created_at < '{W["end"]}'
    GROUP BY cid""",
    # third_party has one row per record; a merged customer holds several, so each mode is
    # the most frequent non-null value, ties → the smallest (as top_category)
    "third_party_f": """
    SELECT cid, max(credit_score) AS credit_score,
        arg_min(income_band, row(-n_income, income_band)) FILTER (WHERE n_income > 0)
            AS income_band,
        arg_min(has_car, row(-n_car, has_car)) FILTER (WHERE n_car > 0) AS has_car,
        arg_min(has_house, row(-n_house, has_house)) FILTER (WHERE n_house > 0) AS has_house
    FROM (SELECT cid, credit_score, income_band, has_car, has_house,
            count(income_band) OVER (PARTITION BY cid, income_band) AS n_income,
            count(has_car) OVER (PARTITION BY cid, has_car) AS n_car,
            count(has_house) OVER (PARTITION BY cid, has_house) AS n_house
          FROM src.third_party)
    GROUP BY cid""",
}

PROFILE_SQL = f"""
    SELECT c.cid, c.gender, c.birthday, c.province, c.city, c.register_channel,
        c.member_level, c.registered_at,
        date_diff('day', c.birthday, DATE '{W["as_of"]}') AS age_days,
        coalesce(o.spend_365d, 0) AS spend_365d, coalesce(o.spend_total, 0) AS spend_total,
        coalesce(o.orders_total, 0) AS orders_total,
        coalesce(o.orders_365d, 0) AS orders_365d, coalesce(o.orders_180d, 0) AS orders_180d,
        o.last_order_days, o.first_order_days, o.avg_order_value, o.max_order_amount,
        tc.top_category,
        o.discounted_365d::DOUBLE / nullif(o.all_365d, 0) AS discount_share,
        o.online_365d::DOUBLE / nullif(o.all_365d, 0) AS online_share,
        o.offline_365d::DOUBLE / nullif(o.all_365d, 0) AS offline_share,
        o.mini_program_365d::DOUBLE / nullif(o.all_365d, 0) AS mini_program_share,
        coalesce(o.refunds_365d, 0) AS refunds_365d,
        o.refunds_365d::DOUBLE / nullif(o.all_365d, 0) AS refund_share_365d,
        coalesce(o.installment_orders_365d, 0) AS installment_orders_365d,
        o.max_overdue_days, coalesce(o.orders_7d, 0) AS orders_7d,
        coalesce(e.browse_events_90d, 0) AS browse_events_90d, tp.top_browsed_page,
        coalesce(e.email_opens_180d, 0) AS email_opens_180d,
        coalesce(e.email_clicks_180d, 0) AS email_clicks_180d,
        coalesce(e.campaign_joins_180d, 0) AS campaign_joins_180d,
        s.max_followers, coalesce(s.social_posts, 0) AS social_posts,
        coalesce(i.interactions_90d, 0) AS interactions_90d,
        coalesce(i.interactions_365d, 0) AS interactions_365d,
        sv.nps_avg, sv.survey_satisfaction_avg, si.survey_interests, sl.lifestyle,
        coalesce(t.complaints_180d, 0) AS complaints_180d,
        coalesce(t.complaints_365d, 0) AS complaints_365d,
        coalesce(t.severe_complaints_180d, 0) AS severe_complaints_180d,
        coalesce(t.unresolved_complaints_180d, 0) AS unresolved_complaints_180d,
        coalesce(t.tickets_365d, 0) AS tickets_365d,
        tq.credit_score, tq.income_band, tq.has_car, tq.has_house
    FROM src.customers c
    LEFT JOIN orders_f o ON o.cid = c.cid
    LEFT JOIN top_category_f tc ON tc.cid = c.cid
    LEFT JOIN events_f e ON e.cid = c.cid
    LEFT JOIN top_page_f tp ON tp.cid = c.cid
    LEFT JOIN social_f s ON s.cid = c.cid
    LEFT JOIN interactions_f i ON i.cid = c.cid
    LEFT JOIN surveys_f sv ON sv.cid = c.cid
    LEFT JOIN survey_interests_f si ON si.cid = c.cid
    LEFT JOIN lifestyle_f sl ON sl.cid = c.cid
    LEFT JOIN tickets_f t ON t.cid = c.cid
    LEFT JOIN third_party_f tq ON tq.cid = c.cid"""


def _in_either(cats: list[str]) -> str:
    return f"top_category IN ({q(cats)}) OR top_browsed_page IN ({q(cats)})" if cats else ""


def _interest_case(value: str, cats: list[str], words: list[str]) -> str:
    tests = [_in_either(cats)] if cats else []
    tests += [f"survey_interests LIKE '%{w}%'" for w in words]
    return f"CASE WHEN {' OR '.join(tests)} THEN '{value}' END"


def _round1(value: str) -> str:
    """The language's ``round(value, 1)`` for a non-negative double (docs/language.md)."""
    y = f"(({value}) * 10.0::DOUBLE)"
    f = f"floor({y})"
    up = f"{y} - {f} >= 0.5::DOUBLE OR ({value}) = ({f} + 0.5::DOUBLE) / 10.0::DOUBLE"
    return f"(({f} + CASE WHEN {up} THEN 1 ELSE 0 END) / 10.0::DOUBLE)"


def _ntile(raw: str, *, descending: bool = False) -> str:
    """The 1..5 quintile among customers with a paid order (raw is null otherwise), ties
    sharing a score: ``1 + floor(5 * (2 * below + tied) / (2 * m))`` (docs/tags.md)."""
    order = f"{raw} DESC" if descending else raw
    window = f"OVER (PARTITION BY last_order_days IS NULL ORDER BY {order})"
    return (
        f"CASE WHEN last_order_days IS NOT NULL THEN 1 + floor(5 * (rank() {window} - 1 + "
        f"count(*) {window}) / (2 * count(*) OVER (PARTITION BY last_order_days IS NULL)))"
        "::DOUBLE END"
    )


def _rfm_case() -> str:
    def part(code: str, high: bool) -> str:
        return f"{code} >= 3" if high else f"{code} < 3"

    branches = [
        f"WHEN {part('r_score', r)} AND {part('f_score', f)} AND {part('m_score', m)} "
        f"THEN '{value}'"
        for (r, f, m), value in RFM
    ]
    return "CASE " + " ".join(branches) + " END"


TAGS1_SQL = f"""
    SELECT p.*,
        CASE WHEN age_days::DOUBLE / 365.25 < 18 THEN '18岁以下'
             WHEN age_days::DOUBLE / 365.25 < 25 THEN '18-24岁'
             WHEN age_days::DOUBLE / 365.25 < 35 THEN '25-34岁'
             WHEN age_days::DOUBLE / 365.25 < 45 THEN '35-44岁'
             WHEN age_days::DOUBLE / 365.25 < 55 THEN '45-54岁'
             WHEN birthday IS NOT NULL THEN '55岁及以上' END AS age_band,
        CASE WHEN year(birthday) >= 2000 THEN '00后' WHEN year(birthday) >= 1990 THEN '90后'
             WHEN year(birthday) >= 1980 THEN '80后' WHEN year(birthday) >= 1970 THEN '70后'
             WHEN birthday IS NOT NULL THEN '60后及更早' END AS generation,
        CASE WHEN gender = 'M' THEN '男' WHEN gender = 'F' THEN '女' ELSE '未知' END
            AS gender_label,
        CASE {" ".join(f"WHEN province IN ({q(ps)}) THEN '{r}'" for r, ps in REGIONS.items())}
            END AS region,
        CASE WHEN city IN ({q(TIER1)}) THEN '一线' WHEN city IN ({q(NEW_TIER1)}) THEN '新一线'
             WHEN city IN ({q(TIER2)}) THEN '二线' WHEN city IS NOT NULL THEN '三线及以下'
             END AS city_tier,
        CASE WHEN member_level IN ({q(MEMBER_LEVELS)}) THEN member_level END AS member_grade,
        CASE WHEN register_channel IN ({q(SIGNUP_CHANNELS)}) THEN register_channel END
            AS signup_channel,
        CASE WHEN income_band IN ({q(INCOME_BANDS)}) THEN income_band END AS income_level,
        CASE WHEN has_house AND has_car THEN '有房有车'
             WHEN has_house AND NOT has_car THEN '有房无车'
             WHEN has_car AND NOT has_house THEN '有车无房'
             WHEN NOT has_car AND NOT has_house THEN '无房无车' END AS asset_status,
        CASE WHEN orders_365d >= 24 THEN '高频' WHEN orders_365d >= 6 THEN '中频'
             WHEN orders_365d >= 1 THEN '低频' WHEN orders_total >= 1 THEN '近一年未购'
             END AS purchase_frequency,
        CASE WHEN last_order_days <= 30 THEN '30天内' WHEN last_order_days <= 90 THEN '31-90天'
             WHEN last_order_days <= 180 THEN '91-180天'
             WHEN last_order_days <= 365 THEN '181-365天'
             WHEN last_order_days > 365 THEN '365天以上' END AS recency_band,
        {_round1("(first_order_days - last_order_days)::DOUBLE / nullif(orders_total - 1, 0)")}
            AS purchase_interval_days,
        CASE WHEN browse_events_90d >= 15 THEN '高活跃' WHEN browse_events_90d >= 5 THEN '中活跃'
             WHEN browse_events_90d >= 1 THEN '低活跃' ELSE '近90天未浏览' END AS browse_activity,
        CASE WHEN email_clicks_180d >= 1 THEN '有点击' WHEN email_opens_180d >= 1 THEN '仅打开'
             ELSE '未互动' END AS email_engagement,
        CASE WHEN campaign_joins_180d >= 2 THEN '多次参与'
             WHEN campaign_joins_180d = 1 THEN '参与1次' ELSE '未参与' END
            AS campaign_participation,
        CASE WHEN orders_total = 0 THEN '潜在' WHEN last_order_days > 365 THEN '流失'
             WHEN first_order_days <= 90 THEN '新客'
             WHEN last_order_days > 180 OR (orders_365d - orders_180d >= 4
                  AND orders_180d * 2 <= orders_365d - orders_180d) THEN '衰退'
             WHEN orders_365d >= 12 AND first_order_days > 365 THEN '成熟'
             WHEN orders_total >= 1 THEN '成长' END AS lifecycle_stage,
        CASE WHEN date_diff('day', registered_at::DATE, DATE '{W["as_of"]}') <= 30 THEN 'true'
             END AS new_signup_30d,
        CASE WHEN top_category IN ({q(CATEGORIES)}) THEN top_category END AS favorite_category,
        list_filter([{", ".join(_interest_case(*i) for i in INTERESTS)}], lambda x: x IS NOT NULL)
            AS interests,
        CASE WHEN orders_365d >= 3 AND discount_share >= 0.5 THEN '高敏感'
             WHEN orders_365d >= 3 AND discount_share >= 0.2 THEN '中敏感'
             WHEN orders_365d >= 3 THEN '低敏感' END AS price_sensitivity,
        CASE WHEN online_share >= 0.6 THEN '线上商城' WHEN offline_share >= 0.6 THEN '线下门店'
             WHEN mini_program_share >= 0.6 THEN '小程序/社交'
             WHEN online_share IS NOT NULL THEN '全渠道' END AS preferred_channel,
        CASE WHEN avg_order_value < 100 THEN '100元以下' WHEN avg_order_value < 300 THEN '100-300元'
             WHEN avg_order_value < 1000 THEN '300-1000元'
             WHEN avg_order_value >= 1000 THEN '1000元及以上' END AS order_value_band,
        CASE WHEN survey_satisfaction_avg >= 4 THEN '满意'
             WHEN survey_satisfaction_avg >= 3 THEN '中立'
             WHEN survey_satisfaction_avg < 3 THEN '不满意' END AS satisfaction_group,
        CASE WHEN nps_avg >= 9 THEN '推荐者' WHEN nps_avg >= 7 THEN '中立者'
             WHEN nps_avg < 7 THEN '贬损者' END AS nps_group,
        CASE WHEN (orders_365d >= 12 AND coalesce(nps_avg, 7) >= 7)
                  OR (orders_365d >= 6 AND nps_avg >= 9) THEN '高忠诚'
             WHEN orders_365d >= 3 THEN '中忠诚' WHEN orders_total >= 1 THEN '低忠诚'
             END AS loyalty,
        CASE WHEN lifestyle IN ({q(LIFESTYLES)}) THEN lifestyle END AS lifestyle_type,
        CASE WHEN complaints_180d >= 2 OR unresolved_complaints_180d >= 1
                  OR severe_complaints_180d >= 1 THEN '高'
             WHEN complaints_365d >= 1 OR tickets_365d >= 3 THEN '中' ELSE '低'
             END AS complaint_risk,
        CASE WHEN max_overdue_days >= 30 OR credit_score < 500 THEN '高'
             WHEN max_overdue_days >= 7 OR credit_score < 580
                  OR (installment_orders_365d >= 6 AND max_overdue_days >= 1)
                  OR (refunds_365d >= 3 AND refund_share_365d >= 0.3) THEN '中'
             WHEN orders_total >= 1 OR credit_score IS NOT NULL THEN '低' END AS credit_risk,
        CASE WHEN orders_7d >= 20 OR (max_order_amount >= 50000 AND max_order_amount
                  >= 20 * (spend_total - max_order_amount) / nullif(orders_total - 1, 0))
             THEN 'true' END AS fraud_warning,
        (2 * interactions_90d + interactions_365d)::DOUBLE AS interaction_index,
        CASE WHEN max_followers >= 10000 AND social_posts >= 30 THEN 'true' END
            AS opinion_leader,
        CASE WHEN spend_365d >= 10000 THEN '高消费' WHEN spend_365d >= 2000 THEN '中消费'
             WHEN spend_365d > 0 THEN '低消费' WHEN orders_total >= 1 THEN '近一年无消费'
             END AS spend_level,
        {_ntile("last_order_days", descending=True)} AS r_score,
        {_ntile("orders_365d")} AS f_score,
        {_ntile("spend_365d")} AS m_score
    FROM p"""

TAGS2_SQL = f"""
    SELECT t1.*,
        CASE WHEN last_order_days BETWEEN 181 AND 365 OR (last_order_days BETWEEN 61 AND 365
                  AND last_order_days > 3 * purchase_interval_days) THEN '高'
             WHEN last_order_days BETWEEN 91 AND 365 OR (last_order_days BETWEEN 31 AND 365
                  AND (last_order_days > 2 * purchase_interval_days OR nps_avg < 7
                       OR complaints_180d >= 1)) THEN '中'
             WHEN last_order_days <= 365 THEN '低' END AS churn_risk,
        CASE WHEN max_followers >= 10000 THEN '头部达人'
             WHEN max_followers >= 1000 OR (max_followers >= 500 AND interaction_index >= 10)
                  THEN '腰部达人'
             WHEN max_followers >= 200 OR interaction_index >= 6 THEN '活跃用户'
             WHEN max_followers IS NOT NULL OR interaction_index > 0 THEN '普通用户'
             END AS influence_level,
        {_rfm_case()} AS rfm_segment,
        CASE WHEN m_score = 5 AND f_score >= 4 AND r_score >= 4 THEN 'true' END AS high_value
    FROM t1"""

LONG_SQL = f"""
SELECT cid, tag, value, NULL::DOUBLE AS score
FROM t2 UNPIVOT (value FOR tag IN ({", ".join(TEXT_TAGS)}))
UNION ALL
SELECT cid, tag, NULL::VARCHAR AS value, score
FROM t2 UNPIVOT (score FOR tag IN ({", ".join(SCORE_TAGS)}))
UNION ALL
SELECT cid, 'interests' AS tag, unnest(interests) AS value, NULL::DOUBLE AS score FROM t2"""


def hand_sql(target: str) -> str:
    """(a): the whole run as one statement; UNPIVOT leaves out null values."""
    ctes = [f"{name} AS ({body})" for name, body in FEATURE_CTES.items()]
    ctes += [f"p AS ({PROFILE_SQL})", f"t1 AS ({TAGS1_SQL})", f"t2 AS MATERIALIZED ({TAGS2_SQL})"]
    return f"CREATE TABLE {target} AS\nWITH " + ",\n".join(ctes) + LONG_SQL


# ---------------------------------------------------------------------------- workers


def _connect(db: str, dest: str) -> Any:
    """The warehouse read-only, with the scratch database ``dest`` attached as ``out``."""
    import duckdb

    con = duckdb.connect(db, read_only=True)
    con.execute("SET enable_progress_bar = false")
    if os.environ.get("TAGWISE_WAREHOUSE__MEMORY_LIMIT"):  # --memory-limit, as for tagwise
        con.execute(f"SET memory_limit = '{os.environ['TAGWISE_WAREHOUSE__MEMORY_LIMIT']}'")
    con.execute(f"ATTACH '{dest}' AS out (READ_WRITE)")
    return con


def worker_sql(db: str, dest: str, _profile: bool) -> dict:
    con = _connect(db, dest)
    started = time.perf_counter()
    con.execute(hand_sql("out.tags"))
    return {"total": time.perf_counter() - started}


def worker_sql_features(db: str, dest: str, profile: bool) -> dict:
    """(a)'s feature part, one CTE at a time into temporary tables, then the profile join."""
    con = _connect(db, dest)
    out: dict[str, float] = {}
    for name, body in FEATURE_CTES.items():
        started = time.perf_counter()
        con.execute(f"CREATE TEMP TABLE {name} AS {body}")
        out[name] = time.perf_counter() - started
    started = time.perf_counter()
    con.execute(f"CREATE {'TABLE out.profile' if profile else 'TEMP TABLE p'} AS {PROFILE_SQL}")
    out["profile_join"] = time.perf_counter() - started
    out["total"] = sum(out.values())
    return out


# -- (b) pandas


def _read(con: Any, sql: str) -> Any:
    """A query as a DataFrame: strings become categoricals with sorted categories (code
    point order, the warehouse's), booleans nullable, dates datetime64."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    table = con.sql(sql).to_arrow_table()
    for i, field in enumerate(table.schema):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            table = table.set_column(i, field.name, pc.dictionary_encode(table.column(i)))
    df = table.to_pandas(date_as_object=False, types_mapper={pa.bool_(): pd.BooleanDtype()}.get)
    for name in df.columns:
        if isinstance(df[name].dtype, pd.CategoricalDtype):
            df[name] = df[name].cat.reorder_categories(sorted(df[name].cat.categories))
    return df


def _mode(cid: Any, values: Any) -> Any:
    """Most frequent non-null value per cid; ties → the smallest value."""
    import pandas as pd

    df = pd.DataFrame({"cid": cid, "v": values}).dropna()
    counts = df.groupby(["cid", "v"], observed=True).size().rename("n").reset_index()
    counts = counts.sort_values(["cid", "n", "v"], ascending=[True, False, True], kind="stable")
    return counts.drop_duplicates("cid").set_index("cid")["v"]


def _div(a: Any, b: Any) -> Any:
    """a / b, null when b is 0 (the language's division)."""
    return a / b.where(b != 0)


def _windows() -> tuple[Any, dict[str, Any]]:
    """The as-of end and the window starts as pandas timestamps."""
    import pandas as pd

    since = {k: pd.Timestamp(v) for k, v in WINDOWS.items() if k.startswith("d")}
    return pd.Timestamp(END), since


def _pandas_orders(con: Any) -> Any:
    import numpy as np
    import pandas as pd

    end, since = _windows()
    as_of = np.datetime64(AS_OF, "D")
    o = _read(
        con,
        "SELECT cid, amount, discount, status, paid_at, channel, category, payment_method, "
        "overdue_days FROM src.orders",
    )
    o = o[o["paid_at"] < end]
    paid = o["status"] == "paid"
    y1 = o["paid_at"] >= since["d365"]
    day = o["paid_at"].to_numpy().astype("datetime64[D]").astype(np.int64)
    x = pd.DataFrame(
        {
            "cid": o["cid"],
            "amount_paid": o["amount"].where(paid),
            "amount_paid365": o["amount"].where(paid & y1),
            "paid": paid,
            "paid365": paid & y1,
            "paid180": paid & (o["paid_at"] >= since["d180"]),
            "day_paid": pd.Series(day, index=o.index).where(paid),
            "y1": y1,
            "discounted": y1 & (o["discount"] > 0),
            "online": y1 & (o["channel"] == "online"),
            "offline": y1 & (o["channel"] == "offline"),
            "mini_program": y1 & (o["channel"] == "mini_program"),
            "refunded": y1 & (o["status"] == "refunded"),
            "installment": y1 & (o["payment_method"] == "installment"),
            "overdue": o["overdue_days"].where(o["payment_method"] == "installment"),
            "d7": o["paid_at"] >= since["d7"],
        }
    )
    f = x.groupby("cid").agg(
        spend_365d=("amount_paid365", "sum"),
        spend_total=("amount_paid", "sum"),
        orders_total=("paid", "sum"),
        orders_365d=("paid365", "sum"),
        orders_180d=("paid180", "sum"),
        last_day=("day_paid", "max"),
        first_day=("day_paid", "min"),
        avg_order_value=("amount_paid365", "mean"),
        max_order_amount=("amount_paid", "max"),
        all_365d=("y1", "sum"),
        discounted=("discounted", "sum"),
        online=("online", "sum"),
        offline=("offline", "sum"),
        mini_program=("mini_program", "sum"),
        refunds_365d=("refunded", "sum"),
        installment_orders_365d=("installment", "sum"),
        max_overdue_days=("overdue", "max"),
        orders_7d=("d7", "sum"),
    )
    as_of_day = as_of.astype(np.int64)
    f["last_order_days"] = as_of_day - f.pop("last_day")
    f["first_order_days"] = as_of_day - f.pop("first_day")
    total = f.pop("all_365d")
    for name in ("discounted", "online", "offline", "mini_program"):
        share = "discount_share" if name == "discounted" else f"{name}_share"
        f[share] = _div(f.pop(name), total)
    f["refund_share_365d"] = _div(f["refunds_365d"], total)
    sel = paid & y1 & o["category"].notna()
    f["top_category"] = _mode(o["cid"][sel], o["category"][sel])
    return f


def _pandas_events(con: Any) -> Any:
    import pandas as pd

    end, since = _windows()
    e = _read(con, "SELECT cid, event_type, occurred_at, page FROM src.events")
    e = e[(e["occurred_at"] < end) & (e["occurred_at"] >= since["d180"])]
    kind = e["event_type"]
    ev = pd.DataFrame(
        {
            "cid": e["cid"],
            "browse_events_90d": (e["occurred_at"] >= since["d90"]) & kind.isin(BROWSE_TYPES),
            "email_opens_180d": kind == "email_open",
            "email_clicks_180d": kind == "email_click",
            "campaign_joins_180d": kind == "campaign_join",
        }
    )
    f = ev.groupby("cid").sum()
    sel = kind.isin(PAGE_TYPES) & e["page"].notna()
    f["top_browsed_page"] = _mode(e["cid"][sel], e["page"][sel])
    return f


def _pandas_small_sources(con: Any) -> list[Any]:
    import pandas as pd

    end, since = _windows()
    parts = []
    s = _read(con, "SELECT cid, followers, posts FROM src.social_profiles")
    parts.append(
        s.groupby("cid").agg(max_followers=("followers", "max"), social_posts=("posts", "sum"))
    )
    i = _read(con, "SELECT cid, occurred_at FROM src.social_interactions")
    i = i[(i["occurred_at"] < end) & (i["occurred_at"] >= since["d365"])]
    parts.append(
        pd.DataFrame({"cid": i["cid"], "interactions_90d": i["occurred_at"] >= since["d90"]})
        .groupby("cid")
        .agg(interactions_90d=("interactions_90d", "sum"), interactions_365d=("cid", "size"))
    )
    v = _read(
        con, "SELECT cid, submitted_at, nps, satisfaction, interests, lifestyle FROM src.surveys"
    )
    v = v[v["submitted_at"] < end]
    f = v.groupby("cid").agg(
        nps_avg=("nps", "mean"), survey_satisfaction_avg=("satisfaction", "mean")
    )
    f["survey_interests"] = _mode(v["cid"], v["interests"])
    f["lifestyle"] = _mode(v["cid"], v["lifestyle"])
    parts.append(f)
    t = _read(con, "SELECT cid, created_at, type, severity, resolved FROM src.tickets")
    t = t[(t["created_at"] < end) & (t["created_at"] >= since["d365"])]
    complaint = t["type"] == "投诉"
    c180 = complaint & (t["created_at"] >= since["d180"])
    parts.append(
        pd.DataFrame(
            {
                "cid": t["cid"],
                "complaints_180d": c180,
                "complaints_365d": complaint,
                "severe_complaints_180d": c180 & (t["severity"] == "高"),
                "unresolved_complaints_180d": c180 & t["resolved"].eq(False).fillna(False),
                "tickets_365d": True,
            }
        )
        .groupby("cid")
        .sum()
    )
    tp = _read(
        con, "SELECT cid, credit_score, income_band, has_car, has_house FROM src.third_party"
    )
    f = tp.groupby("cid").agg(credit_score=("credit_score", "max"))
    for name in ("income_band", "has_car", "has_house"):
        f[name] = _mode(tp["cid"], tp[name])
    parts.append(f)

    return parts


def pandas_features(con: Any) -> tuple[Any, dict[str, float]]:
    """(b)'s profile: one row per customer, the same columns as PROFILE_SQL."""
    import numpy as np

    as_of = np.datetime64(AS_OF, "D")
    started = time.perf_counter()
    p = _read(
        con,
        "SELECT cid, gender, birthday, province, city, register_channel, member_level, "
        "registered_at FROM src.customers",
    ).set_index("cid")
    p["age_days"] = (as_of - p["birthday"].to_numpy().astype("datetime64[D]")).astype(float)
    p.loc[p["birthday"].isna(), "age_days"] = np.nan
    timings: dict[str, float] = {"customers": time.perf_counter() - started}
    parts: list[Any] = []
    for name, compute in (("orders", _pandas_orders), ("events", _pandas_events)):
        parts.append(compute(con))
        timings[name] = time.perf_counter() - started - sum(timings.values())
    parts += _pandas_small_sources(con)
    timings["small_sources"] = time.perf_counter() - started - sum(timings.values())
    p = p.join(parts, how="left")
    counts = [
        "spend_365d", "spend_total", "orders_total", "orders_365d", "orders_180d",
        "refunds_365d", "installment_orders_365d", "orders_7d", "browse_events_90d",
        "email_opens_180d", "email_clicks_180d", "campaign_joins_180d", "social_posts",
        "interactions_90d", "interactions_365d", "complaints_180d", "complaints_365d",
        "severe_complaints_180d", "unresolved_complaints_180d", "tickets_365d",
    ]  # fmt: skip
    for name in counts:
        p[name] = p[name].fillna(0)
    for name in ("has_car", "has_house"):
        p[name] = p[name].astype("boolean")
    timings["profile_join"] = time.perf_counter() - started - sum(timings.values())
    return p, timings


def _true(cond: Any) -> Any:
    """A condition as a numpy bool array: null (NA / NaN comparisons) is not true."""
    import numpy as np
    import pandas as pd

    if isinstance(cond, pd.Series) and isinstance(cond.dtype, pd.BooleanDtype):
        return cond.to_numpy(dtype=bool, na_value=False)
    return np.asarray(cond, dtype=bool)


def _pick(rules: list[tuple[Any, str]], default: str | None = None) -> Any:
    """An enum tag: the value of the first true condition (``np.select``), as a categorical."""
    import numpy as np
    import pandas as pd

    values = list(dict.fromkeys([v for _, v in rules] + ([default] if default else [])))
    codes = np.select(
        [_true(c) for c, _ in rules],
        [values.index(v) for _, v in rules],
        default=-1 if default is None else values.index(default),
    )
    return pd.Categorical.from_codes(codes, values)


def _flag(cond: Any) -> Any:
    import pandas as pd

    return pd.Categorical.from_codes(_true(cond).astype(int) - 1, ["true"])


def _same(column: Any, values: list[str]) -> Any:
    """``CASE WHEN column = v1 THEN v1 … END`` for a list of values."""
    return _pick([(column == v, v) for v in values])


def round_half_away(x: Any, digits: int) -> Any:
    """The language's round (docs/language.md): half away from zero on the decimal as
    written, in double operations (``0.15`` rounds to 0.2 though the double is 0.1499…)."""
    import numpy as np

    x = np.asarray(x, dtype=float)
    scale = float(10**digits)
    a = np.abs(x)
    y = a * scale
    f = np.floor(y)
    n = f + ((y - f >= 0.5) | (a == (f + 0.5) / scale))
    out = np.where(x < 0, (0.0 - n) / scale, n / scale)
    return np.where(np.isfinite(x) & (a < 2.0**52 / scale), out, x)


def _ntile(raw: Any, cid: Any, n: int = 5, *, descending: bool = False) -> Any:
    """The quantile of docs/tags.md over the non-null values: a value with ``below`` values
    before it and ``tied`` equal to it scores ``1 + floor(n * (2 * below + tied) / (2 * m))``;
    null stays null. ``cid`` is unused: no tie is broken."""
    import numpy as np

    del cid
    raw = np.asarray(raw, dtype=float)
    valid = ~np.isnan(raw)
    key = -raw[valid] if descending else raw[valid]
    ordered = np.sort(key)
    below = np.searchsorted(ordered, key, side="left")
    tied = np.searchsorted(ordered, key, side="right") - below
    out = np.full(len(raw), np.nan)
    out[valid] = 1 + (n * (2 * below + tied)) // (2 * len(key))
    return out


def pandas_tags(p: Any) -> dict[str, Any]:  # noqa: PLR0915 (one statement per tag)
    """(b)'s tags: code → categorical values (enum, flag), float scores, or for the multi
    tag a list of (value, mask)."""
    import numpy as np

    t: dict[str, Any] = {}
    birthday, age = p["birthday"], p["age_days"] / 365.25
    year = birthday.dt.year
    t["age_band"] = _pick(
        [(age < 18, "18岁以下"), (age < 25, "18-24岁"), (age < 35, "25-34岁"),
         (age < 45, "35-44岁"), (age < 55, "45-54岁"), (birthday.notna(), "55岁及以上")]
    )  # fmt: skip
    t["generation"] = _pick(
        [(year >= 2000, "00后"), (year >= 1990, "90后"), (year >= 1980, "80后"),
         (year >= 1970, "70后"), (birthday.notna(), "60后及更早")]
    )  # fmt: skip
    t["gender_label"] = _pick([(p["gender"] == "M", "男"), (p["gender"] == "F", "女")], "未知")
    t["region"] = _pick([(p["province"].isin(ps), r) for r, ps in REGIONS.items()])
    city = p["city"]
    t["city_tier"] = _pick(
        [(city.isin(TIER1), "一线"), (city.isin(NEW_TIER1), "新一线"), (city.isin(TIER2), "二线"),
         (city.notna(), "三线及以下")]
    )  # fmt: skip
    t["member_grade"] = _same(p["member_level"], MEMBER_LEVELS)
    t["signup_channel"] = _same(p["register_channel"], SIGNUP_CHANNELS)
    t["income_level"] = _same(p["income_band"], INCOME_BANDS)
    car, house = p["has_car"], p["has_house"]  # nullable booleans: SQL's three-valued logic
    t["asset_status"] = _pick(
        [(house & car, "有房有车"), (house & ~car, "有房无车"), (car & ~house, "有车无房"),
         (~car & ~house, "无房无车")]
    )  # fmt: skip
    o365, o180, total = p["orders_365d"], p["orders_180d"], p["orders_total"]
    last, first = p["last_order_days"], p["first_order_days"]
    t["purchase_frequency"] = _pick(
        [(o365 >= 24, "高频"), (o365 >= 6, "中频"), (o365 >= 1, "低频"), (total >= 1, "近一年未购")]
    )
    t["recency_band"] = _pick(
        [(last <= 30, "30天内"), (last <= 90, "31-90天"), (last <= 180, "91-180天"),
         (last <= 365, "181-365天"), (last > 365, "365天以上")]
    )  # fmt: skip
    interval = round_half_away(_div(first - last, total - 1).to_numpy(), 1)
    t["purchase_interval_days"] = interval
    b = p["browse_events_90d"]
    t["browse_activity"] = _pick(
        [(b >= 15, "高活跃"), (b >= 5, "中活跃"), (b >= 1, "低活跃")], "近90天未浏览"
    )
    t["email_engagement"] = _pick(
        [(p["email_clicks_180d"] >= 1, "有点击"), (p["email_opens_180d"] >= 1, "仅打开")], "未互动"
    )
    c = p["campaign_joins_180d"]
    t["campaign_participation"] = _pick([(c >= 2, "多次参与"), (c == 1, "参与1次")], "未参与")
    decline = (last > 180) | ((o365 - o180 >= 4) & (o180 * 2 <= o365 - o180))
    t["lifecycle_stage"] = _pick(
        [(total == 0, "潜在"), (last > 365, "流失"), (first <= 90, "新客"), (decline, "衰退"),
         ((o365 >= 12) & (first > 365), "成熟"), (total >= 1, "成长")]
    )  # fmt: skip
    registered = p["registered_at"].to_numpy().astype("datetime64[D]")
    t["new_signup_30d"] = _flag((np.datetime64(AS_OF, "D") - registered).astype(int) <= 30)
    top, page, words = p["top_category"], p["top_browsed_page"], p["survey_interests"]
    t["favorite_category"] = _same(top, CATEGORIES)
    interests = []
    for value, cats, kws in INTERESTS:
        hit = top.isin(cats) | page.isin(cats)
        for w in kws:
            hit = hit | words.astype(object).str.contains(w, regex=False, na=False)
        interests.append((value, _true(hit)))
    t["interests"] = interests
    ds = p["discount_share"]
    t["price_sensitivity"] = _pick(
        [((o365 >= 3) & (ds >= 0.5), "高敏感"), ((o365 >= 3) & (ds >= 0.2), "中敏感"),
         (o365 >= 3, "低敏感")]
    )  # fmt: skip
    t["preferred_channel"] = _pick(
        [(p["online_share"] >= 0.6, "线上商城"), (p["offline_share"] >= 0.6, "线下门店"),
         (p["mini_program_share"] >= 0.6, "小程序/社交"), (p["online_share"].notna(), "全渠道")]
    )  # fmt: skip
    aov = p["avg_order_value"]
    t["order_value_band"] = _pick(
        [(aov < 100, "100元以下"), (aov < 300, "100-300元"), (aov < 1000, "300-1000元"),
         (aov >= 1000, "1000元及以上")]
    )  # fmt: skip
    sat, nps = p["survey_satisfaction_avg"], p["nps_avg"]
    t["satisfaction_group"] = _pick([(sat >= 4, "满意"), (sat >= 3, "中立"), (sat < 3, "不满意")])
    t["nps_group"] = _pick([(nps >= 9, "推荐者"), (nps >= 7, "中立者"), (nps < 7, "贬损者")])
    t["loyalty"] = _pick(
        [(((o365 >= 12) & (nps.fillna(7) >= 7)) | ((o365 >= 6) & (nps >= 9)), "高忠诚"),
         (o365 >= 3, "中忠诚"), (total >= 1, "低忠诚")]
    )  # fmt: skip
    t["lifestyle_type"] = _same(p["lifestyle"], LIFESTYLES)
    c180, c365 = p["complaints_180d"], p["complaints_365d"]
    t["complaint_risk"] = _pick(
        [((c180 >= 2) | (p["unresolved_complaints_180d"] >= 1)
          | (p["severe_complaints_180d"] >= 1), "高"),
         ((c365 >= 1) | (p["tickets_365d"] >= 3), "中")],
        "低",
    )  # fmt: skip
    overdue, credit = p["max_overdue_days"], p["credit_score"]
    t["credit_risk"] = _pick(
        [((overdue >= 30) | (credit < 500), "高"),
         ((overdue >= 7) | (credit < 580) | ((p["installment_orders_365d"] >= 6) & (overdue >= 1))
          | ((p["refunds_365d"] >= 3) & (p["refund_share_365d"] >= 0.3)), "中"),
         ((total >= 1) | credit.notna(), "低")]
    )  # fmt: skip
    biggest = p["max_order_amount"]
    others = _div(20 * (p["spend_total"] - biggest), total - 1)
    t["fraud_warning"] = _flag((p["orders_7d"] >= 20) | ((biggest >= 50000) & (biggest >= others)))
    index = (2 * p["interactions_90d"] + p["interactions_365d"]).astype(float)
    t["interaction_index"] = index.to_numpy()
    fol = p["max_followers"]
    t["opinion_leader"] = _flag((fol >= 10000) & (p["social_posts"] >= 30))
    spend = p["spend_365d"]
    t["spend_level"] = _pick(
        [(spend >= 10000, "高消费"), (spend >= 2000, "中消费"), (spend > 0, "低消费"),
         (total >= 1, "近一年无消费")]
    )  # fmt: skip
    cid, bought = p.index.to_numpy(), last.notna()
    r = t["r_score"] = _ntile(last, cid, descending=True)
    f = t["f_score"] = _ntile(o365.where(bought), cid)
    m = t["m_score"] = _ntile(spend.where(bought), cid)
    # layer 1: tags that read other tags
    t["churn_risk"] = _pick(
        [(last.between(181, 365) | (last.between(61, 365) & (last > 3 * interval)), "高"),
         (last.between(91, 365) | (last.between(31, 365) & ((last > 2 * interval) | (nps < 7)
          | (c180 >= 1))), "中"),
         (last <= 365, "低")]
    )  # fmt: skip
    t["influence_level"] = _pick(
        [(fol >= 10000, "头部达人"), ((fol >= 1000) | ((fol >= 500) & (index >= 10)), "腰部达人"),
         ((fol >= 200) | (index >= 6), "活跃用户"), (fol.notna() | (index > 0), "普通用户")]
    )  # fmt: skip
    high = {"r": r >= 3, "f": f >= 3, "m": m >= 3}
    low = {"r": r < 3, "f": f < 3, "m": m < 3}
    t["rfm_segment"] = _pick(
        [
            ((high["r"] if rh else low["r"]) & (high["f"] if fh else low["f"])
             & (high["m"] if mh else low["m"]), value)
            for (rh, fh, mh), value in RFM
        ]
    )  # fmt: skip
    t["high_value"] = _flag((m == 5) & (f >= 4) & (r >= 4))
    return t


def pandas_long(cid: Any, tags: dict[str, Any]) -> Any:
    """The long table (cid, tag, value, score) from the per-tag arrays; strings as codes."""
    import numpy as np
    import pandas as pd

    names: list[str] = []  # all values of all tags, for one categorical
    cids, tag_codes, value_codes, scores = [], [], [], []
    order = TEXT_TAGS + SCORE_TAGS + MULTI_TAGS
    for k, code in enumerate(order):
        values = tags[code]
        if code in MULTI_TAGS:
            for value, mask in values:
                names.append(value)
                cids.append(cid[mask])
                value_codes.append(np.full(mask.sum(), len(names) - 1))
                scores.append(np.full(mask.sum(), np.nan))
                tag_codes.append(np.full(mask.sum(), k))
            continue
        if code in SCORE_TAGS:
            mask = ~np.isnan(values)
            value_codes.append(np.full(mask.sum(), -1))
            scores.append(values[mask])
        else:
            mask = values.codes >= 0
            value_codes.append(values.codes[mask].astype(np.int64) + len(names))
            names.extend(values.categories)
            scores.append(np.full(mask.sum(), np.nan))
        cids.append(cid[mask])
        tag_codes.append(np.full(mask.sum(), k))
    uniq, remap = np.unique(np.array(names, dtype=object), return_inverse=True)
    codes = np.concatenate(value_codes)
    codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
    return pd.DataFrame(
        {
            "cid": np.concatenate(cids),
            "tag": pd.Categorical.from_codes(np.concatenate(tag_codes), order),
            "value": pd.Categorical.from_codes(codes, list(uniq)),
            "score": np.concatenate(scores),
        }
    )


def worker_pandas(db: str, dest: str, profile: bool) -> dict:
    con = _connect(db, dest)
    started = time.perf_counter()
    p, timings = pandas_features(con)
    t1 = time.perf_counter()
    tags = pandas_tags(p)
    long = pandas_long(p.index.to_numpy(), tags)
    t2 = time.perf_counter()
    con.register("long_df", long)
    con.execute(
        "CREATE TABLE out.tags AS SELECT cid::INTEGER AS cid, tag::VARCHAR AS tag, "
        "value::VARCHAR AS value, score FROM long_df"
    )
    t3 = time.perf_counter()
    if profile:
        con.register("profile_df", p.reset_index())
        con.execute("CREATE TABLE out.profile AS SELECT * FROM profile_df")
    return {
        "features": t1 - started,
        "tags": t2 - t1,
        "write": t3 - t2,
        "total": t3 - started,
        "rows": len(long),
        **{f"features.{k}": v for k, v in timings.items()},
    }


# -- (c) floor


def floor_load(con: Any) -> dict[str, Any]:
    """The order columns as numpy arrays, rows sorted by cid; strings as codes in sorted-value
    order (-1 for null), timestamps as microseconds."""
    import numpy as np
    import pyarrow.compute as pc

    t = con.sql(
        "SELECT cid, amount, discount, status, paid_at, channel, category, payment_method, "
        "overdue_days FROM src.orders"
    ).to_arrow_table()
    cid = t["cid"].to_numpy()
    perm = None if np.all(cid[1:] >= cid[:-1]) else np.argsort(cid, kind="stable")
    top = con.execute("SELECT max(cid) FROM src.customers").fetchall()[0][0]
    cols: dict[str, Any] = {"n": int(top) + 1}
    for name in ("status", "channel", "category", "payment_method"):
        enc = pc.dictionary_encode(t[name]).combine_chunks()
        words = enc.dictionary.to_pylist()
        rank = np.argsort(np.argsort(np.array(words, dtype=object)))
        idx = enc.indices.fill_null(-1).to_numpy()
        cols[name] = np.where(idx >= 0, rank[idx], -1)
        cols[f"{name}_words"] = sorted(words)
    cols["cid"] = cid
    cols["amount"] = t["amount"].to_numpy()
    cols["discount"] = t["discount"].to_numpy(zero_copy_only=False)
    cols["overdue_days"] = t["overdue_days"].cast("double").to_numpy(zero_copy_only=False)
    cols["paid_at"] = t["paid_at"].cast("int64").to_numpy()
    if perm is not None:
        for name, col in cols.items():
            if isinstance(col, np.ndarray):
                cols[name] = col[perm]
    return cols


def floor_compute(c: dict[str, Any]) -> dict[str, Any]:
    """The order features: ``reduceat`` over the runs of equal cid (counts, sums, max, min),
    ``bincount`` over (cid, category) for the mode; dense arrays indexed by cid."""
    import numpy as np

    n, cid, at, amount = c["n"], c["cid"], c["paid_at"], c["amount"]
    starts = np.flatnonzero(np.r_[True, cid[1:] != cid[:-1]])
    present = cid[starts]

    def us(moment: str) -> int:
        return int((datetime.fromisoformat(moment) - datetime(1970, 1, 1)).total_seconds() * 1e6)

    def is_(name: str, word: str) -> Any:
        words = c[f"{name}_words"]
        return c[name] == (words.index(word) if word in words else -2)

    def dense(values: Any, fill: float = 0) -> Any:
        out = np.full(n, fill, dtype=values.dtype)
        out[present] = values
        return out

    def count(mask: Any) -> Any:
        return dense(np.add.reduceat(mask.view(np.int8), starts, dtype=np.int64))

    def total(mask: Any, values: Any) -> Any:
        return dense(np.add.reduceat(np.where(mask, values, 0.0), starts))

    def extreme(mask: Any, values: Any, ufunc: Any, empty: float) -> Any:
        out = dense(ufunc.reduceat(np.where(mask, values, empty), starts), np.nan)
        out[out == empty] = np.nan
        return out

    ok = at < us(WINDOWS["end"])
    paid = ok & is_("status", "paid")
    y1 = ok & (at >= us(WINDOWS["d365"]))
    paid365 = paid & y1
    as_of_day, day = (AS_OF - date(1970, 1, 1)).days, 86_400_000_000  # µs per day
    all365 = count(y1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = {
            "discount_share": count(y1 & (c["discount"] > 0)) / all365,
            "online_share": count(y1 & is_("channel", "online")) / all365,
            "offline_share": count(y1 & is_("channel", "offline")) / all365,
            "mini_program_share": count(y1 & is_("channel", "mini_program")) / all365,
            "refund_share_365d": count(y1 & is_("status", "refunded")) / all365,
        }
        spend365, paid365_n = total(paid365, amount), count(paid365)
        avg = spend365 / np.where(paid365_n > 0, paid365_n, np.nan)
    k = len(c["category_words"])
    sel = paid365 & (c["category"] >= 0)
    per_cat = np.bincount(cid[sel] * k + c["category"][sel], minlength=n * k).reshape(n, k)
    top = np.where(per_cat.any(axis=1), per_cat.argmax(axis=1), -1)  # ties → smallest value
    installment = is_("payment_method", "installment")
    overdue = c["overdue_days"]
    return {
        "spend_365d": spend365,
        "spend_total": total(paid, amount),
        "orders_total": count(paid),
        "orders_365d": paid365_n,
        "orders_180d": count(paid & (at >= us(WINDOWS["d180"]))),
        "last_order_days": as_of_day - np.floor(extreme(paid, at, np.maximum, -np.inf) / day),
        "first_order_days": as_of_day - np.floor(extreme(paid, at, np.minimum, np.inf) / day),
        "avg_order_value": avg,
        "max_order_amount": extreme(paid, amount, np.maximum, -np.inf),
        "top_category": top,
        **share,
        "refunds_365d": count(y1 & is_("status", "refunded")),
        "installment_orders_365d": count(y1 & installment),
        "max_overdue_days": extreme(
            installment & ok & ~np.isnan(overdue), overdue, np.maximum, -np.inf
        ),
        "orders_7d": count(ok & (at >= us(WINDOWS["d7"]))),
    }


def worker_floor(db: str, dest: str, profile: bool) -> dict:
    con = _connect(db, dest)
    started = time.perf_counter()
    columns = floor_load(con)
    loaded = time.perf_counter()
    features = floor_compute(columns)
    timings = {"load": loaded - started, "compute": time.perf_counter() - loaded}
    if profile:
        import numpy as np
        import pandas as pd

        words = np.array([*columns["category_words"], None], dtype=object)
        df = pd.DataFrame(features)
        df["top_category"] = words[df["top_category"].to_numpy()]
        df.index.name = "cid"
        con.register("floor_df", df.reset_index())
        con.execute("CREATE TABLE out.profile AS SELECT * FROM floor_df WHERE cid > 0")
    return {**timings, "total": timings["load"] + timings["compute"]}


def worker_tagwise_features(db: str, dest: str, _profile: bool) -> dict:
    """Diagnosis of tagwise's features stage: the SQL it generates, one source at a time,
    then the whole profile query (the stage's statement) into a temporary table."""
    from tagwise.compile.features import feature_select, profile_select, time_column_of
    from tagwise.settings import Settings
    from tagwise.workspace import load_specs

    root = Path(db).resolve().parent.parent
    specs = load_specs(root, Settings.load(root))
    assert specs.features is not None and specs.sources is not None  # noqa: S101
    con = _connect(db, dest)
    out: dict[str, float] = {}
    for name, group in specs.features.by_source().items():
        source = specs.sources.sources[name]
        select = feature_select(source, group, as_of=AS_OF, time_column=time_column_of(source))
        started = time.perf_counter()
        con.execute(f"CREATE TEMP TABLE f_{name} AS {select.sql('duckdb')}")
        out[name] = time.perf_counter() - started
    started = time.perf_counter()
    query = profile_select(specs.features, specs.sources, as_of=AS_OF).sql("duckdb")
    con.execute(f"CREATE TEMP TABLE profile AS {query}")
    out["whole_profile"] = time.perf_counter() - started
    return out


WORKERS: dict[str, Callable[[str, str, bool], dict]] = {
    "sql": worker_sql,
    "sql-features": worker_sql_features,
    "pandas": worker_pandas,
    "floor": worker_floor,
    "tagwise-features": worker_tagwise_features,
}


# ------------------------------------------------------------------------- orchestration


def measure(args: list[str]) -> dict:
    cmd = [sys.executable, str(HERE / "measure.py"), "--", *args]
    result = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    if result["returncode"] != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{result['stderr']}")
    return result


def run_worker(name: str, db: Path, dest: Path, *, profile: bool = False) -> dict:
    dest.unlink(missing_ok=True)
    args = [sys.executable, __file__, "--worker", name, "--db", str(db), "--dest", str(dest)]
    result = measure(args + (["--profile"] if profile else []))
    return {"seconds": result["seconds"], "peak_mib": result["peak_mib"],
            "stages": json.loads(result["stdout"])}  # fmt: skip


def tagwise_bin() -> str:
    return str(Path(sys.executable).with_name("tagwise"))


def run_tagwise(ws: Path) -> dict:
    """``tagwise run`` of the 39 starter tags (``--tags``: a workspace built from newer
    templates may define more tags, which (a) and (b) do not compute)."""
    run = [tagwise_bin(), "-w", str(ws), "run", "--as-of", AS_OF.isoformat(), "--json"]
    run += [arg for code in ALL_TAGS for arg in ("--tags", code)]
    result = measure(run)
    report = json.loads(result["stdout"])
    return {
        "seconds": result["seconds"],
        "peak_mib": result["peak_mib"],
        "stages": report["timings"],
        "tag_values": report["tag_values"],
        "changes": report["changes"],
    }


def prepare(out: Path, customers: int) -> tuple[Path, Path, dict | None]:
    """The demo workspace (built once) and a copy of its warehouse without tag values."""
    ws, clean = out / f"ws{customers}", out / f"clean{customers}.duckdb"
    demo = None
    if not (ws / "tagwise.toml").exists():
        shutil.rmtree(ws, ignore_errors=True)
        print(f"building the demo workspace {ws} …", file=sys.stderr)
        result = measure([tagwise_bin(), "demo", str(ws), "--customers", str(customers)])
        demo = {"seconds": round(result["seconds"], 1), "peak_mib": round(result["peak_mib"])}
        clean.unlink(missing_ok=True)
    if not clean.exists():
        import duckdb

        shutil.copy(warehouse(ws), clean)
        con = duckdb.connect(str(clean))
        for schema in ("tags", "snap"):
            con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        con.execute("DROP TABLE IF EXISTS meta.runs")
        # the tag store's layout stamp goes with its schema, or opening would trust it
        con.execute("CREATE TABLE IF NOT EXISTS meta.layout (part VARCHAR, version INTEGER)")
        con.execute("DELETE FROM meta.layout WHERE part = 'tags'")
        con.execute("CHECKPOINT")
        con.close()
    return ws, clean, demo


def warehouse(ws: Path) -> Path:
    return ws / ".tagwise" / "warehouse.duckdb"


def restore(ws: Path, clean: Path) -> None:
    """Put the warehouse back to "ingested, never run"."""
    Path(str(warehouse(ws)) + ".wal").unlink(missing_ok=True)
    shutil.rmtree(ws / ".tagwise" / "snapshots", ignore_errors=True)
    shutil.copy(clean, warehouse(ws))


def source_rows(db: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    names = ["customers", "orders", "events"]
    return {n: int(con.execute(f"SELECT count(*) FROM src.{n}").fetchall()[0][0]) for n in names}


# ------------------------------------------------------------------------------ checks


def compare(ws: Path, outputs: dict[str, Path]) -> dict:
    """Each output's long table against tagwise's current values: every (cid, tag, value)
    present on both sides, scores within 1e-9 relative; and counts per (tag, value)."""
    import duckdb

    con = duckdb.connect(str(warehouse(ws)), read_only=True)
    result: dict[str, Any] = {}
    counts = con.sql(
        f"SELECT tag, coalesce(value, '∅') AS value, count(*) AS n FROM tags.current "
        f"WHERE NOT locked AND tag IN ({q(ALL_TAGS)}) GROUP BY ALL"
    ).fetchall()
    by_value: dict[tuple[str, str], dict[str, int]] = {(t, v): {"tagwise": n} for t, v, n in counts}
    for name, db in outputs.items():
        con.execute(f"ATTACH '{db}' AS {name} (READ_ONLY)")
        rows = con.sql(
            f"""
            SELECT coalesce(a.tag, b.tag) AS tag,
                count(*) FILTER (WHERE b.cid IS NULL) AS only_tagwise,
                count(*) FILTER (WHERE a.cid IS NULL) AS only_other,
                count(*) FILTER (WHERE a.cid IS NOT NULL AND b.cid IS NOT NULL
                    AND NOT (a.score IS NOT DISTINCT FROM b.score
                             OR abs(a.score - b.score)
                                <= 1e-9 * greatest(abs(a.score), abs(b.score)))) AS score_diff
            FROM (SELECT cid, tag, value, score FROM tags.current
                  WHERE NOT locked AND tag IN ({q(ALL_TAGS)})) a
            FULL JOIN {name}.tags b
              ON a.cid = b.cid AND a.tag = b.tag AND a.value IS NOT DISTINCT FROM b.value
            GROUP BY ALL
            HAVING only_tagwise + only_other + score_diff > 0 ORDER BY 1"""
        ).fetchall()
        total = int(con.execute(f"SELECT count(*) FROM {name}.tags").fetchall()[0][0])
        result[name] = {
            "rows": total,
            "tags": len(con.sql(f"SELECT DISTINCT tag FROM {name}.tags").fetchall()),
            "mismatched_tags": {
                t: {"only_tagwise": a, "only_other": b, "score_diff": c} for t, a, b, c in rows
            },
        }
        for tag, value, n in con.sql(
            f"SELECT tag, coalesce(value, '∅'), count(*) FROM {name}.tags GROUP BY ALL"
        ).fetchall():
            by_value.setdefault((tag, value), {})[name] = n
    names = ["tagwise", *outputs]
    differing = {
        f"{t}={v}": c for (t, v), c in sorted(by_value.items())
        if len({c.get(n, 0) for n in names}) > 1
    }  # fmt: skip
    result["tagwise_rows"] = sum(c["tagwise"] for c in by_value.values() if "tagwise" in c)
    result["value_counts"] = {"pairs": len(by_value), "differing": differing}
    return result


def compare_features(ws: Path, outputs: dict[str, Path]) -> dict:
    """Every feature of each output's profile against tagwise's latest profile snapshot."""
    import duckdb

    con = duckdb.connect(str(warehouse(ws)), read_only=True)
    files = (ws / ".tagwise" / "snapshots").glob("profile_*.parquet")
    newest = max(files, key=lambda p: int(p.name.split("_")[1].split(".")[0]))
    con.execute(f"CREATE TEMP VIEW snapshot AS SELECT * FROM read_parquet('{newest}')")
    latest = "snapshot"
    reference = {r[0]: r[1] for r in con.sql(f"DESCRIBE {latest}").fetchall()}
    numeric = ("BIGINT", "INTEGER", "DOUBLE", "HUGEINT", "FLOAT")
    attributes = {r[0] for r in con.sql("DESCRIBE src.customers").fetchall()}
    result = {}
    for name, db in outputs.items():
        con.execute(f"ATTACH '{db}' AS {name} (READ_ONLY)")
        columns = [r[0] for r in con.sql(f"DESCRIBE {name}.profile").fetchall()]
        checks = []
        for c in columns:
            if c not in reference or c in attributes:
                continue
            if reference[c].startswith(numeric):
                a, b = f'a."{c}"::DOUBLE', f'b."{c}"::DOUBLE'
                same = f"({a} IS NOT DISTINCT FROM {b} OR abs({a} - {b}) <= 1e-9 * abs({a}))"
            else:
                same = f'a."{c}"::VARCHAR IS NOT DISTINCT FROM b."{c}"::VARCHAR'
            checks.append(f'count(*) FILTER (WHERE NOT {same}) AS "{c}"')
        row = con.sql(
            f"SELECT {', '.join(checks)} FROM {latest} a JOIN {name}.profile b ON a.cid = b.cid"
        ).df()
        joined = f"SELECT count(*) FROM {latest} JOIN {name}.profile USING (cid)"
        compared = int(con.execute(joined).fetchall()[0][0])
        result[name] = {
            "features_compared": len(checks),
            "customers": compared,
            "mismatches": {c: int(v) for c, v in row.iloc[0].items() if v},
        }
    return result


def check(out: Path, customers: int) -> dict:
    """Every approach at a small size, compared value by value with tagwise."""
    ws, clean, _ = prepare(out, customers)
    restore(ws, clean)
    tw = run_tagwise(ws)
    db = warehouse(ws)
    outputs = {name: out / f"check_{name.replace('-', '_')}.duckdb" for name in WORKERS}
    for name, dest in outputs.items():
        run_worker(name, db, dest, profile=True)
    tags = compare(ws, {"sql": outputs["sql"], "pandas": outputs["pandas"]})
    features = compare_features(
        ws,
        {"sql_features": outputs["sql-features"], "pandas": outputs["pandas"],
         "floor": outputs["floor"]},
    )  # fmt: skip
    ok = all(not tags[n]["mismatched_tags"] for n in ("sql", "pandas"))
    ok = ok and not tags["value_counts"]["differing"]
    ok = ok and all(not f["mismatches"] for f in features.values())
    return {"customers": customers, "ok": ok, "tagwise_values": tw["tag_values"],
            "tags": tags, "features": features}  # fmt: skip


# ---------------------------------------------------------------------------- results


def code_version() -> str:
    """The commit measured, ``+dirty`` when src/ has uncommitted changes."""
    git = ["git", "-C", str(HERE.parent)]
    head = subprocess.run(
        [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "src"], capture_output=True, text=True, check=False
    )
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def median(runs: list[dict], *path: str) -> float:
    def get(r: dict) -> float:
        for key in path:
            r = r[key]
        return float(r)  # type: ignore[arg-type]

    return round(statistics.median(get(r) for r in runs), 2)


def summarize(runs: dict[str, list[dict]], rows: dict, demo: dict | None, comparison: dict) -> dict:
    fresh, rerun = runs["tagwise"], runs["tagwise-rerun"]
    sql, sqlf, pandas, floor = runs["sql"], runs["sql-features"], runs["pandas"], runs["floor"]
    approaches = {
        name: {"seconds": median(r, "seconds"), "peak_mib": round(median(r, "peak_mib"))}
        for name, r in runs.items()
    }
    for name in ("tagwise", "tagwise-rerun"):
        approaches[name]["stages"] = {
            s: median(runs[name], "stages", s) for s in ("features", "rules", "swap")
        }
    approaches["sql-features"]["stages"] = {s: median(sqlf, "stages", s) for s in sqlf[0]["stages"]}
    approaches["pandas"]["stages"] = {
        s: median(pandas, "stages", s) for s in pandas[0]["stages"] if s != "rows"
    }
    approaches["floor"]["stages"] = {s: median(floor, "stages", s) for s in ("load", "compute")}
    approaches["sql"]["stages"] = {"statement": median(sql, "stages", "total")}
    twf = runs["tagwise-features"]
    approaches["tagwise-features"]["stages"] = {
        s: median(twf, "stages", s) for s in twf[0]["stages"]
    }
    tw, a, b = approaches["tagwise"], approaches["sql"], approaches["pandas"]
    hand = approaches["sql-features"]["stages"]
    diag = approaches["tagwise-features"]["stages"]
    orders_hand = hand["orders_f"] + hand["top_category_f"]
    ratios = {
        "tagwise_vs_sql": round(tw["seconds"] / a["seconds"], 2),
        "tagwise_rerun_vs_sql": round(approaches["tagwise-rerun"]["seconds"] / a["seconds"], 2),
        "pandas_vs_tagwise": round(b["seconds"] / tw["seconds"], 2),
        "tagwise_features_vs_sql_features": round(tw["stages"]["features"] / hand["total"], 2),
        "tagwise_rules_vs_sql_tag_part": round(
            tw["stages"]["rules"] / (a["stages"]["statement"] - hand["total"]), 2
        ),
        "tagwise_orders_scan_vs_sql_orders_scan": round(diag["orders"] / orders_hand, 2),
        "tagwise_events_scan_vs_sql_events_scan": round(
            diag["events"] / (hand["events_f"] + hand["top_page_f"]), 2
        ),
        "tagwise_orders_scan_vs_floor_compute": round(
            diag["orders"] / approaches["floor"]["stages"]["compute"], 2
        ),
        "sql_orders_scan_vs_floor_compute": round(
            orders_hand / approaches["floor"]["stages"]["compute"], 2
        ),
    }
    peak_gib = max(tw["peak_mib"], approaches["tagwise-rerun"]["peak_mib"]) / 1024
    goals = {
        "tagwise_within_1.2x_of_sql": ratios["tagwise_vs_sql"] <= 1.2,
        "tagwise_2x_faster_than_pandas": ratios["pandas_vs_tagwise"] >= 2,
        "tagwise_peak_below_2GB": peak_gib < 2,
    }
    return {
        "customers": rows["customers"],
        "rows": rows,
        "as_of": AS_OF.isoformat(),
        "repeat": len(fresh),
        "demo_build": demo,
        "tag_values": fresh[0]["tag_values"],
        "rerun_changes": rerun[0]["changes"],
        "approaches": approaches,
        "ratios": ratios,
        "goals": goals,
        "comparison": comparison,
        "runs": runs,
        "measured_at": time.strftime("%Y-%m-%d %H:%M"),
        "duckdb_threads": os.cpu_count(),
        "memory_limit": os.environ.get(
            "TAGWISE_WAREHOUSE__MEMORY_LIMIT",
            "tagwise's default (warehouse.memory_limit = 1500MB); (a) DuckDB's (80% of RAM)",
        ),
        "code": code_version(),
    }


LABELS = {
    "tagwise": "tagwise run (fresh warehouse)",
    "tagwise-rerun": "tagwise run (rerun, diff vs current)",
    "sql": "(a) hand-written SQL, one statement",
    "sql-features": "(a) feature CTEs alone",
    "pandas": "(b) pandas",
    "floor": "(c) floor, order features (numpy)",
    "tagwise-features": "tagwise's feature SQL alone (diagnosis)",
}


def markdown(s: dict) -> str:
    ap = s["approaches"]
    lines = [
        "| approach | wall s (median) | peak RSS MiB | stages (s) |",
        "|---|---:|---:|---|",
    ]
    for name, label in LABELS.items():
        stages = ", ".join(f"{k} {v}" for k, v in ap[name].get("stages", {}).items())
        lines.append(f"| {label} | {ap[name]['seconds']} | {ap[name]['peak_mib']:,} | {stages} |")
    lines += ["", "| ratio | value | goal |", "|---|---:|---|"]
    goal = {"tagwise_vs_sql": "≤ 1.2", "pandas_vs_tagwise": "≥ 2"}
    for k, v in s["ratios"].items():
        lines.append(f"| {k} | {v} | {goal.get(k, '')} |")
    return "\n".join(lines)


def bench(args: argparse.Namespace) -> None:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    ws, clean, demo = prepare(out, args.customers)
    db = warehouse(ws)
    rows = source_rows(clean)
    runs: dict[str, list[dict]] = {name: [] for name in LABELS}
    dests = {name: out / f"{name.replace('-', '_')}.duckdb" for name in WORKERS}
    for rep in range(args.repeat):
        restore(ws, clean)
        runs["tagwise"].append(run_tagwise(ws))
        runs["tagwise-rerun"].append(run_tagwise(ws))
        for name in WORKERS:
            runs[name].append(run_worker(name, db, dests[name]))
        line = ", ".join(f"{n} {r[-1]['seconds']:.1f} s" for n, r in runs.items())
        print(f"rep {rep}: {line}", file=sys.stderr, flush=True)
    comparison = compare(ws, {"sql": dests["sql"], "pandas": dests["pandas"]})
    summary = summarize(runs, rows, demo, comparison)
    args.results.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=2,
                     ensure_ascii=False))  # fmt: skip
    print(markdown(summary))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="compare values at a small size")
    parser.add_argument(
        "--memory-limit", help="DuckDB memory_limit for tagwise and (a), e.g. 1500MB"
    )
    parser.add_argument("--out", type=Path, default=HERE / "out" / "run")
    parser.add_argument("--results", type=Path, default=HERE / "run_results.json")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--dest", help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_limit:  # read by tagwise's settings and by the workers
        os.environ["TAGWISE_WAREHOUSE__MEMORY_LIMIT"] = args.memory_limit
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args.db, args.dest, args.profile)))
        return
    if args.check:
        result = check(args.out, args.customers or 20_000)
        print(json.dumps(result, indent=2, ensure_ascii=False))
        raise SystemExit(0 if result["ok"] else 1)
    args.customers = args.customers or 1_000_000
    bench(args)


if __name__ == "__main__":
    main()

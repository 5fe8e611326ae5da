SELECT
  "c"."cid",
  "c"."customer_id",
  "c"."name",
  "c"."gender",
  "c"."birthday",
  "c"."phone",
  "c"."email",
  "c"."wechat_openid",
  "c"."wechat_unionid",
  "c"."province",
  "c"."city",
  "c"."address",
  "c"."register_channel",
  "c"."member_card",
  "c"."member_level",
  "c"."registered_at",
  COALESCE("f0"."spend_365d", 0) AS "spend_365d",
  COALESCE("f0"."spend_total", 0) AS "spend_total",
  COALESCE("f0"."orders_total", 0) AS "orders_total",
  COALESCE("f0"."orders_365d", 0) AS "orders_365d",
  COALESCE("f0"."orders_180d", 0) AS "orders_180d",
  "f0"."last_order_days" AS "last_order_days",
  "f0"."first_order_days" AS "first_order_days",
  "f0"."avg_order_value" AS "avg_order_value",
  "f0"."max_order_amount" AS "max_order_amount",
  "f0"."top_category" AS "top_category",
  "f0"."discount_share" AS "discount_share",
  "f0"."online_share" AS "online_share",
  "f0"."offline_share" AS "offline_share",
  "f0"."mini_program_share" AS "mini_program_share",
  COALESCE("f0"."refunds_365d", 0) AS "refunds_365d",
  "f0"."refund_share_365d" AS "refund_share_365d",
  COALESCE("f0"."installment_orders_365d", 0) AS "installment_orders_365d",
  "f0"."max_overdue_days" AS "max_overdue_days",
  COALESCE("f0"."orders_7d", 0) AS "orders_7d",
  COALESCE("f1"."browse_events_90d", 0) AS "browse_events_90d",
  "f1"."top_browsed_page" AS "top_browsed_page",
  COALESCE("f1"."email_opens_180d", 0) AS "email_opens_180d",
  COALESCE("f1"."email_clicks_180d", 0) AS "email_clicks_180d",
  COALESCE("f1"."campaign_joins_180d", 0) AS "campaign_joins_180d",
  "f2"."max_followers" AS "max_followers",
  COALESCE("f2"."social_posts", 0) AS "social_posts",
  COALESCE("f3"."interactions_90d", 0) AS "interactions_90d",
  COALESCE("f3"."interactions_365d", 0) AS "interactions_365d",
  "f4"."nps_avg" AS "nps_avg",
  "f4"."survey_satisfaction_avg" AS "survey_satisfaction_avg",
  "f4"."survey_interests" AS "survey_interests",
  "f4"."lifestyle" AS "lifestyle",
  COALESCE("f5"."complaints_180d", 0) AS "complaints_180d",
  COALESCE("f5"."complaints_365d", 0) AS "complaints_365d",
  COALESCE("f5"."severe_complaints_180d", 0) AS "severe_complaints_180d",
  COALESCE("f5"."unresolved_complaints_180d", 0) AS "unresolved_complaints_180d",
  COALESCE("f5"."tickets_365d", 0) AS "tickets_365d",
  "f6"."credit_score" AS "credit_score",
  "f6"."income_band" AS "income_band",
  "f6"."has_car" AS "has_car",
  "f6"."has_house" AS "has_house"
FROM "src"."customers" AS "c"
LEFT JOIN (
  SELECT
    "m".*,
    "q0"."v" AS "top_category"
  FROM (
    SELECT
      "cid",
      COALESCE(
        CAST(SUM(CAST("amount" AS DECIMAL(38, 8))) FILTER(WHERE
          "paid_at" >= CAST('2025-11-02 00:00:00' AS TIMESTAMP) AND "status" = 'paid') AS DOUBLE),
        0
      ) AS "spend_365d",
      COALESCE(
        CAST(SUM(CAST("amount" AS DECIMAL(38, 8))) FILTER(WHERE
          "status" = 'paid') AS DOUBLE),
        0
      ) AS "spend_total",
      COUNT(*) FILTER(WHERE
        "status" = 'paid') AS "orders_total",
      COUNT(*) FILTER(WHERE
        "paid_at" >= CAST('2025-11-02 00:00:00' AS TIMESTAMP) AND "status" = 'paid') AS "orders_365d",
      COUNT(*) FILTER(WHERE
        "paid_at" >= CAST('2026-05-06 00:00:00' AS TIMESTAMP) AND "status" = 'paid') AS "orders_180d",
      DATE_DIFF(
        'DAY',
        CAST(MAX("paid_at") FILTER(WHERE
          "status" = 'paid') AS DATE),
        CAST('2026-11-01' AS DATE)
      ) AS "last_order_days",
      DATE_DIFF(
        'DAY',
        CAST(MIN("paid_at") FILTER(WHERE
          "status" = 'paid') AS DATE),
        CAST('2026-11-01' AS DATE)
      ) AS "first_order_days",
      CAST(SUM(CAST("amount" AS DECIMAL(38, 8))) FILTER(WHERE
        "paid_at" >= CAST('2025-11-02 00:00:00' AS TIMESTAMP) AND "status" = 'paid') AS DOUBLE) / NULLIF(
        COUNT("amount") FILTER(WHERE
          "paid_at" >= CAST('2025-11-02 00:00:00' AS TIMESTAMP) AND "status" = 'paid'),
        0
      ) AS "avg_order_value",
      MAX("amount") FILTER(WHERE
        "status" = 'paid') AS "max_order_amount",
      CAST(COUNT(*) FILTER(WHERE
        "paid_at" >= CAST('2025-11-02 00:00:00' AS TIMESTAMP) AND "discount" > 0) AS DOUBLE) / NULLIF(COUNT(*) FILTER(WHERE
        "paid_at" >= CAST('2025-11-02 00:00:00' AS TIMESTAMP)), 0) AS "discount_share",
      CAST(COUNT(*) FILTER(WHERE
        "paid_at" >= CAST('2025-11-02 00:00:00' AS TIMESTAMP) AND "channel" = 'online') AS DOUBLE) / NULLIF(COUNT(*) FILTER(WHERE
        "paid_at" >= CAST('2025-11-02 00:00:00' AS TIMESTAMP)), 0) AS "online_share",
      CAST(COUNT(*) FILTER(WHERE
        "paid_at" >= CAST('2025-11-02 00:00:00' AS TIMESTAMP) AND "channel" = 'offline') AS DOUBLE) / NULLIF(COUNT(*) FILTER(WHERE
        "paid_at" >= CAST('2025-11-02 00:00:00' AS TIMESTAMP)), 0) AS "offline_share",
      CAST(COUNT(*) FILTER(WHERE
        "paid_at" >= CAST('2025-11-02 00:00:00' AS TIMESTAMP)
        AND "channel" = 'mini_program') AS DOUBLE) / NULLIF(COUNT(*) FILTER(WHERE
        "paid_at" >= CAST('2025-11-02 00:00:00' AS TIMESTAMP)), 0) AS "mini_program_share",
      COUNT(*) FILTER(WHERE
        "paid_at" >= CAST('2025-11-02 00:00:00' AS TIMESTAMP) AND "status" = 'refunded') AS "refunds_365d",
      CAST(COUNT(*) FILTER(WHERE
        "paid_at" >= CAST('2025-11-02 00:00:00' AS TIMESTAMP) AND "status" = 'refunded') AS DOUBLE) / NULLIF(COUNT(*) FILTER(WHERE
        "paid_at" >= CAST('2025-11-02 00:00:00' AS TIMESTAMP)), 0) AS "refund_share_365d",
      COUNT(*) FILTER(WHERE
        "paid_at" >= CAST('2025-11-02 00:00:00' AS TIMESTAMP)
        AND "payment_method" = 'installment') AS "installment_orders_365d",
      MAX("overdue_days") FILTER(WHERE
        "payment_method" = 'installment') AS "max_overdue_days",
      COUNT(*) FILTER(WHERE
        "paid_at" >= CAST('2026-10-26 00:00:00' AS TIMESTAMP)) AS "orders_7d"
    FROM "src"."orders"
    WHERE
      "paid_at" < CAST('2026-11-02 00:00:00' AS TIMESTAMP)
    GROUP BY
      "cid"
  ) AS "m"
  LEFT JOIN (
    SELECT
      "cid",
      ARG_MIN("v", {'n': -"n", 'k': "v"}) AS "v"
    FROM (
      SELECT
        "cid",
        "category" AS "v",
        COUNT(*) AS "n"
      FROM "src"."orders"
      WHERE
        (
          (
            "paid_at" >= CAST('2025-11-02 00:00:00' AS TIMESTAMP)
            AND "paid_at" < CAST('2026-11-02 00:00:00' AS TIMESTAMP)
          )
          AND "status" = 'paid'
        )
        AND NOT "category" IS NULL
      GROUP BY
        "cid",
        "category"
    ) AS c
    GROUP BY
      "cid"
  ) AS "q0"
    ON "q0"."cid" = "m"."cid"
) AS "f0"
  ON "f0"."cid" = "c"."cid"
LEFT JOIN (
  SELECT
    "m".*,
    "q0"."v" AS "top_browsed_page"
  FROM (
    SELECT
      "cid",
      COUNT(*) FILTER(WHERE
        "occurred_at" >= CAST('2026-08-04 00:00:00' AS TIMESTAMP)
        AND "event_type" IN ('page_view', 'click', 'search', 'add_to_cart')) AS "browse_events_90d",
      COUNT(*) FILTER(WHERE
        "occurred_at" >= CAST('2026-05-06 00:00:00' AS TIMESTAMP)
        AND "event_type" = 'email_open') AS "email_opens_180d",
      COUNT(*) FILTER(WHERE
        "occurred_at" >= CAST('2026-05-06 00:00:00' AS TIMESTAMP)
        AND "event_type" = 'email_click') AS "email_clicks_180d",
      COUNT(*) FILTER(WHERE
        "occurred_at" >= CAST('2026-05-06 00:00:00' AS TIMESTAMP)
        AND "event_type" = 'campaign_join') AS "campaign_joins_180d"
    FROM "src"."events"
    WHERE
      "occurred_at" < CAST('2026-11-02 00:00:00' AS TIMESTAMP)
      AND "occurred_at" >= CAST('2026-05-06 00:00:00' AS TIMESTAMP)
    GROUP BY
      "cid"
  ) AS "m"
  LEFT JOIN (
    SELECT
      "cid",
      ARG_MIN("v", {'n': -"n", 'k': "v"}) AS "v"
    FROM (
      SELECT
        "cid",
        "page" AS "v",
        COUNT(*) AS "n"
      FROM "src"."events"
      WHERE
        (
          (
            "occurred_at" >= CAST('2026-05-06 00:00:00' AS TIMESTAMP)
            AND "occurred_at" < CAST('2026-11-02 00:00:00' AS TIMESTAMP)
          )
          AND (
            (
              "event_type" IN ('page_view', 'click', 'add_to_cart')
            )
            AND (
              NOT (
                "page" IS NULL
              )
            )
          )
        )
        AND NOT "page" IS NULL
      GROUP BY
        "cid",
        "page"
    ) AS c
    GROUP BY
      "cid"
  ) AS "q0"
    ON "q0"."cid" = "m"."cid"
) AS "f1"
  ON "f1"."cid" = "c"."cid"
LEFT JOIN (
  SELECT
    "cid",
    MAX("followers") AS "max_followers",
    COALESCE(CAST(SUM("posts") AS BIGINT), 0) AS "social_posts"
  FROM "src"."social_profiles"
  GROUP BY
    "cid"
) AS "f2"
  ON "f2"."cid" = "c"."cid"
LEFT JOIN (
  SELECT
    "cid",
    COUNT(*) FILTER(WHERE
      "occurred_at" >= CAST('2026-08-04 00:00:00' AS TIMESTAMP)) AS "interactions_90d",
    COUNT(*) FILTER(WHERE
      "occurred_at" >= CAST('2025-11-02 00:00:00' AS TIMESTAMP)) AS "interactions_365d"
  FROM "src"."social_interactions"
  WHERE
    "occurred_at" < CAST('2026-11-02 00:00:00' AS TIMESTAMP)
    AND "occurred_at" >= CAST('2025-11-02 00:00:00' AS TIMESTAMP)
  GROUP BY
    "cid"
) AS "f3"
  ON "f3"."cid" = "c"."cid"
LEFT JOIN (
  SELECT
    "m".*,
    "q0"."v" AS "survey_interests",
    "q1"."v" AS "lifestyle"
  FROM (
    SELECT
      "cid",
      CAST(SUM(CAST("nps" AS DECIMAL(38, 8))) AS DOUBLE) / NULLIF(COUNT("nps"), 0) AS "nps_avg",
      CAST(SUM(CAST("satisfaction" AS DECIMAL(38, 8))) AS DOUBLE) / NULLIF(COUNT("satisfaction"), 0) AS "survey_satisfaction_avg"
    FROM "src"."surveys"
    WHERE
      "submitted_at" < CAST('2026-11-02 00:00:00' AS TIMESTAMP)
    GROUP BY
      "cid"
  ) AS "m"
  LEFT JOIN (
    SELECT
      "cid",
      ARG_MIN("v", {'n': -"n", 'k': "v"}) AS "v"
    FROM (
      SELECT
        "cid",
        "interests" AS "v",
        COUNT(*) AS "n"
      FROM "src"."surveys"
      WHERE
        "submitted_at" < CAST('2026-11-02 00:00:00' AS TIMESTAMP)
        AND NOT "interests" IS NULL
      GROUP BY
        "cid",
        "interests"
    ) AS c
    GROUP BY
      "cid"
  ) AS "q0"
    ON "q0"."cid" = "m"."cid"
  LEFT JOIN (
    SELECT
      "cid",
      ARG_MIN("v", {'n': -"n", 'k': "v"}) AS "v"
    FROM (
      SELECT
        "cid",
        "lifestyle" AS "v",
        COUNT(*) AS "n"
      FROM "src"."surveys"
      WHERE
        "submitted_at" < CAST('2026-11-02 00:00:00' AS TIMESTAMP)
        AND NOT "lifestyle" IS NULL
      GROUP BY
        "cid",
        "lifestyle"
    ) AS c
    GROUP BY
      "cid"
  ) AS "q1"
    ON "q1"."cid" = "m"."cid"
) AS "f4"
  ON "f4"."cid" = "c"."cid"
LEFT JOIN (
  SELECT
    "cid",
    COUNT(*) FILTER(WHERE
      "created_at" >= CAST('2026-05-06 00:00:00' AS TIMESTAMP) AND "type" = '投诉') AS "complaints_180d",
    COUNT(*) FILTER(WHERE
      "created_at" >= CAST('2025-11-02 00:00:00' AS TIMESTAMP) AND "type" = '投诉') AS "complaints_365d",
    COUNT(*) FILTER(WHERE
      "created_at" >= CAST('2026-05-06 00:00:00' AS TIMESTAMP)
      AND (
        (
          "type" = '投诉'
        ) AND (
          "severity" = '高'
        )
      )) AS "severe_complaints_180d",
    COUNT(*) FILTER(WHERE
      "created_at" >= CAST('2026-05-06 00:00:00' AS TIMESTAMP)
      AND (
        (
          "type" = '投诉'
        ) AND (
          "resolved" = FALSE
        )
      )) AS "unresolved_complaints_180d",
    COUNT(*) FILTER(WHERE
      "created_at" >= CAST('2025-11-02 00:00:00' AS TIMESTAMP)) AS "tickets_365d"
  FROM "src"."tickets"
  WHERE
    "created_at" < CAST('2026-11-02 00:00:00' AS TIMESTAMP)
    AND "created_at" >= CAST('2025-11-02 00:00:00' AS TIMESTAMP)
  GROUP BY
    "cid"
) AS "f5"
  ON "f5"."cid" = "c"."cid"
LEFT JOIN (
  SELECT
    "m".*,
    "q0"."v" AS "income_band",
    "q1"."v" AS "has_car",
    "q2"."v" AS "has_house"
  FROM (
    SELECT
      "cid",
      MAX("credit_score") AS "credit_score"
    FROM "src"."third_party"
    GROUP BY
      "cid"
  ) AS "m"
  LEFT JOIN (
    SELECT
      "cid",
      ARG_MIN("v", {'n': -"n", 'k': "v"}) AS "v"
    FROM (
      SELECT
        "cid",
        "income_band" AS "v",
        COUNT(*) AS "n"
      FROM "src"."third_party"
      WHERE
        NOT "income_band" IS NULL
      GROUP BY
        "cid",
        "income_band"
    ) AS c
    GROUP BY
      "cid"
  ) AS "q0"
    ON "q0"."cid" = "m"."cid"
  LEFT JOIN (
    SELECT
      "cid",
      ARG_MIN("v", {'n': -"n", 'k': "v"}) AS "v"
    FROM (
      SELECT
        "cid",
        "has_car" AS "v",
        COUNT(*) AS "n"
      FROM "src"."third_party"
      WHERE
        NOT "has_car" IS NULL
      GROUP BY
        "cid",
        "has_car"
    ) AS c
    GROUP BY
      "cid"
  ) AS "q1"
    ON "q1"."cid" = "m"."cid"
  LEFT JOIN (
    SELECT
      "cid",
      ARG_MIN("v", {'n': -"n", 'k': "v"}) AS "v"
    FROM (
      SELECT
        "cid",
        "has_house" AS "v",
        COUNT(*) AS "n"
      FROM "src"."third_party"
      WHERE
        NOT "has_house" IS NULL
      GROUP BY
        "cid",
        "has_house"
    ) AS c
    GROUP BY
      "cid"
  ) AS "q2"
    ON "q2"."cid" = "m"."cid"
) AS "f6"
  ON "f6"."cid" = "c"."cid"

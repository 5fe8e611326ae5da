SELECT
  "p"."cid" AS "cid",
  CASE
    WHEN (
      (
        "p"."last_order_days" BETWEEN 181 AND 365
      )
      OR (
        (
          "p"."last_order_days" BETWEEN 61 AND 365
        )
        AND (
          "p"."last_order_days" > (
            CAST(3 AS BIGINT) * "l0"."purchase_interval_days"
          )
        )
      )
    )
    THEN '高'
    WHEN (
      (
        "p"."last_order_days" BETWEEN 91 AND 365
      )
      OR (
        (
          "p"."last_order_days" BETWEEN 31 AND 365
        )
        AND (
          (
            (
              "p"."last_order_days" > (
                CAST(2 AS BIGINT) * "l0"."purchase_interval_days"
              )
            )
            OR (
              "p"."nps_avg" < 7
            )
          )
          OR (
            "p"."complaints_180d" >= 1
          )
        )
      )
    )
    THEN '中'
    WHEN (
      "p"."last_order_days" <= 365
    )
    THEN '低'
  END AS "churn_risk",
  CASE
    WHEN (
      "p"."max_followers" >= 10000
    )
    THEN '头部达人'
    WHEN (
      (
        "p"."max_followers" >= 1000
      )
      OR (
        (
          "p"."max_followers" >= 500
        ) AND (
          "l0"."interaction_index" >= 10
        )
      )
    )
    THEN '腰部达人'
    WHEN (
      (
        "p"."max_followers" >= 200
      ) OR (
        "l0"."interaction_index" >= 6
      )
    )
    THEN '活跃用户'
    WHEN (
      (
        NOT (
          "p"."max_followers" IS NULL
        )
      )
      OR (
        "l0"."interaction_index" > 0
      )
    )
    THEN '普通用户'
  END AS "influence_level",
  CASE
    WHEN (
      (
        (
          "l0"."r_score" >= 3
        ) AND (
          "l0"."f_score" >= 3
        )
      )
      AND (
        "l0"."m_score" >= 3
      )
    )
    THEN '重要价值'
    WHEN (
      (
        (
          "l0"."r_score" >= 3
        ) AND (
          "l0"."f_score" < 3
        )
      )
      AND (
        "l0"."m_score" >= 3
      )
    )
    THEN '重要发展'
    WHEN (
      (
        (
          "l0"."r_score" < 3
        ) AND (
          "l0"."f_score" >= 3
        )
      )
      AND (
        "l0"."m_score" >= 3
      )
    )
    THEN '重要保持'
    WHEN (
      (
        (
          "l0"."r_score" < 3
        ) AND (
          "l0"."f_score" < 3
        )
      )
      AND (
        "l0"."m_score" >= 3
      )
    )
    THEN '重要挽留'
    WHEN (
      (
        (
          "l0"."r_score" >= 3
        ) AND (
          "l0"."f_score" >= 3
        )
      )
      AND (
        "l0"."m_score" < 3
      )
    )
    THEN '一般价值'
    WHEN (
      (
        (
          "l0"."r_score" >= 3
        ) AND (
          "l0"."f_score" < 3
        )
      )
      AND (
        "l0"."m_score" < 3
      )
    )
    THEN '一般发展'
    WHEN (
      (
        (
          "l0"."r_score" < 3
        ) AND (
          "l0"."f_score" >= 3
        )
      )
      AND (
        "l0"."m_score" < 3
      )
    )
    THEN '一般保持'
    WHEN (
      (
        (
          "l0"."r_score" < 3
        ) AND (
          "l0"."f_score" < 3
        )
      )
      AND (
        "l0"."m_score" < 3
      )
    )
    THEN '一般挽留'
  END AS "rfm_segment",
  CASE
    WHEN (
      (
        (
          "l0"."m_score" = 5
        ) AND (
          "l0"."f_score" >= 4
        )
      )
      AND (
        "l0"."r_score" >= 4
      )
    )
    THEN TRUE
  END AS "high_value"
FROM profile_1 AS "p"
LEFT JOIN "layer_0" AS "l0"
  ON "l0"."cid" = "p"."cid"

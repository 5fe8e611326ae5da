SELECT
  "p"."cid" AS "cid",
  CASE
    WHEN (
      (
        CAST(CAST(EXTRACT(epoch FROM CAST(CAST('2026-11-01' AS DATE) AS TIMESTAMP) - CAST(CAST("p"."birthday" AS DATE) AS TIMESTAMP)) / 86400 AS BIGINT) AS DOUBLE PRECISION) / NULLIF(CAST(365.25 AS DOUBLE PRECISION), 0)
      ) < 18
    )
    THEN '18岁以下'
    WHEN (
      (
        CAST(CAST(EXTRACT(epoch FROM CAST(CAST('2026-11-01' AS DATE) AS TIMESTAMP) - CAST(CAST("p"."birthday" AS DATE) AS TIMESTAMP)) / 86400 AS BIGINT) AS DOUBLE PRECISION) / NULLIF(CAST(365.25 AS DOUBLE PRECISION), 0)
      ) < 25
    )
    THEN '18-24岁'
    WHEN (
      (
        CAST(CAST(EXTRACT(epoch FROM CAST(CAST('2026-11-01' AS DATE) AS TIMESTAMP) - CAST(CAST("p"."birthday" AS DATE) AS TIMESTAMP)) / 86400 AS BIGINT) AS DOUBLE PRECISION) / NULLIF(CAST(365.25 AS DOUBLE PRECISION), 0)
      ) < 35
    )
    THEN '25-34岁'
    WHEN (
      (
        CAST(CAST(EXTRACT(epoch FROM CAST(CAST('2026-11-01' AS DATE) AS TIMESTAMP) - CAST(CAST("p"."birthday" AS DATE) AS TIMESTAMP)) / 86400 AS BIGINT) AS DOUBLE PRECISION) / NULLIF(CAST(365.25 AS DOUBLE PRECISION), 0)
      ) < 45
    )
    THEN '35-44岁'
    WHEN (
      (
        CAST(CAST(EXTRACT(epoch FROM CAST(CAST('2026-11-01' AS DATE) AS TIMESTAMP) - CAST(CAST("p"."birthday" AS DATE) AS TIMESTAMP)) / 86400 AS BIGINT) AS DOUBLE PRECISION) / NULLIF(CAST(365.25 AS DOUBLE PRECISION), 0)
      ) < 55
    )
    THEN '45-54岁'
    WHEN (
      NOT (
        "p"."birthday" IS NULL
      )
    )
    THEN '55岁及以上'
  END AS "age_band",
  CASE
    WHEN (
      EXTRACT(YEAR FROM "p"."birthday") >= 2000
    )
    THEN '00后'
    WHEN (
      EXTRACT(YEAR FROM "p"."birthday") >= 1990
    )
    THEN '90后'
    WHEN (
      EXTRACT(YEAR FROM "p"."birthday") >= 1980
    )
    THEN '80后'
    WHEN (
      EXTRACT(YEAR FROM "p"."birthday") >= 1970
    )
    THEN '70后'
    WHEN (
      NOT (
        "p"."birthday" IS NULL
      )
    )
    THEN '60后及更早'
  END AS "generation",
  CASE
    WHEN (
      "p"."gender" = 'M'
    )
    THEN '男'
    WHEN (
      "p"."gender" = 'F'
    )
    THEN '女'
    ELSE '未知'
  END AS "gender_label",
  CASE
    WHEN (
      "p"."province" IN (
        '上海',
        '上海市',
        '江苏',
        '江苏省',
        '浙江',
        '浙江省',
        '安徽',
        '安徽省',
        '福建',
        '福建省',
        '江西',
        '江西省',
        '山东',
        '山东省'
      )
    )
    THEN '华东'
    WHEN (
      "p"."province" IN ('北京', '北京市', '天津', '天津市', '河北', '河北省', '山西', '山西省', '内蒙古', '内蒙古自治区')
    )
    THEN '华北'
    WHEN (
      "p"."province" IN ('广东', '广东省', '广西', '广西壮族自治区', '海南', '海南省')
    )
    THEN '华南'
    WHEN (
      "p"."province" IN ('河南', '河南省', '湖北', '湖北省', '湖南', '湖南省')
    )
    THEN '华中'
    WHEN (
      "p"."province" IN ('重庆', '重庆市', '四川', '四川省', '贵州', '贵州省', '云南', '云南省', '西藏', '西藏自治区')
    )
    THEN '西南'
    WHEN (
      "p"."province" IN ('陕西', '陕西省', '甘肃', '甘肃省', '青海', '青海省', '宁夏', '宁夏回族自治区', '新疆', '新疆维吾尔自治区')
    )
    THEN '西北'
    WHEN (
      "p"."province" IN ('辽宁', '辽宁省', '吉林', '吉林省', '黑龙江', '黑龙江省')
    )
    THEN '东北'
  END AS "region",
  CASE
    WHEN (
      "p"."city" IN ('上海', '北京', '广州', '深圳')
    )
    THEN '一线'
    WHEN (
      "p"."city" IN (
        '成都',
        '杭州',
        '重庆',
        '武汉',
        '苏州',
        '西安',
        '南京',
        '长沙',
        '天津',
        '郑州',
        '东莞',
        '无锡',
        '宁波',
        '青岛',
        '合肥'
      )
    )
    THEN '新一线'
    WHEN (
      "p"."city" IN (
        '佛山',
        '沈阳',
        '昆明',
        '济南',
        '厦门',
        '福州',
        '温州',
        '大连',
        '哈尔滨',
        '长春',
        '泉州',
        '石家庄',
        '南宁',
        '金华',
        '贵阳',
        '南昌',
        '常州',
        '嘉兴',
        '珠海',
        '南通',
        '惠州',
        '太原',
        '中山',
        '徐州',
        '绍兴',
        '台州',
        '烟台',
        '兰州',
        '潍坊',
        '临沂'
      )
    )
    THEN '二线'
    WHEN (
      NOT (
        "p"."city" IS NULL
      )
    )
    THEN '三线及以下'
  END AS "city_tier",
  CASE
    WHEN (
      "p"."member_level" = '钻石会员'
    )
    THEN '钻石会员'
    WHEN (
      "p"."member_level" = '铂金会员'
    )
    THEN '铂金会员'
    WHEN (
      "p"."member_level" = '金卡会员'
    )
    THEN '金卡会员'
    WHEN (
      "p"."member_level" = '银卡会员'
    )
    THEN '银卡会员'
    WHEN (
      "p"."member_level" = '普通会员'
    )
    THEN '普通会员'
  END AS "member_grade",
  CASE
    WHEN (
      "p"."register_channel" = '官网'
    )
    THEN '官网'
    WHEN (
      "p"."register_channel" = 'APP'
    )
    THEN 'APP'
    WHEN (
      "p"."register_channel" = '线下门店'
    )
    THEN '线下门店'
    WHEN (
      "p"."register_channel" = '微信小程序'
    )
    THEN '微信小程序'
    WHEN (
      "p"."register_channel" = '天猫旗舰店'
    )
    THEN '天猫旗舰店'
    WHEN (
      "p"."register_channel" = '抖音小店'
    )
    THEN '抖音小店'
  END AS "signup_channel",
  CASE
    WHEN (
      "p"."income_band" = '5k以下'
    )
    THEN '5k以下'
    WHEN (
      "p"."income_band" = '5k-10k'
    )
    THEN '5k-10k'
    WHEN (
      "p"."income_band" = '10k-20k'
    )
    THEN '10k-20k'
    WHEN (
      "p"."income_band" = '20k-50k'
    )
    THEN '20k-50k'
    WHEN (
      "p"."income_band" = '50k以上'
    )
    THEN '50k以上'
  END AS "income_level",
  CASE
    WHEN (
      "p"."has_house" AND "p"."has_car"
    )
    THEN '有房有车'
    WHEN (
      "p"."has_house" AND (
        NOT "p"."has_car"
      )
    )
    THEN '有房无车'
    WHEN (
      "p"."has_car" AND (
        NOT "p"."has_house"
      )
    )
    THEN '有车无房'
    WHEN (
      (
        NOT "p"."has_car"
      ) AND (
        NOT "p"."has_house"
      )
    )
    THEN '无房无车'
  END AS "asset_status",
  CASE
    WHEN (
      "p"."orders_365d" >= 24
    )
    THEN '高频'
    WHEN (
      "p"."orders_365d" >= 6
    )
    THEN '中频'
    WHEN (
      "p"."orders_365d" >= 1
    )
    THEN '低频'
    WHEN (
      "p"."orders_total" >= 1
    )
    THEN '近一年未购'
  END AS "purchase_frequency",
  CASE
    WHEN (
      "p"."last_order_days" <= 30
    )
    THEN '30天内'
    WHEN (
      "p"."last_order_days" <= 90
    )
    THEN '31-90天'
    WHEN (
      "p"."last_order_days" <= 180
    )
    THEN '91-180天'
    WHEN (
      "p"."last_order_days" <= 365
    )
    THEN '181-365天'
    WHEN (
      "p"."last_order_days" > 365
    )
    THEN '365天以上'
  END AS "recency_band",
  CAST(CASE
    WHEN ABS(
      CAST(CAST("p"."first_order_days" - "p"."last_order_days" AS DOUBLE PRECISION) / NULLIF("p"."orders_total" - CAST(1 AS BIGINT), 0) AS DOUBLE PRECISION)
    ) >= CAST(4503599627370496 AS DOUBLE PRECISION) / CAST(10 AS DOUBLE PRECISION)
    THEN CAST(CAST("p"."first_order_days" - "p"."last_order_days" AS DOUBLE PRECISION) / NULLIF("p"."orders_total" - CAST(1 AS BIGINT), 0) AS DOUBLE PRECISION)
    WHEN CAST(CAST("p"."first_order_days" - "p"."last_order_days" AS DOUBLE PRECISION) / NULLIF("p"."orders_total" - CAST(1 AS BIGINT), 0) AS DOUBLE PRECISION) < CAST(0 AS DOUBLE PRECISION)
    THEN (
      CAST(0 AS DOUBLE PRECISION) - (
        CAST(FLOOR(
          (
            ABS(
              CAST(CAST("p"."first_order_days" - "p"."last_order_days" AS DOUBLE PRECISION) / NULLIF("p"."orders_total" - CAST(1 AS BIGINT), 0) AS DOUBLE PRECISION)
            ) * CAST(10 AS DOUBLE PRECISION)
          )
        ) AS DOUBLE PRECISION) + CASE
          WHEN (
            (
              ABS(
                CAST(CAST("p"."first_order_days" - "p"."last_order_days" AS DOUBLE PRECISION) / NULLIF("p"."orders_total" - CAST(1 AS BIGINT), 0) AS DOUBLE PRECISION)
              ) * CAST(10 AS DOUBLE PRECISION)
            ) - CAST(FLOOR(
              (
                ABS(
                  CAST(CAST("p"."first_order_days" - "p"."last_order_days" AS DOUBLE PRECISION) / NULLIF("p"."orders_total" - CAST(1 AS BIGINT), 0) AS DOUBLE PRECISION)
                ) * CAST(10 AS DOUBLE PRECISION)
              )
            ) AS DOUBLE PRECISION)
          ) >= CAST(0.5 AS DOUBLE PRECISION)
          OR ABS(
            CAST(CAST("p"."first_order_days" - "p"."last_order_days" AS DOUBLE PRECISION) / NULLIF("p"."orders_total" - CAST(1 AS BIGINT), 0) AS DOUBLE PRECISION)
          ) = (
            CAST(FLOOR(
              (
                ABS(
                  CAST(CAST("p"."first_order_days" - "p"."last_order_days" AS DOUBLE PRECISION) / NULLIF("p"."orders_total" - CAST(1 AS BIGINT), 0) AS DOUBLE PRECISION)
                ) * CAST(10 AS DOUBLE PRECISION)
              )
            ) AS DOUBLE PRECISION) + CAST(0.5 AS DOUBLE PRECISION)
          ) / CAST(10 AS DOUBLE PRECISION)
          THEN CAST(1 AS DOUBLE PRECISION)
          ELSE CAST(0 AS DOUBLE PRECISION)
        END
      )
    ) / CAST(10 AS DOUBLE PRECISION)
    ELSE (
      CAST(FLOOR(
        (
          ABS(
            CAST(CAST("p"."first_order_days" - "p"."last_order_days" AS DOUBLE PRECISION) / NULLIF("p"."orders_total" - CAST(1 AS BIGINT), 0) AS DOUBLE PRECISION)
          ) * CAST(10 AS DOUBLE PRECISION)
        )
      ) AS DOUBLE PRECISION) + CASE
        WHEN (
          (
            ABS(
              CAST(CAST("p"."first_order_days" - "p"."last_order_days" AS DOUBLE PRECISION) / NULLIF("p"."orders_total" - CAST(1 AS BIGINT), 0) AS DOUBLE PRECISION)
            ) * CAST(10 AS DOUBLE PRECISION)
          ) - CAST(FLOOR(
            (
              ABS(
                CAST(CAST("p"."first_order_days" - "p"."last_order_days" AS DOUBLE PRECISION) / NULLIF("p"."orders_total" - CAST(1 AS BIGINT), 0) AS DOUBLE PRECISION)
              ) * CAST(10 AS DOUBLE PRECISION)
            )
          ) AS DOUBLE PRECISION)
        ) >= CAST(0.5 AS DOUBLE PRECISION)
        OR ABS(
          CAST(CAST("p"."first_order_days" - "p"."last_order_days" AS DOUBLE PRECISION) / NULLIF("p"."orders_total" - CAST(1 AS BIGINT), 0) AS DOUBLE PRECISION)
        ) = (
          CAST(FLOOR(
            (
              ABS(
                CAST(CAST("p"."first_order_days" - "p"."last_order_days" AS DOUBLE PRECISION) / NULLIF("p"."orders_total" - CAST(1 AS BIGINT), 0) AS DOUBLE PRECISION)
              ) * CAST(10 AS DOUBLE PRECISION)
            )
          ) AS DOUBLE PRECISION) + CAST(0.5 AS DOUBLE PRECISION)
        ) / CAST(10 AS DOUBLE PRECISION)
        THEN CAST(1 AS DOUBLE PRECISION)
        ELSE CAST(0 AS DOUBLE PRECISION)
      END
    ) / CAST(10 AS DOUBLE PRECISION)
  END AS DOUBLE PRECISION) AS "purchase_interval_days",
  CASE
    WHEN (
      "p"."browse_events_90d" >= 15
    )
    THEN '高活跃'
    WHEN (
      "p"."browse_events_90d" >= 5
    )
    THEN '中活跃'
    WHEN (
      "p"."browse_events_90d" >= 1
    )
    THEN '低活跃'
    ELSE '近90天未浏览'
  END AS "browse_activity",
  CASE
    WHEN (
      "p"."email_clicks_180d" >= 1
    )
    THEN '有点击'
    WHEN (
      "p"."email_opens_180d" >= 1
    )
    THEN '仅打开'
    ELSE '未互动'
  END AS "email_engagement",
  CASE
    WHEN (
      "p"."campaign_joins_180d" >= 2
    )
    THEN '多次参与'
    WHEN (
      "p"."campaign_joins_180d" = 1
    )
    THEN '参与1次'
    ELSE '未参与'
  END AS "campaign_participation",
  CASE
    WHEN (
      "p"."orders_total" = 0
    )
    THEN '潜在'
    WHEN (
      "p"."last_order_days" > 365
    )
    THEN '流失'
    WHEN (
      "p"."first_order_days" <= 90
    )
    THEN '新客'
    WHEN (
      (
        "p"."last_order_days" > 180
      )
      OR (
        (
          (
            "p"."orders_365d" - "p"."orders_180d"
          ) >= 4
        )
        AND (
          (
            "p"."orders_180d" * CAST(2 AS BIGINT)
          ) <= (
            "p"."orders_365d" - "p"."orders_180d"
          )
        )
      )
    )
    THEN '衰退'
    WHEN (
      (
        "p"."orders_365d" >= 12
      ) AND (
        "p"."first_order_days" > 365
      )
    )
    THEN '成熟'
    WHEN (
      "p"."orders_total" >= 1
    )
    THEN '成长'
  END AS "lifecycle_stage",
  CASE
    WHEN (
      CAST(EXTRACT(epoch FROM CAST(CAST('2026-11-01' AS DATE) AS TIMESTAMP) - CAST(CAST("p"."registered_at" AS DATE) AS TIMESTAMP)) / 86400 AS BIGINT) <= 30
    )
    THEN TRUE
  END AS "new_signup_30d",
  CASE
    WHEN (
      "p"."top_category" = '女装'
    )
    THEN '女装'
    WHEN (
      "p"."top_category" = '食品生鲜'
    )
    THEN '食品生鲜'
    WHEN (
      "p"."top_category" = '美妆护肤'
    )
    THEN '美妆护肤'
    WHEN (
      "p"."top_category" = '个护清洁'
    )
    THEN '个护清洁'
    WHEN (
      "p"."top_category" = '男装'
    )
    THEN '男装'
    WHEN (
      "p"."top_category" = '零食饮料'
    )
    THEN '零食饮料'
    WHEN (
      "p"."top_category" = '数码'
    )
    THEN '数码'
    WHEN (
      "p"."top_category" = '母婴'
    )
    THEN '母婴'
    WHEN (
      "p"."top_category" = '家居'
    )
    THEN '家居'
    WHEN (
      "p"."top_category" = '鞋靴'
    )
    THEN '鞋靴'
    WHEN (
      "p"."top_category" = '家电'
    )
    THEN '家电'
    WHEN (
      "p"."top_category" = '运动户外'
    )
    THEN '运动户外'
    WHEN (
      "p"."top_category" = '手机'
    )
    THEN '手机'
    WHEN (
      "p"."top_category" = '箱包'
    )
    THEN '箱包'
    WHEN (
      "p"."top_category" = '图书'
    )
    THEN '图书'
    WHEN (
      "p"."top_category" = '内衣'
    )
    THEN '内衣'
    WHEN (
      "p"."top_category" = '童装'
    )
    THEN '童装'
    WHEN (
      "p"."top_category" = '厨具'
    )
    THEN '厨具'
    WHEN (
      "p"."top_category" = '家纺'
    )
    THEN '家纺'
    WHEN (
      "p"."top_category" = '电脑办公'
    )
    THEN '电脑办公'
    WHEN (
      "p"."top_category" = '宠物'
    )
    THEN '宠物'
    WHEN (
      "p"."top_category" = '医药保健'
    )
    THEN '医药保健'
    WHEN (
      "p"."top_category" = '珠宝配饰'
    )
    THEN '珠宝配饰'
    WHEN (
      "p"."top_category" = '酒水'
    )
    THEN '酒水'
    WHEN (
      "p"."top_category" = '玩具乐器'
    )
    THEN '玩具乐器'
    WHEN (
      "p"."top_category" = '汽车用品'
    )
    THEN '汽车用品'
    WHEN (
      "p"."top_category" = '钟表眼镜'
    )
    THEN '钟表眼镜'
    WHEN (
      "p"."top_category" = '户外装备'
    )
    THEN '户外装备'
    WHEN (
      "p"."top_category" = '文具'
    )
    THEN '文具'
    WHEN (
      "p"."top_category" = '鲜花绿植'
    )
    THEN '鲜花绿植'
  END AS "favorite_category",
  NULLIF(
    CAST(ARRAY_REMOVE(
      ARRAY[
        CASE
          WHEN (
            (
              (
                (
                  (
                    "p"."top_category" IN ('运动户外', '户外装备')
                  )
                  OR (
                    "p"."top_browsed_page" IN ('运动户外', '户外装备')
                  )
                )
                OR (
                  "p"."survey_interests" LIKE '%运动%' ESCAPE ''
                )
              )
              OR (
                "p"."survey_interests" LIKE '%健身%' ESCAPE ''
              )
            )
            OR (
              "p"."survey_interests" LIKE '%户外%' ESCAPE ''
            )
          )
          THEN '运动健身'
        END,
        CASE
          WHEN (
            (
              "p"."survey_interests" LIKE '%旅行%' ESCAPE ''
            )
            OR (
              "p"."survey_interests" LIKE '%摄影%' ESCAPE ''
            )
          )
          THEN '旅行摄影'
        END,
        CASE
          WHEN (
            (
              (
                (
                  "p"."top_category" IN ('美妆护肤', '珠宝配饰', '钟表眼镜', '箱包')
                )
                OR (
                  "p"."top_browsed_page" IN ('美妆护肤', '珠宝配饰', '钟表眼镜', '箱包')
                )
              )
              OR (
                "p"."survey_interests" LIKE '%美妆%' ESCAPE ''
              )
            )
            OR (
              "p"."survey_interests" LIKE '%时尚%' ESCAPE ''
            )
          )
          THEN '美妆时尚'
        END,
        CASE
          WHEN (
            (
              (
                "p"."top_category" IN ('女装', '男装', '鞋靴', '内衣')
              )
              OR (
                "p"."top_browsed_page" IN ('女装', '男装', '鞋靴', '内衣')
              )
            )
            OR (
              "p"."survey_interests" LIKE '%时尚%' ESCAPE ''
            )
          )
          THEN '服饰穿搭'
        END,
        CASE
          WHEN (
            (
              (
                "p"."top_category" IN ('数码', '手机', '电脑办公', '家电')
              )
              OR (
                "p"."top_browsed_page" IN ('数码', '手机', '电脑办公', '家电')
              )
            )
            OR (
              "p"."survey_interests" LIKE '%科技数码%' ESCAPE ''
            )
          )
          THEN '数码科技'
        END,
        CASE
          WHEN (
            (
              (
                "p"."top_category" IN ('母婴', '童装', '玩具乐器')
              )
              OR (
                "p"."top_browsed_page" IN ('母婴', '童装', '玩具乐器')
              )
            )
            OR (
              "p"."survey_interests" LIKE '%亲子%' ESCAPE ''
            )
          )
          THEN '母婴亲子'
        END,
        CASE
          WHEN (
            (
              (
                "p"."top_category" IN ('食品生鲜', '零食饮料', '酒水')
              )
              OR (
                "p"."top_browsed_page" IN ('食品生鲜', '零食饮料', '酒水')
              )
            )
            OR (
              "p"."survey_interests" LIKE '%美食%' ESCAPE ''
            )
          )
          THEN '美食'
        END,
        CASE
          WHEN (
            (
              (
                "p"."top_category" = '宠物'
              ) OR (
                "p"."top_browsed_page" = '宠物'
              )
            )
            OR (
              "p"."survey_interests" LIKE '%宠物%' ESCAPE ''
            )
          )
          THEN '宠物'
        END,
        CASE
          WHEN (
            (
              (
                "p"."top_category" IN ('图书', '文具')
              )
              OR (
                "p"."top_browsed_page" IN ('图书', '文具')
              )
            )
            OR (
              "p"."survey_interests" LIKE '%阅读%' ESCAPE ''
            )
          )
          THEN '阅读学习'
        END,
        CASE
          WHEN (
            (
              (
                "p"."survey_interests" LIKE '%音乐%' ESCAPE ''
              )
              OR (
                "p"."survey_interests" LIKE '%电影%' ESCAPE ''
              )
            )
            OR (
              "p"."survey_interests" LIKE '%游戏%' ESCAPE ''
            )
          )
          THEN '影音娱乐'
        END,
        CASE
          WHEN (
            (
              "p"."top_category" IN ('家居', '家纺', '厨具', '个护清洁', '鲜花绿植')
            )
            OR (
              "p"."top_browsed_page" IN ('家居', '家纺', '厨具', '个护清洁', '鲜花绿植')
            )
          )
          THEN '家居生活'
        END
      ],
      NULL
    ) AS VARCHAR[]),
    CAST(ARRAY[] AS VARCHAR[])
  ) AS "interests",
  CASE
    WHEN (
      (
        "p"."orders_365d" >= 3
      )
      AND (
        "p"."discount_share" >= CAST(0.5 AS DOUBLE PRECISION)
      )
    )
    THEN '高敏感'
    WHEN (
      (
        "p"."orders_365d" >= 3
      )
      AND (
        "p"."discount_share" >= CAST(0.2 AS DOUBLE PRECISION)
      )
    )
    THEN '中敏感'
    WHEN (
      "p"."orders_365d" >= 3
    )
    THEN '低敏感'
  END AS "price_sensitivity",
  CASE
    WHEN (
      "p"."online_share" >= CAST(0.6 AS DOUBLE PRECISION)
    )
    THEN '线上商城'
    WHEN (
      "p"."offline_share" >= CAST(0.6 AS DOUBLE PRECISION)
    )
    THEN '线下门店'
    WHEN (
      "p"."mini_program_share" >= CAST(0.6 AS DOUBLE PRECISION)
    )
    THEN '小程序/社交'
    WHEN (
      NOT (
        "p"."online_share" IS NULL
      )
    )
    THEN '全渠道'
  END AS "preferred_channel",
  CASE
    WHEN (
      "p"."avg_order_value" < 100
    )
    THEN '100元以下'
    WHEN (
      "p"."avg_order_value" < 300
    )
    THEN '100-300元'
    WHEN (
      "p"."avg_order_value" < 1000
    )
    THEN '300-1000元'
    WHEN (
      "p"."avg_order_value" >= 1000
    )
    THEN '1000元及以上'
  END AS "order_value_band",
  CASE
    WHEN (
      "p"."survey_satisfaction_avg" >= 4
    )
    THEN '满意'
    WHEN (
      "p"."survey_satisfaction_avg" >= 3
    )
    THEN '中立'
    WHEN (
      "p"."survey_satisfaction_avg" < 3
    )
    THEN '不满意'
  END AS "satisfaction_group",
  CASE
    WHEN (
      "p"."nps_avg" >= 9
    )
    THEN '推荐者'
    WHEN (
      "p"."nps_avg" >= 7
    )
    THEN '中立者'
    WHEN (
      "p"."nps_avg" < 7
    )
    THEN '贬损者'
  END AS "nps_group",
  CASE
    WHEN (
      (
        (
          "p"."orders_365d" >= 12
        )
        AND (
          COALESCE("p"."nps_avg", CAST(7 AS BIGINT)) >= 7
        )
      )
      OR (
        (
          "p"."orders_365d" >= 6
        ) AND (
          "p"."nps_avg" >= 9
        )
      )
    )
    THEN '高忠诚'
    WHEN (
      "p"."orders_365d" >= 3
    )
    THEN '中忠诚'
    WHEN (
      "p"."orders_total" >= 1
    )
    THEN '低忠诚'
  END AS "loyalty",
  CASE
    WHEN (
      "p"."lifestyle" = '精致白领'
    )
    THEN '精致白领'
    WHEN (
      "p"."lifestyle" = '都市新锐'
    )
    THEN '都市新锐'
    WHEN (
      "p"."lifestyle" = '小镇青年'
    )
    THEN '小镇青年'
    WHEN (
      "p"."lifestyle" = '精明妈妈'
    )
    THEN '精明妈妈'
    WHEN (
      "p"."lifestyle" = '资深中产'
    )
    THEN '资深中产'
    WHEN (
      "p"."lifestyle" = '银发一族'
    )
    THEN '银发一族'
    WHEN (
      "p"."lifestyle" = 'Z世代学生'
    )
    THEN 'Z世代学生'
    WHEN (
      "p"."lifestyle" = '品质家庭'
    )
    THEN '品质家庭'
  END AS "lifestyle_type",
  CASE
    WHEN (
      (
        (
          "p"."complaints_180d" >= 2
        ) OR (
          "p"."unresolved_complaints_180d" >= 1
        )
      )
      OR (
        "p"."severe_complaints_180d" >= 1
      )
    )
    THEN '高'
    WHEN (
      (
        "p"."complaints_365d" >= 1
      ) OR (
        "p"."tickets_365d" >= 3
      )
    )
    THEN '中'
    ELSE '低'
  END AS "complaint_risk",
  CASE
    WHEN (
      (
        "p"."max_overdue_days" >= 30
      ) OR (
        "p"."credit_score" < 500
      )
    )
    THEN '高'
    WHEN (
      (
        (
          (
            "p"."max_overdue_days" >= 7
          ) OR (
            "p"."credit_score" < 580
          )
        )
        OR (
          (
            "p"."installment_orders_365d" >= 6
          ) AND (
            "p"."max_overdue_days" >= 1
          )
        )
      )
      OR (
        (
          "p"."refunds_365d" >= 3
        )
        AND (
          "p"."refund_share_365d" >= CAST(0.3 AS DOUBLE PRECISION)
        )
      )
    )
    THEN '中'
    WHEN (
      (
        "p"."orders_total" >= 1
      ) OR (
        NOT (
          "p"."credit_score" IS NULL
        )
      )
    )
    THEN '低'
  END AS "credit_risk",
  CASE
    WHEN (
      (
        "p"."orders_7d" >= 20
      )
      OR (
        (
          "p"."max_order_amount" >= 50000
        )
        AND (
          "p"."max_order_amount" >= (
            CAST(CAST(20 AS BIGINT) * (
              "p"."spend_total" - "p"."max_order_amount"
            ) AS DOUBLE PRECISION) / NULLIF("p"."orders_total" - CAST(1 AS BIGINT), 0)
          )
        )
      )
    )
    THEN TRUE
  END AS "fraud_warning",
  "s_abnormal_order_pattern"."value" AS "abnormal_order_pattern",
  CAST((
    CAST(2 AS BIGINT) * "p"."interactions_90d"
  ) + "p"."interactions_365d" AS DOUBLE PRECISION) AS "interaction_index",
  CASE
    WHEN (
      (
        "p"."max_followers" >= 10000
      ) AND (
        "p"."social_posts" >= 30
      )
    )
    THEN TRUE
  END AS "opinion_leader",
  CASE
    WHEN (
      "p"."spend_365d" >= 10000
    )
    THEN '高消费'
    WHEN (
      "p"."spend_365d" >= 2000
    )
    THEN '中消费'
    WHEN (
      "p"."spend_365d" > 0
    )
    THEN '低消费'
    WHEN (
      "p"."orders_total" >= 1
    )
    THEN '近一年无消费'
  END AS "spend_level",
  "w"."r_score" AS "r_score",
  "w"."f_score" AS "f_score",
  "w"."m_score" AS "m_score",
  "w"."r_score:raw" AS "r_score:raw",
  "w"."f_score:raw" AS "f_score:raw",
  "w"."m_score:raw" AS "m_score:raw"
FROM profile_1 AS "p"
LEFT JOIN (
  SELECT
    "q"."cid" AS "cid",
    ARRAY_AGG(DISTINCT CAST("q"."value" AS VARCHAR) ORDER BY CAST("q"."value" AS VARCHAR)) AS "value"
  FROM (
    WITH upto AS (
      SELECT
        cid,
        device_id,
        paid_at
      FROM (
        SELECT
          "k"."cid",
          "s".*
        FROM "shop"."orders" AS "s"
        JOIN "shop_tagwise"."customer_keys" AS "k"
          ON "k"."customer_id" = CAST("s"."customer_id" AS TEXT)
      ) AS "orders"
      WHERE
        paid_at < CAST('2026-11-01' AS DATE) + INTERVAL '1 DAY'
    ), recent AS (
      SELECT
        *
      FROM upto
      WHERE
        paid_at >= CAST('2026-11-01' AS DATE) - INTERVAL '365 DAY'
    ), bursts AS (
      SELECT
        cid,
        COUNT(*) OVER (
          PARTITION BY cid
          ORDER BY paid_at
          RANGE BETWEEN INTERVAL '10 MINUTE' PRECEDING AND CURRENT ROW
        ) AS n
      FROM upto
    ), shared AS (
      SELECT
        device_id
      FROM recent
      WHERE
        NOT device_id IS NULL
      GROUP BY
        device_id
      HAVING
        COUNT(DISTINCT cid) >= 10
    )
    SELECT
      cid,
      '短时高频下单' AS value
    FROM bursts
    WHERE
      n >= 10
    UNION ALL
    SELECT
      r.cid,
      '多账号共用设备' AS value
    FROM recent AS r
    JOIN shared AS s
      ON s.device_id = r.device_id
  ) AS q
  WHERE
    NOT (
      "q"."value" IS NULL
    )
  GROUP BY
    "q"."cid"
) AS s_abnormal_order_pattern
  ON "s_abnormal_order_pattern"."cid" = "p"."cid"
LEFT JOIN (
  SELECT
    "p"."cid" AS "cid",
    CASE
      WHEN (
        CAST("p"."last_order_days" AS DOUBLE PRECISION)
      ) IS NULL
      THEN NULL
      ELSE CAST(CAST(1 AS BIGINT) + FLOOR(
        CAST(CAST(5 AS BIGINT) * (
          RANK() OVER (
            PARTITION BY (
              CAST("p"."last_order_days" AS DOUBLE PRECISION)
            ) IS NULL
            ORDER BY CAST("p"."last_order_days" AS DOUBLE PRECISION) DESC NULLS LAST
          ) + COUNT(*) OVER (
            PARTITION BY (
              CAST("p"."last_order_days" AS DOUBLE PRECISION)
            ) IS NULL
            ORDER BY CAST("p"."last_order_days" AS DOUBLE PRECISION) DESC NULLS LAST
            RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
          ) - CAST(1 AS BIGINT)
        ) AS DOUBLE PRECISION) / CAST(CAST(2 AS BIGINT) * COUNT(*) OVER (PARTITION BY (
          CAST("p"."last_order_days" AS DOUBLE PRECISION)
        ) IS NULL) AS DOUBLE PRECISION)
      ) AS DOUBLE PRECISION)
    END AS "r_score",
    CASE
      WHEN (
        CAST("p"."orders_365d" + (
          CAST(0 AS BIGINT) * "p"."last_order_days"
        ) AS DOUBLE PRECISION)
      ) IS NULL
      THEN NULL
      ELSE CAST(CAST(1 AS BIGINT) + FLOOR(
        CAST(CAST(5 AS BIGINT) * (
          RANK() OVER (
            PARTITION BY (
              CAST("p"."orders_365d" + (
                CAST(0 AS BIGINT) * "p"."last_order_days"
              ) AS DOUBLE PRECISION)
            ) IS NULL
            ORDER BY CAST("p"."orders_365d" + (
              CAST(0 AS BIGINT) * "p"."last_order_days"
            ) AS DOUBLE PRECISION) ASC
          ) + COUNT(*) OVER (
            PARTITION BY (
              CAST("p"."orders_365d" + (
                CAST(0 AS BIGINT) * "p"."last_order_days"
              ) AS DOUBLE PRECISION)
            ) IS NULL
            ORDER BY CAST("p"."orders_365d" + (
              CAST(0 AS BIGINT) * "p"."last_order_days"
            ) AS DOUBLE PRECISION) ASC
            RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
          ) - CAST(1 AS BIGINT)
        ) AS DOUBLE PRECISION) / CAST(CAST(2 AS BIGINT) * COUNT(*) OVER (
          PARTITION BY (
            CAST("p"."orders_365d" + (
              CAST(0 AS BIGINT) * "p"."last_order_days"
            ) AS DOUBLE PRECISION)
          ) IS NULL
        ) AS DOUBLE PRECISION)
      ) AS DOUBLE PRECISION)
    END AS "f_score",
    CASE
      WHEN (
        CAST("p"."spend_365d" + (
          CAST(0 AS BIGINT) * "p"."last_order_days"
        ) AS DOUBLE PRECISION)
      ) IS NULL
      THEN NULL
      ELSE CAST(CAST(1 AS BIGINT) + FLOOR(
        CAST(CAST(5 AS BIGINT) * (
          RANK() OVER (
            PARTITION BY (
              CAST("p"."spend_365d" + (
                CAST(0 AS BIGINT) * "p"."last_order_days"
              ) AS DOUBLE PRECISION)
            ) IS NULL
            ORDER BY CAST("p"."spend_365d" + (
              CAST(0 AS BIGINT) * "p"."last_order_days"
            ) AS DOUBLE PRECISION) ASC
          ) + COUNT(*) OVER (
            PARTITION BY (
              CAST("p"."spend_365d" + (
                CAST(0 AS BIGINT) * "p"."last_order_days"
              ) AS DOUBLE PRECISION)
            ) IS NULL
            ORDER BY CAST("p"."spend_365d" + (
              CAST(0 AS BIGINT) * "p"."last_order_days"
            ) AS DOUBLE PRECISION) ASC
            RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
          ) - CAST(1 AS BIGINT)
        ) AS DOUBLE PRECISION) / CAST(CAST(2 AS BIGINT) * COUNT(*) OVER (
          PARTITION BY (
            CAST("p"."spend_365d" + (
              CAST(0 AS BIGINT) * "p"."last_order_days"
            ) AS DOUBLE PRECISION)
          ) IS NULL
        ) AS DOUBLE PRECISION)
      ) AS DOUBLE PRECISION)
    END AS "m_score",
    CAST("p"."last_order_days" AS DOUBLE PRECISION) AS "r_score:raw",
    CAST("p"."orders_365d" + (
      CAST(0 AS BIGINT) * "p"."last_order_days"
    ) AS DOUBLE PRECISION) AS "f_score:raw",
    CAST("p"."spend_365d" + (
      CAST(0 AS BIGINT) * "p"."last_order_days"
    ) AS DOUBLE PRECISION) AS "m_score:raw"
  FROM profile_1 AS "p"
) AS w
  ON "w"."cid" = "p"."cid"

"""Chinese vocabularies and weights that the demo data generator draws from.

Weights are relative (they need not sum to one). Frequencies are rounded public figures
(surnames from the 2020 census ranking, city tiers from the 2024 ranking by 第一财经), bent
towards e-commerce buyers, who live in large cities more often than the population does.
"""

from __future__ import annotations

SURNAMES: tuple[tuple[str, str, float], ...] = (
    ("王", "wang", 7.12),
    ("李", "li", 7.00),
    ("张", "zhang", 6.74),
    ("刘", "liu", 5.38),
    ("陈", "chen", 4.53),
    ("杨", "yang", 3.08),
    ("赵", "zhao", 2.29),
    ("黄", "huang", 2.23),
    ("周", "zhou", 1.93),
    ("吴", "wu", 1.85),
    ("徐", "xu", 1.45),
    ("孙", "sun", 1.38),
    ("胡", "hu", 1.16),
    ("朱", "zhu", 1.28),
    ("高", "gao", 1.00),
    ("林", "lin", 1.00),
    ("何", "he", 1.06),
    ("郭", "guo", 1.13),
    ("马", "ma", 1.29),
    ("罗", "luo", 0.87),
    ("梁", "liang", 0.83),
    ("宋", "song", 0.74),
    ("郑", "zheng", 0.85),
    ("谢", "xie", 0.76),
    ("韩", "han", 0.65),
    ("唐", "tang", 0.73),
    ("冯", "feng", 0.64),
    ("于", "yu", 0.45),
    ("董", "dong", 0.48),
    ("萧", "xiao", 0.05),
    ("程", "cheng", 0.39),
    ("曹", "cao", 0.57),
    ("袁", "yuan", 0.46),
    ("邓", "deng", 0.62),
    ("许", "xu", 0.67),
    ("傅", "fu", 0.20),
    ("沈", "shen", 0.33),
    ("曾", "zeng", 0.54),
    ("彭", "peng", 0.56),
    ("吕", "lv", 0.36),
    ("苏", "su", 0.38),
    ("卢", "lu", 0.31),
    ("蒋", "jiang", 0.44),
    ("蔡", "cai", 0.43),
    ("贾", "jia", 0.22),
    ("丁", "ding", 0.35),
    ("魏", "wei", 0.37),
    ("薛", "xue", 0.16),
    ("叶", "ye", 0.40),
    ("阎", "yan", 0.05),
    ("余", "yu", 0.42),
    ("潘", "pan", 0.45),
    ("杜", "du", 0.41),
    ("戴", "dai", 0.10),
    ("夏", "xia", 0.21),
    ("钟", "zhong", 0.28),
    ("汪", "wang", 0.25),
    ("田", "tian", 0.50),
    ("任", "ren", 0.34),
    ("姜", "jiang", 0.30),
    ("范", "fan", 0.24),
    ("方", "fang", 0.20),
    ("石", "shi", 0.23),
    ("姚", "yao", 0.32),
    ("谭", "tan", 0.27),
    ("廖", "liao", 0.22),
    ("邹", "zou", 0.19),
    ("熊", "xiong", 0.18),
    ("金", "jin", 0.24),
    ("陆", "lu", 0.26),
    ("郝", "hao", 0.12),
    ("孔", "kong", 0.09),
    ("白", "bai", 0.19),
    ("崔", "cui", 0.29),
    ("康", "kang", 0.09),
    ("毛", "mao", 0.12),
    ("邱", "qiu", 0.17),
    ("秦", "qin", 0.17),
    ("江", "jiang", 0.17),
    ("史", "shi", 0.14),
    ("顾", "gu", 0.12),
    ("侯", "hou", 0.14),
    ("邵", "shao", 0.11),
    ("孟", "meng", 0.18),
    ("龙", "long", 0.14),
    ("万", "wan", 0.11),
    ("段", "duan", 0.15),
    ("雷", "lei", 0.15),
    ("钱", "qian", 0.11),
    ("汤", "tang", 0.09),
    ("尹", "yin", 0.16),
    ("黎", "li", 0.13),
    ("易", "yi", 0.08),
    ("常", "chang", 0.08),
    ("武", "wu", 0.10),
    ("乔", "qiao", 0.07),
    ("贺", "he", 0.13),
    ("赖", "lai", 0.08),
    ("龚", "gong", 0.11),
    ("文", "wen", 0.08),
    ("闫", "yan", 0.15),
    ("严", "yan", 0.10),
    ("覃", "qin", 0.10),
    ("莫", "mo", 0.10),
    ("欧阳", "ouyang", 0.03),
    ("上官", "shangguan", 0.01),
    ("司马", "sima", 0.01),
    ("诸葛", "zhuge", 0.01),
)
"""(surname, pinyin, share of the population in percent)."""

GIVEN_MALE: tuple[tuple[str, str], ...] = (
    ("伟", "wei"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("勇", "yong"),
    ("杰", "jie"),
    ("涛", "tao"),
    ("斌", "bin"),
    ("超", "chao"),
    ("明", "ming"),
    ("刚", "gang"),
    ("平", "ping"),
    ("辉", "hui"),
    ("鹏", "peng"),
    ("华", "hua"),
    ("飞", "fei"),
    ("鑫", "xin"),
    ("波", "bo"),
    ("宇", "yu"),
    ("浩", "hao"),
    ("凯", "kai"),
    ("健", "jian"),
    ("俊", "jun"),
    ("帆", "fan"),
    ("帅", "shuai"),
    ("旭", "xu"),
    ("宁", "ning"),
    ("龙", "long"),
    ("林", "lin"),
    ("阳", "yang"),
    ("建", "jian"),
    ("国", "guo"),
    ("志", "zhi"),
    ("文", "wen"),
    ("东", "dong"),
    ("晨", "chen"),
    ("博", "bo"),
    ("子", "zi"),
    ("轩", "xuan"),
    ("睿", "rui"),
    ("泽", "ze"),
    ("然", "ran"),
    ("天", "tian"),
    ("一", "yi"),
    ("嘉", "jia"),
    ("成", "cheng"),
    ("峰", "feng"),
    ("亮", "liang"),
    ("海", "hai"),
    ("昊", "hao"),
)
"""Characters common in male given names, with pinyin."""

GIVEN_FEMALE: tuple[tuple[str, str], ...] = (
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("艳", "yan"),
    ("娟", "juan"),
    ("霞", "xia"),
    ("秀", "xiu"),
    ("玲", "ling"),
    ("桂", "gui"),
    ("英", "ying"),
    ("华", "hua"),
    ("慧", "hui"),
    ("莉", "li"),
    ("婷", "ting"),
    ("雪", "xue"),
    ("琳", "lin"),
    ("晶", "jing"),
    ("燕", "yan"),
    ("颖", "ying"),
    ("倩", "qian"),
    ("洁", "jie"),
    ("佳", "jia"),
    ("欣", "xin"),
    ("怡", "yi"),
    ("梦", "meng"),
    ("雨", "yu"),
    ("萱", "xuan"),
    ("涵", "han"),
    ("思", "si"),
    ("悦", "yue"),
    ("琪", "qi"),
    ("璐", "lu"),
    ("诗", "shi"),
    ("瑶", "yao"),
    ("蕾", "lei"),
    ("月", "yue"),
    ("红", "hong"),
    ("梅", "mei"),
    ("兰", "lan"),
    ("萍", "ping"),
    ("晓", "xiao"),
    ("云", "yun"),
    ("妍", "yan"),
    ("欢", "huan"),
    ("彤", "tong"),
    ("婉", "wan"),
    ("楠", "nan"),
    ("可", "ke"),
)
"""Characters common in female given names, with pinyin."""

CITY_TIERS: tuple[str, ...] = ("一线", "新一线", "二线", "三线", "四线及以下")
"""City tiers, largest first; `CITIES` refers to them by index."""

CITIES: tuple[tuple[str, str, int, float], ...] = (
    ("上海", "上海", 0, 60.0),
    ("北京", "北京", 0, 55.0),
    ("广州", "广东", 0, 42.0),
    ("深圳", "广东", 0, 40.0),
    ("成都", "四川", 1, 30.0),
    ("杭州", "浙江", 1, 26.0),
    ("重庆", "重庆", 1, 28.0),
    ("武汉", "湖北", 1, 24.0),
    ("苏州", "江苏", 1, 20.0),
    ("西安", "陕西", 1, 20.0),
    ("南京", "江苏", 1, 18.0),
    ("长沙", "湖南", 1, 17.0),
    ("天津", "天津", 1, 18.0),
    ("郑州", "河南", 1, 18.0),
    ("东莞", "广东", 1, 14.0),
    ("无锡", "江苏", 1, 11.0),
    ("宁波", "浙江", 1, 12.0),
    ("青岛", "山东", 1, 13.0),
    ("合肥", "安徽", 1, 13.0),
    ("佛山", "广东", 2, 10.0),
    ("沈阳", "辽宁", 2, 10.0),
    ("昆明", "云南", 2, 10.0),
    ("济南", "山东", 2, 10.0),
    ("厦门", "福建", 2, 8.0),
    ("福州", "福建", 2, 9.0),
    ("温州", "浙江", 2, 9.0),
    ("大连", "辽宁", 2, 8.0),
    ("哈尔滨", "黑龙江", 2, 9.0),
    ("长春", "吉林", 2, 8.0),
    ("泉州", "福建", 2, 8.0),
    ("石家庄", "河北", 2, 9.0),
    ("南宁", "广西", 2, 8.0),
    ("金华", "浙江", 2, 7.0),
    ("贵阳", "贵州", 2, 7.0),
    ("南昌", "江西", 2, 7.0),
    ("常州", "江苏", 2, 6.0),
    ("嘉兴", "浙江", 2, 5.0),
    ("珠海", "广东", 2, 4.0),
    ("南通", "江苏", 2, 6.0),
    ("惠州", "广东", 2, 5.0),
    ("太原", "山西", 2, 7.0),
    ("中山", "广东", 2, 4.0),
    ("徐州", "江苏", 2, 6.0),
    ("绍兴", "浙江", 2, 5.0),
    ("台州", "浙江", 2, 5.0),
    ("烟台", "山东", 2, 5.0),
    ("兰州", "甘肃", 2, 5.0),
    ("潍坊", "山东", 2, 5.0),
    ("临沂", "山东", 2, 5.0),
    ("洛阳", "河南", 3, 7.0),
    ("扬州", "江苏", 3, 6.0),
    ("盐城", "江苏", 3, 6.0),
    ("乌鲁木齐", "新疆", 3, 7.0),
    ("呼和浩特", "内蒙古", 3, 5.6),
    ("海口", "海南", 3, 5.6),
    ("保定", "河北", 3, 7.0),
    ("唐山", "河北", 3, 7.0),
    ("芜湖", "安徽", 3, 5.0),
    ("赣州", "江西", 3, 6.0),
    ("桂林", "广西", 3, 5.0),
    ("湛江", "广东", 3, 5.0),
    ("江门", "广东", 3, 5.0),
    ("襄阳", "湖北", 3, 5.0),
    ("宜昌", "湖北", 3, 5.0),
    ("绵阳", "四川", 3, 5.0),
    ("遵义", "贵州", 3, 5.0),
    ("银川", "宁夏", 3, 4.6),
    ("西宁", "青海", 3, 4.0),
    ("汕头", "广东", 3, 6.0),
    ("阜阳", "安徽", 3, 5.0),
    ("咸阳", "陕西", 4, 4.5),
    ("岳阳", "湖南", 4, 4.5),
    ("衡阳", "湖南", 4, 4.5),
    ("九江", "江西", 4, 4.0),
    ("商丘", "河南", 4, 4.5),
    ("南阳", "河南", 4, 5.0),
    ("周口", "河南", 4, 4.5),
    ("邯郸", "河北", 4, 5.0),
    ("德州", "山东", 4, 4.0),
    ("聊城", "山东", 4, 4.0),
    ("曲靖", "云南", 4, 3.5),
    ("大理", "云南", 4, 2.5),
    ("揭阳", "广东", 4, 4.0),
    ("梅州", "广东", 4, 3.0),
    ("六安", "安徽", 4, 3.5),
    ("宿迁", "江苏", 4, 3.5),
    ("黄冈", "湖北", 4, 3.5),
    ("天水", "甘肃", 4, 2.5),
    ("三亚", "海南", 4, 2.0),
    ("拉萨", "西藏", 4, 1.2),
    ("延吉", "吉林", 4, 1.5),
    ("齐齐哈尔", "黑龙江", 4, 2.5),
    ("包头", "内蒙古", 4, 3.0),
    ("大同", "山西", 4, 3.0),
)
"""(city, province, tier index into `CITY_TIERS`, relative share of customers)."""

REGISTRATION_CHANNELS: tuple[tuple[str, float], ...] = (
    ("官网", 0.10),
    ("APP", 0.28),
    ("线下门店", 0.22),
    ("微信小程序", 0.20),
    ("天猫旗舰店", 0.12),
    ("抖音小店", 0.08),
)
"""(注册渠道, share). The order matters: `ORDER_CHANNEL_MIX` rows follow it."""

STORE_CHANNEL = 2
"""Index of 线下门店 in `REGISTRATION_CHANNELS`: its members always hold a card."""

ORDER_CHANNELS: tuple[str, ...] = ("online", "offline", "mini_program")
"""Values of `orders.channel`."""

ORDER_CHANNEL_MIX: tuple[tuple[float, float, float], ...] = (
    (0.85, 0.10, 0.05),
    (0.80, 0.10, 0.10),
    (0.25, 0.65, 0.10),
    (0.20, 0.15, 0.65),
    (0.90, 0.05, 0.05),
    (0.88, 0.07, 0.05),
)
"""Share of online / offline / mini-program orders, one row per registration channel."""

MEMBER_LEVELS: tuple[tuple[str, float], ...] = (
    ("普通会员", 0.50),
    ("银卡会员", 0.25),
    ("金卡会员", 0.15),
    ("铂金会员", 0.07),
    ("钻石会员", 0.03),
)
"""(会员等级, share), lowest first; the generator assigns them by spend propensity."""

CATEGORIES: tuple[tuple[str, float, float], ...] = (
    ("女装", 1.8, 0.0),
    ("食品生鲜", 1.0, -0.5),
    ("美妆护肤", 1.7, 0.3),
    ("个护清洁", 1.1, -0.4),
    ("男装", 0.4, 0.1),
    ("零食饮料", 1.0, -0.8),
    ("数码", 0.6, 1.2),
    ("母婴", 1.5, 0.2),
    ("家居", 1.0, 0.2),
    ("鞋靴", 1.1, 0.4),
    ("家电", 0.8, 1.5),
    ("运动户外", 0.7, 0.4),
    ("手机", 0.7, 1.9),
    ("箱包", 1.4, 0.5),
    ("图书", 1.0, -0.6),
    ("内衣", 1.5, -0.2),
    ("童装", 1.4, -0.1),
    ("厨具", 1.1, 0.1),
    ("家纺", 1.2, 0.2),
    ("电脑办公", 0.6, 1.8),
    ("宠物", 1.0, -0.1),
    ("医药保健", 1.0, 0.2),
    ("珠宝配饰", 1.5, 1.3),
    ("酒水", 0.5, 0.6),
    ("玩具乐器", 1.0, 0.1),
    ("汽车用品", 0.5, 0.3),
    ("钟表眼镜", 0.8, 1.1),
    ("户外装备", 0.6, 0.6),
    ("文具", 1.0, -0.9),
    ("鲜花绿植", 1.3, -0.3),
)
"""(category, female/male preference ratio, shift of log(price)); listed by popularity.

Overall popularity follows Zipf's law over this order; the ratio tilts each customer's
favourite category towards their gender.
"""

SEARCH_TERMS: tuple[tuple[str, ...], ...] = (
    ("连衣裙", "羽绒服", "针织开衫"),
    ("车厘子", "牛排", "有机蔬菜"),
    ("口红", "精华液", "防晒霜"),
    ("洗衣液", "牙膏", "洗发水"),
    ("卫衣", "冲锋衣", "衬衫"),
    ("坚果", "咖啡", "气泡水"),
    ("蓝牙耳机", "充电宝", "智能手表"),
    ("纸尿裤", "奶粉", "婴儿推车"),
    ("收纳盒", "香薰", "地毯"),
    ("运动鞋", "马丁靴", "小白鞋"),
    ("扫地机器人", "空气炸锅", "洗碗机"),
    ("瑜伽垫", "跑步机", "羽毛球拍"),
    ("iPhone", "华为手机", "小米手机"),
    ("双肩包", "行李箱", "托特包"),
    ("小说", "考研资料", "绘本"),
    ("文胸", "睡衣", "袜子"),
    ("儿童外套", "校服", "童鞋"),
    ("炒锅", "电饭煲", "刀具"),
    ("四件套", "乳胶枕", "蚕丝被"),
    ("笔记本电脑", "显示器", "键盘"),
    ("猫粮", "狗粮", "猫砂"),
    ("维生素", "鱼油", "蛋白粉"),
    ("金项链", "耳环", "手链"),
    ("白酒", "红酒", "精酿啤酒"),
    ("乐高", "吉他", "毛绒玩具"),
    ("行车记录仪", "车载香薰", "轮胎"),
    ("机械表", "墨镜", "近视眼镜"),
    ("帐篷", "登山杖", "睡袋"),
    ("钢笔", "笔记本", "文件夹"),
    ("玫瑰花", "多肉", "绿萝"),
)
"""Search keywords, one tuple per entry of `CATEGORIES` in the same order."""

GENDER_SPELLINGS: tuple[tuple[str, str, float], ...] = (
    ("男", "女", 0.82),
    ("M", "F", 0.04),
    ("male", "female", 0.02),
    ("1", "2", 0.03),
    ("男性", "女性", 0.04),
)
"""(male spelling, female spelling, share); the rest of the rows leave 性别 empty."""

EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("qq.com", 0.38),
    ("163.com", 0.22),
    ("126.com", 0.10),
    ("gmail.com", 0.08),
    ("sina.com", 0.07),
    ("outlook.com", 0.08),
    ("foxmail.com", 0.04),
    ("139.com", 0.03),
)
"""(email domain, share)."""

PHONE_PREFIXES: tuple[int, ...] = (
    130,
    131,
    132,
    133,
    134,
    135,
    136,
    137,
    138,
    139,
    147,
    150,
    151,
    152,
    153,
    155,
    156,
    157,
    158,
    159,
    166,
    170,
    171,
    172,
    173,
    175,
    176,
    177,
    178,
    180,
    181,
    182,
    183,
    184,
    185,
    186,
    187,
    188,
    189,
    191,
    193,
    195,
    196,
    197,
    198,
    199,
)
"""Mobile number prefixes in use in mainland China."""

PAYMENT_METHODS: tuple[tuple[str, float], ...] = (
    ("alipay", 0.46),
    ("wechat", 0.38),
    ("card", 0.10),
    ("installment", 0.06),
)
"""(orders.payment_method, share); installment must stay last."""

EVENT_TYPES: tuple[tuple[str, float], ...] = (
    ("page_view", 0.45),
    ("click", 0.22),
    ("search", 0.12),
    ("add_to_cart", 0.08),
    ("email_open", 0.08),
    ("email_click", 0.03),
    ("campaign_join", 0.02),
)
"""(events.event_type, share), in the order the generator relies on."""

EVENT_PLATFORMS: tuple[str, ...] = ("app", "web", "mini_program")
"""Values of `events.platform`."""

SOCIAL_PLATFORMS: tuple[tuple[str, str, float, float], ...] = (
    ("微信", "wxid_", 0.40, 30.0),
    ("微博", "wb", 0.20, 80.0),
    ("抖音", "dy", 0.25, 60.0),
    ("小红书", "xhs", 0.15, 50.0),
)
"""(platform, account id prefix, share, Pareto scale of the follower count)."""

SOCIAL_ACTIONS: tuple[tuple[str, float], ...] = (
    ("like", 0.55),
    ("follow", 0.20),
    ("comment", 0.15),
    ("share", 0.10),
)
"""(social_interactions.action, share)."""

INTERESTS: tuple[str, ...] = (
    "运动",
    "旅行",
    "美食",
    "摄影",
    "阅读",
    "音乐",
    "电影",
    "游戏",
    "健身",
    "宠物",
    "时尚",
    "美妆",
    "科技数码",
    "亲子",
    "户外",
)
"""Survey interests; a respondent picks one to four."""

LIFESTYLES: tuple[str, ...] = (
    "精致白领",
    "都市新锐",
    "小镇青年",
    "精明妈妈",
    "资深中产",
    "银发一族",
    "Z世代学生",
    "品质家庭",
)
"""Survey lifestyle labels; the generator relies on the position of 银发一族 and Z世代学生."""

INCOME_BANDS: tuple[tuple[str, float], ...] = (
    ("5k以下", 0.20),
    ("5k-10k", 0.30),
    ("10k-20k", 0.28),
    ("20k-50k", 0.15),
    ("50k以上", 0.07),
)
"""(third_party.income_band, share), lowest first."""

OCCUPATIONS: tuple[str, ...] = (
    "学生",
    "退休",
    "企业职员",
    "公务员",
    "教师",
    "医生",
    "工程师",
    "个体经营",
    "自由职业",
    "销售",
    "金融从业者",
    "服务业",
)
"""Occupations; 学生 and 退休 come first because the generator ties them to age."""

TICKET_TYPES: tuple[str, ...] = ("投诉", "咨询", "售后", "建议")
"""Values of `tickets.type`; complaints first."""

TICKET_CHANNELS: tuple[tuple[str, float], ...] = (
    ("电话", 0.35),
    ("在线客服", 0.45),
    ("邮件", 0.08),
    ("门店", 0.12),
)
"""(tickets.channel, share)."""

SEVERITIES: tuple[str, ...] = ("低", "中", "高")
"""Values of `tickets.severity`."""

TICKET_TEMPLATES: tuple[tuple[tuple[str, str], ...], ...] = (
    (
        ("买的", "商品质量太差，要求退款"),
        ("", "订单迟迟不发货, 客服也不回复"),
        ("收到的", "和描述不符, 包装破损"),
        ("", "退款申请被拒绝，非常不满意"),
        ("", "商品到手就坏了, 要求赔偿"),
    ),
    (
        ("请问", "什么时候有优惠活动"),
        ("", "商品支持七天无理由退货吗"),
        ("想了解", "的会员折扣"),
        ("", "订单可以修改收货地址吗"),
    ),
    (
        ("", "商品需要换货, 尺码不合适"),
        ("申请", "商品维修"),
        ("", "退货已寄出，请尽快处理退款"),
        ("", "发票信息填写错误, 需要重开"),
    ),
    (
        ("希望", "品类能多上新款"),
        ("建议", "页面增加比价功能"),
        ("", "配送可以更快一些, 谢谢"),
    ),
)
"""(text before the category, text after it) per ticket type, in `TICKET_TYPES` order.

Some templates carry an ASCII comma, so the CSV writer has to quote them.
"""

GRANTED_SPELLINGS: tuple[tuple[str, str, float], ...] = (
    ("true", "false", 0.5),
    ("是", "否", 0.2),
    ("1", "0", 0.3),
)
"""(granted, refused, share) spellings of consent.granted."""

CONSENT_CHANNELS: tuple[tuple[str, float], ...] = (
    ("sms", 0.60),
    ("email", 0.50),
    ("wechat", 0.70),
    ("phone", 0.35),
)
"""(consent.channel, probability that a customer grants it)."""

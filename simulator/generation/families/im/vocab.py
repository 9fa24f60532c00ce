"""What people write to a bot, pooled once per run: message texts, file names, places, card titles.

``Vocab`` is built with Faker when a run first needs it (kept in ``GenContext.world["im.vocab"]``), so a
message costs a few pool draws and no Faker call. Chinese locales get Chinese phrasing, others English.
"""

from __future__ import annotations

from simulator.generation.catalog._base import GenContext
from simulator.rand import SimRandom

SERVICES = ("payment-api", "order-service", "user-center", "gateway", "search", "im-push", "billing", "risk-engine",
            "data-sync", "auth")

_ZH_REQUESTS = (
    "帮我总结一下今天的站会", "查一下 {service} 的告警", "今天有什么待办？", "把上周的周报发我",
    "明天下午三点有空的会议室吗", "/help", "/oncall", "帮我订一个{topic}", "{service} 的发布进度怎么样了",
    "翻译一下这段话", "请假半天，下午去医院", "帮我起草一封给客户的邮件", "这个需求谁在跟进？", "收到，谢谢", "好的",
    "辛苦了", "在吗", "部署 {service} 到预发环境",
    "重启一下 {service}", "本周的值班表是什么", "查一下报销进度", "提醒我 18:00 提交日报", "{topic}改到几点了？",
    "帮我看看这个报错", "把会议纪要同步到群里", "Q3 OKR 的文档链接是什么", "这个 bug 复现了，麻烦看一下",
    "有没有{topic}的录屏", "[需求文档](https://example.feishu.cn/docx/AbCdEfGh12345678)", "测试环境又挂了",
)
_EN_REQUESTS = (
    "summarize today's stand-up", "any alerts on {service}?", "what's on my list today?", "send me last week's report",
    "/help", "/oncall", "book a room for the {topic}", "how is the {service} rollout going?", "translate this please",
    "I'm taking the afternoon off", "draft an email to the customer", "who owns this ticket?", "thanks!", "ok",
    "deploy {service} to staging", "restart {service}", "who is on call this week?", "remind me at 6pm",
    "can you look at this error", "post the meeting notes here", "link to the Q3 OKR doc?",
    "repro'd the bug, please check",
    "[design doc](https://example.feishu.cn/docx/AbCdEfGh12345678)", "staging is down again",
)
_ZH_FILES = ("预算", "周报", "合同", "需求文档", "会议纪要", "测试报告", "架构图", "值班表", "发票", "方案")
_EN_FILES = ("budget", "weekly-report", "contract", "spec", "minutes", "test-report", "architecture", "roster",
             "invoice", "proposal")
_EXTS = ("xlsx", "docx", "pdf", "pptx", "zip", "png", "csv", "md", "log", "txt")
_PLACES = (
    ("上海市徐汇区漕河泾开发区", 121.397716, 31.168539), ("北京市海淀区中关村软件园", 116.298056, 40.049733),
    ("深圳市南山区科技园", 113.953238, 22.540503), ("杭州市西湖区文三路", 120.130663, 30.279574),
    ("广州市天河区珠江新城", 113.324520, 23.119290), ("成都市高新区天府软件园", 104.069183, 30.541367),
    ("Singapore One-North", 103.787743, 1.299546), ("Tokyo Shibuya", 139.701636, 35.658034),
)
_ZH_CARDS = (("部署审批", "服务 {service} 申请发布到生产环境", ("同意", "拒绝")),
             ("请假申请", "{name} 申请请假 1 天", ("通过", "驳回")),
             ("告警通知", "{service} 错误率超过 5%", ("认领", "忽略")),
             ("会议邀请", "{topic}", ("接受", "拒绝", "待定")))
_EN_CARDS = (("Deploy approval", "{service} requests a production release", ("Approve", "Reject")),
             ("Leave request", "{name} asks for 1 day off", ("Approve", "Decline")),
             ("Alert", "{service} error rate above 5%", ("Claim", "Ignore")),
             ("Meeting invite", "{topic}", ("Accept", "Decline", "Maybe")))
_ZH_VOTES = (("团建地点", ("莫干山", "千岛湖", "崇明岛")), ("午饭吃什么", ("食堂", "外卖", "楼下面馆")),
             ("周会时间", ("周一上午", "周三下午", "周五上午")))
_EN_VOTES = (("Offsite venue", ("Lake", "Mountains", "Beach")), ("Lunch?", ("Canteen", "Delivery", "Noodles")),
             ("Weekly sync slot", ("Mon AM", "Wed PM", "Fri AM")))
_CODE = (("PYTHON", "print('hello')\n"), ("GO", "fmt.Println(\"hello\")\n"), ("SHELL", "kubectl get pods -n prod\n"),
         ("SQL", "SELECT count(*) FROM orders WHERE status = 'paid';\n"))


class Vocab:
    """Pools drawn from by the content builders; built once per run and locale."""

    def __init__(self, rand: SimRandom, locale: str, topics: tuple[str, ...], names: tuple[str, ...]) -> None:
        fk = rand.faker(locale)
        r = rand.fork("im-vocab")
        self.zh = locale.lower().startswith("zh")
        self.topics = topics
        self.names = names
        requests = _ZH_REQUESTS if self.zh else _EN_REQUESTS
        texts = [self._fill(r, t) for t in requests for _ in range(3)]
        texts += [str(fk.sentence()) for _ in range(60)]
        self.texts: tuple[str, ...] = tuple(texts)
        base = _ZH_FILES if self.zh else _EN_FILES
        suffixes = ("", "-v2", "-final", "_2026Q3")
        self.file_names = tuple(f"{r.choice(topics) if r.chance(0.3) else b}{r.choice(suffixes)}.{r.choice(_EXTS)}"
                                for b in base for _ in range(6))
        self.folder_names = tuple(r.choice(base) for _ in range(10))
        self.media_names = tuple(f"{r.choice(('demo', 'screen', 'recording', 'VID_2026'))}_{r.digits(4)}.mp4"
                                 for _ in range(20))
        self.places = _PLACES
        self.cards = _ZH_CARDS if self.zh else _EN_CARDS
        self.votes = _ZH_VOTES if self.zh else _EN_VOTES
        self.code = _CODE
        self.titles = tuple(r.choice(topics) for _ in range(30)) + ("",) * 10
        self.styles: tuple[tuple[str, ...], ...] = ((),) * 6 + (("bold",), ("italic",), ("underline",),
                                                                 ("lineThrough",), ("bold", "italic"))
        self.todo = (("周五前提交季度报告", "整理{topic}纪要", "回复{name}的邮件") if self.zh
                     else ("submit the quarterly report by Friday", "write up the {topic} notes", "reply to {name}"))
        self.hongbao = "[红包]"
        self.invite_template = "{from_user} 邀请 {to_chatters} 加入群聊" if self.zh else \
            "{from_user} invited {to_chatters} to this chat."
        self.video_topic = "{name}发起的视频会议" if self.zh else "Video meeting started by {name}"

    def _fill(self, r: SimRandom, template: str) -> str:
        return template.format(service=r.choice(SERVICES), topic=r.choice(self.topics), name=r.choice(self.names))

    def fill(self, r: SimRandom, template: str) -> str:
        return self._fill(r, template) if "{" in template else template


def vocab(ctx: GenContext) -> Vocab:
    found = ctx.world.get("im.vocab")
    if not isinstance(found, Vocab):
        pop = ctx.population
        found = Vocab(ctx.rand, pop.locale, pop.topics, tuple(p.name for p in pop.staff[:64]))
        ctx.world["im.vocab"] = found
    return found

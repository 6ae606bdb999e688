"""The exchange pages' messages, Chinese and English, and the English names of its vocabulary.

Enumerations carry their Chinese label (``ServiceKind.VERIFY.label`` is 核验); pages look values
up as ``exchange.<kind>.<value>`` so that English pages speak English too.
"""

from __future__ import annotations

from rongshu.catalog.messages import vocabulary_pairs
from rongshu.catalog.schemas import LabelledEnum, ShareType
from rongshu.core.i18n import register_pairs
from rongshu.exchange.schemas import ApplicationState, ApprovalAction, ServiceKind
from rongshu.security.schemas import MaskingProfile

#: English names of the vocabulary, keyed by enumeration value.
_ENGLISH: dict[str, tuple[type[LabelledEnum], dict[str, str]]] = {
    "kind": (
        ServiceKind,
        {
            "query": "Query",
            "verify": "Verification",
            "batch": "Batch exchange",
            "subscription": "Subscription",
            "open_data": "Open data",
        },
    ),
    "share_type": (
        ShareType,
        {
            "unconditional": "Unconditional",
            "conditional": "Conditional",
            "none": "Not shared",
        },
    ),
    "state": (
        ApplicationState,
        {
            "pending": "Awaiting decision",
            "more_info": "More information asked",
            "approved": "Approved",
            "refused": "Refused",
        },
    ),
    "profile": (
        MaskingProfile,
        {
            "clear": "Clear (unmasked)",
            "standard": "Standard masking",
            "analytics": "Analytics",
            "strict": "Strict",
        },
    ),
    "action": (ApprovalAction, {"approve": "Approve", "refuse": "Refuse", "ask": "Ask for more"}),
}

_PAIRS: dict[str, tuple[str, str]] = {
    "exchange.title": ("共享交换", "Data exchange"),
    "exchange.intro": (
        "部门间数据共享：浏览共享服务，申请使用，审批授权，按授权调用并全程留痕。",
        "Sharing between departments: browse the services, apply for one, approve and grant,"
        " call it under the grant, every call on the record.",
    ),
    "exchange.sections": ("共享交换栏目", "Exchange sections"),
    "exchange.section.catalog": ("服务目录", "Service catalog"),
    "exchange.section.applications": ("共享申请", "Applications"),
    "exchange.section.grants": ("授权", "Grants"),
    "exchange.section.usage": ("调用统计", "Usage"),
    "exchange.breadcrumb": ("位置", "You are here"),
    "exchange.json_twin": ("本页数据（JSON）：", "This page as JSON:"),
    "exchange.none": ("—", "—"),
    "exchange.hours": ("{hours} 小时", "{hours} h"),
    "exchange.punct.colon": ("：", ": "),
    # vocabulary the enumerations do not carry
    "exchange.event.submit": ("提交申请", "Submitted"),
    "exchange.event.approve": ("批准", "Approved"),
    "exchange.event.refuse": ("拒绝", "Refused"),
    "exchange.event.ask": ("要求补充材料", "More information asked"),
    "exchange.event.reply": ("补充材料", "Information supplied"),
    "exchange.event.escalate": ("逾期督办", "Escalated (overdue)"),
    "exchange.due.overdue": ("已逾期", "Overdue"),
    "exchange.due.soon": ("即将到期", "Due soon"),
    "exchange.due.escalated": ("已提请督办", "Escalated"),
    # columns
    "exchange.col.service": ("服务", "Service"),
    "exchange.col.resource": ("数据资源", "Resource"),
    "exchange.col.kind": ("服务类型", "Kind"),
    "exchange.col.share_type": ("共享类型", "Share type"),
    "exchange.col.keys": ("关键信息项", "Key fields"),
    "exchange.col.owner": ("提供部门", "Owner department"),
    "exchange.col.number": ("申请编号", "Number"),
    "exchange.col.app": ("使用应用", "App"),
    "exchange.col.state": ("状态", "State"),
    "exchange.col.deadline": ("审批时限", "Deadline"),
    "exchange.col.submitted": ("提交时间", "Submitted"),
    "exchange.col.response": ("响应时长", "Response time"),
    "exchange.col.grant": ("授权", "Grant"),
    "exchange.col.quota": ("每日限额", "Daily quota"),
    "exchange.col.expires": ("有效期至", "Valid until"),
    "exchange.col.actions": ("操作", "Actions"),
    "exchange.col.day": ("日期", "Day"),
    # the catalog
    "exchange.catalog.title": ("共享服务目录", "Service catalog"),
    "exchange.catalog.search": ("关键词", "Words"),
    "exchange.catalog.kind": ("服务类型", "Kind"),
    "exchange.catalog.department": ("提供部门", "Owner department"),
    "exchange.catalog.any": ("全部", "Any"),
    "exchange.catalog.submit": ("查找", "Find"),
    "exchange.catalog.count": ("共 {count} 个服务", "{count} services"),
    "exchange.catalog.empty": ("没有符合条件的服务。", "No service matches."),
    # one service
    "exchange.service.published": ("发布时间", "Published"),
    "exchange.service.conditional_note": (
        "有条件共享：申请由提供部门审批员在时限内审批，批准后按授权调用。",
        "Conditional: the owner department's approvers decide an application within the"
        " deadline; once approved, the app calls under its grant.",
    ),
    "exchange.service.unconditional_note": (
        "无条件共享：申请提交即自动批准并授权，仍全程留痕。",
        "Unconditional: an application is approved and granted on arrival, and still recorded.",
    ),
    "exchange.service.fields": ("信息项", "Fields"),
    "exchange.service.column": ("字段", "Column"),
    "exchange.service.field_name": ("名称", "Name"),
    "exchange.service.data_type": ("类型", "Type"),
    "exchange.service.notes": ("说明", "Notes"),
    "exchange.service.key": ("关键项", "Key"),
    "exchange.service.personal": ("个人信息", "Personal"),
    "exchange.service.how": ("调用方法", "How to call it"),
    "exchange.service.how_intro": (
        "获得授权后，应用以 API 密钥调用（密钥请放在环境变量中，切勿写入代码）：",
        "Once granted, the app calls with its API key (keep the key in an environment"
        " variable, never in code):",
    ),
    "exchange.service.curl": ("调用示例", "Example call"),
    "exchange.service.subscription_note": (
        "订阅不逐条调用：新版本的变化行由消费方拉取或推送到其登记的地址，详见接口文档。",
        "A subscription is not called per record: each new version's changed rows are pulled"
        " by the consumer or pushed to its registered address; see the API docs.",
    ),
    "exchange.service.signed": ("签名调用", "Signed requests"),
    "exchange.service.signed_intro": (
        "不愿在请求中传送密钥时，可用 HMAC-SM3 签名代替 X-API-Key，携带以下请求头：",
        "To keep the key off the wire, sign each request with HMAC-SM3 instead of sending"
        " X-API-Key, with these headers:",
    ),
    "exchange.service.signed_key": (
        "密钥标识（API 密钥中间一段）",
        "the key id (the middle part of the API key)",
    ),
    "exchange.service.signed_timestamp": (
        "Unix 时间（秒），与服务器时间相差不得超过签名时间窗",
        "Unix seconds, within the signature window of the server's clock",
    ),
    "exchange.service.signed_nonce": (
        "每次调用新取的随机串（16–64 个字符），不可重放",
        "a fresh random string for every call (16–64 characters); replays are refused",
    ),
    "exchange.service.signed_signature": (
        "以密钥的秘密部分为键，对方法、路径、排序后的查询串、时间戳、随机串和请求体 SM3 摘要"
        "（按行连接）计算的 HMAC-SM3 十六进制值",
        "the hex HMAC-SM3, keyed with the key's secret part, of the method, path, sorted"
        " query, timestamp, nonce and SM3 of the body, joined by newlines",
    ),
    "exchange.service.own_openapi": (
        "本服务的 OpenAPI 描述（含字段名）",
        "This service's own OpenAPI description (fields named)",
    ),
    "exchange.service.docs": (
        "完整接口说明见 OpenAPI 文档：",
        "Every call is described in the OpenAPI docs:",
    ),
    # the application form
    "exchange.apply.title": ("申请使用本服务", "Apply for this service"),
    "exchange.apply.what": ("申请内容", "What you ask for"),
    "exchange.apply.why": ("用途与依据", "Purpose and basis"),
    "exchange.apply.app_id": ("使用应用", "App"),
    "exchange.apply.columns": ("申请的信息项", "Fields"),
    "exchange.apply.purpose": ("用途", "Purpose"),
    "exchange.apply.legal_basis": ("法律依据", "Legal basis"),
    "exchange.apply.legal_basis_hint": (
        "法律、法规或文件名称及条款。",
        "The law, regulation or document, and its article.",
    ),
    "exchange.apply.scenario": ("应用场景", "Scenario"),
    "exchange.apply.expected_daily_calls": ("预计日调用量", "Expected calls a day"),
    "exchange.apply.valid_until": ("使用期限至", "Valid until"),
    "exchange.apply.valid_until_hint": (
        "到期后授权自动失效；最长三年。",
        "The grant ends that day; three years at most.",
    ),
    "exchange.apply.masking_profile": ("脱敏方案", "Masking profile"),
    "exchange.apply.profile_hint": (
        "审批员可以收紧，不能放宽。",
        "Approvers may tighten it, never loosen it.",
    ),
    "exchange.apply.submit": ("提交申请", "Submit the application"),
    "exchange.apply.errors": ("申请未提交，请修改以下问题：", "Not submitted; please fix:"),
    "exchange.apply.no_apps": (
        "本部门还没有应用。请联系系统管理员为本部门登记应用后再申请。",
        "Your department has no app yet. Ask the platform admin to register one, then apply.",
    ),
    "exchange.invalid.app_id": ("请选择本部门的应用", "Choose one of your department's apps"),
    "exchange.invalid.columns": ("请至少选择一个信息项", "Choose at least one field"),
    "exchange.invalid.purpose": ("请填写用途（2–500 字）", "Give the purpose (2–500 characters)"),
    "exchange.invalid.legal_basis": (
        "请填写法律依据（2–500 字）",
        "Give the legal basis (2–500 characters)",
    ),
    "exchange.invalid.scenario": (
        "应用场景最多 1000 字",
        "The scenario is 1000 characters at most",
    ),
    "exchange.invalid.expected_daily_calls": (
        "请填写 1 到 1 亿之间的整数",
        "Give a whole number from 1 to 100 million",
    ),
    "exchange.invalid.valid_until": ("请填写日期", "Give a date"),
    "exchange.invalid.masking_profile": ("请选择脱敏方案", "Choose a masking profile"),
    "exchange.invalid.action": ("请选择批准、拒绝或要求补充", "Choose approve, refuse or ask"),
    "exchange.invalid.daily_quota": (
        "每日限额须为 1 到 1 亿之间的整数",
        "The daily quota is a whole number from 1 to 100 million",
    ),
    "exchange.invalid.reason": (
        "请填写理由（至少 2 个字）",
        "Give a reason (2 characters or more)",
    ),
    "exchange.invalid.note": (
        "请填写补充说明（2–2000 字）",
        "Give the information (2–2000 characters)",
    ),
    "exchange.problem.columns.key_missing": (
        "批量交换和订阅须包含全部关键信息项",
        "Batch and subscription grants must include every key field",
    ),
    "exchange.problem.columns.unknown": (
        "本服务没有所选的信息项",
        "The service has no such field",
    ),
    "exchange.problem.valid_until.out_of_range": (
        "期限须晚于今天，且不超过三年",
        "The date must be after today and at most three years away",
    ),
    "exchange.problem.reason.required": (
        "拒绝或要求补充材料时须说明理由",
        "Say why when refusing or asking for more",
    ),
    "exchange.problem.masking_profile.looser": (
        "审批只能收紧脱敏方案，不能放宽",
        "An approver may tighten masking, not loosen it",
    ),
    "exchange.problem.row_filter.no_data": (
        "该资源尚无数据，无法校验行过滤条件",
        "The resource has no data yet, so a row filter cannot be checked",
    ),
    # applications
    "exchange.applications.title": ("共享申请", "Applications"),
    "exchange.applications.intro": (
        "提供部门审批员须在时限（工作日）内审批；红色为已逾期，黄色为一个工作日内到期。",
        "The owner department's approvers decide within the deadline (working days); red is"
        " overdue, yellow is due within a working day.",
    ),
    "exchange.applications.boxes": ("申请分类", "Boxes"),
    "exchange.box.inbox": ("待我审批", "To decide"),
    "exchange.box.mine": ("我的申请", "Our applications"),
    "exchange.box.all": ("全部", "All"),
    "exchange.box.inbox_hint": (
        "本部门数据的待审批申请，按时限先后排列。",
        "Pending applications for your department's data, earliest deadline first.",
    ),
    "exchange.box.mine_hint": ("本部门提交的申请。", "Applications your department submitted."),
    "exchange.box.all_hint": ("您可查看的全部申请。", "Every application you may see."),
    "exchange.applications.response": (
        "已审结 {count} 件，平均响应 {hours} 小时。",
        "{count} decided, in {hours} h on average.",
    ),
    "exchange.applications.empty": ("没有申请。", "No applications."),
    "exchange.application.heading": ("共享申请 {number}", "Application {number}"),
    "exchange.application.decided": ("审结时间", "Decided"),
    "exchange.application.asked": ("申请内容", "What was asked"),
    "exchange.application.row_filter": ("行过滤条件", "Row filter"),
    "exchange.application.reason": ("审批意见", "Reason"),
    "exchange.application.grant": ("授权", "Grant"),
    "exchange.application.decide": ("审批", "Decide"),
    "exchange.application.decide_hint": (
        "批准即生成授权；拒绝或要求补充材料须说明理由。",
        "Approving makes a grant; refusing or asking for more needs a reason.",
    ),
    "exchange.application.reason_hint": (
        "拒绝、要求补充时必填，申请方可见。",
        "Required to refuse or ask; the applicant sees it.",
    ),
    "exchange.application.quota": ("每日调用限额", "Daily quota"),
    "exchange.application.quota_hint": (
        "留空则按申请的预计日调用量（{calls}）。",
        "Leave empty for the expected calls a day ({calls}).",
    ),
    "exchange.application.profile_hint": (
        "可收紧申请的脱敏方案。",
        "You may tighten the requested profile.",
    ),
    "exchange.application.reply": ("补充材料", "Supply more information"),
    "exchange.application.reply_hint": (
        "提交后申请重新进入待审批，审批时限重新计算。",
        "Once sent, the application awaits a decision again, with a new deadline.",
    ),
    "exchange.application.reply_note": ("补充说明", "Information"),
    "exchange.application.reply_submit": ("提交补充材料", "Send"),
    "exchange.application.history": ("办理记录", "History"),
    # grants
    "exchange.grants.title": ("授权", "Grants"),
    "exchange.grants.intro": (
        "每项授权规定应用可用的服务、信息项、脱敏方案、限额和期限；撤销立即生效。",
        "A grant says which service, fields, masking, quota and term an app has; revoking"
        " one stops it at once.",
    ),
    "exchange.grants.shows": ("授权范围", "Which grants"),
    "exchange.grants.active": ("有效", "In force"),
    "exchange.grants.all": ("全部", "All"),
    "exchange.grants.reason": ("撤销理由", "Reason"),
    "exchange.grants.revoke": ("撤销", "Revoke"),
    "exchange.grants.empty": ("没有授权。", "No grants."),
    "exchange.grant.active": ("有效", "In force"),
    "exchange.grant.revoked": ("已撤销", "Revoked"),
    "exchange.grant.expired": ("已到期", "Expired"),
    # usage and the indicator
    "exchange.usage.title": ("调用统计", "Usage"),
    "exchange.usage.intro": (
        "按服务、应用和日期统计调用、错误、拒绝、返回行数与响应时间。",
        "Calls, errors, refusals, rows and latency per service, app and day.",
    ),
    "exchange.usage.scope_all": (
        "以下为全部部门应用的调用。",
        "Shown: calls by every department's apps.",
    ),
    "exchange.usage.scope_department": (
        "以下为本部门（{department}）应用的调用。",
        "Shown: calls by your department's ({department}) apps.",
    ),
    "exchange.usage.window": ("统计天数", "Window"),
    "exchange.usage.days": ("近 {days} 天", "Last {days} days"),
    "exchange.usage.chart": ("近 {days} 天每日调用量", "Calls a day, last {days} days"),
    "exchange.usage.table": ("明细", "Details"),
    "exchange.usage.latency_note": (
        "p50、p99 为响应时间分位数，按所在区间的上界计（偏保守）。",
        "p50 and p99 are latency percentiles, read as their bucket's upper bound (an upper"
        " estimate).",
    ),
    "exchange.usage.calls": ("调用次数", "Calls"),
    "exchange.usage.errors": ("错误", "Errors"),
    "exchange.usage.denied": ("拒绝", "Denied"),
    "exchange.usage.rows": ("返回行数", "Rows"),
    "exchange.usage.empty": ("该时段没有调用。", "No calls in this window."),
    "exchange.indicator.title": ("今日查询核验次数", "Queries and verifications today"),
    "exchange.indicator.note": (
        "对照规划的日均指标，每分钟刷新。",
        "Against the plan's daily indicator; refreshed every minute.",
    ),
    "exchange.indicator.today": ("今日查询核验次数", "Queries and verifications today"),
    "exchange.indicator.loading": ("正在读取今日调用次数……", "Reading today's calls…"),
    "exchange.indicator.target": ("日指标", "Daily indicator"),
    "exchange.indicator.share": ("已完成 {percent}%", "{percent}% reached"),
    # what a finished step says
    "exchange.done.submitted": ("申请已提交。", "Application submitted."),
    "exchange.done.approve": ("已批准，授权已生成。", "Approved; the grant is made."),
    "exchange.done.refuse": ("已拒绝。", "Refused."),
    "exchange.done.ask": ("已要求申请方补充材料。", "The applicant is asked for more."),
    "exchange.done.replied": (
        "补充材料已提交，等待审批。",
        "Information sent; awaiting a decision.",
    ),
    "exchange.done.revoked": ("授权已撤销。", "Grant revoked."),
}


def register_exchange_messages() -> None:
    register_pairs({**_PAIRS, **vocabulary_pairs("exchange", _ENGLISH)})

"""Messages of the corrections workbench and the citizen objection pages, Chinese and English."""

from __future__ import annotations

from rongshu.core.i18n import register_pairs

#: Labels of the tickets' states, kinds, resolutions and history steps (the enums' values).
_VOCABULARY: dict[str, tuple[str, str]] = {
    "corrections.state.open": ("待处理", "Open"),
    "corrections.state.acknowledged": ("已确认", "Acknowledged"),
    "corrections.state.fixed": ("已整改待核验", "Fixed, awaiting check"),
    "corrections.state.disputed": ("申诉中", "Disputed"),
    "corrections.state.closed": ("已关闭", "Closed"),
    "corrections.kind.rule": ("规则发现", "Found by a rule"),
    "corrections.kind.objection": ("数据主体异议", "Data subject's objection"),
    "corrections.resolution.verified": ("核验通过", "Verified"),
    "corrections.resolution.dismissed": ("申诉成立，撤销", "Dispute upheld, dismissed"),
    "corrections.action.open": ("开单", "Opened"),
    "corrections.action.update": ("更新问题数据", "Problem rows updated"),
    "corrections.action.acknowledge": ("确认", "Acknowledged"),
    "corrections.action.fix": ("已整改", "Marked fixed"),
    "corrections.action.dispute": ("申诉", "Disputed"),
    "corrections.action.uphold": ("申诉成立", "Dispute upheld"),
    "corrections.action.reject": ("驳回申诉", "Dispute rejected"),
    "corrections.action.verify": ("核验通过", "Verified"),
    "corrections.action.reopen": ("核验未通过，重新打开", "Check failed, reopened"),
    "corrections.action.escalate": ("逾期督办", "Escalated as overdue"),
    "corrections.severity.error": ("错误", "Error"),
    "corrections.severity.warning": ("警告", "Warning"),
    "corrections.severity.info": ("提示", "Info"),
}

_WORKBENCH: dict[str, tuple[str, str]] = {
    "corrections.title": ("纠错工单", "Correction tickets"),
    "corrections.intro": (
        "质量检查发现的问题数据和群众提出的异议，按资源所属部门派发，限期整改，整改后由下一次检查自动核验。",
        "Problem data found by quality runs and objections raised by the public, sent to the "
        "department that owns the resource; fixed by a working-day deadline and verified by "
        "the next run.",
    ),
    "corrections.sections": ("数据治理栏目", "Data quality sections"),
    "corrections.section.quality": ("质量概览", "Quality overview"),
    "corrections.section.all": ("纠错工单", "Correction tickets"),
    "corrections.section.overdue": ("已逾期", "Overdue"),
    "corrections.section.escalated": ("督办中", "Escalated"),
    "corrections.breadcrumb": ("位置", "You are here"),
    "corrections.json_twin": ("本页数据的 JSON 接口", "This page as JSON"),
    "corrections.punct.colon": ("：", ": "),
    # the list
    "corrections.filter.state": ("状态", "State"),
    "corrections.filter.kind": ("来源", "Source"),
    "corrections.filter.department": ("部门代码", "Department code"),
    "corrections.filter.resource": ("资源代码", "Resource code"),
    "corrections.filter.due": ("时限", "Deadline"),
    "corrections.filter.any": ("全部", "Any"),
    "corrections.filter.overdue": ("已逾期", "Overdue"),
    "corrections.filter.escalated": ("已督办", "Escalated"),
    "corrections.filter.submit": ("筛选", "Filter"),
    "corrections.count": ("共 {count} 张工单", "{count} tickets"),
    "corrections.empty": ("没有符合条件的工单。", "No tickets match."),
    "corrections.caption": ("纠错工单列表，最新的在前", "Correction tickets, newest first"),
    "corrections.col.number": ("工单号", "Ticket"),
    "corrections.col.resource": ("数据资源", "Resource"),
    "corrections.col.department": ("部门", "Department"),
    "corrections.col.problem": ("问题", "Problem"),
    "corrections.col.failing": ("问题数据（行）", "Failing rows"),
    "corrections.col.state": ("状态", "State"),
    "corrections.col.deadline": ("整改期限", "Deadline"),
    "corrections.due.overdue": ("已逾期", "Overdue"),
    "corrections.due.soon": ("1 个工作日内到期", "Due within 1 working day"),
    "corrections.due.escalated": ("已督办", "Escalated"),
    # one ticket
    "corrections.ticket.heading": ("纠错工单 {number}", "Correction ticket {number}"),
    "corrections.ticket.kind": ("来源", "Source"),
    "corrections.ticket.severity": ("严重程度", "Severity"),
    "corrections.ticket.opened": ("开单时间", "Opened"),
    "corrections.ticket.closed": ("关闭时间", "Closed"),
    "corrections.ticket.resolution": ("结果", "Outcome"),
    "corrections.ticket.note": ("最新说明", "Latest note"),
    "corrections.ticket.problem": ("问题数据", "The problem"),
    "corrections.ticket.rule": ("规则", "Rule"),
    "corrections.ticket.rule_gone": (
        "该规则已被删除（类型：{kind}）。",
        "The rule has been deleted (kind: {kind}).",
    ),
    "corrections.ticket.objection_rule": (
        "群众对本人数据提出异议，无对应规则。",
        "A person disputed their own data; no rule is involved.",
    ),
    "corrections.ticket.field": ("信息项", "Field"),
    "corrections.ticket.params": ("参数", "Parameters"),
    "corrections.ticket.run": ("质量检查", "Quality run"),
    "corrections.ticket.failing": ("问题数据行数", "Failing rows"),
    "corrections.ticket.samples": (
        "问题数据示例（主键，至多 {count} 行）",
        "Sample of the failing rows (keys, at most {count})",
    ),
    "corrections.ticket.no_samples": (
        "无逐行数据（资源级规则）。",
        "No rows (a resource-level rule).",
    ),
    "corrections.ticket.history": ("处理记录", "History"),
    "corrections.ticket.by": ("操作人", "By"),
    "corrections.ticket.reason": ("说明", "Note"),
    "corrections.ticket.actions": ("办理", "Act on this ticket"),
    "corrections.ticket.no_actions": (
        "您当前无可办理的操作。",
        "There is nothing for you to do on this ticket now.",
    ),
    "corrections.ticket.acknowledge_hint": (
        "确认已收到工单，开始整改。",
        "Confirm the ticket is received and being worked on.",
    ),
    "corrections.ticket.fix_hint": (
        "数据已在源系统更正并重新加载；下一次质量检查将自动核验。",
        "The data was corrected at the source and reloaded; the next quality run checks it.",
    ),
    "corrections.ticket.fix_note": ("整改说明（可选）", "What was done (optional)"),
    "corrections.ticket.dispute_hint": (
        "认为数据无误时提出申诉，由大数据局裁定。",
        "If the data is right, dispute the ticket; the bureau decides.",
    ),
    "corrections.ticket.dispute_note": ("申诉理由（必填）", "Why the data is right (required)"),
    "corrections.ticket.decide_hint": (
        "申诉成立则撤销工单；驳回则退回部门重新计算整改期限。",
        "Upholding dismisses the ticket; rejecting sends it back to the department with a new "
        "deadline.",
    ),
    "corrections.ticket.decide_note": ("裁定理由（必填）", "Reason for the decision (required)"),
    "corrections.ticket.decision": ("裁定", "Decision"),
    "corrections.button.acknowledge": ("确认收到", "Acknowledge"),
    "corrections.button.fix": ("标记为已整改", "Mark fixed"),
    "corrections.button.dispute": ("提出申诉", "Dispute"),
    "corrections.button.uphold": ("申诉成立", "Uphold the dispute"),
    "corrections.button.reject": ("驳回申诉", "Reject the dispute"),
    "corrections.button.decide": ("提交裁定", "Decide"),
    "corrections.done.acknowledge": ("已确认收到工单。", "The ticket is acknowledged."),
    "corrections.done.fix": (
        "已标记为已整改，待下一次质量检查核验。",
        "Marked fixed; the next quality run will check it.",
    ),
    "corrections.done.dispute": ("申诉已提交，等待大数据局裁定。", "Disputed; the bureau decides."),
    "corrections.done.uphold": (
        "申诉成立，工单已撤销。",
        "Dispute upheld; the ticket is dismissed.",
    ),
    "corrections.done.reject": (
        "申诉已驳回，工单退回部门整改。",
        "Dispute rejected; the ticket is back with the department.",
    ),
    "corrections.problem.note.required": (
        "请填写理由。",
        "Give the reason.",
    ),
}

_OBJECTION: dict[str, tuple[str, str]] = {
    "objection.portal_title": ("个人数据查询核实", "Check the data held about you"),
    "objection.portal_text": (
        "核验身份后，可查看政务部门登记的本人信息，发现错误可在线提出异议，由数据所属部门限期核实更正。",
        "Prove who you are to see what government departments hold about you; dispute what is "
        "wrong and the department that owns it checks and corrects it by a deadline.",
    ),
    "objection.portal_link": ("查询核实本人数据", "Check my data"),
    "objection.title": ("个人数据查询核实", "Check the data held about you"),
    "objection.intro": (
        "输入公民身份号码和姓名，验证码将发送至登记的手机号。验证通过后可查看本人信息并对有误的内容提出异议。",
        "Enter your ID number and name; a code is sent to the phone on record. With it you "
        "see the data held about you and can dispute what is wrong.",
    ),
    "objection.steps": ("办理步骤", "Steps"),
    "objection.step.identify": ("1. 身份信息", "1. Who you are"),
    "objection.step.code": ("2. 短信验证", "2. Text message code"),
    "objection.step.records": ("3. 查看与异议", "3. Your data"),
    "objection.step.current": ("（当前步骤）", " (this step)"),
    "objection.id_number": ("公民身份号码", "Resident ID number"),
    "objection.id_number_hint": (
        "18 位，最后一位可能是 X。",
        "18 characters; the last may be X.",
    ),
    "objection.name": ("姓名", "Name"),
    "objection.send_code": ("获取验证码", "Send me a code"),
    "objection.privacy": (
        "无论信息是否匹配，页面提示都相同；同一身份号码每小时最多获取 {count} 次验证码。",
        "The answer is the same whether or not the details match; an ID number gets at most "
        "{count} codes an hour.",
    ),
    "objection.start.id_number_invalid": (
        "公民身份号码格式或校验位不正确，请核对。",
        "That is not a valid resident ID number; check it.",
    ),
    "objection.start.name_invalid": (
        "请填写姓名（不超过 50 个字）。",
        "Enter your name (at most 50 characters).",
    ),
    "objection.start.too_many": (
        "获取验证码过于频繁，请一小时后再试。",
        "Too many codes asked for; try again in an hour.",
    ),
    "objection.code.sent": (
        "如信息匹配，验证码已发送至登记的手机号，{minutes} 分钟内有效。",
        "If the details match, a code was sent to the phone on record; it is valid for "
        "{minutes} minutes.",
    ),
    "objection.code.label": ("6 位验证码", "6-digit code"),
    "objection.code.hint": (
        "最多可尝试 {count} 次。没有收到？可重新获取。",
        "You have {count} tries. No message? Ask for a new code.",
    ),
    "objection.code.submit": ("验证", "Verify"),
    "objection.code.again": ("重新获取验证码", "Ask for a new code"),
    "objection.code.missing": (
        "验证码请求已失效，请重新获取。",
        "The code request has lapsed; ask for a new code.",
    ),
    "objection.code.wrong": (
        "验证码不正确，还可尝试 {left} 次。",
        "Wrong code; {left} tries left.",
    ),
    "objection.code.expired": (
        "验证码已过期或已使用，请重新获取。",
        "The code has expired or was used; ask for a new one.",
    ),
    "objection.code.used_up": (
        "错误次数过多，请重新获取验证码。",
        "Too many wrong codes; ask for a new one.",
    ),
    "objection.session.expired": (
        "核验已过期（有效期 {minutes} 分钟），请重新核验身份。",
        "Your check has lapsed (it lasts {minutes} minutes); prove who you are again.",
    ),
    "objection.session.ended": ("已退出。", "You have signed out."),
    "objection.records.heading": ("登记的本人信息", "The data held about you"),
    "objection.records.intro": (
        "以下为允许本人查询的数据资源中登记的您的信息。如有错误，请选择有误的信息项并说明理由。",
        "Below is what the resources open to their data subjects hold about you. If something "
        "is wrong, choose the field and say why.",
    ),
    "objection.records.none": (
        "未找到登记的本人信息。",
        "No data about you was found.",
    ),
    "objection.records.department": ("数据所属部门", "Owning department"),
    "objection.records.row": ("第 {n} 条记录", "Record {n}"),
    "objection.records.field": ("信息项", "Field"),
    "objection.records.value": ("登记内容", "Value held"),
    "objection.records.empty_value": ("（空）", "(empty)"),
    "objection.records.end": ("退出", "Sign out"),
    "objection.dispute.heading": ("对本条记录提出异议", "Dispute this record"),
    "objection.dispute.field": ("有误的信息项", "The wrong field"),
    "objection.dispute.reason": ("异议理由", "What is wrong, and why"),
    "objection.dispute.reason_hint": (
        "如：地址已变更为……，请写明正确内容及依据。",
        "For example: the address changed to …; give the right value and the reason.",
    ),
    "objection.dispute.submit": ("提交异议", "Submit the dispute"),
    "objection.dispute.reason_invalid": (
        "请说明理由（2 至 2000 字）。",
        "Say why (2 to 2,000 characters).",
    ),
    "objection.dispute.field_invalid": ("请选择有误的信息项。", "Choose the wrong field."),
    "objection.dispute.not_found": (
        "该记录已不存在或不属于您，请刷新后重试。",
        "That record is gone or not yours; reload and try again.",
    ),
    "objection.ticket.heading": ("异议工单 {number}", "Objection {number}"),
    "objection.ticket.created": (
        "异议已提交，数据所属部门将在期限内核实。请记下工单号以便查询。",
        "Your dispute is filed; the owning department checks it by the deadline. Note the "
        "ticket number.",
    ),
    "objection.ticket.state": ("办理状态", "State"),
    "objection.ticket.resource": ("数据资源", "Resource"),
    "objection.ticket.field": ("信息项", "Field"),
    "objection.ticket.opened": ("提交时间", "Filed"),
    "objection.ticket.deadline": ("核实期限", "Deadline"),
    "objection.ticket.closed": ("办结时间", "Closed"),
    "objection.ticket.history": ("办理过程", "Progress"),
    "objection.ticket.back": ("返回本人信息", "Back to your data"),
}


def register_correction_messages() -> None:
    """Add the corrections and objection pages' messages (harmless when done twice)."""
    register_pairs({**_VOCABULARY, **_WORKBENCH, **_OBJECTION})


register_correction_messages()

"""The message catalog of the web pages, and language negotiation.

Pages speak Chinese (zh-CN) by default and English on request. Templates call ``t(key)``; the
catalog below holds the shell's messages, and later areas add theirs with
:func:`register_messages` (or :func:`register_pairs`, which keeps both languages in step).
A missing translation falls back to Chinese, then to the key itself, so a page never breaks
over a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from rongshu.core.errors import Conflict, ValidationFailed

#: Languages the pages speak, the default first.
SUPPORTED_LANGUAGES: Final[tuple[str, str]] = ("zh-CN", "en")
FALLBACK_LANGUAGE: Final = "zh-CN"

# One line per message, Chinese then English, so the two languages cannot drift apart.
_SHELL: dict[str, tuple[str, str]] = {
    # site
    "site.name": ("榕数 · 榕城公共数据平台", "Rongshu · Rongcheng Public Data Platform"),
    "site.short_name": ("榕数", "Rongshu"),
    "site.tagline": (
        "公共数据 汇聚 · 治理 · 共享 · 开放",
        "Public data: gather, govern, share, open",
    ),
    "site.skip_to_content": ("跳到主要内容", "Skip to main content"),
    "site.footer": (
        "榕数是开源的公共数据平台。数据使用必有依据，全程留痕。",
        "Rongshu is an open-source public data platform. Every use of data has a basis and "
        "leaves a record.",
    ),
    "site.noscript": (
        "您的浏览器未启用脚本：页面可正常使用，但数字不会自动刷新，图表不会显示。",
        "Scripts are off in your browser: pages still work, but figures do not refresh by "
        "themselves and charts are not shown.",
    ),
    # navigation
    "nav.main": ("主导航", "Main navigation"),
    "nav.portal": ("门户首页", "Portal home"),
    "nav.console": ("控制台", "Console"),
    "nav.console_home": ("控制台首页", "Console home"),
    "nav.audit": ("审计日志", "Audit trail"),
    "nav.departments": ("部门管理", "Departments"),
    "nav.users": ("用户管理", "Users"),
    "nav.apps": ("应用管理", "Apps"),
    "nav.catalog": ("资源目录", "Catalog"),
    "nav.ingest": ("数据汇聚", "Ingest"),
    "nav.quality": ("数据治理", "Quality"),
    "nav.security": ("数据安全", "Security"),
    "nav.exchange": ("共享交换", "Exchange"),
    "nav.opendata": ("开放数据", "Open data"),
    "nav.login": ("工作人员登录", "Staff sign-in"),
    "nav.logout": ("退出登录", "Sign out"),
    "nav.user_menu": ("当前用户", "Signed-in user"),
    # display preferences
    "lang.switch": ("语言", "Language"),
    "text.switch": ("字号", "Text size"),
    "text.larger": ("大字模式", "Larger text"),
    "text.normal": ("标准字号", "Normal text"),
    "prefs.label": ("显示设置", "Display settings"),
    # sign-in
    "login.title": ("控制台登录", "Console sign-in"),
    "login.intro": (
        "本控制台供各部门工作人员使用。请使用本单位分配的账号登录。",
        "This console is for staff of the departments. Sign in with the account your "
        "department gave you.",
    ),
    "login.username": ("用户名", "Username"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Sign in"),
    "login.error_heading": ("登录未成功", "Sign-in failed"),
    "login.help": (
        "忘记密码或账号被锁定，请联系本单位系统管理员。",
        "If you forgot your password or your account is locked, contact your platform admin.",
    ),
    "login.failed": ("用户名或密码不正确。", "The username or password is wrong."),
    "login.locked": (
        "密码连续输错次数过多，账号已暂时锁定。",
        "Too many wrong passwords in a row: the account is locked for a while.",
    ),
    "login.expired": (
        "登录页面已过期，请重新输入后登录。",
        "The sign-in page had expired; enter your details again.",
    ),
    "login.back_to_portal": ("返回门户首页", "Back to the portal"),
    # console
    "console.title": ("控制台", "Console"),
    "console.welcome": ("您好，{name}", "Hello, {name}"),
    "console.intro": (
        "这里是榕数平台的工作台。导航栏中尚未开放的栏目将陆续上线。",
        "This is the Rongshu workbench. Sections not yet open in the navigation will follow.",
    ),
    "console.your_roles": ("角色", "Roles"),
    "console.your_department": ("所属部门", "Department"),
    "console.counts": ("平台概况", "Platform at a glance"),
    "console.counts_live": ("数字每 10 秒自动更新。", "Figures update every 10 seconds."),
    "console.count.departments": ("部门", "Departments"),
    "console.count.users": ("用户", "Users"),
    "console.count.apps": ("应用", "Apps"),
    "console.count.audit_today": ("今日审计记录", "Audit entries today"),
    "console.activity_section": ("平台活动", "Platform activity"),
    "console.activity": ("今日审计记录（按小时）", "Audit entries today, by hour"),
    "console.activity_note": (
        "按北京时间统计，每分钟更新。",
        "Counted in Beijing time, updated every minute.",
    ),
    "console.activity_axis": ("条数", "Entries"),
    "console.chart_loading": ("图表加载中……", "Loading the chart…"),
    "console.chart_failed": (
        "图表暂时无法加载，请稍后刷新页面。",
        "The chart could not be loaded; reload the page later.",
    ),
    "console.shortcuts": ("常用功能", "Shortcuts"),
    # audit trail
    "audit.title": ("审计日志", "Audit trail"),
    "audit.intro": (
        "平台上每一次数据访问和管理操作都记入审计日志。"
        "日志以国密 SM3 哈希链接，并定期由 SM2 签名。",
        "Every data access and administrative action is written to the audit trail, chained "
        "by SM3 hashes and signed with SM2 at regular checkpoints.",
    ),
    "audit.filters": ("筛选条件", "Filters"),
    "audit.filter.actor": ("操作人", "Actor"),
    "audit.filter.department": ("部门代码", "Department code"),
    "audit.filter.action": ("操作类型", "Action"),
    "audit.filter.outcome": ("结果", "Outcome"),
    "audit.filter.outcome_any": ("全部", "Any"),
    "audit.filter.since": ("开始时间", "From"),
    "audit.filter.until": ("结束时间", "Until"),
    "audit.filter.time_note": ("时间均为北京时间。", "Times are Beijing time."),
    "audit.filter.apply": ("查询", "Search"),
    "audit.filter.reset": ("清除条件", "Clear filters"),
    "audit.col.seq": ("序号", "Seq"),
    "audit.col.time": ("时间（北京）", "Time (Beijing)"),
    "audit.col.actor": ("操作人", "Actor"),
    "audit.col.department": ("部门", "Department"),
    "audit.col.app": ("应用", "App"),
    "audit.col.action": ("操作", "Action"),
    "audit.col.object": ("对象", "Object"),
    "audit.col.purpose": ("用途 / 依据", "Purpose / basis"),
    "audit.col.outcome": ("结果", "Outcome"),
    "audit.col.row_count": ("行数", "Rows"),
    "audit.col.request_id": ("请求编号", "Request ID"),
    "audit.col.hash": ("哈希", "Hash"),
    "audit.outcome.ok": ("成功", "OK"),
    "audit.outcome.denied": ("拒绝", "Denied"),
    "audit.outcome.failed": ("失败", "Failed"),
    "audit.outcome.locked": ("已锁定", "Locked"),
    "audit.outcome.error": ("出错", "Error"),
    "audit.count": ("共 {count} 条记录", "{count} entries"),
    "audit.empty": ("没有符合条件的审计记录。", "No audit entries match these filters."),
    "audit.table_caption": ("审计记录，按序号从新到旧排列", "Audit entries, newest first"),
    "audit.export": ("导出当前结果", "Export these results"),
    "audit.export_note": (
        "导出操作本身也会记入审计日志。",
        "Exporting is itself written to the audit trail.",
    ),
    "audit.verify": ("校验日志链", "Verify the chain"),
    "audit.verify_hint": (
        "从第一条记录起重新计算哈希链并核对签名，记录较多时需要一些时间。",
        "Recomputes the hash chain from the first entry and checks the signatures; this takes "
        "a while when there are many entries.",
    ),
    "audit.verify.running": ("正在校验……", "Verifying…"),
    "audit.verify.ok": (
        "校验通过：日志链完整，签名有效。",
        "Verified: the chain is whole and the signatures are valid.",
    ),
    "audit.verify.failed": (
        "校验未通过：日志链有问题。",
        "Verification failed: the chain has a problem.",
    ),
    "audit.verify.entries": ("记录数", "Entries"),
    "audit.verify.checkpoints": ("签名检查点", "Signed checkpoints"),
    "audit.verify.last_seq": ("最后序号", "Last seq"),
    "audit.verify.unsigned_tail": ("未签名的最新记录", "Entries after the last checkpoint"),
    "audit.verify.key_fingerprint": ("签名密钥指纹", "Signing key fingerprint"),
    "audit.verify.seconds": ("用时（秒）", "Time taken (s)"),
    "audit.verify.problem": ("发现的问题", "Problem found"),
    "audit.verify.problem_seq": ("问题序号", "At seq"),
    "audit.verify.problem_kind": ("问题类型", "Kind"),
    # pagination
    "pager.label": ("分页", "Pagination"),
    "pager.previous": ("上一页", "Previous"),
    "pager.next": ("下一页", "Next"),
    "pager.status": ("第 {page} 页，共 {pages} 页", "Page {page} of {pages}"),
    # portal
    "portal.title": ("首页", "Home"),
    "portal.hero_title": ("榕城公共数据，一站查询", "Rongcheng's public data, in one place"),
    "portal.hero_lead": (
        "查找政府部门开放的数据集和接口，下载使用，或申请有条件开放的数据。",
        "Find the data sets and APIs that government departments open, download and use them, "
        "or apply for conditionally open data.",
    ),
    "portal.search_label": ("搜索开放数据", "Search open data"),
    "portal.search_placeholder": (
        "例如：公交线路、空气质量、企业登记",
        "e.g. bus routes, air quality, company registry",
    ),
    "portal.search_submit": ("搜索", "Search"),
    "portal.stats": ("平台数据", "The platform in figures"),
    "portal.stat.departments": ("接入部门", "Departments connected"),
    "portal.stat.datasets": ("开放数据集", "Open data sets"),
    "portal.stat.open_apis": ("开放接口", "Open APIs"),
    "portal.open_data": ("开放数据", "Open data"),
    "portal.open_data_empty": (
        "开放数据目录正在建设中，数据集发布后将在此列出。",
        "The open data catalog is being built; data sets will be listed here once published.",
    ),
    "portal.services": ("数据服务", "Data services"),
    "portal.services_empty": (
        "面向公众和企业的数据服务正在建设中。",
        "Data services for the public and companies are being built.",
    ),
    "portal.staff": ("工作人员入口", "For staff"),
    "portal.staff_text": (
        "各部门工作人员请登录控制台办理数据共享、治理和审批业务。",
        "Department staff sign in to the console to share, govern and approve data.",
    ),
    "portal.staff_login": ("登录控制台", "Sign in to the console"),
    # placeholder pages
    "placeholder.coming": (
        "此栏目正在建设中，将在后续版本中开放。",
        "This section is being built and will open in a later release.",
    ),
    "placeholder.back": ("返回控制台首页", "Back to the console home"),
    # errors, keyed by the error code of the JSON error shape
    "errors.heading": ("出错了", "Something went wrong"),
    "errors.status": ("状态码", "Status"),
    "errors.request_id": ("请求编号", "Request ID"),
    "errors.request_id_hint": (
        "如需帮助，请将请求编号告知系统管理员。",
        "If you need help, give this request ID to the platform admin.",
    ),
    "errors.back_home": ("返回首页", "Back to the home page"),
    "errors.bad_request.title": ("请求有误", "Bad request"),
    "errors.bad_request.message": (
        "提交的内容不完整或格式不对，请检查后重试。",
        "What was sent is incomplete or malformed; check it and try again.",
    ),
    "errors.validation_failed.title": ("填写的内容有误", "Some input is not valid"),
    "errors.validation_failed.message": (
        "请返回上一页，按提示修改后重新提交。",
        "Go back, correct what is marked and submit again.",
    ),
    "errors.not_authenticated.title": ("请先登录", "Please sign in"),
    "errors.not_authenticated.message": (
        "此页面需要登录后访问。",
        "You need to sign in to see this page.",
    ),
    "errors.permission_denied.title": ("没有权限", "Not allowed"),
    "errors.permission_denied.message": (
        "您的角色无权进行此操作。如有需要，请联系系统管理员。",
        "Your role may not do this. Ask the platform admin if you need it.",
    ),
    "errors.not_found.title": ("页面不存在", "Page not found"),
    "errors.not_found.message": (
        "您要找的页面不存在或已移走。",
        "The page you are looking for does not exist or has moved.",
    ),
    "errors.method_not_allowed.title": ("不支持的操作", "Not supported"),
    "errors.method_not_allowed.message": (
        "此地址不支持这种访问方式。",
        "This address does not accept this kind of request.",
    ),
    "errors.conflict.title": ("与现有数据冲突", "Conflicts with existing data"),
    "errors.conflict.message": (
        "操作与已有的数据冲突，请检查后重试。",
        "The action clashes with data that exists; check and try again.",
    ),
    "errors.job_failed.title": ("后台任务失败", "Background job failed"),
    "errors.job_failed.message": (
        "后台任务在重试后仍未完成，请查看任务日志。",
        "A background job still failed after its retries; see the job log.",
    ),
    "errors.job_timeout.title": ("后台任务超时", "Background job timed out"),
    "errors.job_timeout.message": (
        "后台任务未在等待时间内完成，请稍后查看结果。",
        "A background job did not finish in time; check its result later.",
    ),
    "errors.lake_storage_error.title": ("数据湖存储出错", "Lake storage failed"),
    "errors.lake_storage_error.message": (
        "数据湖写入失败（磁盘已满、只读或无权限），原有版本未受影响。",
        "Writing to the lake failed (disk full, read-only or no permission); "
        "the previous version is unchanged.",
    ),
    "errors.lake_query_failed.title": ("数据查询出错", "Query failed"),
    "errors.lake_query_failed.message": (
        "查询语句无法执行，请检查后重试。",
        "The query could not be run; check it and try again.",
    ),
    "errors.source_not_found.title": ("找不到数据源", "Source not found"),
    "errors.source_not_found.message": (
        "数据源文件或表不存在，请检查路径或表名。",
        "The source file or table does not exist; check the path or table name.",
    ),
    "errors.source_unreadable.title": ("数据源无法读取", "Source unreadable"),
    "errors.source_unreadable.message": (
        "数据源的编码或格式无法识别，请检查文件。",
        "The source's encoding or format cannot be read; check the file.",
    ),
    "errors.source_unavailable.title": ("数据源无法连接", "Source unavailable"),
    "errors.source_unavailable.message": (
        "暂时无法连接数据源，请稍后重试。",
        "The source cannot be reached right now; try again later.",
    ),
    "errors.source_credentials_refused.title": ("数据源拒绝了凭据", "Credentials refused"),
    "errors.source_credentials_refused.message": (
        "数据源拒绝了用户名或密码，请更新数据源的连接设置。",
        "The source refused the user name or password; update the source's connection.",
    ),
    "errors.payload_too_large.title": ("文件过大", "Upload too large"),
    "errors.payload_too_large.message": (
        "上传的内容超过了允许的大小。",
        "What was uploaded is larger than allowed.",
    ),
    "errors.unsupported_media_type.title": ("格式不支持", "Format not supported"),
    "errors.unsupported_media_type.message": (
        "不支持所提交内容的格式。",
        "The format of what was sent is not supported.",
    ),
    "errors.account_locked.title": ("账号已锁定", "Account locked"),
    "errors.account_locked.message": (
        "密码连续输错次数过多，账号暂时锁定，请稍后再试。",
        "Too many wrong passwords in a row; the account is locked for a while.",
    ),
    "errors.too_many_requests.title": ("请求过于频繁", "Too many requests"),
    "errors.too_many_requests.message": ("请稍候再试。", "Please wait a moment and try again."),
    "errors.internal_error.title": ("系统出错", "Server error"),
    "errors.internal_error.message": (
        "服务器处理请求时出错，此问题已被记录。请稍后再试。",
        "The server failed to handle the request; the problem has been logged. "
        "Please try again later.",
    ),
    "errors.http_error.title": ("请求未能完成", "The request could not be completed"),
    "errors.http_error.message": (
        "请返回上一页后重试。",
        "Go back and try again.",
    ),
    "errors.configuration_error.title": ("平台配置有误", "Platform misconfigured"),
    "errors.configuration_error.message": (
        "平台的配置不支持此操作，请联系系统管理员。",
        "The platform is not set up for this action; contact the platform admin.",
    ),
    # small words
    "common.none": ("无", "None"),
    "common.yes": ("是", "Yes"),
    "common.no": ("否", "No"),
}

MESSAGES: dict[str, dict[str, str]] = {lang: {} for lang in SUPPORTED_LANGUAGES}


def _check_language(lang: str) -> None:
    if lang not in MESSAGES:
        raise ValidationFailed(
            f"unsupported language {lang!r}; supported: {', '.join(SUPPORTED_LANGUAGES)}"
        )


def register_messages(lang: str, messages: Mapping[str, str]) -> None:
    """Add messages in one language; an area calls this once per language at import time.

    Registering the same text again is harmless; a different text for a key that exists raises
    :class:`Conflict`, so two areas cannot silently overwrite each other's wording.
    """
    _check_language(lang)
    catalog = MESSAGES[lang]
    clashes = [k for k, text in messages.items() if k in catalog and catalog[k] != text]
    if clashes:
        raise Conflict(f"messages already registered with other text in {lang}: {sorted(clashes)}")
    catalog.update(messages)


def register_pairs(pairs: Mapping[str, tuple[str, str]]) -> None:
    """Add messages given as ``key: (chinese, english)``, so both languages stay complete."""
    register_messages("zh-CN", {key: zh for key, (zh, _) in pairs.items()})
    register_messages("en", {key: en for key, (_, en) in pairs.items()})


class _KeepMissing(dict[str, object]):
    """Leaves ``{name}`` in place when a template forgot to pass ``name``."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def translate(lang: str, key: str, **params: object) -> str:
    """The message ``key`` in ``lang``, else in Chinese, else the key; ``params`` fill ``{x}``."""
    text = MESSAGES.get(lang, {}).get(key)
    if text is None:
        text = MESSAGES[FALLBACK_LANGUAGE].get(key, key)
    if params:
        return text.format_map(_KeepMissing(params))
    return text


def _match(tag: str) -> str | None:
    """The supported language a language tag asks for (``zh-Hans-CN`` → ``zh-CN``), if any."""
    primary = tag.strip().lower().replace("_", "-").split("-", 1)[0]
    if primary == "zh":
        return "zh-CN"
    if primary == "en":
        return "en"
    return None


def negotiate(cookie: str | None, accept_language: str | None, default: str) -> str:
    """The page language: the visitor's cookie, else the browser's preference, else ``default``."""
    fallback = default if default in SUPPORTED_LANGUAGES else FALLBACK_LANGUAGE
    if cookie:
        chosen = _match(cookie)
        if chosen is not None:
            return chosen
    if not accept_language:
        return fallback
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept_language.split(",")):
        tag, _, param = item.strip().partition(";")
        quality = 1.0
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                continue
        if tag and quality > 0:
            ranked.append((-quality, position, tag))
    for _, _, tag in sorted(ranked):
        if tag.strip() == "*":
            return fallback
        chosen = _match(tag)
        if chosen is not None:
            return chosen
    return fallback


register_pairs(_SHELL)

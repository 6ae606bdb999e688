"""The portal's messages, Chinese and English (``opendata.*``; the account pages keep theirs in
``account_messages``), and the English names of its vocabulary.

Enumerations carry their Chinese label (``Theme.ENVIRONMENT.label`` is 资源环境); pages look
values up as ``opendata.<kind>.<value>`` so that English pages speak English too.
"""

from __future__ import annotations

from rongshu.catalog.messages import VOCABULARY, vocabulary_pairs
from rongshu.catalog.schemas import LabelledEnum, OpenType
from rongshu.core.i18n import register_pairs
from rongshu.opendata.schemas import Licence, RequestState, ShowcaseState, Theme

#: English names of the vocabulary, keyed by enumeration value.
_ENGLISH: dict[str, tuple[type[LabelledEnum], dict[str, str]]] = {
    "theme": (
        Theme,
        {
            "economy": "Economy",
            "environment": "Environment and resources",
            "transport": "Roads and transport",
            "public_safety": "Public safety",
            "health": "Health",
            "education": "Education and culture",
            "social": "Social welfare",
            "urban": "Housing and urban development",
            "agriculture": "Agriculture and rural affairs",
            "government": "Government and organisations",
        },
    ),
    "licence": (
        Licence,
        {
            "cc-by-4.0": "Creative Commons Attribution 4.0",
            "cc-zero": "CC0 public domain dedication",
            "odc-by": "Open Data Commons Attribution",
            "gov-open-cn": "Government open data licence (attribution, lawful use only)",
        },
    ),
    "access": (
        OpenType,
        {
            "unconditional": "Open to all",
            "conditional": "Conditional (apply to use)",
            "none": "Not open",
        },
    ),
    "update_cycle": VOCABULARY["update_cycle"],
    "request_state": (RequestState, {"open": "Awaiting answer", "answered": "Answered"}),
    "showcase_state": (
        ShowcaseState,
        {"pending": "Awaiting review", "approved": "Shown", "refused": "Not shown"},
    ),
}


_MESSAGES: dict[str, tuple[str, str]] = {
    # navigation and sections
    "opendata.nav.requests": ("数据需求", "Data requests"),
    "opendata.nav.showcase": ("应用成果", "Showcase"),
    "opendata.nav.feedback": ("开放数据反馈", "Open-data feedback"),
    "opendata.sections": ("开放数据栏目", "Open data sections"),
    "opendata.section.datasets": ("数据集", "Datasets"),
    "opendata.section.requests": ("数据需求", "Data requests"),
    "opendata.section.showcase": ("应用成果", "Showcase"),
    "opendata.breadcrumb": ("当前位置", "You are here"),
    "opendata.sign_in": ("登录", "Sign in"),
    "opendata.member.signed_in": ("您好，{name}", "Signed in as {name}"),
    "opendata.member.account": ("我的账号", "My account"),
    "opendata.member.logout": ("退出", "Sign out"),
    "opendata.member.register": ("注册", "Register"),
    "opendata.all": ("全部", "All"),
    "opendata.choose": ("请选择", "Choose…"),
    "opendata.filter": ("筛选", "Filter"),
    "opendata.empty_value": ("—", "—"),
    "opendata.punct.colon": ("：", ": "),
    "opendata.punct.list": ("、", ", "),
    "opendata.version": ("第 {version} 版", "Version {version}"),
    "opendata.no_release": ("此数据集尚无可下载的数据。", "This dataset has no released data yet."),
    # messages after a step
    "opendata.done.commented": ("感谢您的评价！", "Thank you for your feedback!"),
    "opendata.done.requested": (
        "数据需求已提交，相关部门答复后将在此公开。",
        "Your request was sent; the department's answer will be shown here.",
    ),
    "opendata.done.submitted": (
        "应用已提交，大数据局审核通过后将公开展示。",
        "Your application was submitted; it is shown once the big-data bureau approves it.",
    ),
    "opendata.done.answered": ("答复已公开。", "The answer is published."),
    "opendata.done.approved": ("已通过，应用已公开展示。", "Approved: the application is shown."),
    "opendata.done.refused": ("已不予展示，理由已告知提交人。", "Refused: the submitter sees why."),
    # problems with forms
    "opendata.invalid.rating": ("请选择 1 至 5 星。", "Choose from 1 to 5 stars."),
    "opendata.invalid.text": ("评论最多 2000 字。", "A comment has at most 2,000 characters."),
    "opendata.invalid.empty_comment": (
        "请打分或填写评论（或两者都填）。",
        "Give a rating, a comment, or both.",
    ),
    "opendata.invalid.title": (
        "请填写 2 至 200 字的标题。",
        "Give a title of 2 to 200 characters.",
    ),
    "opendata.invalid.description": (
        "请填写说明（至少 2 个字）。",
        "Describe it (2 characters at least).",
    ),
    "opendata.invalid.department_code": ("请选择部门。", "Choose a department."),
    "opendata.invalid.url": (
        "请填写以 https:// 或 http:// 开头的链接。",
        "Give a link that starts with https:// or http://.",
    ),
    "opendata.invalid.datasets": (
        "请至少选择一个使用的开放数据集。",
        "Choose at least one open dataset the application uses.",
    ),
    "opendata.problem.datasets.unknown": (
        "没有这些开放数据集：{value}",
        "There is no open dataset {value}",
    ),
    "opendata.problem.department_code.unknown": ("没有这个部门。", "There is no such department."),
    "opendata.invalid.answer": ("请填写答复内容。", "Write the answer."),
    "opendata.invalid.reason": ("不予展示时请填写理由。", "Give a reason when refusing."),
    # search
    "opendata.search.title": ("开放数据", "Open data"),
    "opendata.search.intro": (
        "查找各部门开放的数据集：预览、下载，或通过接口调用。",
        "Find the datasets departments open: preview, download, or call them through the API.",
    ),
    "opendata.search.label": ("搜索数据集", "Search datasets"),
    "opendata.search.placeholder": (
        "例如：空气质量、停车、企业登记",
        "e.g. air quality, parking, company registry",
    ),
    "opendata.search.submit": ("搜索", "Search"),
    "opendata.search.sort": ("排序", "Sort by"),
    "opendata.search.loading": ("正在加载…", "Loading…"),
    "opendata.search.filters": ("筛选", "Filters"),
    "opendata.search.selected": ("（已选）", "(selected)"),
    "opendata.search.chosen": ("已选条件：", "Filters:"),
    "opendata.search.remove_filter": ("移除此条件", "Remove this filter"),
    "opendata.search.clear": ("清除全部", "Clear all"),
    "opendata.search.total": ("共 {count} 个数据集", "{count} datasets"),
    "opendata.search.total_for": ("“{q}”共 {count} 个数据集", "{count} datasets for “{q}”"),
    "opendata.search.problem": ("搜索条件有误", "The search could not be run"),
    "opendata.search.no_results": (
        "没有符合条件的数据集，试试更少的条件或其他关键词。",
        "No dataset matches; try fewer filters or other words.",
    ),
    "opendata.search.empty": ("暂无开放数据集。", "No dataset is open yet."),
    "opendata.facet.organization": ("部门", "Department"),
    "opendata.facet.groups": ("主题", "Theme"),
    "opendata.facet.tags": ("标签", "Tags"),
    "opendata.facet.res_format": ("格式", "Format"),
    "opendata.facet.license_id": ("许可协议", "Licence"),
    "opendata.facet.access": ("开放方式", "Access"),
    "opendata.sort.relevance": ("相关度", "Relevance"),
    "opendata.sort.updated": ("最近更新", "Recently updated"),
    "opendata.sort.created": ("最新开放", "Newly opened"),
    "opendata.sort.title": ("名称", "Title"),
    "opendata.sort.views": ("浏览最多", "Most viewed"),
    "opendata.hit.updated": ("更新于 {date}", "Updated {date}"),
    "opendata.hit.rows": ("{count} 行", "{count} rows"),
    # one dataset
    "opendata.counts.title": ("使用情况", "Use"),
    "opendata.counts.views": ("浏览", "Views"),
    "opendata.counts.downloads": ("下载", "Downloads"),
    "opendata.counts.calls": ("接口调用", "API calls"),
    "opendata.counts.quality": ("质量评分", "Quality score"),
    "opendata.counts.no_quality": ("暂无", "Not yet"),
    "opendata.counts.rating": ("用户评分", "Rating"),
    "opendata.about": ("数据集说明", "About this dataset"),
    "opendata.attr.department": ("提供部门", "Department"),
    "opendata.attr.updated": ("更新时间", "Updated"),
    "opendata.attr.theme": ("主题", "Theme"),
    "opendata.attr.licence": ("许可协议", "Licence"),
    "opendata.attr.update_cycle": ("更新周期", "Update cycle"),
    "opendata.attr.temporal": ("时间范围", "Time covered"),
    "opendata.attr.spatial": ("空间范围", "Area covered"),
    "opendata.attr.resource": ("目录资源", "Catalog resource"),
    "opendata.attr.created": ("开放日期", "Opened on"),
    "opendata.attr.version": ("当前版本", "Current version"),
    "opendata.attr.rows": ("数据量（行）", "Rows"),
    "opendata.attr.privacy": ("隐私保护", "Privacy"),
    "opendata.attr.condition": ("开放条件", "Condition"),
    "opendata.privacy": (
        "按 k={k} 匿名化：{suppressed} 行的准标识字段已置空，{dropped} 行未发布。",
        "k-anonymity with k={k}: quasi-identifiers blanked in {suppressed} rows, {dropped} rows "
        "left out.",
    ),
    "opendata.conditional.title": ("有条件开放数据", "Conditional open data"),
    "opendata.conditional.text": (
        "此数据集需申请使用：说明用途并经提供部门审批通过后，方可预览、下载和调用接口。",
        "This dataset needs an application: once the department approves your purpose, you can "
        "preview, download and call it.",
    ),
    "opendata.conditional.apply": ("申请使用", "Apply to use"),
    "opendata.fields.title": ("数据项", "Field dictionary"),
    "opendata.fields.name": ("字段名", "Column"),
    "opendata.fields.label": ("中文名称", "Name"),
    "opendata.fields.type": ("类型", "Type"),
    "opendata.fields.description": ("说明", "Description"),
    "opendata.preview.title": ("数据预览", "Preview"),
    "opendata.preview.caption": ("前 {shown} 行，共 {rows} 行", "First {shown} of {rows} rows"),
    "opendata.preview.null": ("空值", "empty"),
    "opendata.preview.more": (
        "通过数据接口查看更多行",
        "See more rows through the datastore API",
    ),
    "opendata.preview.conditional": (
        "有条件开放数据不提供公开预览和下载：请登录并申请，审批通过后即可查看。",
        "Conditional open data has no public preview or download: sign in and apply; you can "
        "read it once approved.",
    ),
    "opendata.preview.no_grant": (
        "您还没有此数据集的有效授权：申请通过后即可预览和下载。",
        "You hold no approval for this dataset yet: once an application is approved you can "
        "preview and download it.",
    ),
    "opendata.chart.title": ("数据图表", "Chart"),
    "opendata.chart.line": ("{measure}随{x}变化（平均值）", "{measure} over {x} (average)"),
    "opendata.chart.bar_mean": ("各{x}的{measure}（平均值）", "{measure} by {x} (average)"),
    "opendata.chart.bar_count": ("各{x}的记录数", "Rows by {x}"),
    "opendata.chart.rows": ("记录数", "Rows"),
    "opendata.chart.measure": ("显示字段", "Show"),
    "opendata.chart.show": ("显示", "Show"),
    "opendata.chart.loading": ("图表加载中…", "Loading the chart…"),
    "opendata.chart.error": ("图表暂时无法显示。", "The chart cannot be shown right now."),
    "opendata.chart.note_line": (
        "按时间分段取平均值（北京时间），最多 2000 个点。",
        "Averages per time bucket (Beijing time), at most 2,000 points.",
    ),
    "opendata.chart.note_bar": (
        "最多显示 30 个类别，按数值从大到小排列。",
        "At most 30 categories, largest first.",
    ),
    "opendata.downloads.title": ("下载", "Downloads"),
    "opendata.downloads.latest": (
        "第 {version} 版，{date} 发布",
        "Version {version}, released {date}",
    ),
    "opendata.downloads.conditional": (
        "有条件开放数据需申请通过后下载。",
        "Conditional open data can be downloaded once an application is approved.",
    ),
    "opendata.file.csv": ("CSV（UTF-8）", "CSV (UTF-8)"),
    "opendata.file.csv-gb18030": ("CSV（GB18030）", "CSV (GB18030)"),
    "opendata.file.xlsx": ("Excel", "Excel"),
    "opendata.file.json": ("JSON", "JSON"),
    "opendata.file.parquet": ("Parquet", "Parquet"),
    "opendata.versions.title": ("历史版本", "Earlier versions"),
    "opendata.versions.refused": (
        "此版本未发布（未通过个人信息检查）。",
        "This version was not released (it failed the personal-information check).",
    ),
    "opendata.twins.title": ("其他格式", "Other formats"),
    "opendata.api.title": ("接口调用示例", "API examples"),
    "opendata.api.intro": (
        "本平台兼容 CKAN 接口，可用 curl、Python requests 或 ckanapi 调用。",
        "The portal speaks CKAN's API: call it with curl, Python requests or ckanapi.",
    ),
    "opendata.api.key": (
        "有条件开放数据须在请求头带上申请通过后获得的 API Key。",
        "Conditional data needs the API key you get once your application is approved.",
    ),
    "opendata.api.key_comment": ("申请通过后在“我的账号”获取", "from My account, once approved"),
    "opendata.api.package_show": ("数据集信息", "The dataset's metadata"),
    "opendata.api.datastore_search": ("查询数据行", "Rows of the data"),
    "opendata.api.ckanapi": ("或使用 ckanapi", "or with ckanapi"),
    "opendata.api.copy": ("复制", "Copy"),
    "opendata.api.copied": ("已复制", "Copied"),
    # ratings and comments
    "opendata.rating.none": ("暂无评分", "No ratings yet"),
    "opendata.rating.value": ("{rating} 星（满分 5 星）", "{rating} out of 5 stars"),
    "opendata.rating.summary": ("{rating} 分，{count} 人评分", "{rating} from {count} ratings"),
    "opendata.rating.votes": ("{count} 人评分", "{count} ratings"),
    "opendata.rating.stars": ("{n} 星", "{n} stars"),
    "opendata.comments.title": ("评分与评论", "Ratings and comments"),
    "opendata.comments.rate": ("您的评分", "Your rating"),
    "opendata.comments.no_rating": ("不评分", "No rating"),
    "opendata.comments.text": ("评论", "Comment"),
    "opendata.comments.hint": (
        "请文明发言；评论连同您的昵称公开显示。再次评分以最新一次为准。",
        "Be courteous; comments are public with your display name. Rating again replaces your "
        "earlier rating.",
    ),
    "opendata.comments.submit": ("提交", "Post"),
    "opendata.comments.sign_in": ("登录后可评分和评论", "Sign in to rate and comment"),
    "opendata.comments.none": ("还没有评论。", "No comments yet."),
    "opendata.comments.more": (
        "显示最近 {shown} 条，共 {total} 条。",
        "The latest {shown} of {total}.",
    ),
    # data requests
    "opendata.requests.title": ("数据需求", "Data requests"),
    "opendata.requests.intro": (
        "希望开放哪些数据？向相关部门提出需求，部门的答复将在此公开。",
        "What data would you like opened? Ask the department; its answer is published here.",
    ),
    "opendata.requests.filter": ("筛选数据需求", "Filter the requests"),
    "opendata.requests.state": ("状态", "State"),
    "opendata.requests.total": ("共 {count} 条需求", "{count} requests"),
    "opendata.requests.to": ("提交给：{department}", "To: {department}"),
    "opendata.requests.by": ("提出人：{who}", "From: {who}"),
    "opendata.requests.answer": ("{department}答复：", "{department} answered:"),
    "opendata.requests.none": ("暂无数据需求。", "No requests yet."),
    "opendata.requests.new": ("提出数据需求", "Request data"),
    "opendata.requests.field.title": ("需要什么数据", "What data"),
    "opendata.requests.field.department": ("向哪个部门提出", "Department"),
    "opendata.requests.field.description": ("用途与说明", "Purpose and details"),
    "opendata.requests.hint": (
        "说明需要哪些字段、时间范围和用途，便于部门答复。需求与答复均公开。",
        "Say which fields, time span and purpose; requests and answers are public.",
    ),
    "opendata.requests.submit": ("提交需求", "Send request"),
    "opendata.requests.sign_in": ("登录后提出数据需求", "Sign in to request data"),
    # showcase
    "opendata.showcase.title": ("应用成果", "Showcase"),
    "opendata.showcase.intro": (
        "社会各界利用开放数据开发的应用，经大数据局审核后在此展示。",
        "Applications built on open data, shown once the big-data bureau has reviewed them.",
    ),
    "opendata.showcase.total": ("共 {count} 个应用", "{count} applications"),
    "opendata.showcase.uses": ("使用数据", "Uses"),
    "opendata.showcase.by": ("提交人：{who}", "By {who}"),
    "opendata.showcase.none": ("暂无展示的应用。", "No application is shown yet."),
    "opendata.showcase.mine": ("我提交的应用", "My submissions"),
    "opendata.showcase.reason": ("审核意见", "Review note"),
    "opendata.showcase.new": ("提交应用成果", "Submit an application"),
    "opendata.showcase.review_note": (
        "提交后由大数据局审核，通过后公开展示。",
        "The big-data bureau reviews each submission before it is shown.",
    ),
    "opendata.showcase.field.title": ("应用名称", "Name"),
    "opendata.showcase.field.url": ("应用链接", "Link"),
    "opendata.showcase.field.description": ("应用简介", "Description"),
    "opendata.showcase.field.datasets": ("使用的开放数据集", "Open datasets it uses"),
    "opendata.showcase.submit": ("提交审核", "Submit for review"),
    "opendata.showcase.sign_in": ("登录后提交应用", "Sign in to submit"),
    # console
    "opendata.console.requests": ("数据需求答复", "Answer data requests"),
    "opendata.console.requests_intro": (
        "公众向本部门提出的数据需求。答复将在门户公开。",
        "Requests the public addressed to your department. Answers are published on the portal.",
    ),
    "opendata.console.show_open": ("待答复", "Awaiting answer"),
    "opendata.console.show_all": ("全部", "All"),
    "opendata.console.answer": ("答复", "Answer"),
    "opendata.console.answer_hint": (
        "说明是否开放、何时开放，或不能开放的理由。",
        "Say whether and when the data will be opened, or why it cannot be.",
    ),
    "opendata.console.answer_submit": ("公开答复", "Publish the answer"),
    "opendata.console.answer_update": ("更新答复", "Update the answer"),
    "opendata.console.no_requests": ("没有待处理的数据需求。", "No requests to handle."),
    "opendata.console.showcase": ("应用成果审核", "Review the showcase"),
    "opendata.console.showcase_intro": (
        "公众提交的应用成果，通过后在门户展示。",
        "Applications the public submitted; approved ones are shown on the portal.",
    ),
    "opendata.console.reason": ("审核意见", "Note"),
    "opendata.console.reason_hint": (
        "不予展示时必填，提交人可见。",
        "Required when refusing; the submitter sees it.",
    ),
    "opendata.console.approve": ("通过并展示", "Approve and show"),
    "opendata.console.refuse": ("不予展示", "Refuse"),
    "opendata.console.take_down": ("撤下展示", "Take down"),
    "opendata.console.no_showcase": ("没有此类应用。", "No applications here."),
    # the portal's home
    "opendata.home.featured": ("精选数据集", "Featured datasets"),
    "opendata.home.all_datasets": ("查看全部 {count} 个数据集", "All {count} datasets"),
    "opendata.home.views": ("{count} 次浏览", "{count} views"),
    "opendata.home.downloads": ("累计下载", "Downloads"),
    "opendata.home.calls": ("接口调用", "API calls"),
    "opendata.home.browse": ("浏览开放数据", "Browse open data"),
    "opendata.home.open_data_text": (
        "按部门、主题、格式查找数据集，在线预览和下载，或提出数据需求。",
        "Find datasets by department, theme or format; preview and download them, or ask for "
        "data that is not open yet.",
    ),
}


def register_opendata_messages() -> None:
    """Add the portal's messages to the catalog (idempotent)."""
    register_pairs({**vocabulary_pairs("opendata", _ENGLISH), **_MESSAGES})

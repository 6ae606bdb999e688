"""The quality pages' messages (dashboard, runs, a resource's rules and profile), Chinese and
English. The Chinese names of severities, dimensions and standards are the ones the code keeps
(``Severity``, ``Dimension``, ``rongshu.standards``); only their English names are added here."""

from __future__ import annotations

from rongshu.core.i18n import register_pairs
from rongshu.quality.schemas import Dimension, RuleKind, Severity
from rongshu.standards import STANDARDS

_KINDS: dict[RuleKind, tuple[str, str]] = {
    RuleKind.NOT_NULL: ("非空", "Not null"),
    RuleKind.UNIQUE: ("唯一", "Unique"),
    RuleKind.ENUM: ("代码表", "Code table"),
    RuleKind.RANGE: ("取值范围", "Range"),
    RuleKind.LENGTH: ("长度", "Length"),
    RuleKind.REGEX: ("格式（正则表达式）", "Pattern (regex)"),
    RuleKind.STANDARD: ("国家标准", "National standard"),
    RuleKind.RIC_BIRTH_DATE: ("出生日期与身份号码一致", "Birth date agrees with ID number"),
    RuleKind.RIC_GENDER: ("性别与身份号码一致", "Gender agrees with ID number"),
    RuleKind.RIC_REGION: ("行政区划与身份号码一致", "Region agrees with ID number"),
    RuleKind.REFERENTIAL: ("引用存在", "Value exists in another resource"),
    RuleKind.TIMELINESS: ("及时更新", "Timeliness"),
    RuleKind.CUSTOM_SQL: ("自定义表达式", "Custom SQL"),
}
_SEVERITIES = {Severity.ERROR: "Error", Severity.WARNING: "Warning", Severity.INFO: "Info"}
_DIMENSIONS = {
    Dimension.COMPLETENESS: "Completeness",
    Dimension.VALIDITY: "Validity",
    Dimension.ACCURACY: "Accuracy",
    Dimension.CONSISTENCY: "Consistency",
    Dimension.UNIQUENESS: "Uniqueness",
    Dimension.TIMELINESS: "Timeliness",
    Dimension.ACCESSIBILITY: "Accessibility",
}
_STANDARDS = {
    "ric": "Resident ID number (GB 11643)",
    "ric15": "15-digit resident ID number (old, GB 11643)",
    "uscc": "Unified social credit code (GB 32100)",
    "region": "Region code (GB/T 2260)",
    "mobile": "Mobile number",
    "phone": "Phone number (mobile or fixed line)",
    "postcode": "Postcode",
    "email": "E-mail address",
    "plate": "Vehicle plate (GA 36)",
    "bank_card": "Bank card number",
    "date": "Date (GB/T 7408, YYYY-MM-DD)",
}


def _vocabulary() -> dict[str, tuple[str, str]]:
    return {
        **{f"quality.kind.{k.value}": pair for k, pair in _KINDS.items()},
        **{f"quality.severity.{s.value}": (s.label, en) for s, en in _SEVERITIES.items()},
        **{f"quality.dimension.{d.value}": (d.label, en) for d, en in _DIMENSIONS.items()},
        **{
            f"quality.standard.{name}": (standard.label, _STANDARDS.get(name, standard.label))
            for name, standard in STANDARDS.items()
        },
        "quality.status.running": ("检查中", "Running"),
        "quality.status.succeeded": ("已完成", "Succeeded"),
        "quality.status.failed": ("失败", "Failed"),
        "quality.origin.catalog": ("资源目录", "Catalog"),
        "quality.origin.steward": ("数据管理员", "Steward"),
        # a rule's parameters
        "quality.param.values": ("允许的值", "Allowed values"),
        "quality.param.min": ("下限", "Minimum"),
        "quality.param.max": ("上限", "Maximum"),
        "quality.param.pattern": ("正则表达式", "Regular expression"),
        "quality.param.standard": ("标准", "Standard"),
        "quality.param.id_field": ("身份号码所在信息项", "Field with the ID number"),
        "quality.param.level": ("比对位数", "Digits compared"),
        "quality.param.resource": ("被引用资源代码", "Code of the resource referred to"),
        "quality.param.column": ("被引用信息项", "Its field"),
        "quality.param.max_age_hours": ("最长间隔（小时）", "Longest gap (hours)"),
        "quality.param.predicate": ("SQL 表达式", "SQL expression"),
        "quality.level.2": ("2 位（省）", "2 (province)"),
        "quality.level.4": ("4 位（市）", "4 (city)"),
        "quality.level.6": ("6 位（县区）", "6 (county)"),
        "quality.hint.enum": ("每行一个值。", "One value a line."),
        "quality.hint.range": (
            "数值或日期（YYYY-MM-DD），可只填一端。",
            "Numbers or dates (YYYY-MM-DD); one end may be left empty.",
        ),
        "quality.hint.length": (
            "按字符计，可只填一端。",
            "In characters; one end may be left empty.",
        ),
        "quality.hint.regex": (
            "整个值须匹配；未以 ^ 开头、$ 结尾时自动加上。",
            "The whole value must match; ^ and $ are added when missing.",
        ),
        "quality.hint.timeliness": (
            "留空则按资源的更新周期。",
            "Leave empty to use the resource's update cycle.",
        ),
        "quality.hint.custom_sql": (
            "对每行为真的布尔表达式，只能使用本资源的字段，例如 age >= 0 AND age <= 120。",
            "A boolean expression that holds for each row, over this resource's fields only, "
            "e.g. age >= 0 AND age <= 120.",
        ),
    }


_PAGES: dict[str, tuple[str, str]] = {
    "quality.title": ("数据治理", "Data quality"),
    "quality.intro": (
        "每次加载的新版本都按规则检查，按 GB/T 36344 的各维度评分，问题数据退回所属部门纠错。",
        "Every version a load writes is checked against its rules and scored on the GB/T 36344 "
        "dimensions; problem data goes back to the department that owns it.",
    ),
    "quality.sections": ("数据治理栏目", "Quality sections"),
    "quality.section.dashboard": ("质量总览", "Dashboard"),
    "quality.section.corrections": ("纠错工单", "Corrections"),
    "quality.breadcrumb": ("位置", "You are here"),
    "quality.json_twin": ("本页数据的 JSON 接口", "This page as JSON"),
    "quality.punct.colon": ("：", ": "),
    "quality.none": ("–", "–"),
    "quality.yes": ("是", "Yes"),
    "quality.no": ("否", "No"),
    "quality.link.resource": (
        "数据质量：评分、规则与检查记录",
        "Data quality: scores, rules, runs",
    ),
    # the dashboard
    "quality.cards.departments": ("参与排名的部门", "Departments ranked"),
    "quality.cards.resources": ("已检查的资源", "Resources checked"),
    "quality.cards.rows": ("最近一次检查的行数", "Rows in the latest runs"),
    "quality.cards.failing_rows": ("其中问题行", "Of which failing"),
    "quality.filter.department": ("部门", "Department"),
    "quality.filter.all": ("全部部门", "All departments"),
    "quality.filter.apply": ("查看", "Show"),
    "quality.league.title": ("部门质量排名", "Department league table"),
    "quality.league.note": (
        "各部门资源最近一次成功检查得分的平均值；尚未检查的部门不参与排名。",
        "The mean score of each department's resources' latest succeeded runs; departments "
        "with no run are left out.",
    ),
    "quality.league.rank": ("名次", "Rank"),
    "quality.league.department": ("部门", "Department"),
    "quality.league.resources": ("资源数", "Resources"),
    "quality.league.chart": ("各部门综合得分（%）", "Overall score per department (%)"),
    "quality.league.empty": ("还没有成功的质量检查。", "No quality run has succeeded yet."),
    "quality.score": ("综合得分", "Score"),
    "quality.dimensions.title": ("各维度得分", "Scores per dimension"),
    "quality.dimensions.platform": (
        "全平台：各资源最近一次成功检查的平均。",
        "The whole platform: the mean of every resource's latest succeeded run.",
    ),
    "quality.dimensions.department": (
        "{name}：本部门各资源最近一次成功检查的平均。",
        "{name}: the mean of its resources' latest succeeded runs.",
    ),
    "quality.dimensions.run": ("本次检查。", "This run."),
    "quality.dimensions.chart": ("各维度得分（%）", "Score per dimension (%)"),
    "quality.dimensions.dimension": ("维度", "Dimension"),
    "quality.dimensions.score": ("得分", "Score"),
    "quality.dimensions.empty": ("没有可评分的维度。", "No dimension has a score."),
    "quality.department.resources": ("{name}的资源", "Resources of {name}"),
    "quality.trend.title": ("得分趋势", "Score trend"),
    "quality.trend.note": (
        "最近 {count} 次成功检查的综合得分，从早到晚。",
        "The overall score of the latest {count} succeeded runs, oldest first.",
    ),
    "quality.trend.chart": ("综合得分趋势（%）", "Overall score trend (%)"),
    "quality.trend.table": ("趋势数据表", "The trend as a table"),
    "quality.trend.when": ("检查完成时间", "Finished"),
    "quality.trend.empty": ("还没有成功的检查。", "No run has succeeded yet."),
    # runs
    "quality.runs.title": ("最近的检查", "Latest runs"),
    "quality.runs.count": ("最近的检查（共 {count} 次）", "Latest runs ({count} in all)"),
    "quality.runs.empty": ("还没有质量检查记录。", "No quality run yet."),
    "quality.run.id": ("检查", "Run"),
    "quality.run.resource": ("数据资源", "Resource"),
    "quality.run.department": ("部门", "Department"),
    "quality.run.version": ("数据版本", "Version"),
    "quality.run.rows": ("行数", "Rows"),
    "quality.run.failing_rows": ("问题行", "Failing rows"),
    "quality.run.status": ("状态", "Status"),
    "quality.run.started": ("开始时间", "Started"),
    "quality.run.seconds": ("用时（秒）", "Seconds"),
    "quality.run.triggered_by": ("发起人", "Triggered by"),
    "quality.run.title": ("质量检查 #{id}", "Quality run #{id}"),
    "quality.run.results": ("各规则的检查结果", "What each rule found"),
    "quality.result.rule": ("规则", "Rule"),
    "quality.result.field": ("信息项", "Field"),
    "quality.result.params": ("参数", "Parameters"),
    "quality.result.severity": ("严重程度", "Severity"),
    "quality.result.dimension": ("维度", "Dimension"),
    "quality.result.checked": ("检查行数", "Checked"),
    "quality.result.failing": ("不通过", "Failing"),
    "quality.result.pass_rate": ("通过率", "Pass rate"),
    "quality.result.note": ("说明", "Note"),
    "quality.result.whole_resource": ("（整个资源）", "(the resource)"),
    "quality.failing.title": ("问题数据", "Failing rows"),
    "quality.failing.intro": (
        "共 {count} 条（每行每条规则一条），每页 {size} 条。查看问题数据记入审计日志。",
        "{count} in all (one per row and rule), {size} a page. Reading them is written to "
        "the audit trail.",
    ),
    "quality.failing.rule": ("只看规则", "Rule"),
    "quality.failing.all_rules": ("全部规则", "Every rule"),
    "quality.failing.key": ("行标识", "Row key"),
    "quality.failing.value": ("值", "Value"),
    "quality.failing.reason": ("原因", "Reason"),
    "quality.failing.none": ("本次检查没有问题数据。", "This run found no failing rows."),
    "quality.failing.not_yours": (
        "问题数据只向所属部门的数据管理员和审批员展示；上方的数量人人可见。",
        "Failing rows are shown to the owning department's stewards and approvers only; the "
        "counts above are for everyone.",
    ),
    # a resource
    "quality.resource.title": ("{name}：数据质量", "{name}: data quality"),
    "quality.resource.catalog": ("目录信息", "In the catalog"),
    "quality.resource.versions": ("数据版本", "Versions"),
    "quality.resource.latest": ("最近一次成功检查", "Latest succeeded run"),
    "quality.resource.never_checked": (
        "尚未成功检查过。数据加载后会自动检查。",
        "Not checked yet. Each load is checked once it has finished.",
    ),
    "quality.resource.runs": ("检查记录（共 {count} 次）", "Runs ({count} in all)"),
    "quality.rules.title": ("质量规则（{count} 条）", "Quality rules ({count})"),
    "quality.rules.empty": (
        "还没有规则：第一次检查或“从目录同步”时，按资源目录中各信息项登记的规则生成。",
        "No rules yet: the first run, or “Sync from the catalog”, makes them from the rules "
        "the catalog lists for each field.",
    ),
    "quality.rules.read_only": (
        "只有 {department} 的数据管理员可以修改这些规则。",
        "Only data stewards of {department} change these rules.",
    ),
    "quality.rule.kind": ("类型", "Kind"),
    "quality.rule.enabled": ("启用", "Enabled"),
    "quality.rule.origin": ("来源", "From"),
    "quality.rule.change": ("修改", "Change"),
    "quality.rule.change_title": ("修改规则 #{id}", "Change rule #{id}"),
    "quality.rule.save": ("保存", "Save"),
    "quality.rule.delete": ("删除", "Delete"),
    "quality.rule.catalog_params": (
        "来自资源目录的规则，参数请在资源目录中修改信息项的规则后同步。",
        "A rule from the catalog: change its parameters in the catalog's field, then sync.",
    ),
    "quality.rule.replace_note": (
        "修改参数会以新规则替换原规则（审计日志记录删除与新增）。",
        "Changing the parameters replaces the rule with a new one (the audit trail shows both).",
    ),
    "quality.editor.title": ("添加规则", "Add a rule"),
    "quality.editor.choose_kind": ("规则类型", "Kind of rule"),
    "quality.editor.kind_required": ("请先选择规则类型。", "Choose the kind of rule first."),
    "quality.editor.next": ("填写参数", "Next"),
    "quality.editor.field": ("信息项", "Field"),
    "quality.editor.choose_field": ("请选择信息项", "Choose a field"),
    "quality.editor.any_field": ("（不指定，见表达式）", "(none: see the expression)"),
    "quality.editor.default_dimension": ("按类型默认", "The kind's default"),
    "quality.editor.add": ("添加规则", "Add the rule"),
    "quality.editor.errors": ("规则有问题，未保存", "The rule has problems and was not saved"),
    "quality.editor.general": ("规则", "Rule"),
    "quality.actions.title": ("操作", "Actions"),
    "quality.actions.run": ("立即检查", "Check now"),
    "quality.actions.run_hint": (
        "按当前规则检查最新版本；有任务队列时在后台运行。",
        "Checks the latest version against the rules now; runs in the background when a job "
        "queue runs.",
    ),
    "quality.actions.sync": ("从目录同步", "Sync from the catalog"),
    "quality.actions.sync_hint": (
        "按资源目录中各信息项的规则增删“资源目录”来源的规则；数据管理员添加的规则不变。",
        "Adds and removes the rules that come from the catalog's fields; stewards' own rules "
        "stay as they are.",
    ),
    "quality.actions.profile": ("数据画像与规则建议", "Profile and suggested rules"),
    "quality.actions.failed": ("未能检查", "Could not check"),
    "quality.done.added": (
        "规则已添加，下次检查时生效。",
        "The rule is added; the next run uses it.",
    ),
    "quality.done.updated": ("规则已修改。", "The rule is changed."),
    "quality.done.deleted": ("规则已删除。", "The rule is removed."),
    "quality.done.synced": (
        "已从目录同步：新增 {added} 条，移除 {removed} 条，{skipped} 项无法生成规则。",
        "Synced from the catalog: {added} added, {removed} removed, {skipped} could not make "
        "a rule.",
    ),
    "quality.done.accepted": ("已采纳 {count} 条建议的规则。", "{count} suggested rules added."),
    "quality.done.queued": (
        "检查已加入任务队列，稍后刷新本页查看结果。",
        "The run is queued; reload this page later for the result.",
    ),
    "quality.done.ran": ("检查已完成。", "The run has finished."),
    # profiling
    "quality.profile.title": ("{name}：数据画像", "{name}: profile"),
    "quality.profile.intro": (
        "第 {version} 版共 {rows} 行。空值与不同值数为全量统计，"
        "常见值与格式取自 {sample} 行均匀样本。查看画像记入审计日志。",
        "Version {version}, {rows} rows. Nulls and distinct values count every row; frequent "
        "values and shapes come from an even sample of {sample} rows. Reading the profile is "
        "written to the audit trail.",
    ),
    "quality.profile.column": ("字段", "Column"),
    "quality.profile.type": ("类型", "Type"),
    "quality.profile.nulls": ("空值率", "Nulls"),
    "quality.profile.distinct": ("不同值", "Distinct"),
    "quality.profile.top_values": ("常见值", "Frequent values"),
    "quality.profile.shapes": ("常见格式", "Frequent shapes"),
    "quality.profile.standards": ("符合国家标准", "Passes a standard"),
    "quality.profile.suggestions": ("建议的规则", "Suggested rules"),
    "quality.profile.support": ("符合比例", "Support"),
    "quality.profile.why": ("依据", "Why"),
    "quality.profile.accept": ("采纳", "Accept"),
    "quality.profile.accept_selected": ("采纳选中的规则", "Add the chosen rules"),
    "quality.profile.no_suggestions": (
        "没有新的规则建议（已有的规则不再建议）。",
        "No new suggestions (rules the resource has are not suggested again).",
    ),
    "quality.profile.no_data": ("无法生成画像", "No profile"),
}


def register_quality_messages() -> None:
    """Add the quality pages' messages to the page catalog (harmless when done twice)."""
    register_pairs({**_vocabulary(), **_PAGES})


register_quality_messages()

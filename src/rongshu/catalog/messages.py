"""The catalog pages' messages, Chinese and English, and the English names of its vocabulary.

Enumerations carry their Chinese label (``ShareType.CONDITIONAL.label`` is 有条件共享); the
pages look values up as ``catalog.<kind>.<value>`` so that English pages speak English too.
"""

from __future__ import annotations

from collections.abc import Mapping

from rongshu.catalog.schemas import (
    CatalogType,
    FieldType,
    Grade,
    LabelledEnum,
    OpenType,
    ResourceStatus,
    ShareMethod,
    ShareType,
    UpdateCycle,
)
from rongshu.core.i18n import register_pairs

#: English names of the vocabulary, keyed by enumeration value.
VOCABULARY: dict[str, tuple[type[LabelledEnum], dict[str, str]]] = {
    "catalog_type": (
        CatalogType,
        {"basic": "Basic", "thematic": "Thematic", "departmental": "Departmental"},
    ),
    "share_type": (
        ShareType,
        {
            "unconditional": "Shared unconditionally",
            "conditional": "Shared on conditions",
            "none": "Not shared",
        },
    ),
    "open_type": (
        OpenType,
        {
            "unconditional": "Open unconditionally",
            "conditional": "Open on conditions",
            "none": "Not open",
        },
    ),
    "share_method": (ShareMethod, {"api": "API", "batch": "Batch exchange", "file": "File"}),
    "update_cycle": (
        UpdateCycle,
        {
            "realtime": "Real time",
            "daily": "Daily",
            "weekly": "Weekly",
            "monthly": "Monthly",
            "quarterly": "Quarterly",
            "yearly": "Yearly",
            "irregular": "Irregular",
        },
    ),
    "grade": (
        Grade,
        {
            "general_1": "General, level 1",
            "general_2": "General, level 2",
            "general_3": "General, level 3",
            "general_4": "General, level 4",
            "important": "Important",
            "core": "Core",
        },
    ),
    "data_type": (
        FieldType,
        {
            "string": "Text",
            "integer": "Integer",
            "decimal": "Decimal",
            "date": "Date",
            "datetime": "Date and time",
            "boolean": "Yes/no",
            "binary": "Binary",
        },
    ),
    "status": (
        ResourceStatus,
        {
            "draft": "Draft",
            "submitted": "Awaiting review",
            "returned": "Returned",
            "published": "Published",
            "retired": "Retired",
        },
    ),
}


def vocabulary_pairs(
    area: str, english: Mapping[str, tuple[type[LabelledEnum], Mapping[str, str]]]
) -> dict[str, tuple[str, str]]:
    """Messages ``<area>.<kind>.<value>`` for every member of each kind's enumeration: its
    Chinese label and the English given for its value."""
    pairs: dict[str, tuple[str, str]] = {}
    for kind, (enum, names) in english.items():
        for member in enum:
            pairs[f"{area}.{kind}.{member.value}"] = (member.label, names[member.value])
    return pairs


_RESOURCE_ATTRIBUTES: dict[str, tuple[str, str]] = {
    "catalog.attr.code": ("资源代码", "Resource code"),
    "catalog.attr.name": ("资源名称", "Name"),
    "catalog.attr.catalog_type": ("目录类型", "Catalog type"),
    "catalog.attr.classification_code": ("资源分类", "Classification"),
    "catalog.attr.department_code": ("提供部门", "Providing department"),
    "catalog.attr.summary": ("资源摘要", "Summary"),
    "catalog.attr.format": ("资源格式", "Format"),
    "catalog.attr.share_type": ("共享类型", "Share type"),
    "catalog.attr.share_condition": ("共享条件", "Share condition"),
    "catalog.attr.share_methods": ("共享方式", "Share methods"),
    "catalog.attr.open_type": ("开放类型", "Open type"),
    "catalog.attr.open_condition": ("开放条件", "Open condition"),
    "catalog.attr.legal_basis": ("法律依据", "Legal basis"),
    "catalog.attr.update_cycle": ("更新周期", "Update cycle"),
    "catalog.attr.publish_date": ("发布日期", "Publish date"),
    "catalog.attr.related": ("关联资源", "Related resources"),
    "catalog.attr.grade": ("资源分级", "Grade"),
    "catalog.attr.fields": ("信息项", "Fields"),
    "catalog.attr.reason": ("修改原因", "Reason for the change"),
    "catalog.field.name": ("信息项名称", "Field name"),
    "catalog.field.english_name": ("英文名称", "English name"),
    "catalog.field.data_type": ("数据类型", "Type"),
    "catalog.field.length": ("长度", "Length"),
    "catalog.field.description": ("描述", "Description"),
    "catalog.field.is_key": ("主键", "Key"),
    "catalog.field.is_personal": ("个人信息", "Personal information"),
    "catalog.field.grade": ("分级", "Grade"),
    "catalog.field.rules": ("质量规则", "Quality rules"),
    "catalog.field.position": ("序号", "No."),
    "catalog.field.delete": ("删除", "Remove"),
    "catalog.format.table": ("库表", "Table"),
    "catalog.format.file": ("文件", "File"),
    "catalog.format.api": ("接口", "API"),
    "catalog.format.stream": ("数据流", "Stream"),
}

_PAGES: dict[str, tuple[str, str]] = {
    "nav.open_catalog": ("开放目录", "Open catalog"),
    "portal.open_catalog": ("浏览开放目录", "Browse the open catalog"),
    "portal.open_catalog_text": (
        "各部门可向社会开放的数据资源目录：资源说明、信息项、开放条件和更新周期。",
        "The catalog of data the departments may open: what each resource holds, its fields, "
        "opening conditions and update cycle.",
    ),
    # sections
    "catalog.title": ("政务数据资源目录", "Government data resource catalog"),
    "catalog.intro": (
        "各部门登记并已发布的数据资源：信息项、共享与开放类型、分级、更新周期和变更历史。",
        "The published data resources of the departments: fields, share and open types, "
        "grades, update cycles and change history.",
    ),
    "catalog.intro_steward": (
        "本部门的草稿和待审核资源在“我的资源”中。",
        "Your department's drafts and submissions are under “My resources”.",
    ),
    "catalog.public.title": ("公共数据开放目录", "Open data catalog"),
    "catalog.public.intro": (
        "榕城各部门可向社会开放的数据资源。无条件开放的资源可直接使用，"
        "有条件开放的资源需按开放条件申请。",
        "Data resources Rongcheng's departments may open to the public. Unconditionally open "
        "resources can be used directly; conditionally open ones need an application under "
        "their conditions.",
    ),
    "catalog.sections": ("资源目录栏目", "Catalog sections"),
    "catalog.section.search": ("目录检索", "Search"),
    "catalog.section.mine": ("我的资源", "My resources"),
    "catalog.section.new": ("登记资源", "Register a resource"),
    "catalog.section.import": ("批量导入", "Import"),
    "catalog.section.review": ("审核队列", "Review queue"),
    "catalog.section.statistics": ("目录统计", "Statistics"),
    "catalog.stats.title": ("资源目录统计", "Catalog statistics"),
    "catalog.stats.intro": (
        "已发布的资源目录：各部门资源与信息项数量、共享与开放类型占比、分级分布。",
        "The published catalog: resources and fields per department, share and open type "
        "ratios, grades.",
    ),
    "catalog.stats.totals": ("总量", "Totals"),
    "catalog.stats.resources": ("资源数", "Resources"),
    "catalog.stats.fields": ("信息项数", "Fields"),
    "catalog.stats.departments": ("提供部门数", "Providing departments"),
    "catalog.stats.by_department": ("各部门资源", "Resources by department"),
    "catalog.stats.share_of_resources": ("占比", "Share"),
    "catalog.stats.share_types": ("共享类型占比", "Share types"),
    "catalog.stats.open_types": ("开放类型占比", "Open types"),
    "catalog.stats.grades": ("分级分布", "Grades"),
    "catalog.json_twin": ("JSON 格式", "As JSON"),
    "catalog.breadcrumb": ("位置", "You are here"),
    "catalog.empty_value": ("—", "—"),
    # punctuation differs: 甲、乙（丙） but "a, b (c)"
    "catalog.punct.colon": ("：", ": "),
    "catalog.punct.list": ("、", ", "),
    "catalog.punct.comma": ("，", ", "),
    "catalog.punct.semicolon": ("；", "; "),
    "catalog.punct.open": ("（", " ("),
    "catalog.punct.close": ("）", ")"),
    # search
    "catalog.search.label": ("搜索资源", "Search resources"),
    "catalog.search.placeholder": (
        "资源名称、摘要或信息项，例如：户籍、企业登记、空气质量",
        "Name, summary or field, e.g. 户籍, 企业登记, 空气质量",
    ),
    "catalog.search.submit": ("搜索", "Search"),
    "catalog.search.sort": ("排序", "Sort by"),
    "catalog.sort.relevance": ("相关度", "Relevance"),
    "catalog.sort.name": ("名称", "Name"),
    "catalog.sort.updated": ("最近更新", "Recently updated"),
    "catalog.sort.code": ("资源代码", "Code"),
    "catalog.search.filters": ("筛选", "Filters"),
    "catalog.search.chosen": ("已选条件", "Chosen filters"),
    "catalog.search.remove_filter": ("取消此条件", "Remove this filter"),
    "catalog.search.clear": ("清除全部条件", "Clear all filters"),
    "catalog.search.selected": ("（已选）", "(selected)"),
    "catalog.search.no_facets": ("没有可用的筛选条件。", "No filters to choose from."),
    "catalog.search.problem": ("无法完成搜索", "The search could not be done"),
    "catalog.total": ("共 {count} 个资源", "{count} resources"),
    "catalog.total_for": ("“{q}”共 {count} 个资源", "{count} resources for “{q}”"),
    "catalog.results": ("搜索结果", "Results"),
    "catalog.no_results": (
        "没有符合条件的资源。请换个词，或减少筛选条件。",
        "No resource matches. Try other words or fewer filters.",
    ),
    "catalog.empty_catalog": (
        "目录中还没有已发布的资源。",
        "The catalog has no published resources yet.",
    ),
    "catalog.matched_fields": ("匹配的信息项", "Matching fields"),
    "catalog.hit.version": ("第 {version} 版", "version {version}"),
    "catalog.facet.department": ("提供部门", "Department"),
    "catalog.facet.catalog_type": ("目录类型", "Catalog type"),
    "catalog.facet.share_type": ("共享类型", "Share type"),
    "catalog.facet.open_type": ("开放类型", "Open type"),
    "catalog.facet.grade": ("资源分级", "Grade"),
    "catalog.facet.update_cycle": ("更新周期", "Update cycle"),
    "catalog.facet.format": ("资源格式", "Format"),
    # resource page
    "catalog.resource.attributes": ("基本信息", "About this resource"),
    "catalog.resource.sharing": ("共享与开放", "Sharing and opening"),
    "catalog.resource.fields": ("信息项", "Fields"),
    "catalog.resource.field_count": ("共 {count} 项", "{count} fields"),
    "catalog.resource.fields_caption": (
        "信息项：名称、类型、长度、主键、个人信息、分级与质量规则",
        "Fields: name, type, length, key, personal information, grade and quality rules",
    ),
    "catalog.resource.no_fields": ("尚未登记信息项。", "No fields registered yet."),
    "catalog.resource.history": ("变更历史", "History"),
    "catalog.resource.no_history": ("没有记录。", "Nothing recorded."),
    "catalog.resource.status": ("状态", "Status"),
    "catalog.resource.version": ("目录版本", "Catalog version"),
    "catalog.resource.version_value": ("第 {version} 版", "Version {version}"),
    "catalog.resource.never_published": ("尚未发布", "Not published yet"),
    "catalog.resource.updated_at": ("最后修改", "Last changed"),
    "catalog.resource.grade_derived": (
        "依信息项就高从严确定",
        "Set by its most sensitive field",
    ),
    "catalog.resource.grade_declared": ("登记的分级：{grade}", "Declared grade: {grade}"),
    "catalog.resource.pending": ("尚未发布的修改", "Changes not yet published"),
    "catalog.resource.pending_intro": (
        "其他部门和公众看到的是已发布的第 {version} 版；以下修改经审核通过后才生效。",
        "Other departments and the public see published version {version}; the changes "
        "below apply once they are approved.",
    ),
    "catalog.resource.working_copy": (
        "您看到的是本部门的工作稿。",
        "You are looking at your department's working copy.",
    ),
    "catalog.resource.actions": ("操作", "Actions"),
    "catalog.resource.edit": ("修改", "Edit"),
    "catalog.resource.submit": ("提交审核", "Submit for review"),
    "catalog.resource.submit_reason": ("提交说明（可选）", "Note for the reviewer (optional)"),
    "catalog.resource.retire": ("停用资源", "Retire this resource"),
    "catalog.resource.retire_reason": ("停用原因", "Why it is retired"),
    "catalog.resource.retire_hint": (
        "停用后资源从目录中撤下，历史和各版本仍保留。",
        "A retired resource leaves the catalog; its history and versions are kept.",
    ),
    "catalog.resource.links": ("相关页面", "Related pages"),
    "catalog.retire.reason_required": ("请填写停用原因。", "Give the reason for retiring it."),
    "catalog.done.created": (
        "资源已登记为草稿。请检查后提交审核。",
        "The resource is registered as a draft. Check it, then submit it for review.",
    ),
    "catalog.done.saved": (
        "修改已保存为草稿，提交审核并通过后生效。",
        "The change is saved as a draft; it applies once submitted and approved.",
    ),
    "catalog.done.submitted": (
        "已提交大数据局审核。",
        "Submitted to the big-data bureau for review.",
    ),
    "catalog.done.retired": ("资源已停用。", "The resource is retired."),
    "catalog.public.not_open": (
        "仅列出已发布且可开放的资源。",
        "Only published resources that may be opened are listed.",
    ),
    "catalog.public.versions": ("发布记录", "Publications"),
    "catalog.public.apply": (
        "有条件开放的数据需按开放条件申请后使用。",
        "Conditionally open data is used after an application under its conditions.",
    ),
    # history and diffs
    "catalog.history.caption": ("谁、何时、做了什么、为什么", "Who did what, when and why"),
    "catalog.history.by": ("操作人", "By"),
    "catalog.history.reason": ("说明", "Reason"),
    "catalog.history.changes": ("变更内容", "What changed"),
    "catalog.history.no_changes": ("无内容变更", "No change to the content"),
    "catalog.history.status_change": ("状态", "Status"),
    "catalog.action.create": ("登记", "Registered"),
    "catalog.action.update": ("修改", "Changed"),
    "catalog.action.submit": ("提交审核", "Submitted"),
    "catalog.action.return": ("退回修改", "Returned"),
    "catalog.action.publish": ("审核通过并发布", "Approved and published"),
    "catalog.action.retire": ("停用", "Retired"),
    "catalog.diff.added": ("新增信息项", "Field added"),
    "catalog.diff.removed": ("删除信息项", "Field removed"),
    "catalog.diff.changed": ("修改信息项", "Field changed"),
    "catalog.diff.resource": ("修改属性", "Attribute changed"),
    "catalog.diff.before": ("修改前", "before"),
    "catalog.diff.after": ("修改后", "after"),
    "catalog.diff.more": ("另有 {count} 项变更", "{count} more changes"),
    # edit form
    "catalog.edit.title_new": ("登记数据资源", "Register a data resource"),
    "catalog.edit.title": ("修改：{name}", "Edit: {name}"),
    "catalog.edit.intro": (
        "按《政务信息资源目录编制指南》填写。保存后为草稿，提交审核并经大数据局通过后发布。",
        "Fill this in as the national cataloguing guide asks. Saving makes a draft; it is "
        "published once submitted and approved by the big-data bureau.",
    ),
    "catalog.edit.department": ("提供部门", "Providing department"),
    "catalog.edit.basics": ("基本信息", "Basics"),
    "catalog.edit.sharing": ("共享与开放", "Sharing and opening"),
    "catalog.edit.fields": ("信息项", "Fields"),
    "catalog.edit.fields_hint": (
        "每行一个信息项。空行不保存；勾选“删除”可去掉一行。质量规则用顿号或逗号分隔，"
        "例如：not_null、ric。",
        "One field per row. Blank rows are not saved; tick “Remove” to drop a row. Separate "
        "quality rules with commas, e.g. not_null, ric.",
    ),
    "catalog.edit.add_rows": ("增加信息项行", "Add field rows"),
    "catalog.edit.save": ("保存草稿", "Save draft"),
    "catalog.edit.cancel": ("取消", "Cancel"),
    "catalog.edit.choose": ("请选择", "Choose"),
    "catalog.edit.grade_auto": ("按信息项自动确定", "Set by the fields"),
    "catalog.edit.grade_hint": (
        "资源分级不得低于信息项的最高分级（就高从严）。",
        "A resource is never graded below its most sensitive field.",
    ),
    "catalog.edit.code_hint": (
        "登记后不能修改，例如：350100-GA-0001。",
        "Cannot change once registered, e.g. 350100-GA-0001.",
    ),
    "catalog.edit.classification_hint": (
        "类-项-目-细目，例如：02-01-03-01。",
        "Class-item-heading-subheading, e.g. 02-01-03-01.",
    ),
    "catalog.edit.format_hint": (
        "table（库表）、file（文件）、api（接口）、stream（数据流）等。",
        "table, file, api, stream and so on.",
    ),
    "catalog.edit.related_hint": (
        "关联资源的资源代码，多个用顿号或逗号分隔。",
        "Codes of related resources, separated by commas.",
    ),
    "catalog.edit.legal_basis_hint": (
        "不予共享或不予开放时必填。",
        "Required when the resource is not shared or not opened.",
    ),
    "catalog.edit.publish_date_hint": (
        "留空则在首次审核通过时自动填写。",
        "Left blank, it is filled in when first approved.",
    ),
    "catalog.edit.reason_hint": ("记入变更历史。", "Kept in the history."),
    "catalog.edit.errors": ("请修改以下问题后重新保存", "Fix these problems and save again"),
    "catalog.edit.error_count": ("共 {count} 处问题", "{count} problems"),
    "catalog.edit.row": ("第 {row} 行", "Row {row}"),
    "catalog.form.required": ("必填", "Required"),
    "catalog.form.choose": ("请从列表中选择", "Choose one from the list"),
    "catalog.form.positive": ("请填写正整数", "Write a whole number above zero"),
    "catalog.form.bad_date": (
        "请按 2024-01-31 的格式填写日期",
        "Write the date as 2024-01-31",
    ),
    # the steward's work
    "catalog.mine.title": ("我的资源", "My resources"),
    "catalog.mine.intro": (
        "本部门登记的全部资源及其当前状态。被退回的资源请按审核意见修改后重新提交。",
        "Every resource your department registered, with its status. Fix returned resources "
        "as the reviewer asked and submit them again.",
    ),
    "catalog.mine.count": ("共 {count} 个资源", "{count} resources"),
    "catalog.mine.empty": (
        "本部门还没有登记资源。",
        "Your department has not registered any resource yet.",
    ),
    "catalog.mine.none_in_status": ("无", "None"),
    # review queue
    "catalog.review.title": ("目录审核队列", "Catalog review queue"),
    "catalog.review.intro": (
        "各部门提交的资源登记和变更。通过即发布新的目录版本；退回须写明原因。",
        "Registrations and changes the departments submitted. Approving publishes a new "
        "catalog version; returning needs the reasons.",
    ),
    "catalog.review.count": ("{count} 项待审核", "{count} awaiting review"),
    "catalog.review.empty": ("没有待审核的提交。", "Nothing is awaiting review."),
    "catalog.review.submitted_by": ("{actor} 于 {at} 提交", "Submitted by {actor} on {at}"),
    "catalog.review.against": (
        "与已发布的第 {version} 版相比",
        "Compared with published version {version}",
    ),
    "catalog.review.first": (
        "首次发布：以下为全部信息项",
        "First publication: every field is listed",
    ),
    "catalog.review.reason": ("审核意见", "Review note"),
    "catalog.review.reason_hint": (
        "退回时必填，写明需要修改的地方。",
        "Required when returning: say what must change.",
    ),
    "catalog.review.approve": ("通过并发布", "Approve and publish"),
    "catalog.review.return": ("退回修改", "Return for changes"),
    "catalog.review.reason_required": (
        "退回时请写明原因。",
        "Give the reasons when returning a submission.",
    ),
    "catalog.review.done.approved": ("{code} 已通过并发布。", "{code} is approved and published."),
    "catalog.review.done.returned": ("{code} 已退回。", "{code} is returned."),
    # import
    "catalog.import.title": ("批量导入资源目录", "Import a catalog"),
    "catalog.import.intro": (
        "上传本部门的目录表（Excel 或 CSV）。支持“一行一个信息项”和“资源表 + 信息项表”"
        "两种格式，标题行、合并表头、空行和 GB18030 编码的 CSV 均可识别。"
        "导入要么全部成功，要么一项也不导入。",
        "Upload your department's catalog sheet (Excel or CSV), either one row per field or a "
        "resources sheet plus a fields sheet; title rows, merged headers, blank lines and "
        "GB18030 CSV are understood. An import registers everything or nothing.",
    ),
    "catalog.import.file": ("目录文件", "Catalog file"),
    "catalog.import.file_hint": (
        ".xlsx 或 .csv，不超过 20 MB。",
        ".xlsx or .csv, up to 20 MB.",
    ),
    "catalog.import.submit_after": (
        "导入后直接提交审核",
        "Submit for review right after importing",
    ),
    "catalog.import.upload": ("导入", "Import"),
    "catalog.import.no_file": ("请选择要导入的文件。", "Choose the file to import."),
    "catalog.import.too_large": ("文件超过 20 MB。", "The file is larger than 20 MB."),
    "catalog.import.failed": (
        "未导入：文件中有 {count} 处问题，请逐项修改后重新导入",
        "Nothing was imported: the file has {count} problems; fix each and import again",
    ),
    "catalog.import.problems_caption": (
        "问题清单：工作表、行、列、原因",
        "Problems: sheet, row, column, reason",
    ),
    "catalog.import.sheet": ("工作表", "Sheet"),
    "catalog.import.row": ("行", "Row"),
    "catalog.import.column": ("列", "Column"),
    "catalog.import.reason": ("原因", "Reason"),
    "catalog.import.whole_file": ("整个文件", "whole file"),
    "catalog.import.done": (
        "已导入 {resources} 个资源、{fields} 个信息项。",
        "Imported {resources} resources with {fields} fields.",
    ),
    "catalog.import.next": (
        "它们现在是草稿（或已提交审核），可在“我的资源”中查看。",
        "They are now drafts (or submitted), listed under “My resources”.",
    ),
    "catalog.import.template": (
        "可先导出现有目录作为模板：",
        "You can export the current catalog to use as a template:",
    ),
    "catalog.import.export_xlsx": ("导出 Excel", "Export to Excel"),
}


def register_catalog_messages() -> None:
    """Add the catalog's messages to the page catalog (harmless when done twice)."""
    register_pairs({**vocabulary_pairs("catalog", VOCABULARY), **_RESOURCE_ATTRIBUTES, **_PAGES})


register_catalog_messages()

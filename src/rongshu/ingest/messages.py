"""The ingest pages' messages (and the console home's aggregation panels), Chinese and English."""

from __future__ import annotations

from rongshu.core.i18n import register_pairs

_VOCABULARY: dict[str, tuple[str, str]] = {
    "ingest.mode.snapshot": ("全量覆盖", "Full snapshot"),
    "ingest.mode.append": ("追加", "Append"),
    "ingest.mode.incremental": ("增量（按水位）", "Incremental (watermark)"),
    "ingest.mode.upsert": ("按主键合并", "Upsert by key"),
    "ingest.status.running": ("运行中", "Running"),
    "ingest.status.succeeded": ("成功", "Succeeded"),
    "ingest.status.failed": ("失败", "Failed"),
    "ingest.status.interrupted": ("中断", "Interrupted"),
    "ingest.operation.overwrite": ("全量覆盖", "Overwrite"),
    "ingest.operation.append": ("追加", "Append"),
    "ingest.operation.merge": ("合并", "Merge"),
    "ingest.origin.file": ("上传文件", "Upload a file"),
    "ingest.origin.database": ("数据库", "Database"),
    "ingest.origin.http": ("HTTP 接口", "HTTP API"),
}

_PAGES: dict[str, tuple[str, str]] = {
    "ingest.title": ("数据汇聚", "Data aggregation"),
    "ingest.intro": (
        "各部门的数据源及其加载情况。每次加载为资源生成一个新的数据版本，失败的加载不影响原有版本。",
        "Departments' sources and their loads. Each load makes a new version of the resource; "
        "a failed load leaves the previous version as it was.",
    ),
    "ingest.sections": ("数据汇聚栏目", "Aggregation sections"),
    "ingest.section.sources": ("数据源", "Sources"),
    "ingest.section.loads": ("加载记录", "Loads"),
    "ingest.section.attach": ("接入数据源", "Attach a source"),
    "ingest.breadcrumb": ("位置", "You are here"),
    "ingest.json_twin": ("本页数据的 JSON 接口", "This page as JSON"),
    "ingest.punct.colon": ("：", ": "),
    "ingest.done.mapped": (
        "字段映射已保存，下次加载时生效。",
        "The mapping is saved; the next load uses it.",
    ),
    "ingest.done.queued": (
        "加载已加入任务队列，稍后刷新本页查看结果。",
        "The load is queued; reload this page later for the result.",
    ),
    "ingest.done.ran": ("加载已完成。", "The load has finished."),
    "ingest.done.failed": (
        "加载失败，原有版本未受影响。失败原因见下方加载记录。",
        "The load failed and the previous version is unchanged. The loads below say why.",
    ),
    # sources
    "ingest.sources.heading": ("数据源（{count} 个）", "Sources ({count})"),
    "ingest.sources.empty": ("还没有接入数据源。", "No sources are attached yet."),
    "ingest.source.resource": ("数据资源", "Resource"),
    "ingest.source.name": ("数据源名称", "Source name"),
    "ingest.source.kind": ("类型", "Kind"),
    "ingest.source.mode": ("加载方式", "Load mode"),
    "ingest.source.schedule": ("调度（cron，北京时间）", "Schedule (cron, Beijing time)"),
    "ingest.source.no_schedule": ("不定期（手动）", "Irregular (by hand)"),
    "ingest.source.latest": ("最近一次加载", "Latest load"),
    "ingest.source.never_loaded": ("尚未加载", "Never loaded"),
    "ingest.source.actions": ("操作", "Actions"),
    "ingest.source.run": ("立即加载", "Run now"),
    "ingest.source.run_hint": (
        "立即读取数据源并生成新版本；有任务队列时在后台运行。",
        "Reads the source now into a new version; runs in the background when a job queue runs.",
    ),
    "ingest.source.map": ("预览与字段映射", "Preview and map columns"),
    "ingest.source.settings": ("连接设置", "Connection settings"),
    "ingest.source.encrypted": (
        "已加密保存，不予显示",
        "Stored encrypted, never shown",
    ),
    "ingest.source.key_fields": ("主键字段", "Key fields"),
    "ingest.source.watermark": ("水位字段", "Watermark field"),
    "ingest.source.last_watermark": ("当前水位", "Current watermark"),
    "ingest.source.created": ("接入人与时间", "Attached by"),
    "ingest.source.loads": ("加载记录（共 {count} 次）", "Loads ({count} in all)"),
    # loads
    "ingest.loads.title": ("加载记录", "Loads"),
    "ingest.loads.intro": (
        "每次加载读取、写入和拒收的行数，生成的版本和出错原因。",
        "Rows read, written and rejected by each load, the version it made, and any error.",
    ),
    "ingest.loads.caption": ("加载记录，从新到旧", "Loads, newest first"),
    "ingest.loads.empty": ("没有加载记录。", "No loads."),
    "ingest.loads.any_status": ("全部", "Any"),
    "ingest.loads.filter": ("查询", "Search"),
    "ingest.loads.count": ("共 {count} 次加载", "{count} loads"),
    "ingest.load.title": ("加载 #{id}", "Load #{id}"),
    "ingest.load.id": ("编号", "No."),
    "ingest.load.started": ("开始时间", "Started"),
    "ingest.load.status": ("状态", "Status"),
    "ingest.load.rows_read": ("读取行数", "Rows read"),
    "ingest.load.rows_written": ("写入行数", "Rows written"),
    "ingest.load.rows_rejected": ("拒收行数", "Rows rejected"),
    "ingest.load.cells_repaired": ("修正单元格", "Cells repaired"),
    "ingest.load.version": ("版本", "Version"),
    "ingest.load.seconds": ("用时（秒）", "Seconds"),
    "ingest.load.error": ("出错原因", "Error"),
    "ingest.load.triggered_by": ("发起人", "Started by"),
    "ingest.load.figures": ("加载数字", "Load figures"),
    "ingest.load.detail": (
        "读取 {bytes} 字节，用时 {seconds} 秒，第 {attempt} 次尝试。",
        "{bytes} bytes read in {seconds} s, attempt {attempt}.",
    ),
    "ingest.rejected.title": ("拒收的数据", "Rejected rows"),
    "ingest.rejected.intro": (
        "共 {count} 个单元格未能读取或为必填却为空，所在行未写入数据湖。",
        "{count} cells could not be read, or were empty in a required field; their rows were "
        "not written to the lake.",
    ),
    "ingest.rejected.row": ("源数据行号", "Source row"),
    "ingest.rejected.field": ("信息项", "Field"),
    "ingest.rejected.value": ("原值", "Value"),
    "ingest.rejected.reason": ("原因", "Reason"),
    "ingest.rejected.raw": ("整行原始数据", "The whole source row"),
    "ingest.rejected.not_yours": (
        "拒收数据只对本部门的数据管理员和审批员开放。",
        "Rejected rows are shown only to the department's data stewards and approvers.",
    ),
    # versions
    "ingest.versions.title": ("{name}：数据版本", "{name}: versions"),
    "ingest.versions.intro": (
        "每次成功加载生成一个版本；保留期内的任一版本都可查看（时间回溯）。",
        "Each successful load makes a version; any version still kept can be read (time travel).",
    ),
    "ingest.versions.caption": ("数据版本，从新到旧", "Versions, newest first"),
    "ingest.versions.committed": ("生成时间", "Committed"),
    "ingest.versions.operation": ("方式", "Operation"),
    "ingest.versions.added": ("新增行数", "Rows added"),
    "ingest.versions.removed": ("替换行数", "Rows replaced"),
    "ingest.versions.load": ("来自加载", "From load"),
    "ingest.versions.empty": (
        "还没有版本：尚无成功的加载。",
        "No versions yet: no load has succeeded.",
    ),
    "ingest.version.title": ("{name}：第 {version} 版", "{name}: version {version}"),
    "ingest.version.short": ("第 {version} 版", "Version {version}"),
    "ingest.version.intro": ("本版本共 {count} 行。", "This version holds {count} rows."),
    "ingest.version.empty": ("本版本没有数据。", "This version holds no rows."),
    # attaching
    "ingest.attach.title": ("接入数据源", "Attach a source"),
    "ingest.attach.intro": (
        "为本部门的数据资源接入数据源：上传文件，或填写数据库、接口地址。保存前会先试读数据源；"
        "保存后可预览前几行并设置字段映射。",
        "Attach a source to one of your department's resources: upload a file, or give a "
        "database or API address. The source is read once before it is saved; then you preview "
        "its first rows and map its columns.",
    ),
    "ingest.attach.errors": ("请修改以下问题后重新提交", "Please correct these problems"),
    "ingest.attach.general": ("数据源", "Source"),
    "ingest.attach.what": ("接入到哪个资源", "Which resource"),
    "ingest.attach.choose_resource": ("请选择资源", "Choose a resource"),
    "ingest.attach.name_hint": (
        "本资源内唯一，只用字母、数字、点、横线和下划线，例如 registry-db。",
        "Unique within the resource; letters, digits, dots, dashes and underscores, "
        "e.g. registry-db.",
    ),
    "ingest.attach.origin": ("数据从哪里来", "Where the data comes from"),
    "ingest.attach.file": ("文件", "File"),
    "ingest.attach.file_hint": (
        "CSV/TSV、Excel（.xlsx）、JSON/NDJSON 或 Parquet，不超过 {mb} MB。",
        "CSV/TSV, Excel (.xlsx), JSON/NDJSON or Parquet, at most {mb} MB.",
    ),
    "ingest.attach.encoding": ("文字编码", "Text encoding"),
    "ingest.attach.encoding_auto": ("自动识别", "Detect"),
    "ingest.attach.db_url": ("数据库地址", "Database URL"),
    "ingest.attach.db_url_hint": (
        "SQLAlchemy 格式，例如 postgresql+psycopg://用户:密码@主机/库 或 mysql+pymysql://…；"
        "地址加密保存，不再显示。",
        "SQLAlchemy form, e.g. postgresql+psycopg://user:password@host/db or mysql+pymysql://…; "
        "stored encrypted and never shown again.",
    ),
    "ingest.attach.db_table": ("表名", "Table"),
    "ingest.attach.db_query": ("或查询语句", "Or a query"),
    "ingest.attach.db_query_hint": ("只能是 SELECT 语句。", "A SELECT statement only."),
    "ingest.attach.http_url": ("接口地址", "API URL"),
    "ingest.attach.records_path": ("记录所在位置", "Where the records are"),
    "ingest.attach.records_path_hint": (
        "返回 JSON 中记录列表的路径，例如 data.list；为空时自动查找。",
        "Dotted path of the record list in the JSON, e.g. data.list; found by itself when empty.",
    ),
    "ingest.attach.how": ("如何加载", "How it loads"),
    "ingest.attach.key_fields_hint": (
        "按主键合并时必填：信息项英文名，多个用逗号或顿号分隔。",
        "Needed for upserts: the fields' English names, separated by commas.",
    ),
    "ingest.attach.watermark_hint": (
        "增量加载时必填：只读取此信息项大于上次水位的数据。",
        "Needed for incremental loads: only rows past the last value of this field are read.",
    ),
    "ingest.attach.schedule_hint": (
        "为空时按资源的更新周期调度，例如每日 02:00。",
        "Empty: from the resource's update cycle, e.g. daily at 02:00.",
    ),
    "ingest.attach.submit": ("试读并保存", "Check and save"),
    "ingest.attach.resource_required": ("请选择资源。", "Choose a resource."),
    "ingest.attach.file_required": ("请选择要上传的文件。", "Choose a file to upload."),
    "ingest.attach.url_required": ("请填写地址。", "Give the address."),
    "ingest.attach.table_or_query": ("请填写表名或查询语句。", "Give a table or a query."),
    "ingest.attach.too_large": (
        "文件超过 {mb} MB，不能上传。",
        "The file is larger than {mb} MB and cannot be uploaded.",
    ),
    # previewing and mapping
    "ingest.mapping.title": ("字段映射", "Column mapping"),
    "ingest.mapping.heading": ("{name}：预览与字段映射", "{name}: preview and mapping"),
    "ingest.mapping.intro": (
        "下面是数据源的前几行（按原样读取）。请为每个信息项选择来源列；下次加载时生效。",
        "The source's first rows, as read. Choose the column that feeds each field; the next "
        "load uses it.",
    ),
    "ingest.mapping.preview": ("前 {count} 行", "First {count} rows"),
    "ingest.mapping.preview_note": (
        "预览本身也会记入审计日志。",
        "Previewing is itself written to the audit trail.",
    ),
    "ingest.mapping.no_rows": ("数据源没有数据行。", "The source has no rows."),
    "ingest.mapping.unreadable": ("数据源现在无法读取", "The source cannot be read now"),
    "ingest.mapping.saved": ("当前显示已保存的映射。", "Showing the saved mapping."),
    "ingest.mapping.suggested": (
        "当前显示按列名自动建议的映射，请核对后保存。",
        "Showing a mapping suggested from the column names; check it, then save.",
    ),
    "ingest.mapping.errors": ("映射有问题，未保存", "The mapping has problems and was not saved"),
    "ingest.mapping.field": ("信息项", "Field"),
    "ingest.mapping.type": ("类型", "Type"),
    "ingest.mapping.column": ("来源列", "Source column"),
    "ingest.mapping.none": ("（不导入，留空）", "(none: left empty)"),
    "ingest.mapping.required": ("必填", "Required"),
    "ingest.mapping.save": ("保存映射", "Save the mapping"),
    "ingest.mapping.not_saved": (
        "尚未保存映射：加载时按列名自动匹配。",
        "No mapping saved: loads match columns by name.",
    ),
    # the console home
    "ingest.home.volumes": ("政务数据汇聚量", "Data aggregated"),
    "ingest.home.volumes_note": (
        "成功加载写入数据湖的行数，按北京时间统计，近 {days} 天。",
        "Rows successful loads wrote to the lake, Beijing time, over the last {days} days.",
    ),
    "ingest.home.rows_today": ("今日汇聚行数", "Rows today"),
    "ingest.home.rows_window": ("近 {days} 天汇聚行数", "Rows, last {days} days"),
    "ingest.home.loads_window": ("加载次数", "Loads"),
    "ingest.home.department": ("部门", "Department"),
    "ingest.home.chart": (
        "近 {days} 天各部门汇聚行数",
        "Rows aggregated per department, last {days} days",
    ),
    "ingest.home.no_loads": ("近期还没有成功的加载。", "No load has succeeded lately."),
    "ingest.home.failing": (
        "{count} 个数据源最近一次加载失败",
        "{count} sources failed on their latest load",
    ),
    "ingest.home.load": ("加载 #{id}", "load #{id}"),
}


def register_ingest_messages() -> None:
    """Add the ingest area's messages to the page catalog (harmless when done twice)."""
    register_pairs({**_VOCABULARY, **_PAGES})


register_ingest_messages()

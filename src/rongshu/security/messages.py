"""The security pages' messages, Chinese and English."""

from __future__ import annotations

from rongshu.core.i18n import register_pairs

_PAIRS: dict[str, tuple[str, str]] = {
    "security.title": ("数据安全", "Data security"),
    "security.intro": (
        "个人信息识别、分类分级和脱敏策略：扫描资源、确认字段分级、维护脱敏矩阵。",
        "Personal-information detection, grading and masking: scan resources, confirm each"
        " field's grade, keep the masking matrix.",
    ),
    "security.scans": ("已扫描的资源", "Scanned resources"),
    "security.no_scans": ("还没有扫描过的资源。", "No resource has been scanned yet."),
    "security.resource": ("资源", "Resource"),
    "security.version": ("版本", "Version"),
    "security.rows": ("扫描行数", "Rows scanned"),
    "security.grade": ("建议分级", "Suggested grade"),
    "security.pending": ("待确认字段", "Fields to confirm"),
    "security.scanned_at": ("扫描时间", "Scanned at"),
    "security.scan_now": ("扫描", "Scan"),
    "security.scan_full": ("全量扫描（读取所有行）", "Full scan (every row)"),
    "security.scan_code": ("资源编码", "Resource code"),
    "security.masking": ("脱敏策略矩阵", "Masking matrix"),
    "security.fields": ("字段识别结果", "Fields found"),
    "security.column": ("字段", "Field"),
    "security.entity": ("识别类型", "Entity type"),
    "security.confidence": ("置信度", "Confidence"),
    "security.evidence": ("依据", "Evidence"),
    "security.status": ("状态", "Status"),
    "security.decision": ("确认结果", "Decision"),
    "security.accept": ("采纳", "Accept"),
    "security.override": ("修改", "Override"),
    "security.reason": ("修改理由", "Reason"),
    "security.personal": ("个人信息", "Personal information"),
    "security.none": ("无", "None"),
    "security.scan_summary": (
        "版本 {version}，扫描 {rows} 行（共 {total} 行），用时 {seconds} 秒；建议资源分级：{grade}",
        "Version {version}: {rows} of {total} rows scanned in {seconds} s;"
        " suggested grade: {grade}",
    ),
    "security.not_scanned": (
        "该资源尚未扫描。数据管理员可在此扫描。",
        "This resource has not been scanned. Its stewards can scan it here.",
    ),
    "security.profile": ("脱敏方案", "Profile"),
    "security.target": ("对象", "Target"),
    "security.operator": ("脱敏方式", "Operator"),
    "security.params": ("参数（JSON）", "Parameters (JSON)"),
    "security.save": ("保存", "Save"),
    "security.matrix_intro": (
        "每个脱敏方案下，按字段的识别类型（或无类型时按分级）选择脱敏方式；明文方案不脱敏。",
        "Under each profile, a field is masked by its entity type (or, without one, its"
        " grade); the clear profile shows values as stored.",
    ),
    "security.read_only": (
        "只有安全管理员可以修改脱敏矩阵。",
        "Only the security admin can change the masking matrix.",
    ),
    "security.done.scanned": ("扫描完成。", "Scan finished."),
    "security.done.decided": (
        "已记录确认结果，并写入资源目录。",
        "Decision recorded in the catalog.",
    ),
    "security.done.saved": ("脱敏规则已保存。", "Masking rule saved."),
    "security.link.resource": ("数据安全", "Security"),
    "security.bad_params": ("参数须为 JSON 对象", "Parameters must be a JSON object"),
}


def register_security_messages() -> None:
    register_pairs(_PAIRS)

"""Messages of the public-account pages (register, sign in, apply, API key), Chinese and English.

Refusals are looked up as ``opendata.account.problem.<field>.<reason>`` (the service's error
detail) and schema problems as ``opendata.account.invalid.<field>``; a refusal without a
message here shows the service's own (English) text.
"""

from __future__ import annotations

from rongshu.core.i18n import register_pairs

_PAIRS: dict[str, tuple[str, str]] = {
    # the account bar shown on every account page
    "opendata.account.bar.signed_in": ("已登录：{name}", "Signed in as {name}"),
    "opendata.account.bar.mine": ("我的账号", "My account"),
    "opendata.account.bar.logout": ("退出", "Sign out"),
    "opendata.account.bar.login": ("登录", "Sign in"),
    "opendata.account.bar.register": ("注册", "Register"),
    "opendata.account.breadcrumb": ("位置", "You are here"),
    "opendata.account.portal": ("开放数据门户", "Open-data portal"),
    "opendata.account.error_heading": ("未能完成", "That did not work"),
    # register
    "opendata.account.register.title": ("注册公众账号", "Register a public account"),
    "opendata.account.register.intro": (
        "使用邮箱或手机号注册，即可申请有条件开放的数据集，获批后获取接口密钥。",
        "Register with your e-mail address or mobile number to apply for conditionally"
        " opened datasets, and get an API key once approved.",
    ),
    "opendata.account.register.step1": ("第一步：验证邮箱或手机号", "Step 1: prove your contact"),
    "opendata.account.register.step2": ("第二步：设置账号", "Step 2: set up your account"),
    "opendata.account.register.contact": ("邮箱或手机号", "E-mail address or mobile number"),
    "opendata.account.register.contact_hint": (
        "中国大陆手机号（11 位）或电子邮箱，我们会发送一个 6 位验证码。",
        "A mainland mobile number (11 digits) or an e-mail address; we send a six-digit code.",
    ),
    "opendata.account.register.send": ("发送验证码", "Send the code"),
    "opendata.account.register.sent": (
        "验证码已发送至 {contact}，{minutes} 分钟内有效。",
        "A code has been sent to {contact}; it is valid for {minutes} minutes.",
    ),
    "opendata.account.register.simulated": (
        "演示环境不真正发送短信或邮件：验证码写在数据目录的 outbox 文件中。",
        "This installation does not really send texts or e-mail: the code is written to the"
        " outbox file in the data directory.",
    ),
    "opendata.account.register.resend": ("重新发送验证码", "Send a new code"),
    "opendata.account.register.change_contact": ("更换邮箱或手机号", "Use another contact"),
    "opendata.account.register.code": ("验证码", "Code"),
    "opendata.account.register.display_name": ("显示名称", "Display name"),
    "opendata.account.register.display_name_hint": (
        "您的姓名、昵称或机构名称，会显示在您的申请中。",
        "Your name, a nickname or your organisation; shown on your applications.",
    ),
    "opendata.account.register.password": ("密码", "Password"),
    "opendata.account.register.password_hint": (
        "至少 {min} 个字符。",
        "At least {min} characters.",
    ),
    "opendata.account.register.password_confirm": ("再次输入密码", "Password again"),
    "opendata.account.register.submit": ("完成注册", "Register"),
    "opendata.account.register.have_account": (
        "已有账号？请登录。",
        "Already registered? Sign in.",
    ),
    # sign in
    "opendata.account.login.title": ("公众用户登录", "Sign in"),
    "opendata.account.login.intro": (
        "使用注册时的邮箱或手机号和密码登录。",
        "Sign in with the e-mail address or mobile number you registered and your password.",
    ),
    "opendata.account.login.login": ("邮箱或手机号", "E-mail address or mobile number"),
    "opendata.account.login.password": ("密码", "Password"),
    "opendata.account.login.submit": ("登录", "Sign in"),
    "opendata.account.login.no_account": ("还没有账号？立即注册。", "No account yet? Register."),
    "opendata.account.login.staff": (
        "政府部门工作人员请从工作台登录。",
        "Government staff sign in on the console.",
    ),
    "opendata.account.login.failed": (
        "账号或密码不正确。",
        "The contact or the password is wrong.",
    ),
    "opendata.account.login.locked": (
        "密码错误次数过多，账号已暂时锁定。",
        "Too many wrong passwords: the account is locked for a while.",
    ),
    "opendata.account.login.expired": (
        "页面已过期，请重新提交。",
        "The page expired; please submit it again.",
    ),
    "opendata.account.login.not_member": (
        "这是公众账号登录入口；工作人员请从工作台登录。",
        "This sign-in is for public accounts; staff sign in on the console.",
    ),
    # my account
    "opendata.account.home.title": ("我的账号", "My account"),
    "opendata.account.home.contact": ("已验证联系方式", "Proven contact"),
    "opendata.account.home.username": ("用户名", "Username"),
    "opendata.account.home.applications": ("我的申请", "My applications"),
    "opendata.account.home.no_applications": (
        "您还没有申请。在有条件开放的数据集页面点击“申请使用”。",
        "You have not applied yet. Choose 'Apply' on a conditionally opened dataset's page.",
    ),
    "opendata.account.home.browse": ("浏览数据集", "Browse the datasets"),
    "opendata.account.col.dataset": ("数据集", "Dataset"),
    "opendata.account.col.number": ("申请编号", "Number"),
    "opendata.account.col.state": ("状态", "State"),
    "opendata.account.col.submitted": ("提交时间", "Submitted"),
    "opendata.account.col.deadline": ("审批时限", "Decision due"),
    "opendata.account.col.reason": ("审批意见", "Decision note"),
    "opendata.account.col.quota": ("每日调用限额", "Daily quota"),
    "opendata.account.col.expires": ("有效期至", "Valid until"),
    "opendata.account.col.key_id": ("密钥编号", "Key id"),
    "opendata.account.col.created": ("创建时间", "Created"),
    "opendata.account.col.last_used": ("最近使用", "Last used"),
    "opendata.account.col.key_state": ("状态", "State"),
    "opendata.account.state.pending": ("待审批", "Awaiting decision"),
    "opendata.account.state.more_info": ("待补充材料", "More information asked"),
    "opendata.account.state.approved": ("已批准", "Approved"),
    "opendata.account.state.refused": ("已拒绝", "Refused"),
    "opendata.account.due.overdue": ("已逾期，已提请督办", "Overdue: escalated"),
    "opendata.account.reply.label": ("补充说明", "Your answer"),
    "opendata.account.reply.submit": ("提交补充材料", "Send the answer"),
    "opendata.account.key.title": ("接口密钥", "API key"),
    "opendata.account.key.intro": (
        "申请获批后，可凭密钥调用已授权数据集的数据接口；每次调用都会留痕，并按每日限额计数。",
        "Once approved, call the granted datasets' data API with your key; every call is"
        " recorded and counted against the daily quota.",
    ),
    "opendata.account.key.need_grant": (
        "您还没有获批的申请，获批后即可在此获取密钥。",
        "You have no approved application yet; once one is approved, get your key here.",
    ),
    "opendata.account.key.granted": ("可调用的数据集", "Datasets you may call"),
    "opendata.account.key.issue": ("获取密钥", "Get a key"),
    "opendata.account.key.reissue": ("重新生成密钥", "Issue a new key"),
    "opendata.account.key.reissue_hint": (
        "重新生成后，旧密钥立即失效。",
        "Issuing a new key stops the old one at once.",
    ),
    "opendata.account.key.revoke": ("停用密钥", "Revoke the key"),
    "opendata.account.key.issued_title": ("您的新密钥", "Your new key"),
    "opendata.account.key.issued_once": (
        "请立即复制并妥善保存：密钥只显示这一次，平台不保存其明文。",
        "Copy it now and keep it safe: it is shown this once, and the platform does not keep it.",
    ),
    "opendata.account.key.example": ("调用示例", "Example call"),
    "opendata.account.key.live": ("有效", "Active"),
    "opendata.account.key.revoked": ("已停用", "Revoked"),
    "opendata.account.key.none": ("—", "—"),
    "opendata.account.key.list": ("我的密钥", "My keys"),
    # done messages
    "opendata.account.done.registered": (
        "注册成功，欢迎！",
        "You are registered. Welcome!",
    ),
    "opendata.account.done.signed_in": ("已登录。", "Signed in."),
    "opendata.account.done.applied": (
        "申请已提交，数据提供部门将在审批时限内办理。",
        "Your application is submitted; the owner department decides it by the deadline.",
    ),
    "opendata.account.done.replied": (
        "补充材料已提交，申请重新进入审批。",
        "Your answer is sent; the application awaits a decision again.",
    ),
    "opendata.account.done.key_revoked": ("密钥已停用。", "The key is revoked."),
    # apply
    "opendata.account.apply.title": ("申请使用：{title}", "Apply for {title}"),
    "opendata.account.apply.intro": (
        "该数据集为有条件开放，需说明用途，由数据提供部门审批。获批后可凭接口密钥调用。",
        "This dataset is opened on conditions: say what you will use it for and the owner"
        " department decides. Once approved, call it with your API key.",
    ),
    "opendata.account.apply.owner": ("数据提供部门", "Owner department"),
    "opendata.account.apply.condition": ("开放条件", "Open condition"),
    "opendata.account.apply.columns": ("开放字段", "Fields"),
    "opendata.account.apply.purpose": ("使用用途", "Purpose"),
    "opendata.account.apply.purpose_hint": (
        "说明您将如何使用这些数据（必填）。",
        "What you will use the data for (required).",
    ),
    "opendata.account.apply.scenario": ("应用场景", "Scenario"),
    "opendata.account.apply.scenario_hint": (
        "例如：科研项目名称、产品或服务的简介（选填）。",
        "For example the research project, or the product or service (optional).",
    ),
    "opendata.account.apply.expected_daily_calls": ("预计每日调用次数", "Expected daily calls"),
    "opendata.account.apply.valid_days": ("使用期限（天）", "For how many days"),
    "opendata.account.apply.valid_days_hint": ("1 至 1095 天。", "1 to 1095 days."),
    "opendata.account.apply.submit": ("提交申请", "Apply"),
    "opendata.account.apply.deadline_note": (
        "提交后，数据提供部门审批员须在规定工作日内办理；逾期将提请大数据局督办。",
        "The owner department's approvers must decide within the set working days; an overdue"
        " application is escalated to the big-data bureau.",
    ),
    # schema problems
    "opendata.account.invalid.contact": (
        "请输入邮箱或手机号。",
        "Enter an e-mail address or a mobile number.",
    ),
    "opendata.account.invalid.code": ("请输入收到的 6 位验证码。", "Enter the six-digit code."),
    "opendata.account.invalid.display_name": (
        "请输入显示名称（不超过 100 个字符）。",
        "Enter a display name (at most 100 characters).",
    ),
    "opendata.account.invalid.password": ("请输入密码。", "Enter a password."),
    "opendata.account.invalid.purpose": (
        "请说明用途（2 至 500 个字符）。",
        "Say what the data is for (2 to 500 characters).",
    ),
    "opendata.account.invalid.scenario": (
        "应用场景不超过 1000 个字符。",
        "The scenario has at most 1000 characters.",
    ),
    "opendata.account.invalid.expected_daily_calls": (
        "请填写 1 至 1000000 之间的整数。",
        "Enter a whole number from 1 to 1,000,000.",
    ),
    "opendata.account.invalid.valid_days": (
        "请填写 1 至 1095 之间的整数。",
        "Enter a whole number from 1 to 1095.",
    ),
    "opendata.account.invalid.note": (
        "请填写补充说明（2 至 2000 个字符）。",
        "Write your answer (2 to 2000 characters).",
    ),
    # service refusals
    "opendata.account.problem.contact.invalid": (
        "请输入有效的邮箱，或以 13–19 开头的 11 位中国大陆手机号。",
        "Enter a valid e-mail address, or an 11-digit mainland mobile number starting 13–19.",
    ),
    "opendata.account.problem.contact.registered": (
        "该邮箱或手机号已注册，请直接登录。",
        "This contact is already registered; sign in instead.",
    ),
    "opendata.account.problem.contact.resend_wait": (
        "验证码刚刚发送过，请 {retry_after} 秒后再试。",
        "A code was sent moments ago; try again in {retry_after} seconds.",
    ),
    "opendata.account.problem.contact.daily_limit": (
        "该联系方式今天获取验证码的次数已达上限，请明天再试。",
        "This contact has had today's codes; try again tomorrow.",
    ),
    "opendata.account.problem.code.no_code": (
        "没有待验证的验证码，请先获取验证码。",
        "No code is waiting for this contact; ask for a code first.",
    ),
    "opendata.account.problem.code.expired": (
        "验证码已过期，请重新获取。",
        "The code has expired; ask for a new one.",
    ),
    "opendata.account.problem.code.too_many_attempts": (
        "验证码错误次数过多，已失效，请重新获取。",
        "Too many wrong codes: this code no longer works; ask for a new one.",
    ),
    "opendata.account.problem.code.wrong": (
        "验证码不正确，还可尝试 {left} 次。",
        "The code is wrong; {left} tries left.",
    ),
    "opendata.account.problem.password.too_short": (
        "密码至少需要 {min} 个字符。",
        "The password needs at least {min} characters.",
    ),
    "opendata.account.problem.password.mismatch": (
        "两次输入的密码不一致。",
        "The two passwords differ.",
    ),
    "opendata.account.problem.display_name.required": (
        "请输入显示名称。",
        "Enter a display name.",
    ),
    "opendata.account.problem.dataset.outstanding": (
        "您对该数据集的申请 {number} 正在办理中，请勿重复申请。",
        "Your application {number} for this dataset is still being decided.",
    ),
    "opendata.account.problem.dataset.granted": (
        "您已获准使用该数据集，无需重复申请。",
        "You may already use this dataset; no need to apply again.",
    ),
    "opendata.account.problem.dataset.unconditional": (
        "该数据集无条件开放，无需申请即可下载或调用。",
        "This dataset is open to everyone: no application is needed.",
    ),
    "opendata.account.problem.valid_until.out_of_range": (
        "使用期限须在三年以内。",
        "The period must end within three years.",
    ),
    "opendata.account.problem.key.no_grant": (
        "申请获批后才能获取密钥。",
        "A key is issued once an application of yours has been approved.",
    ),
    "opendata.account.problem.note.required": (
        "请填写补充说明。",
        "Write your answer.",
    ),
}

register_pairs(_PAIRS)

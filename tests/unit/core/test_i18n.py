"""The message catalog: both languages complete, every key a page asks for exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import rongshu
import rongshu.web.app  # noqa: F401  (areas register their messages when their pages load)
from rongshu.core import i18n
from rongshu.core.errors import Conflict, RongshuError, ValidationFailed
from rongshu.core.i18n import MESSAGES, SUPPORTED_LANGUAGES, negotiate, register_messages, translate

PACKAGE_DIR = Path(rongshu.__file__).parent
# t("key") or t('key'), as templates call it; the key is a literal, dotted name.
TEMPLATE_CALL = re.compile(r"""\bt\(\s*(["'])([A-Za-z0-9_.\-]+)\1""")
# translate(lang, "key") and register_nav("key", ...) in Python code.
PYTHON_CALLS = (
    re.compile(r"""\btranslate\(\s*[A-Za-z_][A-Za-z0-9_.]*\s*,\s*["']([A-Za-z0-9_.\-]+)["']"""),
    re.compile(r"""\bregister_nav\(\s*["']([A-Za-z0-9_.\-]+)["']"""),
)


def _template_keys() -> dict[str, set[str]]:
    """Every literal message key used by a template, with the templates that use it."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE_DIR.rglob("templates/**/*.html"):
        for match in TEMPLATE_CALL.finditer(path.read_text(encoding="utf-8")):
            found.setdefault(match.group(2), set()).add(str(path.relative_to(PACKAGE_DIR)))
    return found


def _python_keys() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in PYTHON_CALLS:
            for match in pattern.finditer(text):
                found.setdefault(match.group(1), set()).add(str(path.relative_to(PACKAGE_DIR)))
    return found


def test_supported_languages_are_chinese_first_then_english() -> None:
    assert SUPPORTED_LANGUAGES == ("zh-CN", "en")
    assert set(MESSAGES) == set(SUPPORTED_LANGUAGES)


def test_every_chinese_message_has_an_english_one_and_vice_versa() -> None:
    zh, en = set(MESSAGES["zh-CN"]), set(MESSAGES["en"])
    assert not zh - en, f"missing in en: {sorted(zh - en)}"
    assert not en - zh, f"missing in zh-CN: {sorted(en - zh)}"


def test_no_message_is_empty_and_placeholders_match_across_languages() -> None:
    placeholder = re.compile(r"\{(\w+)[^}]*\}")
    for key, zh_text in MESSAGES["zh-CN"].items():
        en_text = MESSAGES["en"][key]
        assert zh_text.strip() and en_text.strip(), key
        assert set(placeholder.findall(zh_text)) == set(placeholder.findall(en_text)), key


def test_templates_use_only_keys_that_exist() -> None:
    used = _template_keys()
    # The shell's templates ask for about a hundred messages; finding few means the scan broke.
    assert len(used) > 50
    missing = {key: sorted(where) for key, where in used.items() if key not in MESSAGES["zh-CN"]}
    assert not missing, f"templates use unknown message keys: {missing}"


def test_python_code_uses_only_keys_that_exist() -> None:
    used = _python_keys()
    assert "nav.console" in used
    missing = {key: sorted(where) for key, where in used.items() if key not in MESSAGES["zh-CN"]}
    assert not missing, f"code uses unknown message keys: {missing}"


def _error_codes() -> set[str]:
    codes: set[str] = set()
    pending: list[type[RongshuError]] = [RongshuError]
    while pending:
        cls = pending.pop()
        codes.add(cls.code)
        pending.extend(cls.__subclasses__())
    return codes


def test_every_domain_error_has_a_human_title_and_message_on_the_error_page() -> None:
    for code in _error_codes():
        for lang in SUPPORTED_LANGUAGES:
            assert f"errors.{code}.title" in MESSAGES[lang], (code, lang)
            assert f"errors.{code}.message" in MESSAGES[lang], (code, lang)


def test_translate_speaks_the_asked_language() -> None:
    assert translate("zh-CN", "site.name") == "榕数 · 榕城公共数据平台"
    assert translate("en", "site.name") == "Rongshu · Rongcheng Public Data Platform"


def test_translate_fills_parameters_and_keeps_unfilled_ones_visible() -> None:
    assert translate("zh-CN", "console.welcome", name="管理员") == "您好，管理员"
    assert translate("en", "console.welcome", name="Li Lei") == "Hello, Li Lei"
    assert translate("en", "pager.status", page=2) == "Page 2 of {pages}"


def test_translate_falls_back_to_chinese_then_to_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(MESSAGES["zh-CN"], "test.only_chinese", "只有中文")
    assert translate("en", "test.only_chinese") == "只有中文"
    assert translate("fr", "site.short_name") == "榕数"
    assert translate("en", "test.nowhere") == "test.nowhere"


@pytest.fixture
def scratch_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a test register messages without leaking them into the real catalog."""
    for lang in SUPPORTED_LANGUAGES:
        monkeypatch.setitem(MESSAGES, lang, dict(MESSAGES[lang]))


@pytest.mark.usefixtures("scratch_catalog")
def test_an_area_registers_its_messages() -> None:
    register_messages("zh-CN", {"quality.title": "数据治理"})
    register_messages("en", {"quality.title": "Data quality"})
    assert translate("zh-CN", "quality.title") == "数据治理"
    assert translate("en", "quality.title") == "Data quality"


@pytest.mark.usefixtures("scratch_catalog")
def test_register_pairs_fills_both_languages() -> None:
    i18n.register_pairs({"exchange.title": ("共享交换", "Data exchange")})
    assert translate("zh-CN", "exchange.title") == "共享交换"
    assert translate("en", "exchange.title") == "Data exchange"


@pytest.mark.usefixtures("scratch_catalog")
def test_registering_the_same_text_twice_is_harmless_but_other_text_is_refused() -> None:
    register_messages("zh-CN", {"site.short_name": "榕数"})
    with pytest.raises(Conflict, match="site.short_name"):
        register_messages("zh-CN", {"site.short_name": "别的名字"})
    assert translate("zh-CN", "site.short_name") == "榕数"


def test_registering_an_unsupported_language_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="fr"):
        register_messages("fr", {"site.name": "Rongshu"})
    assert "fr" not in MESSAGES


@pytest.mark.parametrize(
    ("cookie", "accept_language", "default", "expected"),
    [
        # The visitor's own choice wins over the browser.
        ("en", "zh-CN,zh;q=0.9", "zh-CN", "en"),
        ("zh-CN", "en-US,en;q=0.9", "en", "zh-CN"),
        # A cookie we do not speak is ignored.
        ("fr", "en-GB", "zh-CN", "en"),
        # Browser preferences, by quality, then by order.
        (None, "en-US,en;q=0.9,zh-CN;q=0.8", "zh-CN", "en"),
        (None, "fr-FR,zh-TW;q=0.8,en;q=0.5", "en", "zh-CN"),
        (None, "zh-Hans-CN", "en", "zh-CN"),
        (None, "en;q=0.3,zh;q=0.7", "en", "zh-CN"),
        (None, "zh;q=0,en;q=0.1", "zh-CN", "en"),
        # Nothing usable: the installation's default.
        (None, "fr-FR,de;q=0.8", "en", "en"),
        (None, "*", "en", "en"),
        (None, None, "zh-CN", "zh-CN"),
        (None, "", "en", "en"),
        (None, "en;q=abc", "zh-CN", "zh-CN"),
        # A default we do not speak falls back to Chinese.
        (None, None, "fr", "zh-CN"),
    ],
)
def test_negotiate_picks_the_page_language(
    cookie: str | None, accept_language: str | None, default: str, expected: str
) -> None:
    assert negotiate(cookie, accept_language, default) == expected

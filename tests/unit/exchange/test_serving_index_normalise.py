"""The serving index's normalisation: the Arrow form (build time) and the text form (each
call) must give the same text, or a verification would answer "mismatch" for equal values."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rongshu.exchange.serving_index import normalise_array, normalise_text

# Characters Python's Unicode database knows: Arrow's utf8proc is a newer Unicode version and
# normalises some characters assigned since differently (and Python cannot know them).
_KNOWN = st.characters(
    blacklist_categories=("Cs", "Cn"),
)
_TEXT = st.text(_KNOWN, max_size=12)
_AWKWARD = st.sampled_from(
    [" ", "\u3000", "\t", "x", "X", "ｘ", "１", "Ａ", "ß", "ﬁ", "é", "\x1c", "\xa0", "\u2003"]
)


def _claims(values: list[object]) -> list[str]:
    """How a consumer writes each value: ``str`` of it, dates and times in ISO form."""
    return [v.isoformat() if isinstance(v, date) else str(v).lower() for v in values]


def _agree(values: list[object], arrow_type: pa.DataType) -> None:
    built = normalise_array(pa.array(values, arrow_type)).to_pylist()
    present = [v for v in values if v is not None]
    by_call = [normalise_text(c, arrow_type) for c in _claims(present)]
    assert [b for b, v in zip(built, values, strict=True) if v is not None] == by_call


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_TEXT, st.lists(_AWKWARD, max_size=6).map("".join)), max_size=20))
def test_text_forms_agree(values: list[str]) -> None:
    built = normalise_array(pa.array(values, pa.string())).to_pylist()
    assert built == [normalise_text(v) for v in values]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.dates(min_value=date(1, 1, 1)), max_size=10),
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=10),
    st.lists(st.floats(allow_nan=False), max_size=10),
    st.lists(st.booleans(), max_size=5),
    st.lists(st.datetimes(timezones=st.just(UTC)), max_size=5),
)
def test_typed_forms_agree(
    dates: list[date],
    integers: list[int],
    floats: list[float],
    booleans: list[bool],
    moments: list[datetime],
) -> None:
    _agree([*dates, None], pa.date32())
    _agree([*integers, None], pa.int64())
    _agree([*floats, None], pa.float64())
    _agree([*booleans, None], pa.bool_())
    _agree([*moments, None], pa.timestamp("us", tz="UTC"))


@pytest.mark.parametrize(
    ("stored", "arrow_type", "claim"),
    [
        ("35010219900101123X", pa.string(), "35010219900101123x"),
        ("35010219900101123X", pa.string(), " ３５０１０２１９９００１０１１２３ｘ\u3000"),
        ("王伟", pa.string(), "王伟 "),
        (date(1990, 1, 1), pa.date32(), "1990-01-01"),
        (date(1990, 1, 1), pa.date32(), "19900101"),
        (42, pa.int64(), "042"),
        (1.5, pa.float64(), "1.50"),
        (True, pa.bool_(), "1"),
    ],
)
def test_claims_match_what_the_lake_holds(
    stored: object, arrow_type: pa.DataType, claim: str
) -> None:
    assert normalise_array(pa.array([stored], arrow_type)).to_pylist() == [
        normalise_text(claim, arrow_type)
    ]


@pytest.mark.parametrize(
    ("claim", "arrow_type"),
    [("", pa.string()), ("\u3000 ", pa.string()), ("1990-13-01", pa.date32()), ("4.5", pa.int64())],
)
def test_empty_or_impossible_claims_match_nothing(claim: str, arrow_type: pa.DataType) -> None:
    assert normalise_text(claim, arrow_type) is None


def test_empty_lake_values_are_null() -> None:
    assert normalise_array(pa.array(["", " ", None, "a"])).to_pylist() == [None, None, None, "A"]


def test_only_ascii_letters_change_case() -> None:
    assert normalise_text("straße é") == "STRAßE é"
    assert normalise_text("ﬁ") == "FI"

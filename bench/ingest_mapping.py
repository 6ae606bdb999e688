"""Field-mapping throughput: 1 million raw text rows x 10 columns through ``Mapper.map``.

Usage::

    python bench/ingest_mapping.py                      # 1,000,000 rows, batches of 65,536
    python bench/ingest_mapping.py --rows 200000 --batch 16384 --seed 2

What it does, in one process:

* generates ``--rows`` rows as a department's CSV export would arrive from a connector: every
  column text, with the defects the mapping must repair (3 % of dates in other formats -
  ``2020年1月2日``, ``20200102``, ``2020/1/2``, Excel serials - 1 % full-width digits, 2 % empty
  cells, stray spaces, thousands separators) and 0.1 % impossible dates that must be rejected;
* maps them in batches of ``--batch`` rows to ten catalog fields (string, integer, decimal, date,
  datetime, boolean) and reports rows/s for the whole mapping and for each column alone;
* checks that good rows + rejected rows = input rows;
* maps the same rows again with every birth date unreadable (the worst case: every row is
  rejected, with its reason and the whole row as JSON).

The goal (issue 4): mapping is not the bottleneck of a load of >= 200,000 rows/s, and simple
columns map at > 1,000,000 rows/s.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rongshu.catalog.schemas import FieldSpec, FieldType
from rongshu.ingest.mapping import FieldMapping, Mapper

FIELDS = [
    FieldSpec(name="记录编号", english_name="record_no", data_type=FieldType.STRING, is_key=True),
    FieldSpec(name="姓名", english_name="name", data_type=FieldType.STRING),
    FieldSpec(name="公民身份号码", english_name="id_number", data_type=FieldType.STRING),
    FieldSpec(name="联系电话", english_name="phone", data_type=FieldType.STRING),
    FieldSpec(name="区划代码", english_name="district_code", data_type=FieldType.STRING),
    FieldSpec(name="出生日期", english_name="birth_date", data_type=FieldType.DATE),
    FieldSpec(name="登记时间", english_name="registered_at", data_type=FieldType.DATETIME),
    FieldSpec(name="人数", english_name="members", data_type=FieldType.INTEGER),
    FieldSpec(name="金额(元)", english_name="amount", data_type=FieldType.DECIMAL),
    FieldSpec(name="是否有效", english_name="active", data_type=FieldType.BOOLEAN),
]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国")


def _strings(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(object), pa.string())


def _fullwidth(text: pa.Array, rate: float, rng: np.random.Generator) -> pa.Array:
    table = {ord(c): ord(c) + 0xFEE0 for c in "0123456789"}
    values = np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)
    for index in np.flatnonzero(rng.random(len(values)) < rate):
        values[index] = values[index].translate(table)
    return pa.array(values, pa.string())


def _blank(text: pa.Array, rate: float, rng: np.random.Generator) -> pa.Array:
    return pc.if_else(pa.array(rng.random(len(text)) < rate), pa.scalar(""), text)


def generate(rows: int, seed: int) -> pa.Table:
    """``rows`` raw text rows with the usual defects."""
    rng = np.random.default_rng(seed)
    numbers = np.arange(rows)
    record_no = _strings(np.char.add("SB", np.char.zfill(numbers.astype(str), 10)))
    names = np.char.add(
        np.array(SURNAMES)[rng.integers(0, len(SURNAMES), rows)],
        np.char.add(
            np.array(GIVEN)[rng.integers(0, len(GIVEN), rows)],
            np.where(
                rng.random(rows) < 0.5, np.array(GIVEN)[rng.integers(0, len(GIVEN), rows)], ""
            ),
        ),
    )
    days = rng.integers(-7300, 19000, rows)  # 1950 .. 2022
    dates = np.datetime64("1970-01-01") + days.astype("timedelta64[D]")
    iso = np.datetime_as_string(dates, unit="D")
    compact = np.char.replace(iso, "-", "")
    year, month, day = (
        iso.astype("U4"),
        np.char.lstrip(np.array([s[5:7] for s in iso]), "0"),
        np.char.lstrip(np.array([s[8:10] for s in iso]), "0"),
    )
    chinese = np.char.add(
        np.char.add(np.char.add(year, "年"), np.char.add(month, "月")), np.char.add(day, "日")
    )
    slashed = np.char.add(np.char.add(year, "/"), np.char.add(np.char.add(month, "/"), day))
    serial = (days + 25569).astype(str)
    choice = rng.random(rows)
    birth = np.where(
        choice < 0.97,
        iso,
        np.where(
            choice < 0.9775,
            chinese,
            np.where(choice < 0.985, compact, np.where(choice < 0.9925, slashed, serial)),
        ),
    )
    impossible = rng.random(rows) < 0.001
    birth = np.where(impossible, np.char.add(year, "-02-30"), birth)
    area = np.char.add("3501", np.char.zfill(rng.integers(1, 99, rows).astype(str), 2))
    ids = np.char.add(
        np.char.add(area, np.char.replace(np.char.replace(iso, "-", ""), "", "")),
        np.char.zfill(rng.integers(0, 9999, rows).astype(str), 4),
    )
    phones = np.char.add("13", np.char.zfill(rng.integers(0, 10**9, rows).astype(str), 9))
    seconds = rng.integers(1_577_836_800, 1_735_689_600, rows)
    stamps = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    stamps = np.char.replace(stamps, "T", " ")
    members = rng.integers(1, 8, rows).astype(str)
    amounts = np.round(rng.random(rows) * 50000, 2)
    amount_text = np.where(
        amounts > 1000, np.array([f"{a:,.2f}" for a in amounts]), amounts.astype(str)
    )
    active = np.where(rng.random(rows) < 0.9, "是", "否")
    return pa.table(
        {
            "记录编号": record_no,
            "姓名": _strings(np.where(rng.random(rows) < 0.01, np.char.add(" ", names), names)),
            "公民身份号码": _strings(ids),
            "联系电话": _blank(_fullwidth(_strings(phones), 0.01, rng), 0.02, rng),
            "区划代码": _strings(area),
            "出生日期": _blank(_strings(birth), 0.02, rng),
            "登记时间": _strings(stamps),
            "人数": _strings(members),
            "金额(元)": _blank(_strings(amount_text), 0.02, rng),
            "是否有效": _strings(active),
        }
    )


def run(table: pa.Table, fields: list[FieldSpec], batch_rows: int) -> tuple[float, int, int]:
    """Seconds, good rows and rejected rows of mapping ``table``."""
    mapping = FieldMapping.suggest(table.column_names, fields)
    mapper = Mapper(mapping, fields, source_columns=table.column_names)
    good = rejected = 0
    first = 1
    started = time.perf_counter()
    for batch in table.to_batches(max_chunksize=batch_rows):
        mapped = mapper.map(batch, first_row=first)
        first += batch.num_rows
        good += mapped.good.num_rows
        rejected += len(pc.unique(mapped.rejected.column("row_number")))
    return time.perf_counter() - started, good, rejected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=65_536)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    started = time.perf_counter()
    table = generate(args.rows, args.seed)
    print(
        f"generated {args.rows:,} rows x {table.num_columns} columns "
        f"({table.nbytes / 2**20:.0f} MiB of Arrow text) in {time.perf_counter() - started:.1f} s"
    )

    seconds, good, rejected = run(table, FIELDS, args.batch)
    if good + rejected != args.rows:
        raise SystemExit(f"rows lost: {good:,} good + {rejected:,} rejected != {args.rows:,}")
    print(
        f"all 10 columns: {args.rows / seconds:,.0f} rows/s ({seconds:.2f} s); "
        f"{good:,} good rows, {rejected:,} rejected rows"
    )

    garbage = table.set_column(5, "出生日期", pa.repeat(pa.scalar("不详"), table.num_rows))
    seconds, good, rejected = run(garbage, FIELDS, args.batch)
    print(
        f"every row rejected (birth dates all unreadable): {args.rows / seconds:,.0f} rows/s "
        f"({seconds:.2f} s); {good:,} good rows, {rejected:,} rejected rows"
    )

    print("one column at a time:")
    for field, source in zip(FIELDS, table.column_names, strict=True):
        single = table.select([source])
        spec = field.model_copy(update={"is_key": False})
        seconds, _, _ = run(single, [spec], args.batch)
        print(
            f"  {field.english_name:<14} {field.data_type:<9} {args.rows / seconds:>12,.0f} rows/s"
        )


if __name__ == "__main__":
    main()

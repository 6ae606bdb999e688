"""Reading a large CSV keeps memory flat: peak memory does not grow with the file's size."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

_READ = """
import json, sys
import pyarrow as pa
from rongshu.ingest.connectors import SourceSpec, open_connector
connector = open_connector(SourceSpec(kind="csv", options={"path": sys.argv[1]}))
rows, arrow_peak = 0, 0
for batch in connector.batches():
    rows += batch.num_rows
    arrow_peak = max(arrow_peak, pa.total_allocated_bytes())
# VmHWM is this program's own high-water mark (ru_maxrss would count the forking parent).
status = open("/proc/self/status").read().split("VmHWM:")[1]
peak_rss = int(status.split()[0]) * 1024
print(json.dumps({"rows": rows, "arrow_peak": arrow_peak, "peak_rss": peak_rss}))
"""


def _write_csv(path: Path, rows: int, encoding: str) -> int:
    """A ~10-column CSV of about 130 bytes a row, written a chunk at a time."""
    chunk = 200_000
    with path.open("wb") as out:
        for start in range(0, rows, chunk):
            ids = range(start, min(rows, start + chunk))
            table = pa.table(
                {
                    "记录编号": [str(i) for i in ids],
                    "姓名": ["黄振浩"] * len(ids),
                    "身份证号": [f"350121{i:012d}" for i in ids],
                    "性别": ["男", "女"] * (len(ids) // 2) + ["男"] * (len(ids) % 2),
                    "登记日期": ["2020年1月2日"] * len(ids),
                    "金额": [f"{i % 10000}.50" for i in ids],
                    "地址": ["榕城市鼓楼区五四路125号阳光新村6座"] * len(ids),
                    "区划代码": ["350102"] * len(ids),
                    "电话": [f"138{i:08d}" for i in ids],
                    "状态": ["正常"] * len(ids),
                }
            )
            sink = pa.BufferOutputStream()
            pcsv.write_csv(table, sink, pcsv.WriteOptions(include_header=start == 0))
            data = sink.getvalue().to_pybytes()
            out.write(data if encoding == "utf-8" else data.decode().encode(encoding))
    return path.stat().st_size


def _read(path: Path) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", _READ, str(path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    result: dict[str, int] = json.loads(done.stdout)
    return result


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_peak_memory_does_not_grow_with_the_file(tmp_path: Path, encoding: str) -> None:
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    _write_csv(small, 150_000, encoding)
    size = _write_csv(large, 1_500_000, encoding)
    assert size > 180 * 2**20
    small_read, large_read = _read(small), _read(large)
    assert small_read["rows"] == 150_000
    assert large_read["rows"] == 1_500_000
    # Ten times the data (some 200 MB more), the same memory: Arrow holds well under 100 MiB
    # and the process's peak grows by less than half of the extra data (holding the file would
    # add all of it; allocator noise on a shared machine has reached about a third).
    extra = size - small.stat().st_size
    assert large_read["arrow_peak"] < 100 * 2**20
    assert large_read["peak_rss"] - small_read["peak_rss"] < extra // 2

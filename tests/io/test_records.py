from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from mtk.io.records import JsonLinesWriter, dumps


def test_compact_one_line_and_numpy() -> None:
    text = dumps({"input": Path("a b.wav"), "x": np.float32(0.5), "v": np.arange(3), "bad": float("nan")})
    assert "\n" not in text and " " not in text.replace("a b", "")
    assert json.loads(text) == {"input": "a b.wav", "x": 0.5, "v": [0, 1, 2], "bad": None}


def test_writer_writes_lines() -> None:
    buf = io.StringIO()
    writer = JsonLinesWriter(buf)
    writer.write({"input": "a"})
    writer.write({"input": "b", "score": 1})
    assert [json.loads(line) for line in buf.getvalue().splitlines()] == [{"input": "a"}, {"input": "b", "score": 1}]

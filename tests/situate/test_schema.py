"""Stream schema: circular time features, validation errors naming row and column, CSV and JSON Lines."""

from __future__ import annotations

import numpy as np
import pytest

from mtk.errors import InputError
from mtk.situate.schema import DEVICE_FEATURES, device_features, parse_streams, read_rows, tag_set

ROW = {
    "timestamp": "2019-08-12T23:59:00",
    "device": "mobile",
    "network": "wifi",
    "user": "u1",
    "age": 31,
    "country": "fr",
    "gender": "female",
    "track": "t1",
    "situation": "sleep",
}


def _features(*stamps: str) -> np.ndarray:
    return parse_streams([dict(ROW, timestamp=s) for s in stamps]).device_features()


def test_circular_time_joins_midnight() -> None:
    f = _features("2019-08-12T23:59:00", "2019-08-13T00:01:00", "2019-08-13T12:00:00")
    cols = [DEVICE_FEATURES.index(c) for c in ("time_x", "time_y")]
    near = np.linalg.norm(f[0, cols] - f[1, cols])
    far = np.linalg.norm(f[0, cols] - f[2, cols])
    assert near < 0.01  # 2 minutes apart on the clock circle: 2*pi*2/1440
    assert far == pytest.approx(2.0, abs=0.01)  # noon is opposite midnight
    assert f[0, DEVICE_FEATURES.index("linear_time")] == pytest.approx(23 + 59 / 60)


def test_circular_day_joins_the_week() -> None:
    # 2019-08-18 is a Sunday, 2019-08-19 a Monday.
    f = _features("2019-08-18T23:59:00", "2019-08-19T00:01:00", "2019-08-15T00:00:00")
    cols = [DEVICE_FEATURES.index(c) for c in ("day_x", "day_y")]
    assert f[0, DEVICE_FEATURES.index("linear_day")] == 6 and f[1, DEVICE_FEATURES.index("linear_day")] == 0
    assert np.linalg.norm(f[0, cols] - f[1, cols]) < 0.002
    assert np.linalg.norm(f[0, cols] - f[2, cols]) > 1.5  # Thursday midnight: most of the way round


def test_device_features_known_values() -> None:
    f = device_features(np.array([6.0]), np.array([0]), np.array([2]), np.array([3]))[0]
    np.testing.assert_allclose(f, [6, 0, 0, 1, np.cos(2 * np.pi / 28), np.sin(2 * np.pi / 28), 2, 3], atol=1e-6)


def test_values_are_normalized() -> None:
    s = parse_streams([dict(ROW, network="lan", device="Tablet", country="br", gender="")])
    assert (s.network[0], s.device[0], s.country[0]) == (2, 2, "BR")
    assert np.isnan(s.gender[0])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"device": "phone"}, "row 2: column 'device': unknown device 'phone'"),
        ({"timestamp": "yesterday"}, "row 2: column 'timestamp'"),
        ({"network": "5g"}, "row 2: column 'network': unknown network '5g'"),
        ({"age": "old"}, "row 2: column 'age'"),
        ({"country": "France"}, "row 2: column 'country'"),
        ({"situation": "shower"}, "row 2: column 'situation': unknown situation 'shower'"),
    ],
)
def test_bad_values_name_row_and_column(change: dict, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        parse_streams([ROW, dict(ROW, **change)], source="s.jsonl", situations=tag_set(12))


def test_missing_column_names_row() -> None:
    row = {k: v for k, v in ROW.items() if k != "network"}
    with pytest.raises(InputError, match="s.csv: row 1: missing column 'network'"):
        parse_streams([row], source="s.csv")


def test_csv_and_json_lines_read_alike() -> None:
    header = ",".join(ROW)
    csv_text = header + "\n" + ",".join(str(v) for v in ROW.values()) + "\n"
    import json

    a = parse_streams(read_rows(csv_text, source="a.csv"), situations=tag_set(4))
    b = parse_streams(read_rows(json.dumps(ROW) + "\n\n", source="b.jsonl"), situations=tag_set(4))
    np.testing.assert_array_equal(a.device_features(), b.device_features())
    assert a.labels(tag_set(4)).tolist() == b.labels(tag_set(4)).tolist() == [3]


def test_unknown_tag_set() -> None:
    with pytest.raises(InputError, match="C=5"):
        tag_set(5)

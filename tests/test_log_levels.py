"""Levels read from log lines as containers write them, timestamps as the kubelet stamps them, and
entry IDs that name a line again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.log_lines import (
    EntryKey,
    at_least,
    entry_id,
    known_level,
    level_of,
    line_hash,
    parse_entry_id,
    split_stamp,
)

LINES = [
    # JSON: names under the usual keys, and pino's numbers
    ('{"time":"2025-01-31T12:00:00.000Z","level":"warn","msg":"cache miss"}', "warn"),
    ('{"severity":"ERROR","message":"boom"}', "error"),
    ('{"lvl":"dbg","msg":"x"}', "debug"),
    ('{"level":50,"msg":"pino"}', "error"),
    ('{"level":30,"msg":"pino"}', "info"),
    ('{"levelname":"CRITICAL","msg":"python"}', "fatal"),
    ('{"msg":"no level here"}', "unknown"),
    ('{"level":true}', "unknown"),
    ("[1, 2, 3]", "unknown"),
    # logfmt
    ('ts=2025-01-31T12:00:00Z caller=main.go:12 level=info msg="Server is ready"', "info"),
    ('level=error msg="scrape failed"', "error"),
    ('time=now lvl="warning" msg=x', "warn"),
    ("msg=x level=loud", "unknown"),
    # klog
    ("E0131 12:00:00.123456       1 controller.go:42] sync failed", "error"),
    ("W0131 12:00:00.123456       1 reflector.go:9] watch ended", "warn"),
    ("I0131 12:00:00.123456       1 main.go:1] started", "info"),
    # Redis's role and marker
    ("1:M 31 Jan 2025 12:00:00.000 * 10 changes in 60 seconds. Saving...", "info"),
    ("1:M 31 Jan 2025 12:00:00.000 # WARNING overcommit_memory is set to 0", "warn"),
    ("1:M * Ready to accept connections tcp", "info"),
    # prefixes
    ('[INFO] 10.244.1.2:53 - 1 "A IN api.shop.svc." NOERROR', "info"),
    ("[ERROR] plugin/errors: 2 read udp timeout", "error"),
    ("2025-01-31 12:00:00.000 UTC [42] LOG:  checkpoint starting: time", "info"),
    ("2025-01-31 12:00:00.000 UTC [42] FATAL:  password authentication failed", "fatal"),
    ("ERROR: relation does not exist", "error"),
    ("2025-01-31T12:00:00Z WARN disk almost full", "warn"),
    ("<warning> low memory", "warn"),
    # no level stated: prose mentioning one is not taken for it
    ('10.244.0.5 - - [31/Jan/2025:12:00:00 +0000] "GET / HTTP/1.1" 500 612 "-" "curl/8.5.0"', "unknown"),
    ("an error occurred while reading the info file", "unknown"),
    ("", "unknown"),
]


@pytest.mark.parametrize(("line", "level"), LINES)
def test_levels_are_read_from_json_logfmt_and_prefixes(line: str, level: str) -> None:
    assert level_of(line) == level


def test_severity_is_a_minimum_and_unknown_never_meets_one() -> None:
    assert at_least("error", "warn") and at_least("warn", "warn") and not at_least("info", "warn")
    assert not at_least("unknown", "trace")
    assert known_level("WARNING") == "warn" and known_level("err") == "error" and known_level("loud") is None


def test_kubelet_timestamps_keep_their_text_and_read_to_microseconds() -> None:
    stamped = split_stamp("2025-01-31T12:00:00.123456789Z GET /cart 200\n")
    assert stamped is not None
    assert stamped.stamp == "2025-01-31T12:00:00.123456789Z" and stamped.text == "GET /cart 200"
    assert stamped.moment == datetime(2025, 1, 31, 12, 0, 0, 123456, tzinfo=UTC)
    assert split_stamp("2025-01-31T14:00:00+02:00 x").moment == datetime(2025, 1, 31, 12, tzinfo=UTC)  # type: ignore[union-attr]
    assert split_stamp("2025-01-31T12:00:00Z ").text == ""  # type: ignore[union-attr]
    assert split_stamp("not a time at all") is None and split_stamp("2025-13-40T99:00:00Z x") is None


def test_an_entry_id_names_its_line_and_nothing_else_reads_as_one() -> None:
    key = EntryKey("cls_0123", "shop", "web-5d8f-abc", "nginx", "2025-01-31T12:00:00.123456789Z", line_hash("x"))
    identifier = entry_id(key)
    assert identifier.startswith("log_") and "/" not in identifier and "=" not in identifier
    assert parse_entry_id(identifier) == key
    assert key.moment == datetime(2025, 1, 31, 12, 0, 0, 123456, tzinfo=UTC)
    assert line_hash("x") != line_hash("x ") and len(line_hash("x")) == 16
    other = EntryKey(key.cluster_id, key.namespace, key.pod, key.container, key.stamp, line_hash("y"))
    assert entry_id(other) != identifier
    for bad in (
        "cls_0123",
        "log_",
        "log_!!!",
        "log_" + identifier[4:-2],
        entry_id(EntryKey("a", "b", "c", "d", "e", "f")),
    ):
        assert parse_entry_id(bad) is None, bad

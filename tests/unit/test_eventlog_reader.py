"""Reading CSV and XES event logs: what is read, and every error naming the line or field."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
from pathlib import Path

import numpy as np
import pytest

from adapters.eventlog import load_mapping, read_log
from adapters.eventlog.mapping import mapping_from
from workflow.errors import InvalidLog
from workflow.history import NAT, EventLog, Labels, to_us

HEADER = (
    "case:concept:name,concept:name,time:timestamp,org:resource,org:group,case:channel,"
    "case:deadline"
)
SMALL_CSV = f"""{HEADER}
c2,Submit,2026-03-03T08:00:00+07:00,alice,Ward,,
c1,Submit,2026-03-02T09:00:00+07:00,bob,Ward,Internet,2026-03-05T17:00:00+07:00
c1,Accept,2026-03-02 10:30:00.250000+07:00,,Ward,Internet,2026-03-05T17:00:00+07:00
c2,Decide,2026-03-03T09:00:00+07:00,carol,,Desk,
c1,Decide,2026-03-02T03:45:00+00:00,carol,District,Paper,2026-03-06T17:00:00+07:00
"""
SMALL_XES = """<?xml version="1.0" encoding="UTF-8" ?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <global scope="trace"><string key="concept:name" value="UNKNOWN"/></global>
  <string key="concept:name" value="a log-level name that is not a case"/>
  <trace>
    <string key="concept:name" value="c2"/>
    <event>
      <string key="concept:name" value="Submit"/>
      <date key="time:timestamp" value="2026-03-03T08:00:00+07:00"/>
      <string key="org:resource" value="alice"/>
      <string key="org:group" value="Ward"/>
    </event>
  </trace>
  <trace>
    <string key="concept:name" value="c1"/>
    <string key="channel" value="Internet"/>
    <date key="deadline" value="2026-03-05T17:00:00+07:00"/>
    <event>
      <string key="concept:name" value="Submit"/>
      <date key="time:timestamp" value="2026-03-02T09:00:00+07:00"/>
      <string key="org:resource" value="bob"/>
      <string key="org:group" value="Ward"/>
      <list key="nested"><string key="concept:name" value="ignored"/></list>
    </event>
    <event>
      <string key="concept:name" value="Accept"/>
      <date key="time:timestamp" value="2026-03-02T10:30:00.250+07:00"/>
      <string key="org:group" value="Ward"/>
    </event>
    <event>
      <string key="concept:name" value="Decide"/>
      <date key="time:timestamp" value="2026-03-02T03:45:00Z"/>
      <string key="org:resource" value="carol"/>
      <string key="org:group" value="District"/>
    </event>
  </trace>
  <trace>
    <string key="concept:name" value="c2"/>
    <string key="channel" value="Desk"/>
    <event>
      <string key="concept:name" value="Decide"/>
      <date key="time:timestamp" value="2026-03-03T09:00:00+07:00"/>
      <string key="org:resource" value="carol"/>
    </event>
  </trace>
</log>
"""
VN = dt.timezone(dt.timedelta(hours=7))


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def assert_same_log(a: EventLog, b: EventLog) -> None:
    for field in dataclasses.fields(EventLog):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, Labels):
            assert x.names == y.names, field.name
            assert np.array_equal(x.codes, y.codes), field.name
        elif isinstance(x, np.ndarray):
            assert np.array_equal(x, y), field.name
        else:
            assert x == y, field.name


def error_of(path: Path, **options: object) -> str:
    with pytest.raises(InvalidLog) as caught:
        read_log(path, **options)  # type: ignore[arg-type]
    return str(caught.value)


# what is read


def test_a_csv_log_is_read_sorted_by_case_then_instant(tmp_path: Path) -> None:
    log = read_log(write(tmp_path, "small.csv", SMALL_CSV))
    assert log.name == "small"
    assert log.case_id == ("c1", "c2") and len(log) == 5
    # 03:45 UTC is 10:45 in Hà Nội: after 10:30, though the row comes last in the file
    assert [log.activity.name(i) for i in range(5)] == [
        "Submit",
        "Accept",
        "Decide",
        "Submit",
        "Decide",
    ]
    assert log.at[1] == to_us(dt.datetime(2026, 3, 2, 10, 30, 0, 250_000, tzinfo=VN))
    assert log.at[2] == to_us(dt.datetime(2026, 3, 2, 3, 45, tzinfo=dt.UTC))
    assert [log.resource.name(i) for i in range(5)] == ["bob", None, "carol", "alice", "carol"]
    assert [log.group.name(i) for i in range(5)] == ["Ward", "Ward", "District", "Ward", None]


def test_case_columns_keep_the_first_value_given_and_empty_cells_are_none(tmp_path: Path) -> None:
    log = read_log(write(tmp_path, "small.csv", SMALL_CSV))
    assert [log.channel.name(i) for i in range(2)] == ["Internet", "Desk"]
    assert log.deadline[0] == to_us(dt.datetime(2026, 3, 5, 17, tzinfo=VN))
    assert log.deadline[1] == NAT


def test_csv_and_xes_of_the_same_log_read_the_same(tmp_path: Path) -> None:
    from_csv = read_log(write(tmp_path, "same.csv", SMALL_CSV))
    from_xes = read_log(write(tmp_path, "same.xes", SMALL_XES))
    assert_same_log(from_csv, from_xes)


def test_gzip_is_decided_by_the_name(tmp_path: Path) -> None:
    plain = read_log(write(tmp_path, "log.csv", SMALL_CSV))
    assert_same_log(plain, read_log(write(tmp_path, "log.csv.gz", SMALL_CSV)))
    assert_same_log(plain, read_log(write(tmp_path, "log.xes.gz", SMALL_XES), name="log"))
    assert read_log(write(tmp_path, "other.xes.gz", SMALL_XES)).name == "other"


def test_the_format_can_be_given_when_the_name_does_not_say(tmp_path: Path) -> None:
    path = write(tmp_path, "export.txt", SMALL_CSV)
    assert "cannot tell the log's format" in error_of(path)
    assert read_log(path, format="csv").case_count == 2


def test_a_mapping_file_overrides_some_columns(tmp_path: Path) -> None:
    text = (
        "Dossier,Step,When,Officer\n"
        + "D-1,receive,2026-03-02T09:00:00+07:00,an\n"
        + "D-1,accept,2026-03-02T09:30:00+07:00,binh\n"
    )
    path = write(tmp_path, "ward.csv", text)
    mapping = write(
        tmp_path,
        "mapping.yaml",
        "case: Dossier\nactivity: Step\ntimestamp: When\nresource: Officer\ngroup: null\n",
    )
    loaded = load_mapping(mapping)
    assert loaded.as_dict()["group"] is None and loaded.channel == "case:channel"
    log = read_log(path, mapping=loaded)
    assert log.case_id == ("D-1",) and log.activity.names == ("accept", "receive")
    assert log.resource.names == ("an", "binh")


def test_a_mapping_names_xes_case_attributes_with_or_without_the_case_prefix(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "small.xes", SMALL_XES)
    with_prefix = read_log(path, mapping=mapping_from({"channel": "case:channel"}))
    without = read_log(path, mapping=mapping_from({"channel": "channel"}))
    assert with_prefix.channel.names == without.channel.names == ("Desk", "Internet")


# CSV errors


def test_missing_columns_are_named_with_the_columns_found(tmp_path: Path) -> None:
    path = write(tmp_path, "ward.csv", "Dossier,Step,When\nD-1,receive,2026-03-02T09:00+07:00\n")
    message = error_of(path)
    assert "ward.csv: no column for case ('case:concept:name')" in message
    assert "activity ('concept:name'), timestamp ('time:timestamp')" in message
    assert "columns found: 'Dossier', 'Step', 'When'" in message
    assert "--mapping" in message


def test_an_unparsable_timestamp_names_the_line_counting_the_header(tmp_path: Path) -> None:
    lines = SMALL_CSV.splitlines()
    lines[3] = lines[3].replace("2026-03-02 10:30:00.250000+07:00", "yesterday at noon")
    message = error_of(write(tmp_path, "bad.csv", "\n".join(lines) + "\n"))
    assert message.startswith("bad.csv, line 4, column 'time:timestamp': ")
    assert "'yesterday at noon'" in message and "ISO 8601" in message


def test_a_naive_timestamp_asks_for_an_offset(tmp_path: Path) -> None:
    text = f"{HEADER}\nc1,Submit,2026-03-02T09:00:00,bob,Ward,,\n"
    message = error_of(write(tmp_path, "naive.csv", text))
    assert message.startswith("naive.csv, line 2, column 'time:timestamp': ")
    assert "'2026-03-02T09:00:00' has no UTC offset" in message and "+07:00" in message


def test_a_bad_deadline_names_its_column(tmp_path: Path) -> None:
    text = f"{HEADER}\nc1,Submit,2026-03-02T09:00:00+07:00,bob,Ward,,2026-03-05\n"
    message = error_of(write(tmp_path, "deadline.csv", text))
    assert message.startswith("deadline.csv, line 2, column 'case:deadline': ")
    assert "no UTC offset" in message


def test_an_empty_required_cell_names_the_line(tmp_path: Path) -> None:
    text = f"{HEADER}\nc1,Submit,2026-03-02T09:00:00+07:00,,,,\nc1,,2026-03-02T10:00+07:00,,,,\n"
    message = error_of(write(tmp_path, "gap.csv", text))
    assert message.startswith("gap.csv, line 3: column 'concept:name' (activity) is empty")


def test_a_row_with_too_few_cells_names_the_line(tmp_path: Path) -> None:
    text = f"{HEADER}\nc1,Submit,2026-03-02T09:00:00+07:00\n"
    assert error_of(write(tmp_path, "short.csv", text)).startswith(
        "short.csv, line 2: 3 cells where the header has 7"
    )


def test_an_empty_log_is_refused(tmp_path: Path) -> None:
    assert "the log has no events" in error_of(write(tmp_path, "header.csv", HEADER + "\n"))
    assert "the file is empty" in error_of(write(tmp_path, "zero.csv", ""))
    empty_xes = '<log xmlns="http://www.xes-standard.org/"><trace/></log>'
    assert "empty.xes: the log has no events" in error_of(write(tmp_path, "empty.xes", empty_xes))


def test_a_missing_or_damaged_file_is_named(tmp_path: Path) -> None:
    assert "no such file" in error_of(tmp_path / "absent.csv")
    (tmp_path / "fake.csv.gz").write_bytes(b"not gzip at all")
    assert "fake.csv.gz: not a complete gzip file" in error_of(tmp_path / "fake.csv.gz")
    (tmp_path / "latin.csv").write_bytes(f"{HEADER}\nc1,Th\xe9,x,,,,\n".encode("latin-1"))
    assert "latin.csv: not UTF-8 text" in error_of(tmp_path / "latin.csv")


# mapping errors


def test_a_missing_mapping_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidLog, match=r"mapping file .*absent\.yaml not found"):
        load_mapping(tmp_path / "absent.yaml")


def test_a_mapping_file_that_is_not_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", "case: [Dossier\nactivity: Step\n")
    with pytest.raises(InvalidLog, match=r"broken\.yaml: line \d+, column \d+: malformed YAML"):
        load_mapping(path)
    with pytest.raises(InvalidLog, match="expected 'field: column' lines"):
        load_mapping(write(tmp_path, "list.yaml", "- case\n- activity\n"))


def test_an_unknown_mapping_key_lists_the_fields(tmp_path: Path) -> None:
    path = write(tmp_path, "typo.yaml", "case: Dossier\nactvity: Step\n")
    with pytest.raises(InvalidLog) as caught:
        load_mapping(path)
    message = str(caught.value)
    assert "unknown field(s) 'actvity'" in message
    assert "case, activity, timestamp, resource, group, channel, deadline" in message


def test_a_mapping_value_must_be_a_column_name(tmp_path: Path) -> None:
    with pytest.raises(InvalidLog, match="field 'case' is required and cannot be null"):
        load_mapping(write(tmp_path, "null.yaml", "case: null\n"))
    with pytest.raises(InvalidLog, match="field 'group': 7 is not a column name"):
        load_mapping(write(tmp_path, "number.yaml", "group: 7\n"))


def test_a_mapped_column_not_in_the_file_is_named(tmp_path: Path) -> None:
    csv_path = write(tmp_path, "small.csv", SMALL_CSV)
    mapping = mapping_from({"group": "Agency"}, "mapping file m.yaml")
    message = error_of(csv_path, mapping=mapping)
    assert "small.csv: the mapping names column(s) not in the file: group: 'Agency'" in message
    assert "'org:resource'" in message  # the columns found
    xes_message = error_of(write(tmp_path, "small.xes", SMALL_XES), mapping=mapping)
    assert "small.xes: the mapping names attribute(s) not in the log: group: 'Agency'" in (
        xes_message
    )
    # a default optional column may be absent: BPIC-like logs have no group or channel
    bare = write(
        tmp_path,
        "bare.csv",
        "case:concept:name,concept:name,time:timestamp\nc1,Submit,2026-03-02T09:00:00+07:00\n",
    )
    assert read_log(bare).group.names == ()


# XES errors


def test_a_bad_xes_timestamp_names_the_trace_and_event(tmp_path: Path) -> None:
    text = SMALL_XES.replace("2026-03-02T10:30:00.250+07:00", "2026-13-02T10:30:00+07:00")
    message = error_of(write(tmp_path, "bad.xes", text))
    assert message.startswith(
        "bad.xes, trace 2 (case 'c1'), event 2, attribute 'time:timestamp': "
        "cannot read the timestamp '2026-13-02T10:30:00+07:00'"
    )


def test_a_naive_xes_timestamp_asks_for_an_offset(tmp_path: Path) -> None:
    text = SMALL_XES.replace("2026-03-03T09:00:00+07:00", "2026-03-03T09:00:00")
    message = error_of(write(tmp_path, "naive.xes", text))
    assert message.startswith("naive.xes, trace 3 (case 'c2'), event 1, attribute")
    assert "no UTC offset" in message and "+07:00" in message


def test_xes_without_the_mapped_attributes_lists_those_found(tmp_path: Path) -> None:
    text = SMALL_XES.replace('key="concept:name"', 'key="name"')
    message = error_of(write(tmp_path, "renamed.xes", text))
    assert "renamed.xes: no trace attribute for case ('concept:name')" in message
    assert "trace attributes found: 'name'" in message and "--mapping" in message
    text = SMALL_XES.replace('<string key="concept:name" value="Submit"/>', "")
    message = error_of(write(tmp_path, "holes.xes", text))
    assert message.startswith("holes.xes: no event attribute for activity ('concept:name')")


def test_a_later_event_without_an_activity_names_its_position(tmp_path: Path) -> None:
    text = SMALL_XES.replace('<string key="concept:name" value="Decide"/>', "", 1)
    message = error_of(write(tmp_path, "hole.xes", text))
    assert message.startswith(
        "hole.xes, trace 2 (case 'c1'), event 3: event attribute 'concept:name' (activity) is "
        "missing or empty"
    )


def test_malformed_xml_and_other_documents_are_refused(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "cut.xes", SMALL_XES[:400]))
    assert message.startswith("cut.xes: not well-formed XML (") and "line" in message
    message = error_of(write(tmp_path, "html.xes", "<html><body/></html>"))
    assert "html.xes: not an XES log (the document is <html>, not <log>)" in message

"""The agency directory: effective dates and the hand-over to successors on 1 July 2025."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from procedures.loader import load_agencies
from workflow.agencies import AgencyDirectory
from workflow.errors import DefinitionError, UnknownAgency

JUNE_30 = dt.date(2025, 6, 30)
JULY_1 = dt.date(2025, 7, 1)


def test_directory_as_it_stood_before_and_after_the_reorganisation(
    agencies: AgencyDirectory,
) -> None:
    before = {a.code for a in agencies.on(JUNE_30)}
    after = {a.code for a in agencies.on(JULY_1)}
    assert "000.00.07.H26" in before and "000.00.07.H26" not in after
    assert "000.00.71.H26" in after and "000.00.71.H26" not in before
    assert not any(a.level == "district" for a in agencies.on(JULY_1))


def test_every_tay_ho_office_hands_over_to_a_ward_in_force_on_1_july(
    agencies: AgencyDirectory,
) -> None:
    ended = [a for a in agencies if a.effective_to == JUNE_30]
    assert len(ended) >= 8
    for agency in ended:
        heir = agencies.successor_on(agency.code, JULY_1)
        assert heir.in_force(JULY_1) and heir.level == "ward"
        assert agencies.successor_on(agency.code, JUNE_30) is agency


def test_unknown_and_uncovered_agencies(agencies: AgencyDirectory) -> None:
    with pytest.raises(UnknownAgency, match="unknown agency code 'X'"):
        agencies.get("X")
    with pytest.raises(UnknownAgency, match="not in force on 2025-06-30"):
        agencies.successor_on("000.00.71.H26", JUNE_30)


def test_bad_directory_file(tmp_path: Path) -> None:
    path = tmp_path / "agencies.yaml"
    path.write_text(
        """agencies:
  - code: A.1
    name: {vi: A, en: A}
    level: ward
    kind: people's committee
    effective_from: 2020-01-01
    effective_to: 2021-01-01
    successor: B.1
  - code: A.1
    name: {vi: A, en: A}
    level: province
    kind: x
    effective_from: 2020-01-01
""",
        encoding="utf-8",
    )
    with pytest.raises(DefinitionError) as caught:
        load_agencies(path)
    text = str(caught.value)
    assert "agencies[1].level" in text and "nothing was loaded" in text
    path.write_text(path.read_text().replace("level: province", "level: ward"), encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_agencies(path)
    reasons = [p.reason for p in caught.value.problems]
    assert "duplicate agency code 'A.1'" in reasons
    assert "unknown agency code 'B.1'" in reasons

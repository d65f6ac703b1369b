import json

import numpy as np
import pytest

from core.audit.duplicates import NO_GROUP, group_ids
from core.audit.report import AuditSettings, load_audit, run_audit, save_audit
from core.cli.main import main
from core.data.store import save_dataset
from tests.audit_data import (
    BLANK,
    DARK,
    EXACT_PRIVATE,
    EXACT_TRAIN,
    INSIDE_A,
    INSIDE_B,
    NEAR_PUBLIC,
    NEAR_TRAIN,
    NOT_A_FACE,
    write_planted,
)


@pytest.fixture
def planted(tmp_path):
    return write_planted(tmp_path)


def test_group_ids_number_groups_by_first_row_and_chain():
    ids = group_ids(6, [(np.array([4, 1]), np.array([5, 4]))])
    assert ids.tolist() == [NO_GROUP, 0, NO_GROUP, NO_GROUP, 0, 0]


def test_audit_finds_the_planted_copies_leaks_and_problems(planted, tmp_path):
    audit = run_audit(planted, AuditSettings(hamming=6))
    rows = audit.rows
    assert rows.at[EXACT_TRAIN, "exact_group"] == rows.at[EXACT_PRIVATE, "exact_group"] != NO_GROUP
    assert rows.at[NEAR_PUBLIC, "exact_group"] == NO_GROUP
    assert rows.at[NEAR_TRAIN, "near_group"] == rows.at[NEAR_PUBLIC, "near_group"] != NO_GROUP
    assert rows["leak"].sum() == 2 and rows.at[EXACT_PRIVATE, "leak"] and rows.at[NEAR_PUBLIC, "leak"]
    assert not rows.at[INSIDE_A, "leak"] and not rows.at[INSIDE_B, "leak"]  # both in Training
    summary = audit.summary
    assert summary["duplicates"]["exact"] == {"groups": 2, "images": 4, "extra_copies": 2}
    assert summary["duplicates"]["near"]["groups"] == 3
    assert summary["leaks"] == {"PublicTest": 1, "PrivateTest": 1}
    assert summary["leaks_exact"] == {"PublicTest": 0, "PrivateTest": 1}
    assert rows.at[BLANK, "uniform"] and rows.at[BLANK, "low_information"] and rows.at[DARK, "dark"]
    assert np.flatnonzero(rows["not_a_face"]).tolist() == [NOT_A_FACE]
    assert summary["problems"]["uniform"] == 1 and summary["problems"]["dark"] == 1
    conflicts = audit.groups.set_index("group")
    exact_group = rows.at[EXACT_TRAIN, "near_group"]
    assert conflicts.at[exact_group, "label_conflict"] and conflicts.at[exact_group, "splits"] == "PrivateTest,Training"
    assert not conflicts.at[rows.at[INSIDE_A, "near_group"], "label_conflict"]
    loaded = load_audit(save_audit(audit, tmp_path / "audit"))
    assert loaded.summary == json.loads(json.dumps(summary)) and len(loaded.groups) == 3
    assert loaded.groups.set_index("group").at[exact_group, "rows"].tolist() == [EXACT_TRAIN, EXACT_PRIVATE]


def test_a_tighter_hamming_threshold_drops_the_near_copy(planted):
    assert run_audit(planted, AuditSettings(hamming=0)).summary["leaks"]["PublicTest"] == 0


def test_features_join_faces_the_hashes_miss(planted):
    features = np.random.default_rng(0).normal(size=(len(planted), 8)).astype(np.float32)
    features[7] = features[8] * 2  # parallel: cosine 1
    audit = run_audit(planted, AuditSettings(cosine=0.999), features=features)
    assert audit.rows.at[7, "near_group"] == audit.rows.at[8, "near_group"] != NO_GROUP
    assert audit.rows.at[7, "hash_group"] == NO_GROUP


def test_cli_audit_json_prints_the_counts(planted, tmp_path, capsys):
    save_dataset(planted, tmp_path / "data")
    assert main(["--data-dir", str(tmp_path / "data"), "audit", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["duplicates"]["exact"]["groups"] == 2
    assert summary["leaks"] == {"PublicTest": 1, "PrivateTest": 1}
    assert summary["problems"]["not_a_face"] == 1
    assert list((tmp_path / "data" / "audit").glob("*/summary.json"))

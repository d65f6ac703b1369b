"""FERPlus votes: Microsoft's majority rule, soft labels, agreement and the reader's checks."""

import numpy as np
import pytest

from conftest import write_ferplus
from core.data.classes import FERPLUS_CLASSES
from core.data.ferplus import agreement, majority_labels, read_ferplus, vote_distribution
from core.errors import DataError

#   neutral happy surprise sad angry disgust fear contempt unknown NF
CASES = [
    ([10, 0, 0, 0, 0, 0, 0, 0, 0, 0], "neutral"),  # unanimous
    ([4, 0, 0, 1, 3, 2, 0, 0, 0, 0], ""),  # 4 of 9 after dropping the single vote: no majority
    ([6, 0, 1, 1, 0, 0, 0, 0, 2, 0], "neutral"),  # singles dropped: 6 of 8 is a majority
    ([5, 5, 0, 0, 0, 0, 0, 0, 0, 0], ""),  # a tie is not a majority
    ([0, 0, 0, 0, 0, 0, 0, 0, 7, 3], ""),  # unknown wins: dropped
    ([0, 0, 0, 0, 0, 0, 0, 0, 0, 10], ""),  # not a face: dropped
    ([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], ""),  # every vote is a single: nothing left
    ([0, 0, 0, 0, 0, 0, 0, 6, 0, 4], "contempt"),  # 6 of 10
    ([0, 4, 0, 0, 0, 0, 0, 0, 0, 3], "happy"),  # 4 of 7
]


@pytest.mark.parametrize("votes,expected", CASES)
def test_microsoft_majority_rule(votes, expected):
    label = majority_labels(np.array([votes]))[0]
    assert (FERPLUS_CLASSES[label] if label >= 0 else "") == expected


def test_vote_distribution_and_agreement():
    votes = np.array([[6, 2, 0, 0, 0, 0, 0, 0, 2, 0], [0] * 9 + [10], [0] * 10])
    shares = vote_distribution(votes)
    np.testing.assert_allclose(shares[0], [0.75, 0.25, 0, 0, 0, 0, 0, 0])
    assert shares[1].sum() == 0 and shares[2].sum() == 0
    np.testing.assert_allclose(agreement(votes), [0.6, 1.0, 0.0])


def test_reader_keeps_rows_and_ignores_unreliable_names(tmp_path):
    path = write_ferplus(tmp_path / "v.csv", [[10] + [0] * 9, [0] * 9 + [10]], ["Training", "PrivateTest"])
    text = path.read_text().replace("fer0000001.png", "")  # blank names occur in the real file
    path.write_text(text)
    votes = read_ferplus(path)
    assert votes.votes.shape == (2, 10) and list(votes.usage) == ["Training", "PrivateTest"]


@pytest.mark.parametrize(
    "cell,message",
    [
        ("x", "not a whole number"),
        ("-1", "not a whole number"),
        ("2.5", "not a whole number"),
        ("99999", "implausibly large"),
    ],
)
def test_bad_vote_cells(tmp_path, cell, message):
    path = write_ferplus(tmp_path / "v.csv", [[10] + [0] * 9, [cell] + [0] * 9], ["Training", "Training"])
    with pytest.raises(DataError, match=message) as info:
        read_ferplus(path)
    assert info.value.line == 3


def test_fleiss_kappa_extremes_and_a_known_value():
    from core.data.ferplus import fleiss_kappa

    perfect = np.array([[10] + [0] * 9, [0, 10] + [0] * 8, [0, 0, 10] + [0] * 7])
    assert fleiss_kappa(perfect) == pytest.approx(1.0)
    # Fleiss (1971)-style check by hand: two items, votes split 5/5 on two columns -> observed 4/9 agreement
    split = np.array([[5, 5] + [0] * 8, [5, 5] + [0] * 8])
    assert fleiss_kappa(split) == pytest.approx((4 / 9 - 0.5) / (1 - 0.5))


def test_consensus_shares_sum_to_one():
    from core.data.ferplus import consensus_shares

    votes = np.array([[10] + [0] * 9, [6, 4] + [0] * 8, [4, 4, 2] + [0] * 7, [0] * 9 + [10]])
    shares = consensus_shares(votes)
    assert shares == {"unanimous": 0.25, "majority": 0.25, "no majority": 0.5}


def test_majority_outcome_names_what_the_majority_rule_drops():
    from core.data.ferplus import majority_outcome

    votes = np.array(
        [[0] * 9 + [10], [5, 5, 0, 0, 0, 0, 0, 0, 0, 0], [0, 6, 0, 0, 0, 0, 0, 0, 2, 2], [0] * 8 + [7, 3], [0] * 10]
    )
    assert majority_outcome(votes).tolist() == ["not a face", "", "happy", "unknown", ""]

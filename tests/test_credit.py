"""Tests for the synthetic credit-grade generator in dlcourse.credit."""

import numpy as np
import pandas as pd
import pytest

from dlcourse.credit import FEATURES, GRADES, grade_codes, make_credit_data


@pytest.fixture(scope="module")
def data():
    return make_credit_data(20_000, seed=0)


def test_same_seed_same_frame():
    pd.testing.assert_frame_equal(make_credit_data(500, seed=3), make_credit_data(500, seed=3))


def test_different_seed_different_frame():
    a = make_credit_data(500, seed=3)
    b = make_credit_data(500, seed=4)
    assert not a.equals(b)


def test_shape_and_columns(data):
    assert list(data.columns) == list(FEATURES) + ["grade"]
    assert len(data) == 20_000
    assert not data.isna().any().any()
    assert len(make_credit_data(7, seed=1)) == 7


def test_rejects_empty_sample():
    with pytest.raises(ValueError):
        make_credit_data(0)


@pytest.mark.parametrize(
    "column, low, high",
    [
        ("fico", 600, 850),
        ("annual_income", 12_000, 500_000),
        ("dti", 0, 45),
        ("revol_util", 0, 100),
        ("open_credit_lines", 1, 40),
        ("loan_amount", 1_000, 40_000),
        ("emp_length", 0, 10),
        ("term_60", 0, 1),
        ("delinq_2yrs", 0, 10),
        ("inq_last_6mths", 0, 8),
        ("home_owner", 0, 1),
    ],
)
def test_ranges(data, column, low, high):
    assert data[column].between(low, high).all(), column


def test_binary_columns_are_binary(data):
    for column in ("term_60", "home_owner"):
        assert set(data[column].unique()) == {0, 1}


def test_all_seven_grades_occur(data):
    assert set(data["grade"]) == set(GRADES)
    # ... even in a modest sample
    assert set(make_credit_data(3_000, seed=1)["grade"]) == set(GRADES)


def test_class_imbalance(data):
    shares = data["grade"].value_counts(normalize=True)
    # the majority class is B or C and well below one half, so it is a fair baseline
    assert shares.idxmax() in ("B", "C")
    assert 0.2 < shares.max() < 0.4
    # the worst grades are rare
    assert shares["G"] < 0.03
    assert shares["F"] + shares["G"] < 0.08


def test_grade_monotone_in_fico(data):
    mean_fico = data.groupby("grade")["fico"].mean().reindex(list(GRADES))
    assert np.all(np.diff(mean_fico.to_numpy()) < 0), mean_fico


def test_grade_codes():
    codes = grade_codes(["A", "C", "G", "B"])
    assert codes.tolist() == [0, 2, 6, 1]
    assert codes.dtype.kind == "i"

"""The report's statistics against hand computations and printed t-table values (no numpy, no scipy)."""

import math

import pytest

from tokenmix.ablate.stats import mean, paired_differences, sample_std, spearman, t_interval

# Student's t, two-sided 95 % (the 0.975 quantile), from a printed table, by degrees of freedom.
T_TABLE_975 = {1: 12.7062, 2: 4.3027, 3: 3.1824, 4: 2.7764}


def test_mean_and_sample_std_of_four_values():
    values = [1.0, 2.0, 3.0, 4.0]
    assert mean(values) == 2.5
    # squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5, over n - 1 = 3
    assert sample_std(values) == pytest.approx(math.sqrt(5 / 3), rel=1e-12)


def test_std_of_one_value_is_undefined():
    assert math.isnan(sample_std([3.0]))


@pytest.mark.parametrize("values", [[1.0, 2.0, 3.0, 4.0], [0.5, -0.25], [2.0, 2.5, 4.0], [1.0, 1.5, 0.0, 3.0, 2.0]])
def test_t_interval_is_mean_plus_minus_t_times_standard_error(values):
    n = len(values)
    m = sum(values) / n
    s = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))
    se = s / math.sqrt(n)
    half = T_TABLE_975[n - 1] * se
    interval = t_interval(values, 0.95)
    assert interval.mean == pytest.approx(m)
    slack = 0.5e-4 * se + 1e-12  # the table has 4 decimals
    assert abs(interval.low - (m - half)) <= slack
    assert abs(interval.high - (m + half)) <= slack


def test_interval_excludes_zero_only_when_the_difference_beats_the_noise():
    assert t_interval([1.0, 1.2, 0.9]).excludes_zero  # consistent gains
    assert not t_interval([1.0, -1.2, 0.5]).excludes_zero  # signs disagree
    one = t_interval([2.0])
    assert math.isnan(one.low) and not one.excludes_zero


def test_paired_differences_use_only_the_seeds_both_have():
    assert paired_differences({0: 80.0, 1: 82.0, 2: 81.0}, {0: 79.0, 2: 80.5, 3: 70.0}) == [1.0, 0.5]


def test_spearman_without_ties_is_one_minus_six_sum_d_squared():
    # ranks (1..5) against (1, 3, 2, 5, 4): d = 0, -1, 1, -1, 1, sum d^2 = 4; rho = 1 - 6*4 / (5 * 24) = 0.8
    assert spearman([10, 20, 30, 40, 50], [1, 3, 2, 5, 4]) == pytest.approx(0.8)


def test_spearman_with_ties_is_pearson_of_average_ranks():
    # b's ranks (1, 2.5, 2.5, 4); centred a = (-1.5, -.5, .5, 1.5), b = (-1.5, 0, 0, 1.5)
    # cov = 4.5, |a|^2 = 5, |b|^2 = 4.5: rho = 4.5 / sqrt(22.5)
    assert spearman([1, 2, 3, 4], [1, 2, 2, 3]) == pytest.approx(4.5 / math.sqrt(22.5))
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_spearman_is_undefined_for_constant_or_too_few_values():
    assert math.isnan(spearman([1, 2], [2, 1]))
    assert math.isnan(spearman([1, 2, 3], [5, 5, 5]))

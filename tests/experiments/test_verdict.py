"""The verdict in plain words: a sample ratio mismatch first, then the minimum sample size, then
the primary metric's always-valid p-values, several treatments tested at alpha over their
number."""

import pytest

from relevo.experiments.statistics import (
    Comparison,
    Estimate,
    InvalidStatisticsInput,
    SampleRatio,
    interleaving_result,
)
from relevo.experiments.verdict import interleaving_verdict, verdict

FAIR = SampleRatio(0.6, False)
USERS = {"control": 5_000, "b": 5_000}


def compared(lift: float, always_valid_p_value: float, p_value: float | None = None) -> Comparison:
    control = Estimate(0.10, 0.099, 0.101)
    return Comparison(
        control=control,
        treatment=Estimate(0.10 + lift, 0.099 + lift, 0.101 + lift),
        absolute_lift=Estimate(lift, lift - 0.001, lift + 0.001),
        relative_lift=Estimate(lift / 0.10, lift / 0.10 - 0.01, lift / 0.10 + 0.01),
        p_value=always_valid_p_value / 10 if p_value is None else p_value,
        always_valid_p_value=always_valid_p_value,
        sequence_low=lift - 0.003,
        sequence_high=lift + 0.003,
    )


def test_a_significant_lift_on_the_primary_metric_wins() -> None:
    found = verdict(
        control="control",
        users=USERS,
        minimum_users=1_000,
        sample_ratio=FAIR,
        comparisons={"ctr": {"b": compared(0.01, 0.001)}},
    )
    assert (found.outcome, found.winner, found.metric) == ("winner", "b", "ctr")
    assert found.words == "winner: b on ctr"


def test_a_sample_ratio_mismatch_overrides_everything() -> None:
    found = verdict(
        control="control",
        users={"control": 5_300, "b": 4_700},
        minimum_users=1_000,
        sample_ratio=SampleRatio(2e-9, True),
        comparisons={"ctr": {"b": compared(0.01, 0.001)}},
    )
    assert found.words == "results untrustworthy: sample ratio mismatch"


def test_every_variant_waits_for_the_minimum_sample_size() -> None:
    found = verdict(
        control="control",
        users={"control": 5_000, "b": 900},
        minimum_users=1_000,
        sample_ratio=FAIR,
        comparisons={"ctr": {"b": compared(0.01, 0.0001)}},
    )
    assert found.words == "not enough data yet"
    assert (
        verdict(
            control="control", users={"control": 3, "b": 1}, minimum_users=1_000, sample_ratio=FAIR, comparisons={}
        ).outcome
        == "not_enough_data"
    )


def test_the_winner_is_decided_on_the_always_valid_p_value() -> None:
    found = verdict(
        control="control",
        users=USERS,
        minimum_users=1_000,
        sample_ratio=FAIR,
        comparisons={"ctr": {"b": compared(0.005, 0.2, p_value=0.001)}},
    )
    assert found.words == "no detectable difference"


def test_only_the_primary_metric_names_a_winner() -> None:
    found = verdict(
        control="control",
        users=USERS,
        minimum_users=1_000,
        sample_ratio=FAIR,
        comparisons={"ctr": {"b": compared(0.001, 0.4)}, "revenue": {"b": compared(2.0, 0.0001)}},
    )
    assert found.outcome == "no_difference"


def test_a_control_better_than_every_treatment_wins() -> None:
    found = verdict(
        control="control",
        users={**USERS, "c": 5_000},
        minimum_users=1_000,
        sample_ratio=FAIR,
        comparisons={"ctr": {"b": compared(-0.01, 0.001), "c": compared(-0.02, 0.0001)}},
    )
    assert found.words == "winner: control on ctr"


def test_several_treatments_are_tested_at_alpha_over_their_number() -> None:
    users = {**USERS, "c": 5_000}
    one_borderline = {"ctr": {"b": compared(0.01, 0.04), "c": compared(0.0, 0.9)}}
    assert (
        verdict(
            control="control", users=users, minimum_users=1_000, sample_ratio=FAIR, comparisons=one_borderline
        ).outcome
        == "no_difference"
    )
    both = {"ctr": {"b": compared(0.01, 0.01), "c": compared(0.02, 0.02)}}
    found = verdict(control="control", users=users, minimum_users=1_000, sample_ratio=FAIR, comparisons=both)
    assert found.words == "winner: c on ctr"


def test_one_worse_treatment_does_not_make_the_control_win() -> None:
    comparisons = {"ctr": {"b": compared(-0.01, 0.001), "c": compared(0.001, 0.7)}}
    found = verdict(
        control="control", users={**USERS, "c": 5_000}, minimum_users=1_000, sample_ratio=FAIR, comparisons=comparisons
    )
    assert found.outcome == "no_difference"


@pytest.mark.parametrize(
    ("arguments", "argument"),
    [
        ({"control": "a"}, "control"),
        ({"comparisons": {}}, "comparisons"),
        ({"comparisons": {"ctr": {}}}, "comparisons"),
        ({"comparisons": {"ctr": {"z": compared(0.01, 0.001)}}}, "comparisons"),
        ({"comparisons": {"ctr": {"control": compared(0.01, 0.001)}}}, "comparisons"),
        ({"users": {**USERS, "c": 5_000}}, "comparisons"),
        ({"alpha": 1.5}, "alpha"),
    ],
)
def test_inconsistent_arguments_are_refused_by_name(arguments: dict, argument: str) -> None:
    given = {
        "control": "control",
        "users": USERS,
        "minimum_users": 1_000,
        "sample_ratio": FAIR,
        "comparisons": {"ctr": {"b": compared(0.01, 0.001)}},
    } | arguments
    with pytest.raises(InvalidStatisticsInput) as refused:
        verdict(**given)
    assert refused.value.argument == argument


def test_interleaving_verdicts() -> None:
    assert (
        interleaving_verdict(interleaving_result(40, 20), ranker_a="als", ranker_b="ease", minimum_sessions=100).words
        == "not enough data yet"
    )
    assert (
        interleaving_verdict(interleaving_result(460, 540), ranker_a="als", ranker_b="ease", minimum_sessions=100).words
        == "no detectable difference"
    )
    found = interleaving_verdict(interleaving_result(450, 600), ranker_a="als", ranker_b="ease", minimum_sessions=100)
    assert found.words == "winner: ease on interleaved clicks"

"""The accuracy benchmark's protocols (benchmarks/protocols.py): RecBole's split and the Recommenders MAP."""

import numpy as np
import pytest
from benchmarks.protocols import recommenders_metrics, torch_permutation

from relevo.engine.evaluation.metrics import user_metrics


def test_torch_permutation_is_what_torch_randperm_returns() -> None:
    # torch.randperm(n) after torch.manual_seed(seed), as torch 2.13.0 (CPU) returned them
    assert torch_permutation(10, 2020).tolist() == [0, 7, 5, 4, 2, 6, 1, 8, 9, 3]
    assert torch_permutation(1000, 7)[:8].tolist() == [615, 284, 599, 580, 347, 92, 383, 891]
    assert torch_permutation(1, 2020).tolist() == [0]


def test_recommenders_map_divides_by_every_relevant_item() -> None:
    # Hits at ranks 1 and 3 of 12 relevant items (k = 10): (1 + 2/3) / 12, where the engine's
    # MAP@10 divides by min(10, 12); a user with no hit adds 0.
    recommended = np.array([[0, 20, 1, 21, 22, 23, 24, 25, 26, 27], [30, 31, 32, 33, 34, 35, 36, 37, 38, 39]])
    relevant = [set(range(12)), {5}]
    figures = recommenders_metrics(user_metrics(recommended, relevant, 10), relevant)
    assert figures["MAP"] == pytest.approx((1 + 2 / 3) / 12 / 2)
    assert figures["P@10"] == pytest.approx(2 / 10 / 2)

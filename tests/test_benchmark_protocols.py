"""The accuracy benchmark's reproduction of RecBole's split (benchmarks/protocols.py)."""

from benchmarks.protocols import torch_permutation


def test_torch_permutation_is_what_torch_randperm_returns() -> None:
    # torch.randperm(n) after torch.manual_seed(seed), as torch 2.13.0 (CPU) returned them
    assert torch_permutation(10, 2020).tolist() == [0, 7, 5, 4, 2, 6, 1, 8, 9, 3]
    assert torch_permutation(1000, 7)[:8].tolist() == [615, 284, 599, 580, 347, 92, 383, 891]
    assert torch_permutation(1, 2020).tolist() == [0]

"""StackedMLP: S copies of an MLP in one pass give what each copy gives alone."""

import pytest
import torch
from torch import nn

from reprkit.models.stacked import StackedMLP


def _copy(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))


def test_forward_and_gradients_match_the_single_copies():
    copies = [_copy(s) for s in range(3)]
    st = StackedMLP(copies)
    x = torch.randn(3, 5, 4)
    out = st(x)
    for s, c in enumerate(copies):
        torch.testing.assert_close(out[s], c(x[s]))
    # the sum of per-copy losses gives each copy its own gradient
    out.pow(2).mean((1, 2)).sum().backward()
    c = copies[1]
    c(x[1]).pow(2).mean().backward()
    torch.testing.assert_close(st.weights[0].grad[1], c[0].weight.grad.mT)


def test_write_back_copies_the_trained_weights():
    copies = [_copy(s) for s in range(2)]
    st = StackedMLP(copies)
    with torch.no_grad():
        st.weights[2][1].add_(1.0)
    st.write_back(copies)
    x = torch.randn(2, 5, 4)
    torch.testing.assert_close(st(x)[1], copies[1](x[1]))


def test_other_layers_are_refused():
    with pytest.raises(TypeError, match="Linear and ReLU"):
        StackedMLP([nn.Sequential(nn.Linear(2, 2), nn.Tanh())])

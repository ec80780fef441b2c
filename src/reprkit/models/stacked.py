"""Several independently initialised copies of one MLP, trained in one pass.

Small MLPs on small batches spend most of a CPU step in Python, autograd bookkeeping and the
optimiser's per-tensor loops, not in arithmetic. Stacking ``S`` copies (one per seed) along a
leading dimension turns ``S`` steps into one with the same number of operations: the losses of
the copies are summed, and since the copies share no parameter, the gradient each copy receives
is the one it would have received alone (Adam is element-wise, so its updates are too).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class StackedMLP(nn.Module):
    """``S`` copies of a ``nn.Sequential`` of ``Linear`` and ``ReLU`` layers (same shapes),
    weights stacked: input (S, B, in) -> output (S, B, out). Built from the copies themselves,
    so each keeps the initialisation it had alone."""

    def __init__(self, copies: Sequence[nn.Sequential]) -> None:
        super().__init__()
        linears = [[m for m in c if isinstance(m, nn.Linear)] for c in copies]
        if any(not isinstance(m, (nn.Linear, nn.ReLU)) for c in copies for m in c):
            raise TypeError("StackedMLP takes Sequentials of Linear and ReLU layers only")
        self.relu_after = [isinstance(m, nn.ReLU) for m in copies[0]][1::2]  # after each Linear
        self.weights = nn.ParameterList(
            nn.Parameter(torch.stack([ls[i].weight.detach().mT for ls in linears]).contiguous())
            for i in range(len(linears[0]))
        )
        self.biases = nn.ParameterList(
            nn.Parameter(torch.stack([ls[i].bias.detach() for ls in linears])[:, None].clone())
            for i in range(len(linears[0]))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(b, x, w)
            if i < len(self.relu_after) and self.relu_after[i]:
                x = torch.relu(x)
        return x

    @torch.no_grad()
    def write_back(self, copies: Sequence[nn.Sequential]) -> None:
        """Copy the trained weights into the single copies (for inference and saving)."""
        for s, c in enumerate(copies):
            for i, lin in enumerate(m for m in c if isinstance(m, nn.Linear)):
                lin.weight.copy_(self.weights[i][s].mT)
                lin.bias.copy_(self.biases[i][s, 0])

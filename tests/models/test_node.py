from __future__ import annotations

import torch
from torch_geometric.nn import SAGEConv

from reprkit.models.node import SAGE, Linear, dropout, prepare_graph, sparse_if_helpful


def test_sage_equals_pyg_sageconv_with_the_same_weights():
    torch.manual_seed(0)
    n = 30
    ei = torch.randint(0, n, (2, 80))
    ei = torch.unique(torch.cat([ei, ei.flip(0)], dim=1), dim=1)  # undirected; some isolated
    graph = prepare_graph(ei, n)
    x = torch.rand(n, 12) * (torch.rand(n, 12) < 0.05)  # mostly zero, goes through CSR
    model = SAGE(12, 8, 3, layers=2, dropout=0.5).eval()
    convs = [SAGEConv(12, 8), SAGEConv(8, 3)]
    for i, conv in enumerate(convs):
        conv.lin_l.weight.data = model.lin_neigh[i].weight.data.clone()
        conv.lin_l.bias.data = model.lin_root[i].bias.data.clone()
        conv.lin_r.weight.data = model.lin_root[i].weight.data.clone()
    ref = convs[1](torch.relu(convs[0](x, ei)), ei)
    assert torch.allclose(model(x.to_sparse_csr(), graph), ref, atol=1e-5)
    assert torch.allclose(model(x, graph), ref, atol=1e-5)


def test_dropout_keeps_the_expected_value_and_is_off_in_eval():
    torch.manual_seed(0)
    x = torch.ones(200_000)
    out = dropout(x, 0.3, True)
    assert abs(float((out == 0).float().mean()) - 0.3) < 0.01
    kept = out[out != 0]
    assert torch.allclose(kept, torch.full_like(kept, 256 / (256 - 77)))  # p rounds to 77/256
    assert abs(float(out.mean()) - 1.0) < 0.01
    assert dropout(x, 0.3, False) is x


def test_linear_on_csr_input_gives_the_dense_output_and_gradients():
    torch.manual_seed(0)
    x = torch.rand(40, 30) * (torch.rand(40, 30) < 0.05)
    xs = sparse_if_helpful(x)
    assert xs.layout == torch.sparse_csr
    for bias in (True, False):
        lin = Linear(30, 5, bias=bias)
        ref = torch.nn.functional.linear(x, lin.weight, lin.bias)
        grad_ref = torch.autograd.grad(ref.pow(2).sum(), list(lin.parameters()))
        out = lin(xs)
        grad = torch.autograd.grad(out.pow(2).sum(), list(lin.parameters()))
        assert torch.allclose(out, ref, atol=1e-6)
        for g, r in zip(grad, grad_ref, strict=True):
            assert torch.allclose(g, r, atol=1e-5)

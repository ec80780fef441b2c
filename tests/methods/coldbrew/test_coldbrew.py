from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data

from reprkit.core.seed import seeded
from reprkit.core.train import Steps
from reprkit.datasets.graphs import load_graph, node_degree, random_node_split, synthetic_graph
from reprkit.methods.coldbrew import ColdBrew
from reprkit.methods.coldbrew.modules import ColdBrewStudent
from reprkit.methods.coldbrew.splits import degree_groups, isolate
from reprkit.models.node import MLP, SEGCN, accuracy, fit_node_classifier, prepare_graph

SMALL = {
    "teacher__hidden": 32,
    "student__hidden": 64,
    "teacher__epochs": 200,
    "student__epochs": 200,
}


def test_official_median_split_on_cora():
    d = load_graph("cora")
    g = degree_groups(d.edge_index, d.num_nodes, mode="official_median")
    assert {k: int(v.sum()) for k, v in g.items()} == {"isolated": 534, "tail": 534, "head": 286}
    deg = node_degree(d.edge_index, d.num_nodes)
    assert deg[g["isolated"]].max() <= deg[g["tail"]].min() <= deg[g["head"]].min()
    assert not (g["isolated"] & g["tail"]).any()


def test_quantile_split_fractions_and_seeded_ties(synthetic):
    def groups(seed: int) -> dict[str, torch.Tensor]:
        return degree_groups(
            synthetic.edge_index,
            synthetic.num_nodes,
            mode="quantile",
            isolated_frac=0.1,
            tail_frac=0.2,
            head_frac=0.3,
            seed=seed,
        )

    a, b, c = groups(0), groups(0), groups(1)
    assert [int(a[k].sum()) for k in ("isolated", "tail", "head")] == [30, 60, 90]
    assert all(torch.equal(a[k], b[k]) for k in a) and not torch.equal(a["isolated"], c["isolated"])


def test_isolate_removes_every_edge_of_isolated_nodes(synthetic):
    n = synthetic.num_nodes
    iso = degree_groups(synthetic.edge_index, n)["isolated"]
    ei = isolate(synthetic.edge_index, iso)
    assert node_degree(ei, n)[iso].sum() == 0
    keep = ~(iso[synthetic.edge_index[0]] | iso[synthetic.edge_index[1]])
    assert ei.shape[1] == int(keep.sum())


def test_segcn_matches_dense_propagation(synthetic):
    n, f = synthetic.x.shape
    model = SEGCN(f, 8, 3, n, layers=2, dropout=0.0, se="all").eval()
    with torch.no_grad():
        for b in model.biases:
            b.normal_()  # the bias comes after propagation, as PyG's GCNConv
    a = torch.zeros(n, n)
    a[synthetic.edge_index[0], synthetic.edge_index[1]] = 1.0
    a += torch.eye(n)
    dinv = a.sum(1).pow(-0.5)
    a_hat = dinv[:, None] * a * dinv[None, :]
    h = torch.relu(a_hat @ (model.lins[0](synthetic.x) + model.se[0]) + model.biases[0])
    expected = a_hat @ (model.lins[1](h) + model.se[1]) + model.biases[1]
    graph = prepare_graph(synthetic.edge_index, n)
    with torch.no_grad():
        out = model(synthetic.x, graph)
    assert torch.allclose(out, expected, atol=1e-5)
    # SE starts from N(0, 1) (official init); the penalty is the unsquared Frobenius norm
    assert 0.8 < model.se_row_norm() / (8**0.5) < 1.2
    assert torch.isclose(model.se_penalty(), model.se[0].norm() + model.se[1].norm())
    # PairNorm: every layer's output centred over nodes with mean squared row norm 1
    normed = SEGCN(f, 8, 3, n, layers=2, dropout=0.0, se="first", norm="pairnorm").eval()
    with torch.no_grad():
        for h in normed.embeddings(synthetic.x, graph):
            assert torch.allclose(h.mean(0), torch.zeros(h.shape[1]), atol=1e-5)
            assert abs(float(h.pow(2).sum(1).mean()) - 1.0) < 1e-3


def test_plain_segcn_is_pyg_gcnconv(synthetic):
    from torch_geometric.nn import GCNConv

    n, f = synthetic.x.shape
    model = SEGCN(f, 8, 3, n, layers=1, dropout=0.0, se="none").eval()
    conv = GCNConv(f, 3)
    with torch.no_grad():
        model.biases[0].normal_()
        conv.lin.weight.copy_(model.lins[0].weight)
        conv.bias.copy_(model.biases[0])
        ours = model(synthetic.x, prepare_graph(synthetic.edge_index, n))
        assert torch.allclose(ours, conv(synthetic.x, synthetic.edge_index), atol=1e-5)


@pytest.mark.parametrize("block", [1 << 24, 12])  # one pool chunk, or chunks of 3
def test_virtual_neighbours_match_brute_force(block, monkeypatch):
    from reprkit.methods.coldbrew import modules

    monkeypatch.setattr(modules, "SCORE_BLOCK", block)
    torch.manual_seed(0)
    pool, ids = torch.randn(20, 5), torch.arange(10, 30)
    s = ColdBrewStudent(4, 5, 3, pool, ids, n_nodes=40, top_k=3)
    q = torch.randn(6, 5)
    node_ids = torch.tensor([0, 10, 15, 29, 35, 12])
    out = s.virtual_neighbours(q, node_ids)
    for i in range(6):
        scores = [(float(q[i] @ pool[j]), j) for j in range(20) if int(ids[j]) != int(node_ids[i])]
        top = sorted(scores, reverse=True)[:3]
        w = torch.softmax(torch.tensor([t[0] for t in top]), 0)
        expected = sum(w[k] * pool[top[k][1]] for k in range(3))
        assert torch.allclose(out[i], expected, atol=1e-5)


def _cold_start(seed=0):
    data = synthetic_graph(n_nodes=600, n_classes=4, n_features=32, feature_signal=0.6, seed=seed)
    # a large isolated group (~90 test nodes) so that accuracy differences mean something
    g = degree_groups(
        data.edge_index, data.num_nodes, mode="quantile", isolated_frac=0.3, seed=seed
    )
    tr, va, te = random_node_split(data.num_nodes, 0.3, 0.2, seed)
    obs = Data(
        x=data.x, y=data.y, edge_index=isolate(data.edge_index, g["isolated"]), train_mask=tr
    )
    return obs, g["isolated"], va, te


def test_student_learns_isolated_nodes_better_than_chance_and_mlp_level():
    obs, iso, va, te = _cold_start()
    model = ColdBrew(device="cpu", **SMALL).fit(obs, val=va)
    p = torch.from_numpy(model.predict_proba(obs.x, node_ids=torch.arange(obs.num_nodes)))
    acc_iso = accuracy(p, obs.y, iso & te)
    with seeded(0):
        mlp = MLP(obs.x.shape[1], 64, 4)
        fit_node_classifier(
            mlp,
            obs.x,
            None,
            obs.y,
            obs.train_mask,
            va,
            Steps(lr=0.01, weight_decay=5e-4, epochs=200, patience=50),
        )
    with torch.no_grad():
        acc_mlp = accuracy(mlp(obs.x), obs.y, iso & te)
    assert acc_iso > 0.6, acc_iso  # chance is 0.25
    assert acc_iso >= acc_mlp - 0.05, (acc_iso, acc_mlp)


def test_soft_label_weight_pulls_mlp2_towards_the_teacher():
    # w = 1: MLP2 learns from the teacher's class probabilities alone; on the observed nodes it
    # distils on, its probabilities must be much closer (KL) to the teacher's than with w = 0
    obs, iso, va, _ = _cold_start()
    ids = torch.arange(obs.num_nodes)

    cfg = {**SMALL, "student__distill_on": "observed", "student__soft_label_weight": (0.0, 1.0)}
    model = ColdBrew(device="cpu", **cfg).fit(obs, val=va)  # one MLP2 per weight, one MLP1
    p_t = torch.from_numpy(model.teacher_predict_proba(obs))[~iso]

    def kl_to_teacher(w: float) -> float:
        p_s = torch.from_numpy(model.predict_proba(obs.x, node_ids=ids, soft_label_weight=w))
        log_p_s = p_s[~iso].clamp_min(1e-12).log()
        return float((p_t * (p_t.clamp_min(1e-12).log() - log_p_s)).sum(1).mean())

    assert kl_to_teacher(1.0) < 0.8 * kl_to_teacher(0.0)
    # the kept weight is the one with the best validation score, and predict_proba uses it
    best = max(model.stage2_scores_, key=model.stage2_scores_.get)
    assert model.soft_label_weight_ == best
    assert (model.predict_proba(obs.x) == model.predict_proba(obs.x, soft_label_weight=best)).all()
    with pytest.raises(ValueError, match=r"soft_label_weight must be one of the fitted values"):
        model.predict_proba(obs.x, soft_label_weight=0.5)
    with pytest.raises(ValueError, match=r"student.soft_label_weight must be values in \[0, 1\]"):
        ColdBrew(student__soft_label_weight=1.5)


def test_brand_new_node_needs_only_features():
    obs, _, va, _ = _cold_start()
    model = ColdBrew(device="cpu", **SMALL).fit(obs, val=va)
    x_new = torch.randn(5, obs.x.shape[1]).numpy()
    assert model.predict(x_new).shape == (5,)
    assert model.embed(x_new).shape == (5, model.emb_dim_)
    with pytest.raises(ValueError, match="has 3 features per node but ColdBrew was fitted on 32"):
        model.predict(torch.randn(2, 3))
    with pytest.raises(ValueError, match="NaN"):
        model.predict(torch.full((2, 32), float("nan")))


@pytest.mark.parametrize(
    "make,match",
    [
        (
            lambda d: Data(edge_index=d.edge_index, y=d.y, train_mask=d.train_mask),
            "data.x is missing",
        ),
        (
            lambda d: Data(x=d.x, edge_index=d.edge_index * 100, y=d.y, train_mask=d.train_mask),
            "node ids in",
        ),
        (
            lambda d: Data(
                x=d.x.masked_fill(torch.rand_like(d.x) < 0.01, float("nan")),
                edge_index=d.edge_index,
                y=d.y,
                train_mask=d.train_mask,
            ),
            "NaN",
        ),
        (
            lambda d: Data(
                x=d.x,
                edge_index=torch.zeros(2, 0, dtype=torch.long),
                y=d.y,
                train_mask=d.train_mask,
            ),
            "no edges",
        ),
        (
            lambda d: Data(
                x=d.x, edge_index=d.edge_index, y=d.y, train_mask=torch.zeros_like(d.train_mask)
            ),
            "selects no node",
        ),
    ],
)
def test_bad_input_fails_before_training(make, match):
    obs, _, va, _ = _cold_start()
    with pytest.raises(ValueError, match=match):
        ColdBrew(device="cpu").fit(make(obs), val=va)


def test_bad_val_and_config():
    obs, _, _, _ = _cold_start()
    with pytest.raises(ValueError, match=r"val must have shape \(600,\)"):
        ColdBrew(device="cpu").fit(obs, val=torch.ones(5, dtype=torch.bool))
    with pytest.raises(KeyError, match="did you mean"):
        ColdBrew(student__topk=3)


def test_graphmlp_keeps_the_contrastive_weight_with_best_validation():
    import dataclasses

    from reprkit.methods.coldbrew import baselines
    from reprkit.methods.coldbrew.config import BaselineConfig

    obs, _, va, _ = _cold_start()
    g = prepare_graph(obs.edge_index, obs.num_nodes)
    cfg = dataclasses.replace(BaselineConfig(), epochs=30, hidden=32)

    def run(weights):
        return baselines.graphmlp(
            obs.x,
            g,
            obs.y,
            obs.train_mask,
            va,
            cfg=dataclasses.replace(cfg, graphmlp_weights=weights),
            seed=0,
        )

    single = {w: run((w,)) for w in (5.0, 0.0)}
    best = max(single, key=lambda w: accuracy(single[w], obs.y, va))
    assert torch.equal(run((5.0, 0.0)), single[best])


def test_neighbour_sampler_takes_real_edges_seeds_first_and_caps_fanout(synthetic):
    from reprkit.models.node import NeighbourSampler

    n = synthetic.num_nodes
    ei = synthetic.edge_index
    edges = set(map(tuple, ei.T.tolist()))
    deg = torch.bincount(ei[1], minlength=n)
    smp = NeighbourSampler(ei, n, (3, 2))
    seeds = torch.tensor([0, 5, 9, 17])
    ids, sub = smp.sample(seeds, torch.Generator().manual_seed(0))
    assert ids[:4].tolist() == seeds.tolist() and len(set(ids.tolist())) == len(ids)
    src, dst = ids[sub.edge_index[0]], ids[sub.edge_index[1]]
    assert all((int(a), int(b)) in edges for a, b in zip(src, dst, strict=True))
    for s in seeds.tolist():  # hop 1: all in-neighbours up to 3, at most 3 distinct beyond
        got = set(src[dst == s].tolist())
        assert len(got) == min(int(deg[s]), 3) or (deg[s] > 3 and 1 <= len(got) <= 3)
    assert (smp._pos == -1).all()  # the reused id map is reset


def test_mini_batch_teacher_learns_like_full_batch(synthetic):
    from reprkit.methods.coldbrew.config import TeacherConfig
    from reprkit.methods.coldbrew.method import fit_segcn

    n = synthetic.num_nodes
    tr, va, te = random_node_split(n, 0.3, 0.2, 0)
    g = prepare_graph(synthetic.edge_index, n)
    accs = {}
    for mb in ("off", "on"):
        t = TeacherConfig(hidden=32, epochs=60, patience=20, mini_batch=mb, batch_size=64)
        with seeded(0):
            m = fit_segcn(synthetic.x, g, synthetic.y, tr, va, t).eval()
        with torch.no_grad():
            accs[mb] = accuracy(m(synthetic.x, g), synthetic.y, te)
    assert accs["on"] > 0.5 and abs(accs["on"] - accs["off"]) < 0.1, accs


def test_batch_parts_take_a_last_batch_smaller_than_the_parts(synthetic, recwarn):
    """65 training nodes in batches of 64: the last batch (1 node) over 4 parts leaves 3 empty
    (weight 0), which must neither give NaN nor warn."""
    from reprkit.methods.coldbrew.config import TeacherConfig
    from reprkit.methods.coldbrew.method import fit_segcn

    n = synthetic.num_nodes
    tr, va = torch.zeros(n, dtype=torch.bool), torch.zeros(n, dtype=torch.bool)
    tr[:65], va[100:150] = True, True
    t = TeacherConfig(hidden=16, epochs=3, mini_batch="on", batch_size=64, batch_parts=4)
    with seeded(0):
        m = fit_segcn(synthetic.x, prepare_graph(synthetic.edge_index, n), synthetic.y, tr, va, t)
    assert all(torch.isfinite(p).all() for p in m.parameters())
    assert not [w for w in recwarn if "degrees of freedom" in str(w.message)]


def test_mini_batch_shrinks_the_se_of_nodes_no_batch_reaches(synthetic):
    # isolated nodes are never sampled; their randn SE rows must shrink as in full batch
    # (a penalty on the batch's rows only left them at their init and broke the teacher)
    from reprkit.methods.coldbrew.config import TeacherConfig
    from reprkit.methods.coldbrew.method import fit_segcn

    n = synthetic.num_nodes
    tr, va, te = random_node_split(n, 0.3, 0.2, 0)
    lone = torch.nonzero(te).squeeze(1)[:20]
    ei = synthetic.edge_index
    keep = ~(torch.isin(ei[0], lone) | torch.isin(ei[1], lone))
    g = prepare_graph(ei[:, keep], n)
    t = TeacherConfig(hidden=32, epochs=100, mini_batch="on", batch_size=256)
    with seeded(0):  # no validation nodes: all epochs, the last weights
        m = fit_segcn(synthetic.x, g, synthetic.y, tr, torch.zeros_like(va), t)
    init = (32**0.5) * 0.9  # randn rows have norm ~ sqrt(hidden)
    assert float(m.se[0].detach()[lone].norm(dim=1).mean()) < 0.5 * init

"""The five data-parallel trainers on tiny inputs, each returning its loss trajectory (the
global batch's mean loss per step, ``core.distributed.tracing``) and its final weights.

Run in one process (the reference, batch B) by the test, and under
``torchrun --nproc-per-node 2`` (batch B/2 per process) as ``python -m tests.ddp.cases OUT``:
rank 0 saves every case's result to ``OUT/<case>.pt`` and both ranks write one model folder and
one run folder, of which only rank 0's may appear. Randomness inside the models is off
(dropout 0, no mixed precision): N processes equal one only for draws made per global batch.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from reprkit.core import distributed
from reprkit.core.io import atomic_torch_save

CASES = ("transencoder", "giant", "psagan", "deepaa", "coldbrew")


def _pairs():
    from reprkit.datasets.text import synthetic_pairs

    return synthetic_pairs(40, seed=0)


def _graph_texts():
    from reprkit.datasets.text_graphs import synthetic_text_graph

    return synthetic_text_graph(n_nodes=240, n_classes=3, seed=0)


def tiny_berts(folder: Path) -> dict[str, str]:
    """A tiny random BERT (dropout 0) per text case, in a folder of this process's own, made
    before any process group exists (transformers saves on rank 0 only once one does)."""
    from tests.conftest import make_tiny_bert

    pairs, (_, texts) = _pairs(), _graph_texts()
    made = {}
    for case, words in (("transencoder", pairs.a + pairs.b), ("giant", texts)):
        torch.manual_seed(0)  # the same random weights in every process and in the reference
        made[case] = make_tiny_bert(folder / f"{case}-bert-{distributed.rank()}", words,
                                    dropout=0.0)  # fmt: skip
    return made


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


def transencoder(bert: str):
    from reprkit.methods.transencoder import TransEncoder

    data = _pairs()
    m = TransEncoder(
        base_model=bert, seed=0, cycles=1, cross_epochs=0.8, bi_epochs=0.8, batch_cross=8,
        batch_bi=8, max_length=16, max_length_bi=16, amp=False, device="cpu",
    )  # fmt: skip
    with distributed.tracing() as losses:
        m.fit(data.pairs())
    state = _state(m.bi_) | {f"cross.{k}": v for k, v in _state(m.cross_).items()}
    # fewer pairs than processes: one process scores nothing, the result is still whole
    state["score_of_one_pair"] = torch.from_numpy(m.score(data.pairs()[:1]))
    return losses, state, m


def giant(bert: str):
    from reprkit.methods.giant import GiantXRT

    data, texts = _graph_texts()
    g = GiantXRT(
        device="cpu", tree__branching=4, tree__max_leaf_size=20, encoder__max_length=48,
        encoder__model=bert, finetune__steps=4, finetune__lr=1e-3, finetune__batch_size=16,
        finetune__bootstrap="inherit",
    )  # fmt: skip
    with distributed.tracing() as losses:
        g.fit(data, texts)
    return losses, {"features": g.transform(texts[:20]).detach().cpu()}, g


def psagan(_: str = ""):
    from reprkit.datasets.timeseries import synthetic_series
    from reprkit.methods.psagan import PSAGAN

    series = synthetic_series(n_series=6, length=96, seed=0)
    m = PSAGAN(length=32, epochs=3, epochs_per_block=1, batches_per_epoch=3, batch_size=16,
               channels=8, seed=0, device="cpu")  # fmt: skip
    with distributed.tracing() as losses:
        m.fit(series.values, seasons=series.seasons)
    return losses, _state(m.nets_), m


def deepaa(_: str = ""):
    from reprkit.methods.deepaa.config import TrainConfig
    from reprkit.methods.deepaa.nets import crop_flip_policy, train_classifier

    torch.manual_seed(0)  # the network's initialisation
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (96, 3, 16, 16), dtype=torch.uint8, generator=gen)
    labels = torch.randint(0, 4, (96,), generator=gen)
    cfg = TrainConfig(width=4, blocks=1, epochs=2, batch_size=32, lr=0.05)
    with distributed.tracing() as losses:
        net = train_classifier(images, labels, 4, cfg, crop_flip_policy(), gen,
                               device=torch.device("cpu"))  # fmt: skip
    return losses, _state(net), None


def coldbrew(_: str = "", parts: int = 1):
    from reprkit.datasets.graphs import synthetic_graph
    from reprkit.methods.coldbrew.config import TeacherConfig
    from reprkit.methods.coldbrew.method import fit_segcn
    from reprkit.models.node import prepare_graph

    data = synthetic_graph(n_nodes=300, n_classes=3, n_features=32, seed=0)
    t = TeacherConfig(mini_batch="on", batch_size=64, batch_parts=parts, dropout=0.0,
                      epochs=3, hidden=16, fanouts=(5, 5))  # fmt: skip
    graph = prepare_graph(data.edge_index, data.num_nodes)
    train, val = torch.zeros(300, dtype=torch.bool), torch.zeros(300, dtype=torch.bool)
    train[:150], val[150:200] = True, True
    torch.manual_seed(0)
    with distributed.tracing() as losses:
        model = fit_segcn(data.x, graph, data.y, train, val, t)
    return losses, _state(model), None


def main(out: Path) -> None:
    torch.set_num_threads(1)
    berts = tiny_berts(out / "work")
    for name in CASES:
        losses, state, model = globals()[name](berts.get(name, ""))
        atomic_torch_save(out / f"{name}.pt", {"losses": losses, "state": state})  # rank 0
        if name == "transencoder":  # both ranks save; only rank 0's folder may appear
            model.save(out / "model")
    from reprkit.eval.report import RunRecorder

    rec = RunRecorder("ddp", "tiny", "smoke", [0], {}, out / "run", torch.device("cpu"))
    rec.run(lambda r: r.add("m", "loss", [float(np.mean(losses))]))


if __name__ == "__main__":
    main(Path(sys.argv[1]))

"""libpecos's XR-Transformer fitted on what ``giant_vs_pecos.py export`` wrote; run it with
``.venv-pecos/bin/python`` (``benchmarks/giant_pecos_venv.sh``), never in reprkit's environment.

Same settings as our GIANT paper profile where libpecos has them: MiniLM from the local
directory, 128 tokens, a tree of branching 8 and leaves of at most 50 labels, ``max_steps`` per
fine-tuned level, AdamW lr 1e-4 with the same warm-up and linear decay, batch 32,
``tfn+man`` negatives from the top-20, weighted squared hinge, linear bootstrap,
``max_match_clusters`` just below the number of labels (so the leaf level does not fine-tune
the encoder, as in GIANT on ogbn-arxiv), ``only_encoder`` (no ranker). Writes
``pecos_emb.npy`` (XTransformer.encode: the pooled output, as GIANT's ``xrt_get_emb.sh``) and
``pecos_fit.json``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch


def main(folder: Path) -> None:
    from pecos.utils.featurization.text.vectorizers import Vectorizer
    from pecos.xmc.xtransformer.model import XTransformer
    from pecos.xmc.xtransformer.module import MLProblemWithText

    s = json.loads((folder / "settings.json").read_text())
    torch.manual_seed(s["seed"])
    np.random.seed(s["seed"])
    texts = (folder / "texts.txt").read_text().splitlines()
    n = s["n_nodes"]
    src, dst = np.load(folder / "kept_edges.npy")
    y = sp.csr_matrix((np.ones(len(src), dtype=np.float32), (src, dst)), shape=(n, n))
    deg = np.diff(y.indptr)
    rows = np.flatnonzero((deg > 0) & (deg < s["max_degree"]))  # as proc_data_xrt.py
    vec = Vectorizer.train(
        texts,
        config={
            "type": "tfidf",
            "kwargs": {
                "base_vect_configs": [
                    {"ngram_range": [1, 2], "max_feature": 50000, "min_df_cnt": 2},
                    {"ngram_range": [3, 3], "max_feature": 50000, "analyzer": "char_wb"},
                ]
            },
        },
        dtype=np.float32,
    )
    x_feat = vec.predict(texts).tocsr()
    train_params = XTransformer.TrainParams.from_dict(
        {
            "preliminary_indexer_params": {
                "nr_splits": s["branching"],
                "max_leaf_size": s["max_leaf_size"],
                "seed": s["seed"],
            },
            "max_match_clusters": n - 1,
            "only_encoder": True,
            "matcher_params_chain": {
                "model_shortcut": s["model_dir"],
                "negative_sampling": "tfn+man",
                "loss_function": "weighted-squared-hinge",
                "bootstrap_method": "linear",
                "batch_size": s["batch_size"],
                "max_steps": s["steps"],
                "learning_rate": s["lr"],
                "warmup_steps": s["warmup_steps"],
                "max_grad_norm": 1.0,
                "save_steps": 10**9,
                "logging_steps": 25,
                "use_gpu": False,
                "batch_gen_workers": 0,
            },
        },
        recursive=True,
    )
    pred_params = XTransformer.PredParams.from_dict(
        {
            "matcher_params_chain": {
                "only_topk": s["topk"],
                "truncate_length": s["max_length"],
            }
        },
        recursive=True,
    )
    prob = MLProblemWithText([texts[i] for i in rows], y[rows], X_feat=x_feat[rows])
    start = time.perf_counter()
    model = XTransformer.train(prob, train_params=train_params, pred_params=pred_params)
    fit_s = time.perf_counter() - start
    emb = model.encode(texts, batch_size=64, batch_gen_workers=0, use_gpu=False)
    np.save(folder / "pecos_emb.npy", np.asarray(emb, dtype=np.float32))
    info = {
        "fit_s": round(fit_s, 1),
        "rows": int(len(rows)),
        "emb_shape": list(np.asarray(emb).shape),
        "libpecos": __import__("pecos").__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
    }
    (folder / "pecos_fit.json").write_text(json.dumps(info, indent=1))
    print(json.dumps(info))


if __name__ == "__main__":
    main(Path(sys.argv[1]))

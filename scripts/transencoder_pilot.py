"""One Trans-Encoder pilot on real data (before the experiment exists): a small transductive
pool from the 7 STS sets, STS-B dev pairs for the dev score only, dev Spearman per cycle.

    REPRKIT_DATA=../shared/data .venv/bin/python scripts/transencoder_pilot.py \
        '{"cycles": 1, "cross_steps": 100, "bi_steps": 100}' [per_set=100] [n_dev=300]
"""

import json
import sys
import time

import numpy as np
from scipy.stats import spearmanr

from reprkit.datasets.text import STS_SETS, load_sts
from reprkit.methods.transencoder import TransEncoder

kw = json.loads(sys.argv[1])
per_set = int(sys.argv[2]) if len(sys.argv) > 2 else 100
n_dev = int(sys.argv[3]) if len(sys.argv) > 3 else 300
rng = np.random.default_rng(0)
pool = []
for name in STS_SETS:
    d = load_sts(name)
    pool += [d.pairs()[i] for i in rng.choice(len(d), min(len(d), per_set), replace=False)]
dev = load_sts("stsb", "dev")
dev_pairs, dev_gold = dev.pairs()[:n_dev], dev.score[:n_dev]
start = time.time()
m = TransEncoder(**kw).fit(pool, dev=(dev_pairs, dev_gold))
print(json.dumps({"history": m.history_, "seconds": round(time.time() - start)}))
print("dev Spearman of the kept models:", spearmanr(m.similarity(dev_pairs), dev_gold).statistic,
      spearmanr(m.score(dev_pairs), dev_gold).statistic)  # fmt: skip

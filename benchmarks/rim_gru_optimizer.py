"""Choose the RIM GRU's optimiser on validation only (docs/methods/rim.md): split seeds 100 and
101 (not reported seeds), the best next-item NLL on the GRU's own 20 % held-out users (never
trained on); no test user or test window is read.

    REPRKIT_DATA=../shared/data .venv/bin/python benchmarks/rim_gru_optimizer.py

Prints one line per (setting, seed) and writes ``rim_gru_optimizer.json``. The length-50
setting scores fewer tokens per user, so its NLL does not compare with the others.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace

from reprkit.datasets.interactions import load_events, rim_split
from reprkit.methods.rim.experiment import _concat, resolve_config
from reprkit.methods.rim.method import RIM

SETTINGS = {
    "rime_adagrad_0.1": {"optimizer": "adagrad", "lr": 0.1},
    "adam_1e-3": {"optimizer": "adam", "lr": 1e-3},
    "adam_1e-3_len50": {"optimizer": "adam", "lr": 1e-3, "max_len": 50},
}


def main() -> None:
    events = load_events("ml100k")
    out = {}
    for seed in (100, 101):
        test, val, train = rim_split(events, seed)
        ev = _concat(train, val.after)
        cfg = replace(resolve_config("paper").rim, seed=seed, sequence="gru", intensity="constant")
        for name, kw in SETTINGS.items():
            t0 = time.perf_counter()
            m = RIM(replace(cfg, **kw)).fit(ev, horizon=test.horizon)
            out[f"{name}|{seed}"] = {"val_nll": m.sequence_val_nll_, "curve": m.sequence_curve_}
            print(name, seed, round(m.sequence_val_nll_, 4), f"{time.perf_counter() - t0:.0f} s")
    with open("rim_gru_optimizer.json", "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()

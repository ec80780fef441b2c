#!/usr/bin/env bash
# libpecos's own environment (.venv-pecos) for benchmarks/giant_pecos_fit.py: libpecos pins
# numpy<2 and scipy<1.14, which reprkit's environment cannot hold. Never used by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-pecos
.venv-pecos/bin/pip install -q torch==2.13.0
# libpecos 1.2.8 imports transformers.AdamW and modeling_utils.SequenceSummary (gone by 4.57)
.venv-pecos/bin/pip install -q 'libpecos==1.2.8' 'numpy<2' 'scipy<1.14' 'transformers<4.45'
.venv-pecos/bin/python -c "import pecos, transformers; print('libpecos', pecos.__version__, 'transformers', transformers.__version__)"

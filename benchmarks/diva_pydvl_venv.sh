#!/usr/bin/env bash
# pyDVL's own environment (.venv-pydvl) for benchmarks/diva_pydvl_fit.py: pyDVL 0.10 pins
# numpy<2, which reprkit's environment cannot hold. Never used by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-pydvl
.venv-pydvl/bin/pip install -q 'pydvl==0.10.0'
.venv-pydvl/bin/python -c "import pydvl, numpy; print('pydvl', pydvl.__version__, 'numpy', numpy.__version__)"

"""core.parallel: jobs in worker processes give what they give in this one."""

import pytest

from reprkit.core.parallel import fan_out


def _job(seed: int, n: int) -> float:
    import torch

    g = torch.Generator().manual_seed(seed)
    return float(torch.randn(n, generator=g).sum())


def _fails(x: int) -> int:
    if x == 1:
        raise RuntimeError(f"job {x} failed")
    return x


def test_fan_out_keeps_job_order_and_results():
    jobs = [(s, 100 + s) for s in range(4)]
    assert fan_out(_job, jobs, 2) == fan_out(_job, jobs, 1) == [_job(*j) for j in jobs]


def test_fan_out_raises_a_workers_error_and_checks_workers():
    with pytest.raises(RuntimeError, match="job 1 failed"):
        fan_out(_fails, [(0,), (1,)], 2)
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        fan_out(_job, [(0, 1)], 0)

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data

from reprkit.datasets import _files
from reprkit.datasets.graphs import load_graph, synthetic_graph, validate_graph
from tests.conftest import shared_file


def test_cora_ships_with_the_package(monkeypatch):
    monkeypatch.delenv("REPRKIT_DATA", raising=False)
    d = load_graph("cora")
    assert d.x.shape == (2708, 1433) and d.edge_index.shape == (2, 10556) and int(d.y.max()) == 6


def test_citeseer_from_shared_data():
    shared_file("planetoid/ind.citeseer.x")
    d = load_graph("citeseer")
    assert d.x.shape == (3327, 3703) and int(d.y.max()) == 5


def test_chameleon_has_geomgcn_splits():
    shared_file("heterophilous/chameleon.npz")
    d = load_graph("chameleon")
    assert d.x.shape == (2277, 2325) and d.split_masks[0].shape == (10, 2277)
    assert d.edge_index.shape[1] == 2 * 31371  # undirected: each edge both ways


def test_missing_file_offline_names_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("REPRKIT_DATA", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError, match=r"heterophilous/texas.npz.*REPRKIT_DATA"):
        load_graph("texas")


def test_corrupt_file_is_refused(monkeypatch, tmp_path):
    (tmp_path / "heterophilous").mkdir()
    (tmp_path / "heterophilous" / "texas.npz").write_bytes(b"not the file")
    monkeypatch.setenv("REPRKIT_DATA", str(tmp_path))
    with pytest.raises(ValueError, match="sha256"):
        load_graph("texas")
    assert _files.sha256_of(tmp_path / "heterophilous" / "texas.npz")


def test_synthetic_is_seeded_and_long_tailed():
    a, b = synthetic_graph(seed=1), synthetic_graph(seed=1)
    assert torch.equal(a.x, b.x) and torch.equal(a.edge_index, b.edge_index)
    deg = torch.bincount(a.edge_index[0], minlength=a.num_nodes)
    assert (deg <= 2).float().mean() > 0.1 and deg.max() > 3 * deg.float().mean()


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda d: Data(edge_index=d.edge_index, y=d.y), "data.x is missing"),
        (lambda d: Data(x=d.x, edge_index=d.edge_index + 1000, y=d.y), "node ids in"),
        (
            lambda d: Data(
                x=torch.where(torch.rand_like(d.x) < 0.01, float("nan"), d.x),
                edge_index=d.edge_index,
                y=d.y,
            ),
            "NaN",
        ),
        (lambda d: Data(x=d.x, edge_index=d.edge_index.float() + 0.5, y=d.y), "integer node ids"),
        (lambda d: Data(x=d.x, edge_index=d.edge_index), "data.y is missing"),
    ],
)
def test_validate_graph_errors(synthetic, make, match):
    with pytest.raises(ValueError, match=match):
        validate_graph(make(synthetic))


@pytest.fixture
def download_cache(monkeypatch, tmp_path):
    """Downloads allowed, no data root, an empty cache under tmp_path."""
    monkeypatch.delenv("REPRKIT_OFFLINE", raising=False)
    monkeypatch.delenv("REPRKIT_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_download_is_checked_and_atomic(download_cache, tmp_path):
    # a file:// URL exercises the real download path without any network
    src = tmp_path / "src.bin"
    src.write_bytes(b"payload")
    good = _files.RemoteFile("x/src.bin", src.as_uri(), _files.sha256_of(src))
    path = _files.fetch(good)
    assert path.read_bytes() == b"payload" and path.parent == tmp_path / "cache" / "reprkit" / "x"
    bad = _files.RemoteFile("x/other.bin", src.as_uri(), "0" * 64)
    with pytest.raises(FileNotFoundError, match="sha256"):
        _files.fetch(bad)
    assert sorted(p.name for p in path.parent.iterdir()) == ["src.bin"]  # nothing half-written


def test_plain_download_is_kept_gzipped_and_checked_on_its_content(download_cache, tmp_path):
    import gzip

    src = tmp_path / "plain.txt"
    src.write_bytes(b"1 2 3\n")
    f = _files.RemoteFile("x/plain.txt.gz", src.as_uri(), _files.sha256_of(src))
    assert f.gzipped_copy
    path = _files.fetch(f)
    assert gzip.decompress(path.read_bytes()) == b"1 2 3\n"
    assert _files.fetch(f) == path  # the cached copy passes the same check


def test_ogbn_products_reads_ogb_zip_format(fake_download):
    # the real download path, on a 4-node archive in OGB's layout (the 1.4 GB file is not staged)
    import gzip
    import io
    import zipfile

    from reprkit.datasets import graphs

    def gz(text: str) -> bytes:
        return gzip.compress(text.encode())

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("products/raw/edge.csv.gz", gz("0,1\n1,2\n2,3\n"))
        z.writestr("products/raw/node-feat.csv.gz", gz("0.1,0.2\n0.3,0.4\n0.5,0.6\n0.7,0.8\n"))
        z.writestr("products/raw/node-label.csv.gz", gz("0\n1\n1\n2\n"))
        for part, ids in (("train", "0\n1\n"), ("valid", "2\n"), ("test", "3\n")):
            z.writestr(f"products/split/sales_ranking/{part}.csv.gz", gz(ids))
    calls = fake_download(buf.getvalue())
    g = graphs.load_graph("ogbn_products")
    assert calls == ["http://snap.stanford.edu/ogb/data/nodeproppred/products.zip"]
    assert g.x.shape == (4, 2) and g.y.tolist() == [0, 1, 1, 2]
    assert g.edge_index.shape[1] == 6  # undirected
    assert g.train_mask.tolist() == [True, True, False, False] and g.test_mask[3]

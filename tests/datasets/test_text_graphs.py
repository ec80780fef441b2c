"""Text-attributed graph loaders: the ogbn-arxiv reader on a tiny archive of OGB's layout."""

import gzip
import io
import zipfile

import pytest
import torch

from reprkit.datasets.text_graphs import read_ogbn_arxiv


def _gz(text: str) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as f:
        f.write(text.encode())
    return buf.getvalue()


def _archive(tmp_path, papers=(11, 22, 33, 44)):
    path = tmp_path / "arxiv.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("arxiv/raw/num-node-list.csv.gz", _gz("4\n"))
        z.writestr("arxiv/raw/edge.csv.gz", _gz("0,1\n1,2\n2,2\n3,0\n"))
        z.writestr("arxiv/raw/node-label.csv.gz", _gz("0\n1\n1\n2\n"))
        rows = "".join(f"{i},{p}\n" for i, p in enumerate(papers))
        z.writestr("arxiv/mapping/nodeidx2paperid.csv.gz", _gz("node idx,paper id\n" + rows))
        for name, idx in (("train", "0\n1\n"), ("valid", "2\n"), ("test", "3\n")):
            z.writestr(f"arxiv/split/time/{name}.csv.gz", _gz(idx))
    text = tmp_path / "titleabs.tsv.gz"
    lines = "titleabs.tsv\n" + "".join(
        f"{p}\tTitle {p}\tAbstract of {p}.\n" for p in (11, 22, 33, 44)
    )
    text.write_bytes(_gz(lines))
    return path, text


def test_read_ogbn_arxiv_aligns_texts_labels_and_split(tmp_path):
    data, texts = read_ogbn_arxiv(*_archive(tmp_path))
    assert data.num_nodes == 4 and texts[2] == "Title 33. Abstract of 33."
    assert data.y.tolist() == [0, 1, 1, 2]
    assert data.train_mask.tolist() == [True, True, False, False]
    assert data.val_mask.tolist() == [False, False, True, False] and bool(data.test_mask[3])
    # undirected, self loop 2-2 removed: 3 pairs, both directions
    assert data.edge_index.shape[1] == 6 and not bool(
        (data.edge_index[0] == data.edge_index[1]).any()
    )
    assert torch.equal(data.edge_index.flip(0).sort(1).values, data.edge_index.sort(1).values)


def test_read_ogbn_arxiv_names_missing_text(tmp_path):
    with pytest.raises(ValueError, match="lacks the text of 1 of 4.*paper id 55"):
        read_ogbn_arxiv(*_archive(tmp_path, papers=(11, 22, 33, 55)))

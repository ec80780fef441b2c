"""Dataset loaders by domain, each with a synthetic generator for fast tests."""

from __future__ import annotations

from reprkit.core.registry import DatasetSpec, register_dataset


def _register(domain: str, descriptions: dict[str, str]) -> None:
    for name, desc in descriptions.items():
        register_dataset(DatasetSpec(name, domain, desc))


for _name, _desc in [
    ("cora", "Planetoid Cora citation graph (2,708 nodes, 7 classes); ships with the package"),
    ("citeseer", "Planetoid CiteSeer citation graph (3,327 nodes, 6 classes)"),
]:
    register_dataset(DatasetSpec(_name, "graphs", _desc))
for _name in ("chameleon", "squirrel", "actor", "cornell", "texas", "wisconsin"):
    register_dataset(
        DatasetSpec(
            _name,
            "graphs",
            f"heterophilous graph {_name} with the 10 Geom-GCN splits",
        )
    )
register_dataset(
    DatasetSpec(
        "synthetic",
        "graphs",
        "degree-corrected SBM, 600 nodes, class-correlated features (seconds to run)",
    )
)
register_dataset(
    DatasetSpec(
        "cora_text",
        "text graphs",
        "Cora with paper abstracts (CANE release): 2,277 nodes, 7 classes, 66 unlabelled",
    )
)
register_dataset(
    DatasetSpec(
        "synthetic_text",
        "text graphs",
        "communities with their own topic words, 300 nodes (seconds to run)",
    )
)
register_dataset(
    DatasetSpec(
        "ogbn_arxiv",
        "text graphs",
        "ogbn-arxiv with titles and abstracts (169,343 nodes, 40 classes, OGB time split); "
        "downloaded from OGB, not staged offline",
    )
)
for _name, _desc in [
    ("dg15", "GRDA DG-15: 15 rotated 2-D two-class domains on a graph (official pickle)"),
    ("dg60", "GRDA DG-60: 60 rotated 2-D two-class domains on a graph (official pickle)"),
    ("tpt48", "TPT-48: 48 US states' monthly temperatures, 6 -> next 6 months, E2W and N2S"),
    ("spiral15", "seeded DG-style generator: 15 spiral domains (seconds to run)"),
]:
    register_dataset(DatasetSpec(_name, "domains", _desc))

_register(
    "time series",
    {
        "m4_hourly": "M4 Hourly: 414 series (700-960 hours) + 48-hour test continuation",
        "etth1": "ETTh1: 7 hourly electricity-transformer series, 17,420 hours",
        "etth2": "ETTh2: 7 hourly electricity-transformer series, 17,420 hours",
        "exchange_rate": "LSTNet exchange rates: 8 daily series, 7,588 days",
        "electricity": "LSTNet electricity: 321 hourly series (download only, not staged here)",
        "solar": "LSTNet solar (Alabama): 137 10-minute series (download only, not staged here)",
        "traffic": "LSTNet traffic: 862 hourly series (download only, not staged here)",
        "synthetic_series": "generated seasonal + trend + noise series (datasets.timeseries)",
    },
)

_register(
    "interactions",
    {
        "ml100k": "MovieLens-100K: 100,000 timestamped ratings, 943 users, 1,682 movies (not packaged)",
        "ml1m": "MovieLens-1M: 1,000,209 ratings, 6,040 users (download only, not staged here)",
        "synthetic_events": "self-exciting users choosing items by taste cluster (datasets.interactions)",
    },
)

_register(
    "sentence pairs",
    {
        "sts12": "STS 2012 test (5 subsets, 3,108 pairs; gold 0-5 for evaluation only)",
        "sts13": "STS 2013 test without SMT (not redistributable): 1,500 pairs",
        "sts14": "STS 2014 test (6 subsets, 3,750 pairs)",
        "sts15": "STS 2015 test (5 subsets, 3,000 pairs)",
        "sts16": "STS 2016 test (5 subsets, 1,186 scored pairs)",
        "stsb": "STS Benchmark train / dev / test (5,749 / 1,500 / 1,379 pairs)",
        "sickr": "SICK relatedness train / trial / test (4,439 / 495 / 4,906 pairs)",
        "synthetic_pairs": "templated sentences and edited copies (datasets.text)",
    },
)

_register(
    "images",
    {
        "cifar10_subset": "CIFAR-10 subset 10,000 train / 2,000 test, decoded from JPEG copies "
        "(relative comparisons only, not CIFAR-10 results)",
        "cifar10": "CIFAR-10 official python release (download only, not staged here)",
        "cifar100": "CIFAR-100 official python release (download only, not staged here)",
        "synthetic_images": "coloured squares / discs on noise, class = colour and shape "
        "(datasets.images)",
    },
)

_register(
    "factor images",
    {
        "dsprites": "dSprites full factorial grid on a coarser lattice (46,080 real images: "
        "3 shapes x 6 scales x 10 orientations x 16 x 16 positions)",
        "dsprites_subset": "20,000 random dSprites images (all 40 / 32 / 32 values; not a grid)",
        "dsprites_official": "official dSprites (737,280 images; download only, not staged)",
        "shapes3d": "official 3D Shapes (480,000 RGB images, 6 factors; download only, not staged)",
        "mpi3d_toy": "official MPI3D toy (1,036,800 RGB images, 7 factors; download only)",
        "synthetic_dsprites": "rendered square / ellipse / heart x scale x orientation x "
        "position grid (datasets.factors)",
    },
)

_register(
    "trajectories",
    {
        "eth_ucy": "ETH/UCY pedestrians (eth, hotel, univ, zara1, zara2), 8 observed + 12 "
        "predicted steps at 2.5 Hz, leave-one-scene-out",
        "synthetic_interaction": "leader-follower scenes with distractors: the target's turn is "
        "foreseeable only from its leader (datasets.trajectories)",
    },
)

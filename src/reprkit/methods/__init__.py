"""The ten methods, one package each. This module registers them (by import path, lazily)."""

from __future__ import annotations

from reprkit.core.registry import MethodSpec, register_method
from reprkit.methods.coldbrew.config import DATASETS

register_method(
    MethodSpec(
        name="coldbrew",
        paper="Cold Brew: Distilling Graph Node Representations with Incomplete or Missing "
        "Neighborhoods (Zheng et al., ICLR 2022)",
        status="works",
        estimator="reprkit.methods.coldbrew.method:ColdBrew",
        experiment="reprkit.methods.coldbrew.experiment",
        datasets=DATASETS,
        description="classify nodes with few or no edges (strict cold start) by GNN->MLP distillation",
    )
)

register_method(
    MethodSpec(
        name="giant",
        paper="Node Feature Extraction by Self-Supervised Multi-scale Neighborhood Prediction "
        "(GIANT-XRT, Chien et al., ICLR 2022)",
        status="works",
        estimator="reprkit.methods.giant.method:GiantXRT",
        experiment="reprkit.methods.giant.experiment",
        datasets=("cora_text", "synthetic_text", "ogbn_arxiv"),
        description="node features from raw text by fine-tuning a text encoder to predict neighbours",
    )
)

register_method(
    MethodSpec(
        name="grda",
        paper="Graph-Relational Domain Adaptation (GRDA, Xu et al., ICLR 2022)",
        status="works",
        estimator="reprkit.methods.grda.method:GRDA",
        experiment="reprkit.methods.grda.experiment",
        datasets=("dg15", "dg60", "tpt48", "spiral15"),
        description="adapt to unlabelled domains that are nodes of a graph (with DANN, ADDA, "
        "CDANN, MDD, Source-Only through the same code)",
    )
)

register_method(
    MethodSpec(
        name="psagan",
        paper="PSA-GAN: Progressive Self Attention GANs for Synthetic Time Series "
        "(Jeha et al., ICLR 2022)",
        status="works",
        estimator="reprkit.methods.psagan.method:PSAGAN",
        experiment="reprkit.methods.psagan.experiment",
        datasets=("m4_hourly", "etth1", "exchange_rate", "synthetic_series"),
        description="synthetic time series from a progressive self-attention GAN, Context-FID, "
        "and forecasting with synthetic data (WGAN-GP baseline through the same code)",
    )
)

register_method(
    MethodSpec(
        name="rim",
        paper="Bridging Recommendation and Marketing via Recurrent Intensity Modeling "
        "(RIM, Ma et al., ICLR 2022)",
        status="works",
        estimator="reprkit.methods.rim.method:RIM",
        experiment="reprkit.methods.rim.experiment",
        datasets=("ml100k", "ml1m", "synthetic_events"),
        description="score users x items by intensity: recommend items, find an item's audience, "
        "match under exposure constraints (with Pop, EMA, Hawkes, ALS, BPR, RNN baselines)",
    )
)

register_method(
    MethodSpec(
        name="transencoder",
        paper="Trans-Encoder: Unsupervised sentence-pair modelling through self- and "
        "mutual-distillations (Liu et al., ICLR 2022)",
        status="works",
        estimator="reprkit.methods.transencoder.method:TransEncoder",
        experiment="reprkit.methods.transencoder.experiment",
        datasets=("sts", "synthetic_pairs"),
        description="label sentence pairs without gold labels: bi/cross self- and mutual "
        "distillation (with the untrained MiniLM bi- and cross-encoder as baselines)",
    )
)

register_method(
    MethodSpec(
        name="deepaa",
        paper="Deep AutoAugment (Zheng et al., ICLR 2022)",
        status="works",
        estimator="reprkit.methods.deepaa.method:DeepAutoAugment",
        experiment="reprkit.methods.deepaa.experiment",
        datasets=("cifar10_subset", "cifar10", "cifar100", "synthetic_images"),
        description="search an image augmentation policy layer by layer by (regularised) "
        "gradient matching (with none, crop+flip, RandAugment, TrivialAugment, AutoAugment)",
    )
)

register_method(
    MethodSpec(
        name="diva",
        paper="DIVA: Dataset derivative of a learning task (Dukler et al., ICLR 2022)",
        status="works",
        estimator="reprkit.methods.diva.method:DIVA",
        experiment="reprkit.methods.diva.experiment",
        datasets=(
            "digits",
            "breast_cancer",
            "wine",
            "cora_text",
            "cifar10_subset",
            "synthetic_blobs",
        ),
        description="closed-form LOO derivative of a ridge head: find mislabelled samples, "
        "reweight, extend (with LOO residual, self-confidence, influence, KNN-Shapley, Data-OOB)",
    )
)

register_method(
    MethodSpec(
        name="indomain",
        paper="Visual representation learning does not generalize strongly within the same "
        "domain (Schott et al., ICLR 2022)",
        status="works",
        experiment="reprkit.methods.indomain.experiment",
        datasets=("dsprites", "synthetic_dsprites", "shapes3d", "mpi3d_toy"),
        description="random / composition / interpolation / extrapolation splits of a factor "
        "grid; R² of MLP, conv, ResNet, beta-VAE and Ada-GVAE readouts",
    )
)

register_method(
    MethodSpec(
        name="trajshap",
        paper="You mostly walk alone: Analyzing feature attribution in trajectory prediction "
        "(Makansi et al., ICLR 2022)",
        status="works",
        experiment="reprkit.methods.trajshap.experiment",
        datasets=("eth_ucy", "synthetic_interaction"),
        description="exact / permutation / Banzhaf Shapley values of the past, each neighbour "
        "and a random neighbour for constant-velocity, LSTM and social-attention predictors",
    )
)

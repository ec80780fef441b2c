"""Sentence-pair similarity benchmarks (for Trans-Encoder): STS12–16, STS-B and SICK-R, with
gold scores for evaluation only, and a synthetic paraphrase-pair generator for tests.

Files are read from ``$REPRKIT_DATA/sts`` (gzip-compressed copies of the original, untokenised
release text) or downloaded from the addresses below and checked on their content.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass

import numpy as np

from reprkit.datasets._files import RemoteFile, fetch

_SYNWMD = (
    "https://raw.githubusercontent.com/amao0o0/SynWMD/59042a92e862db58bd01e47914345d2f52d2a4a3/"
    "data/downstream/STS/{folder}/{name}"
)
_SICK = (
    "https://raw.githubusercontent.com/kkalouli/SICK-processing/"
    "0848f4aec60870122a4ca18de08ba0e25f6f9a75/SICK.txt"
)
_FOLDERS = {
    "STS12": "STS12-en-test/test-gold",
    "STS13": "STS13-en-test/test-gs",
    "STS14": "STS14-en-test/sts-en-test-gs-2014",
    "STS15": "STS15-en-test/test_evaluation_task2a",
    "STS16": "STS16-en-test/sts2016-english-with-gs-v1.0",
    "stsbenchmark": "STSBenchmark/stsbenchmark",
}
# sha256 of each file's content (the release text), keyed by folder/name
_SHA = {
    "SICK/SICK.txt": "1539c2d059809b5bd40694e26d8121cc85b6b496f91c7b40f2fc83bbd7dcd957",
    "STS12/STS.gs.MSRpar.txt": "5526be59228bc34ccb3cb6f1f56c0d7278d3419b8886713ae016fd92b151f19c",
    "STS12/STS.gs.MSRvid.txt": "9c6096c6bcfb0144c8bbddb00900ca9198c88498630cd0c8f08d18365f1d7150",
    "STS12/STS.gs.SMTeuroparl.txt": "708530c4d006d06881f3289fce35d624d7efe562dcf0fe5f8aa0eec3a135f6d4",
    "STS12/STS.gs.surprise.OnWN.txt": "088d8ca22c0aa406e4a5d2e6e308a4f38b482b8e736c2445a38ffb6e4c4fb4fd",
    "STS12/STS.gs.surprise.SMTnews.txt": "aa6dfc868db333c43dc59be14d46fa6587c7ebddc0d497e717f647bf35121cf1",
    "STS12/STS.input.MSRpar.txt": "76bf7089f9e7c05732163a227b3ce679512554513eb783f2548b07d659bd733d",
    "STS12/STS.input.MSRvid.txt": "476d14034a241f71b832e4ae557dd6cdbe265b57c915570a2583f93b4456948d",
    "STS12/STS.input.SMTeuroparl.txt": "dd31dbb6e7eef8a0d00347fe012f7cf372943167e30f60f6fb3b10219a41941f",
    "STS12/STS.input.surprise.OnWN.txt": "07ec7b91348aece0873b41f7fc4e76e9fddf05bdb82c048c98d92f5db0bec07d",
    "STS12/STS.input.surprise.SMTnews.txt": "2788a98ef33c3b7b704ef4891fe863cfcf061338e8aa41cb737d0f137f3ba03c",
    "STS13/STS.gs.FNWN.txt": "8ca95b7228119578e2007839cf7969f22c4f1fd41fd610c4b7f9683072d98066",
    "STS13/STS.gs.OnWN.txt": "0cd497aaddb00a2fb6db25f77bccfc09e8aa012e11549b81b434bab1a27ad954",
    "STS13/STS.gs.headlines.txt": "f49f64089011436dd296ef384c07160219406feef7dc4b9fa2af52a519f32bc6",
    "STS13/STS.input.FNWN.txt": "b48fc64cd85703ac6431f8ea6722f325fe9620fd4f33b3d5c24dd89c553e74bc",
    "STS13/STS.input.OnWN.txt": "127c66889627f26dc11864dc9be4ba1e4895ed60125985c755429ad588e4b9c8",
    "STS13/STS.input.headlines.txt": "885e6149fff28a79591ba464c13626d03593b822c88c7c04b6564354d31c7561",
    "STS14/STS.gs.OnWN.txt": "1c80147df270ea4cfce14a47ed29f8a2f10d5dc016d02836077fd786ff7f535b",
    "STS14/STS.gs.deft-forum.txt": "ba6dc76696b5c93985590a325b4d142449932cdf0d715b2bab1b1743fe3c488c",
    "STS14/STS.gs.deft-news.txt": "105c5b333abd50c274efb4dae9e3e0dab36ed63eee780cfb49955b1586bd62f2",
    "STS14/STS.gs.headlines.txt": "f243c34647255cd0b994565ed4f58dd31506e7d9c9d6250d1a6dd14095625832",
    "STS14/STS.gs.images.txt": "fc994ebacc7074c332626fa9e29542d7340a48a3cdb999b47cdb59c378523a62",
    "STS14/STS.gs.tweet-news.txt": "0098c644bfeaa2d511a8297b1940771865900c372c9dd49a62726dc5ec02c9a3",
    "STS14/STS.input.OnWN.txt": "a227d5fe1c1f729a52a0b39b5b36d3225e1bca3c278e7ed392cac2ecd3990f1c",
    "STS14/STS.input.deft-forum.txt": "8b48aa15bb850e2827446f6e98cc3c5123ff283924b4571a409aa2fab73e35c6",
    "STS14/STS.input.deft-news.txt": "92df5b8c48873cbfba36b73a77955fb965c9244776df9e9c2c4d2f6155bdeefe",
    "STS14/STS.input.headlines.txt": "a19f84294325c62a2a403b59957196fd7737f86654ded0e04e0b54bc4a8bcf9e",
    "STS14/STS.input.images.txt": "cec1b3c08b0e4c88aeaf8dca047f5b28f4a8588eeef58475e0f16491d2bb7193",
    "STS14/STS.input.tweet-news.txt": "250d29ec9394e35443b2a73016ccc55e11b20939a3b8ee3bea9a858ba2f9adc0",
    "STS15/STS.gs.answers-forums.txt": "1644301a7540e5484da285002e9269062852efb2272be614cad99c9530f6a102",
    "STS15/STS.gs.answers-students.txt": "028db213140f8c7aef7497c4ae38b6380938f20359852231669c83dce11c3701",
    "STS15/STS.gs.belief.txt": "5736192faaccbdbecd0ef6b73ec04b24115cd2e48d55dc3b1b170da3d2a81c75",
    "STS15/STS.gs.headlines.txt": "e8e432f769c8a94ddb62ae3343890ac24a9dd78a116d56c707313bc59413dd56",
    "STS15/STS.gs.images.txt": "ed8878209098c77ca7f02ac413d3fd698f92ad3425999555e50fda89fc46012a",
    "STS15/STS.input.answers-forums.txt": "fe8e460a74e8e38704ac4e6ddcedec89fd6e51cd0467d6f4301b444b259688e1",
    "STS15/STS.input.answers-students.txt": "16eedf46fb3b29822b275a0ddcff8e873a6eb4bafba244a17c4049ffc318d62a",
    "STS15/STS.input.belief.txt": "6e924a19fb1abbce01a8666f07766250b46a96c89272de8e5b01d0905bc61b79",
    "STS15/STS.input.headlines.txt": "779c195c54b72282bd3c8ca1dbb09a4155a39b2acd13d5cf819d8555d717cf6a",
    "STS15/STS.input.images.txt": "6f332542a75bcd18ea1442fc129306f746cd7ade7010ea274e763bfca576cc47",
    "STS16/STS2016.gs.answer-answer.txt": "332efd741b0cb247d20dd2a6cec854360c921c7e6b395f328f562d8d26057214",
    "STS16/STS2016.gs.headlines.txt": "01e33a95996201a6e81e3cce9eda0f15048b77613ea64dce2929bb35479f7d85",
    "STS16/STS2016.gs.plagiarism.txt": "29984944a91aaff484f2b2e5d4d434fc8a6f5ef6f578a880cccd2786f5142fdc",
    "STS16/STS2016.gs.postediting.txt": "81947ed9dbe7f85b7bd249df68ed5c7b2f16f06390ad568eb5554b1e26bc5577",
    "STS16/STS2016.gs.question-question.txt": "cf9ebf9d140191f73620cda0560947ad9283c910735d0d541b8a401a5e64afb0",
    "STS16/STS2016.input.answer-answer.txt": "7daf2cd87751a0f8b754fe705bdb280c31591d9febf5b6fce9dcb10d3b8a72a7",
    "STS16/STS2016.input.headlines.txt": "ec8ee1124e71f4cc18c861f542fa8f32c86fef0703de31b0f7a02e22e935d992",
    "STS16/STS2016.input.plagiarism.txt": "6760cb210f4423262fd8962674e6668409690ce888bb1617659c6886cf004019",
    "STS16/STS2016.input.postediting.txt": "a8a66185877785307803c99a0899d65aefb062c4bf7689560b95d37bb0c05474",
    "STS16/STS2016.input.question-question.txt": "b7f95dead3d8c59fbaacbb135643c6ebd322682db6502fdb24d4ce83c9bf016d",
    "stsbenchmark/sts-dev.csv": "5d7e944d8b02734b07bfdb5df67db3420c64bed153fcaa1ba47ad03480cf4234",
    "stsbenchmark/sts-test.csv": "affe45928a66ee5a708531233c95b7dacbbdc57f974f002a3d32ea0180cf816a",
    "stsbenchmark/sts-train.csv": "0f71910b59aa1ad973c5897f0791f3b0965a92b8f82b1a95f3eea9f4162fda82",
}
# the subsets of each STS year (STS13's SMT subset is not redistributable and absent)
_SUBSETS = {
    "sts12": ("MSRpar", "MSRvid", "SMTeuroparl", "surprise.OnWN", "surprise.SMTnews"),
    "sts13": ("FNWN", "OnWN", "headlines"),
    "sts14": ("OnWN", "deft-forum", "deft-news", "headlines", "images", "tweet-news"),
    "sts15": ("answers-forums", "answers-students", "belief", "headlines", "images"),
    "sts16": ("answer-answer", "headlines", "plagiarism", "postediting", "question-question"),
}
STS_SETS = ("sts12", "sts13", "sts14", "sts15", "sts16", "stsb", "sickr")
SPLITS = ("train", "dev", "test")


def _remote(key: str) -> RemoteFile:
    folder, name = key.split("/")
    url = _SICK if folder == "SICK" else _SYNWMD.format(folder=_FOLDERS[folder], name=name)
    return RemoteFile(f"sts/{key}.gz", url, _SHA[key])


def _text(key: str) -> str:
    with gzip.open(fetch(_remote(key)), "rt", encoding="utf-8", errors="replace") as f:
        return f.read()


@dataclass
class PairData:
    """Sentence pairs with gold similarity (0-5; used for evaluation only)."""

    a: list[str]
    b: list[str]
    score: np.ndarray  # (n,) float
    subset: list[str]  # the subset (source) of each pair
    name: str = ""

    def __len__(self) -> int:
        return len(self.a)

    def pairs(self) -> list[tuple[str, str]]:
        return list(zip(self.a, self.b, strict=True))


def load_sts(name: str, split: str = "test") -> PairData:
    """One of ``STS_SETS``. STS12-16 have only their test data (all subsets, in file order);
    STS-B and SICK-R have ``train``/``dev``/``test`` (SICK's TRAIN/TRIAL/TEST)."""
    if name not in STS_SETS:
        raise ValueError(f"name must be one of {list(STS_SETS)}, got {name!r}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
    if name in _SUBSETS and split != "test":
        raise ValueError(f"{name} has only a test split, got split={split!r}")
    a, b, score, subset = [], [], [], []
    if name in _SUBSETS:
        year = name.upper()
        prefix = "STS2016" if name == "sts16" else "STS"
        for sub in _SUBSETS[name]:
            inp = _text(f"{year}/{prefix}.input.{sub}.txt").split("\n")
            gold = _text(f"{year}/{prefix}.gs.{sub}.txt").split("\n")
            for line, g in zip(inp, gold, strict=False):
                if not g.strip():  # STS16: pairs without a gold score
                    continue
                cols = line.split("\t")
                a.append(cols[0])
                b.append(cols[1])
                score.append(float(g))
                subset.append(sub)
    elif name == "stsb":
        text = _text(f"stsbenchmark/sts-{split}.csv")
        for row in csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) >= 7:
                a.append(row[5])
                b.append(row[6])
                score.append(float(row[4]))
                subset.append(row[0])
    else:
        want = {"train": "TRAIN", "dev": "TRIAL", "test": "TEST"}[split]
        rows = csv.reader(io.StringIO(_text("SICK/SICK.txt").replace("\r", "")), delimiter="\t")
        head = next(rows)
        col = {k: i for i, k in enumerate(head)}
        for row in rows:
            if len(row) == len(head) and row[col["SemEval_set"]] == want:
                a.append(row[col["sentence_A"]])
                b.append(row[col["sentence_B"]])
                score.append(float(row[col["relatedness_score"]]))
                subset.append("SICK")
    return PairData(a, b, np.asarray(score), subset, name)


_WORDS = [
    "man",
    "woman",
    "child",
    "dog",
    "cat",
    "bird",
    "car",
    "train",
    "house",
    "tree",
    "river",
    "city",
    "ball",
    "guitar",
    "horse",
    "phone",
    "book",
    "table",
    "road",
    "beach",
    "park",
    "kitchen",
    "garden",
    "window",
    "street",
]
_VERBS = [
    "rides",
    "plays",
    "eats",
    "watches",
    "holds",
    "throws",
    "opens",
    "paints",
    "cleans",
    "climbs",
    "carries",
    "reads",
]
_ADJ = ["young", "old", "small", "large", "red", "blue", "happy", "quiet", "busy", "tall"]


def synthetic_pairs(n: int = 200, seed: int = 0) -> PairData:
    """Templated sentences and edited copies: the gold score (0-5) is 5 × the share of the
    sentence's content words the copy keeps (the rest replaced at random)."""
    rng = np.random.default_rng(seed)
    a, b, score = [], [], []
    for _ in range(n):
        words = [rng.choice(_ADJ), rng.choice(_WORDS), rng.choice(_VERBS), rng.choice(_ADJ)]
        words.append(rng.choice(_WORDS))
        keep = rng.random(len(words)) < rng.random()
        edited = [
            w if k else rng.choice(pool)
            for w, k, pool in zip(words, keep, [_ADJ, _WORDS, _VERBS, _ADJ, _WORDS], strict=True)
        ]
        same = sum(x == y for x, y in zip(words, edited, strict=True))

        def say(w: list[str]) -> str:
            return f"A {w[0]} {w[1]} {w[2]} the {w[3]} {w[4]}."

        a.append(say(words))
        b.append(say(edited))
        score.append(5.0 * same / len(words))
    return PairData(a, b, np.asarray(score), ["synthetic"] * n, "synthetic_pairs")

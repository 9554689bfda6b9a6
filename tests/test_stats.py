"""stats: counts, prevalence, pos_weight and co-occurrence equal hand-computed ones; the HTML page renders."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

import labelprep
from labelprep.cli import main
from labelprep.errors import InputError, VocabularyError
from labelprep.labelstats import compute_stats, pos_weight_json

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "shapes" / "labels.csv"
LABELS = ["clear", "cloudy", "haze", "partly_cloudy", "primary", "water", "road"]
ROWS = [  # path, split, then one value per label; Planet-like: exactly one weather tag, except j
    ("a.jpg", "train", 1, 0, 0, 0, 1, 1, 0),
    ("b.jpg", "train", 1, 0, 0, 0, 1, 0, 1),
    ("c.jpg", "train", 0, 1, 0, 0, 0, 0, 0),
    ("d.jpg", "train", 0, 0, 1, 0, 1, 0, 0),
    ("e.jpg", "train", 0, 0, 0, 1, 1, 1, 1),
    ("f.jpg", "train", 1, 0, 0, 0, 1, 0, 0),
    ("g.jpg", "val", 1, 0, 0, 0, 1, 1, 1),
    ("h.jpg", "val", 0, 1, 0, 0, 0, -1, 0),
    ("i.jpg", "val", 0, 0, 0, 1, 1, 0, 0),
    ("j.jpg", "val", 0, 0, 0, 0, 0, 0, 0),
]


def planet(rows: list[tuple[object, ...]] = ROWS, labels: list[str] = LABELS, split: bool = True) -> pd.DataFrame:
    frame = pd.DataFrame({"path": [r[0] for r in rows]})
    for j, label in enumerate(labels):
        frame[label] = np.array([r[2 + j] for r in rows], dtype=np.int8)
    if split:
        frame["split"] = [r[1] for r in rows]
    return frame


def test_counts_prevalence_and_pos_weight_by_hand() -> None:
    st = compute_stats(planet(), LABELS)
    assert st.split_names == ["train", "val", "all"]
    train, val, total = st.split("train"), st.split("val"), st.split("all")
    assert (train.images, val.images, total.images) == (6, 4, 10)
    assert [s.positives for s in train.labels] == [3, 1, 1, 1, 5, 2, 2]
    assert [s.positives for s in val.labels] == [1, 1, 0, 1, 2, 1, 1]
    assert [s.positives for s in total.labels] == [4, 2, 1, 2, 7, 3, 3]
    assert train.label("clear").prevalence == pytest.approx(0.5)
    assert train.label("clear").pos_weight == pytest.approx(1.0)
    assert train.label("primary").pos_weight == pytest.approx(1 / 5)
    assert train.label("cloudy").pos_weight == pytest.approx(5.0)
    assert val.label("haze").pos_weight is None  # no positives
    assert val.label("haze").prevalence == 0.0
    # h's water is unknown (-1): neither positive nor negative
    water = val.label("water")
    assert (water.positives, water.negatives, water.unknown) == (1, 2, 1)
    assert water.prevalence == pytest.approx(1 / 3)
    assert water.pos_weight == pytest.approx(2.0)


def test_cardinality_density_empty_and_histogram() -> None:
    st = compute_stats(planet(), LABELS)
    train, val, total = st.split("train"), st.split("val"), st.split("all")
    assert train.cardinality == pytest.approx(15 / 6)
    assert train.density == pytest.approx(15 / 6 / 7)
    assert val.cardinality == pytest.approx(7 / 4)
    assert total.cardinality == pytest.approx(22 / 10)
    assert total.density == pytest.approx(2.2 / 7)
    assert (train.empty, val.empty, total.empty) == (0, 1, 1)
    assert total.labels_per_image == [1, 2, 3, 2, 2]
    assert val.labels_per_image == [1, 1, 1, 0, 1]


def test_top_pairs_by_hand() -> None:
    st = compute_stats(planet(), LABELS, top_pairs=5)
    got = [(p.a, p.b, p.count) for p in st.pairs]
    # ties keep vocabulary order
    assert got == [("clear", "primary", 4), ("primary", "water", 3), ("primary", "road", 3),
                   ("clear", "water", 2), ("clear", "road", 2)]  # fmt: skip
    first = st.pairs[0]
    assert first.jaccard == pytest.approx(4 / (4 + 7 - 4))
    assert first.lift == pytest.approx(4 * 10 / (4 * 7))
    assert len(compute_stats(planet(), LABELS, top_pairs=100).pairs) == 10  # every pair that co-occurs


def test_weather_tags_found_as_mutually_exclusive_group() -> None:
    # ten images are too few for never-together to mean anything (tested below): the mechanics, with no threshold
    st = compute_stats(planet(), LABELS, min_support=0.1, min_expected=0)
    weather = {"clear", "cloudy", "haze", "partly_cloudy"}
    pairs = {frozenset((p.a, p.b)) for p in st.exclusive_pairs}
    assert {frozenset(("clear", "cloudy")), frozenset(("clear", "haze")), frozenset(("haze", "partly_cloudy"))} <= pairs
    assert frozenset(("clear", "primary")) not in pairs  # they co-occur
    top = st.exclusive_groups[0]
    assert set(top.labels) == weather
    assert top.images == 9 and top.coverage == pytest.approx(0.9)  # j has no weather tag
    frame = planet()
    for g in st.exclusive_groups:  # every group is pairwise exclusive
        assert all(((frame[a] == 1) & (frame[b] == 1)).sum() == 0 for a in g.labels for b in g.labels if a != b)

    # min_support 0.2 needs two images: haze (one image) leaves the group
    st2 = compute_stats(planet(), LABELS, min_support=0.2, min_expected=0)
    assert {"clear", "cloudy", "partly_cloudy"} in [set(g.labels) for g in st2.exclusive_groups]
    assert all("haze" not in (p.a, p.b) for p in st2.exclusive_pairs)
    # the output is capped
    assert len(compute_stats(planet(), LABELS, min_support=0.1, max_exclusive=2, min_expected=0).exclusive_pairs) == 2


def test_planet_like_group_among_many_images() -> None:
    rng = np.random.default_rng(7)
    n = 4000
    weather = rng.choice(4, size=n, p=[0.7, 0.05, 0.07, 0.18])
    land = (rng.random((n, 3)) < [0.9, 0.3, 0.2]).astype(np.int8)
    land[weather == 1] = 0  # cloudy images have nothing else
    mat = np.concatenate([np.eye(4, dtype=np.int8)[weather], land], axis=1)
    frame = pd.DataFrame(mat, columns=LABELS)
    frame.insert(0, "path", [f"{i}.jpg" for i in range(n)])
    st = compute_stats(frame, LABELS)
    assert set(st.exclusive_groups[0].labels) == {"clear", "cloudy", "haze", "partly_cloudy"}
    assert st.exclusive_groups[0].coverage == pytest.approx(1.0)


def test_no_split_column_gives_one_split_all_and_pos_weight_json_falls_back() -> None:
    st = compute_stats(planet(split=False), LABELS)
    assert st.split_names == ["all"]
    weights = pos_weight_json(st)  # "train" is absent: the whole frame stands in
    assert list(weights) == LABELS
    assert weights["primary"] == pytest.approx(3 / 7)
    assert weights["clear"] == pytest.approx(6 / 4)
    split_weights = pos_weight_json(compute_stats(planet(), LABELS))
    assert split_weights["cloudy"] == pytest.approx(5.0)
    assert pos_weight_json(compute_stats(planet(), LABELS), "val")["haze"] is None
    with pytest.raises(InputError, match="no split named 'test'"):
        pos_weight_json(st, "test")


def test_json_round_trips_and_text_has_numbers() -> None:
    st = compute_stats(planet(), LABELS)
    data = json.loads(st.to_json())
    assert data == json.loads(json.dumps(st.to_dict()))
    assert data["splits"][0]["labels"]["clear"] == {"positives": 3, "negatives": 3, "unknown": 0,
                                                    "prevalence": 0.5, "pos_weight": 1.0}  # fmt: skip
    assert data["splits"][1]["labels"]["haze"]["pos_weight"] is None
    assert data["top_pairs"][0]["a"] == "clear"
    text = st.to_text()
    assert "split train: 6 image(s)" in text and "cardinality 2.500" in text
    assert "clear + primary: 4 image(s)" in text
    assert st.render("json") == st.to_json()


def test_empty_frame_and_missing_column() -> None:
    empty = planet(rows=[])
    st = compute_stats(empty, LABELS)
    assert st.total.images == 0 and st.total.cardinality == 0.0
    assert st.total.label("clear").prevalence is None
    json.loads(st.to_json())
    assert "<svg" in st.to_html()
    with pytest.raises(VocabularyError, match="'snow'"):
        compute_stats(planet(), [*LABELS, "snow"])


def test_vectorised_on_a_large_frame() -> None:
    rng = np.random.default_rng(0)
    mat = (rng.random((20000, 300)) < 0.01).astype(np.int8)
    labels = [f"l{i}" for i in range(300)]
    frame = pd.concat([pd.DataFrame({"path": [f"{i}.jpg" for i in range(20000)]}),
                       pd.DataFrame(mat, columns=labels)], axis=1)  # fmt: skip
    st = compute_stats(frame, labels)
    assert [s.positives for s in st.total.labels] == mat.sum(axis=0).tolist()
    f = mat.astype(np.float64)
    co = (f.T @ f).astype(np.int64)
    top = st.pairs[0]
    assert top.count == int(np.triu(co, 1).max())
    assert st.heatmap == co[np.ix_([labels.index(x) for x in st.heatmap_labels],
                                   [labels.index(x) for x in st.heatmap_labels])].tolist()  # fmt: skip


NASTY = ["<script>alert(1)</script>", 'say "hi" & bye', "plain"]


def nasty_frame() -> pd.DataFrame:
    rows = [(f"{i}.jpg", "train" if i < 8 else "val", i % 2, int(i % 3 == 0), 1) for i in range(12)]
    return planet(rows=rows, labels=NASTY)


def test_html_is_self_contained_escaped_and_has_three_charts() -> None:
    page = compute_stats(nasty_frame(), NASTY).to_html()
    assert page.startswith("<!DOCTYPE html>")
    for forbidden in ("http://", "https://", "src=", "<link", "<script", "url(", "@import"):
        assert forbidden not in page, forbidden
    assert page.count('class="chart-frequency"') == 3  # train, val, all
    assert 'class="chart-cooccurrence"' in page
    assert 'class="chart-labels-per-image"' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "say &quot;hi&quot; &amp; bye" in page


CHROMIUM = Path("/usr/bin/chromium")


def test_html_renders_in_headless_chromium(tmp_path: Path) -> None:
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium): cannot check the HTML renders")
    exe = str(CHROMIUM) if CHROMIUM.exists() else str(shutil.which("chromium"))
    page, png = tmp_path / "stats.html", tmp_path / "shot.png"
    page.write_text(compute_stats(nasty_frame(), NASTY).to_html(), encoding="utf-8")
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}", "--window-size=1200,1600",
           page.as_uri()]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert png.exists(), f"no screenshot (exit {run.returncode}): {run.stderr[-2000:]}"
    with Image.open(png) as im:
        rgb = im.convert("RGB")
        assert rgb.size == (1200, 1600)
        assert all(lo < hi for lo, hi in rgb.getextrema()), "the screenshot is one colour"
        colours = rgb.getcolors(maxcolors=1 << 20) or []
        assert len(colours) > 50, f"only {len(colours)} colours: the page looks blank"
        # the bar colour (#2f81f7) of the frequency chart is on screen
        assert any(c == (0x2F, 0x81, 0xF7) for _, c in colours)


def test_exclusive_pairs_need_enough_expected_co_occurrence() -> None:
    """Two labels never together mean something only when independence would have put them together often."""
    st = compute_stats(planet(), LABELS, min_support=0.1)  # default: expected at least 5 images
    assert st.exclusive_pairs == [] and st.exclusive_groups == []  # ten images: at most 4 x 2 / 10 = 0.8 expected
    assert st.settings["min_expected"] == 5.0
    assert "expected to share at least 5 image(s)" in st.to_html()
    # 100 images: a (50) and b (30) never together: 15 expected, listed; c (6) never with a: 3 expected, not listed
    n = 100
    a = np.zeros(n, np.int8)
    a[:50] = 1
    b = np.zeros(n, np.int8)
    b[50:80] = 1
    c = np.zeros(n, np.int8)
    c[80:86] = 1
    frame = pd.DataFrame({"path": [f"{i}.jpg" for i in range(n)], "a": a, "b": b, "c": c})
    st = compute_stats(frame, ["a", "b", "c"])
    assert [(p.a, p.b, p.expected) for p in st.exclusive_pairs] == [("a", "b", pytest.approx(15.0))]
    assert [g.labels for g in st.exclusive_groups] == [["a", "b"]]
    assert "pairs expected to share at least 5 image(s)" in st.to_text()
    assert len(compute_stats(frame, ["a", "b", "c"], min_expected=2).exclusive_pairs) == 2  # b, c: 1.8 expected
    assert len(compute_stats(frame, ["a", "b", "c"], min_expected=1).exclusive_pairs) == 3
    with pytest.raises(InputError, match="min_expected"):
        compute_stats(frame, ["a", "b", "c"], min_expected=-1)


def _bars(page: str) -> list[list[tuple[str, str]]]:
    """Per frequency chart: (label as hovered, count shown) in drawing order."""
    import re

    charts = re.findall(r'<svg class="chart-frequency".*?</svg>', page, flags=re.S)
    return [[(m.group(1).split(": ")[0], m.group(2)) for m in
             re.finditer(r"<g><title>(.*?)</title>.*?>(\d+)</text></g>", c)] for c in charts]  # fmt: skip


def test_frequency_charts_share_one_order_and_show_zeros() -> None:
    st = compute_stats(planet(), LABELS)
    bars = _bars(st.to_html())
    assert len(bars) == 3  # train, val, all
    order = [name for name, _ in bars[2]]
    # one order for every split: overall frequency (primary 7, clear 4, water 3, road 3, ...), ties by vocabulary
    assert order == ["primary", "clear", "water", "road", "cloudy", "partly_cloudy", "haze"]
    assert all([name for name, _ in b] == order for b in bars)
    val = dict(bars[1])
    assert val["haze"] == "0"  # no positive in val: drawn as 0, not left out
    assert 'class="zero"' in st.to_html()


def test_long_label_names_are_wrapped_and_whole_on_hover() -> None:
    long = "Enlarged Cardiomediastinum with pleural thickening of the left apex"
    frame = pd.DataFrame({"path": ["a.jpg", "b.jpg"], long: np.array([1, 0], np.int8),
                          "x": np.array([1, 1], np.int8)})  # fmt: skip
    page = compute_stats(frame, [long, "x"]).to_html()
    chart = page[page.index('<svg class="chart-frequency"'):]
    chart = chart[: chart.index("</svg>")]
    assert f"<title>{long}: 1 (50.0%)</title>" in chart  # the full name on hover
    assert chart.count("<tspan") >= 3 and ">Enlarged Cardiomediastinum<" not in chart  # over two lines
    assert ">Enlarged<" not in chart and "with pleural" in chart


def test_stats_json_stdout_holds_only_json_and_pos_weight_file(tmp_path: Path) -> None:
    pw = tmp_path / "pw.json"
    r = CliRunner().invoke(main, ["stats", str(EXAMPLE), "--split-col", "split", "--output-format", "json",
                                  "--pos-weight", str(pw)])  # fmt: skip
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data and json.loads(pw.read_text()).keys() == {"circle", "square", "triangle"}
    assert labelprep.stats(EXAMPLE, split_col="split").to_dict() == data
    html = tmp_path / "report.html"
    r = CliRunner().invoke(main, ["stats", str(EXAMPLE), "-o", str(html)])
    assert r.exit_code == 0 and html.read_text().lstrip().lower().startswith("<!doctype html")

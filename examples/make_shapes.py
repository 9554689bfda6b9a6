"""Regenerate the bundled example dataset: small images with circles, squares and triangles.

Each image's labels are the shapes drawn on it. Run from the repository root:
    python examples/make_shapes.py
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).parent / "shapes"
SHAPES = ("circle", "square", "triangle")
COLOURS = [(220, 40, 40), (40, 160, 60), (40, 80, 220), (230, 180, 30)]


def draw(shapes: list[str], rng: random.Random, i: int) -> Image.Image:
    # a background tint of its own, so no two images are the same file (validate would flag them)
    img = Image.new("RGB", (64, 64), (250 - i % 8 * 3, 250 - i // 8 * 3, 240))
    d = ImageDraw.Draw(img)
    slots = rng.sample([(4, 4), (34, 4), (4, 34), (34, 34)], len(shapes))
    for shape, (x, y) in zip(shapes, slots):
        c = rng.choice(COLOURS)
        if shape == "circle":
            d.ellipse([x, y, x + 26, y + 26], fill=c)
        elif shape == "square":
            d.rectangle([x + 2, y + 2, x + 24, y + 24], fill=c)
        else:
            d.polygon([(x + 13, y), (x + 26, y + 26), (x, y + 26)], fill=c)
    return img


def main() -> None:
    rng = random.Random(7)
    (HERE / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(48):
        k = rng.choice([0, 1, 1, 2, 2, 3])
        shapes = sorted(rng.sample(SHAPES, k))
        name = f"img_{i:03d}.jpg" if i % 4 else f"img_{i:03d}.png"
        draw(shapes, rng, i).save(HERE / "images" / name, quality=90)
        split = "train" if i < 36 else ("val" if i < 42 else "test")
        rows.append((f"images/{name}", "|".join(shapes), split, f"p{i // 2:02d}"))
    with open(HERE / "labels.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["image", "labels", "split", "patient"])
        w.writerows(rows)


if __name__ == "__main__":
    main()

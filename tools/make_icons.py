"""Draw fieldlog's app icons with Pillow and write them to static/icons/ (run again after changing the design).

    python tools/make_icons.py

The design: a white clipboard with an amber clip and a navy check mark on the app's navy (the manifest's
theme_color). "any" icons are a rounded square with transparent corners; the maskable icon and the
apple-touch-icon fill the square and keep the drawing inside the central safe zone (a circle of 40 % of the
size around the centre), so a launcher may cut any shape out of them.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

NAVY, WHITE, AMBER = (18, 53, 91, 255), (255, 255, 255, 255), (242, 169, 0, 255)
OUT = Path(__file__).resolve().parent.parent / "static" / "icons"
SUPERSAMPLE = 4  # drawn 4x larger, then shrunk: smooth edges without antialiasing primitives


def draw(size: int, full_bleed: bool, scale: float) -> Image.Image:
    """The icon at `size` px; `scale` shrinks the clipboard around the centre (1.0 fills the rounded square)."""
    big = size * SUPERSAMPLE
    unit = big / 100

    def box(x0: float, y0: float, x1: float, y1: float) -> list[float]:
        # design coordinates (0-100), scaled around the centre (50, 50)
        return [(50 + (v - 50) * scale) * unit for v in (x0, y0, x1, y1)]

    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if full_bleed:
        pen.rectangle([0, 0, big, big], fill=NAVY)
    else:
        pen.rounded_rectangle([0, 0, big - 1, big - 1], radius=22 * unit, fill=NAVY)
    pen.rounded_rectangle(box(26, 20, 74, 84), radius=6 * unit * scale, fill=WHITE)
    pen.rounded_rectangle(box(37, 13, 63, 27), radius=4 * unit * scale, fill=AMBER)
    check = [tuple(box(x, y, x, y)[:2]) for x, y in ((35, 55), (46, 66), (66, 42))]
    pen.line(check, fill=NAVY, width=round(8 * unit * scale), joint="curve")
    for x, y in (check[0], check[-1]):  # round line ends
        r = 4 * unit * scale
        pen.ellipse([x - r, y - r, x + r, y + r], fill=NAVY)
    return image.resize((size, size), Image.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw(size, full_bleed=False, scale=0.9).save(OUT / f"icon-{size}.png", optimize=True)
    # Safe zone: at scale 0.8 the clipboard's farthest corner (the clip's) is 0.35 x size from the centre (< 0.4).
    draw(512, full_bleed=True, scale=0.8).save(OUT / "icon-maskable-512.png", optimize=True)
    draw(180, full_bleed=True, scale=0.8).convert("RGB").save(OUT / "apple-touch-icon.png", optimize=True)
    draw(48, full_bleed=False, scale=0.9).save(OUT / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])
    for path in sorted(OUT.iterdir()):
        print(f"{path.relative_to(OUT.parent.parent)}  {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()

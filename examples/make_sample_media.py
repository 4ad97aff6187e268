"""Write a folder of sample media to archive: ``python examples/make_sample_media.py OUT``.

Four photo-like pictures drawn with Pillow and a short spoken "kitchen note" (about 34 s of
English speech made with ``espeak-ng``), laid out as a user's own media folder for the built-in
``files`` source (one post per file, titled by its name; each folder a collection)::

    OUT/Kitchen notes/Country loaf after the overnight proof.jpg    1600 x 1067
    OUT/Kitchen notes/Levain jar on the kitchen windowsill.jpg      900 x 1200
    OUT/Kitchen notes/A slow dough for the weekend.wav              the spoken note
    OUT/Bird walks/Grebes on the park lake at dawn.jpg              1280 x 720
    OUT/Bird walks/Blackbird on the garden fence.jpg                800 x 800

Then ``alejandria sync files OUT -o creator="Sample media"`` archives them: thumbnails are made
and the speech is transcribed (with ``alejandria-core[transcribe]``) during the sync, so
``alejandria search "pizza dough" --mode transcripts`` finds the moment it is said. Those words
are only spoken, never written in a title or in the sample books.

Everything is drawn from fixed seeds, so the files come out the same each time; a file already
in OUT is left as it is (a second run changes nothing, and a re-sync has nothing to do). Without
``espeak-ng`` the audio is skipped with a note (exit status 0): install it and run again.
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

Color = tuple[int, int, int]

KITCHEN = "Kitchen notes"
BIRDS = "Bird walks"
AUDIO_TITLE = "A slow dough for the weekend"
#: Only ever spoken (a search for these words finds the transcript, nothing else).
SPOKEN_PHRASE = "pizza dough"
SPEECH = (
    "Hello, and welcome to this week's kitchen note. Today I want to talk about pizza dough "
    "made with a sourdough starter. Mix five hundred grams of flour with three hundred grams "
    "of water, one hundred grams of lively starter and ten grams of salt. Knead it for five "
    "minutes, then leave it in the fridge for two whole days. The long cold rest gives the "
    "crust its flavour and those big blistered bubbles. Cook it on a hot steel, as close to "
    "the grill as you can. Thanks for listening, and see you next week."
)
ESPEAK_VOICE = ("-v", "en-us", "-s", "150")


# -- drawing helpers ------------------------------------------------------------------------


def vertical_gradient(size: tuple[int, int], top: Color, bottom: Color) -> Image.Image:
    mask = Image.linear_gradient("L").resize(size)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)


def radial_fill(size: tuple[int, int], centre: Color, edge: Color) -> Image.Image:
    """``centre`` in the middle fading to ``edge`` at the borders (an ellipse's shading)."""
    mask = Image.radial_gradient("L").resize(size)
    return Image.composite(Image.new("RGB", size, edge), Image.new("RGB", size, centre), mask)


def grain(image: Image.Image, rng: random.Random, amount: float = 0.07) -> Image.Image:
    """A camera's noise: grey random pixels, softened a little and blended in."""
    width, height = image.size
    noise = Image.frombytes("L", image.size, rng.randbytes(width * height))
    noise = noise.filter(ImageFilter.GaussianBlur(0.6)).convert("RGB")
    return Image.blend(image, noise, amount)


def paste_shape(image: Image.Image, fill: Image.Image, box: tuple[int, int, int, int],
                draw_mask: Callable[[ImageDraw.ImageDraw, tuple[int, int]], None],
                soften: float = 1.5) -> None:
    """Paste ``fill`` (sized to ``box``) through a mask that ``draw_mask`` draws in white."""
    size = (box[2] - box[0], box[3] - box[1])
    mask = Image.new("L", size, 0)
    draw_mask(ImageDraw.Draw(mask), size)
    image.paste(fill.resize(size), box[:2], mask.filter(ImageFilter.GaussianBlur(soften)))


def whole_ellipse(draw: ImageDraw.ImageDraw, size: tuple[int, int]) -> None:
    draw.ellipse((0, 0, size[0] - 1, size[1] - 1), fill=255)


def shadow(image: Image.Image, box: tuple[int, int, int, int], blur: float,
           darkness: int = 110) -> None:
    layer = Image.new("L", image.size, 0)
    ImageDraw.Draw(layer).ellipse(box, fill=darkness)
    image.paste((20, 12, 6), (0, 0), layer.filter(ImageFilter.GaussianBlur(blur)))


def finish(image: Image.Image, rng: random.Random, blur: float = 0.8) -> Image.Image:
    return grain(image.filter(ImageFilter.GaussianBlur(blur)), rng)


# -- the pictures ---------------------------------------------------------------------------


def country_loaf(rng: random.Random) -> Image.Image:
    """A round loaf with a scored ear on a wooden board, seen from above and a little aside."""
    w, h = 1600, 1067
    board = Image.new("RGB", (w, h), (139, 96, 58))
    draw = ImageDraw.Draw(board)
    y = 0
    while y < h:  # planks of wood grain: thin streaks of lighter and darker brown
        tone = rng.randint(-28, 22)
        draw.line((0, y, w, y + rng.randint(-6, 6)),
                  fill=(139 + tone, 96 + tone, 58 + tone // 2), width=rng.randint(2, 7))
        y += rng.randint(3, 9)
    board = board.filter(ImageFilter.BoxBlur(2))
    for seam in (330, 720):
        ImageDraw.Draw(board).line((0, seam, w, seam + 8), fill=(70, 44, 24), width=5)
    loaf = (420, 190, 1200, 900)
    shadow(board, (loaf[0] + 40, loaf[1] + 70, loaf[2] + 60, loaf[3] + 60), blur=45)
    paste_shape(board, radial_fill((512, 512), (214, 150, 84), (112, 62, 28)), loaf,
                whole_ellipse, soften=3)
    crust = ImageDraw.Draw(board)
    for _ in range(900):  # flour dusting on the top of the loaf
        angle, r = rng.uniform(0, 2 * math.pi), rng.uniform(0, 1) ** 0.7
        x = 810 + math.cos(angle) * r * 330
        yy = 545 + math.sin(angle) * r * 300
        grey = rng.randint(225, 250)
        crust.ellipse((x, yy, x + rng.randint(2, 6), yy + rng.randint(2, 6)),
                      fill=(grey, grey - 8, grey - 22))
    crust.arc((560, 330, 1080, 800), start=200, end=330, fill=(236, 205, 150), width=26)
    crust.arc((560, 352, 1080, 822), start=205, end=325, fill=(96, 52, 22), width=9)
    return finish(board, rng)


def levain_jar(rng: random.Random) -> Image.Image:
    """A glass jar of bubbly starter with a rubber band, against a bright window."""
    w, h = 900, 1200
    image = vertical_gradient((w, h), (236, 241, 246), (204, 196, 182))
    window = ImageDraw.Draw(image)
    for bar in (300, 610):  # the window's glazing bars, far behind and out of focus
        window.rectangle((bar, 0, bar + 40, 820), fill=(120, 116, 108))
    window.rectangle((0, 380, w, 420), fill=(120, 116, 108))
    image = image.filter(ImageFilter.GaussianBlur(28))
    sill = vertical_gradient((w, 380), (226, 222, 214), (170, 160, 146))
    image.paste(sill, (0, 820))
    shadow(image, (240, 960, 720, 1060), blur=25, darkness=90)
    jar = (260, 300, 660, 1010)

    def rounded(draw: ImageDraw.ImageDraw, size: tuple[int, int]) -> None:
        draw.rounded_rectangle((0, 0, size[0] - 1, size[1] - 1), radius=60, fill=255)

    paste_shape(image, vertical_gradient((64, 64), (226, 232, 236), (196, 204, 210)), jar,
                rounded)
    contents = (276, 560, 644, 994)
    paste_shape(image, vertical_gradient((64, 64), (232, 220, 192), (206, 188, 150)),
                contents, rounded, soften=2)
    bubbles = ImageDraw.Draw(image)
    for _ in range(260):
        x, y, r = rng.uniform(290, 630), rng.uniform(575, 980), rng.uniform(2, 9)
        bubbles.ellipse((x - r, y - r, x + r, y + r), outline=(168, 148, 110), width=1,
                        fill=(238, 228, 204))
    bubbles.rectangle((262, 640, 658, 654), fill=(186, 60, 52))  # the rubber band
    bubbles.rounded_rectangle((245, 240, 675, 312), radius=14, fill=(92, 96, 100))  # the lid
    bubbles.rectangle((300, 330, 330, 960), fill=(248, 250, 252))  # light on the glass
    return finish(image, rng, blur=1.2)


def grebes_at_dawn(rng: random.Random) -> Image.Image:
    """Dawn over a lake: a low sun, a dark line of trees and two grebes on the water."""
    w, h, horizon = 1280, 720, 400
    image = vertical_gradient((w, horizon), (84, 104, 158), (250, 178, 118))
    water = vertical_gradient((w, h - horizon), (150, 112, 104), (38, 48, 70))
    full = Image.new("RGB", (w, h))
    full.paste(image, (0, 0))
    full.paste(water, (0, horizon))
    glow = Image.new("L", (w, h), 0)
    ImageDraw.Draw(glow).ellipse((760, 250, 1060, 550), fill=255)
    full.paste((255, 226, 170), (0, 0), glow.filter(ImageFilter.GaussianBlur(70)))
    draw = ImageDraw.Draw(full)
    draw.ellipse((880, 336, 940, 396), fill=(255, 244, 214))  # the sun
    x = -20.0
    while x < w + 20:  # the far bank: a line of rounded tree crowns
        r = rng.uniform(14, 34)
        top = horizon - rng.uniform(10, 46)
        draw.ellipse((x - r, top - r, x + r, horizon + 4), fill=(40, 38, 48))
        x += rng.uniform(10, 26)
    for y in range(horizon + 6, h, 5):  # the sun's path on the ripples
        half = rng.randint(8, 60) * (1 - (y - horizon) / (h - horizon) * 0.5)
        draw.line((910 - half, y, 910 + half, y), fill=(248, 212, 160), width=2)
    for bx, by, scale in ((420, 560, 1.0), (560, 585, 0.85)):
        body = (bx - 70 * scale, by - 20 * scale, bx + 70 * scale, by + 18 * scale)
        draw.ellipse(body, fill=(26, 24, 28))
        draw.line((bx + 45 * scale, by - 5 * scale, bx + 58 * scale, by - 70 * scale),
                  fill=(26, 24, 28), width=int(14 * scale))
        draw.ellipse((bx + 44 * scale, by - 88 * scale, bx + 72 * scale, by - 64 * scale),
                     fill=(30, 26, 28))
        draw.polygon([(bx + 70 * scale, by - 80 * scale), (bx + 96 * scale, by - 76 * scale),
                      (bx + 70 * scale, by - 72 * scale)], fill=(60, 50, 44))
        draw.ellipse((bx - 80 * scale, by + 16 * scale, bx + 80 * scale, by + 30 * scale),
                     fill=(60, 58, 74))  # reflection
    return finish(full, rng)


def blackbird_on_fence(rng: random.Random) -> Image.Image:
    """A blackbird on a fence rail, the garden behind it a blur of leaves."""
    size = 800
    image = Image.new("RGB", (size, size), (72, 104, 58))
    leaves = ImageDraw.Draw(image)
    for _ in range(160):
        x, y, r = rng.uniform(0, size), rng.uniform(0, size), rng.uniform(20, 70)
        green = (rng.randint(40, 130), rng.randint(90, 170), rng.randint(30, 80))
        leaves.ellipse((x - r, y - r, x + r, y + r), fill=green)
    image = image.filter(ImageFilter.GaussianBlur(22))
    fence = ImageDraw.Draw(image)
    for x in range(-20, size, 130):  # weathered pales, each its own grey
        tone = rng.randint(-14, 14)
        fence.rectangle((x, 330, x + 118, size), fill=(150 + tone, 138 + tone, 118 + tone))
        fence.polygon([(x, 330), (x + 59, 290), (x + 118, 330)],
                      fill=(150 + tone, 138 + tone, 118 + tone))
    fence.rectangle((0, 470, size, 520), fill=(112, 98, 80))  # the rail it stands on
    bird = (26, 24, 26)
    fence.polygon([(250, 380), (150, 470), (185, 478), (290, 410)], fill=bird)  # tail
    fence.ellipse((250, 300, 470, 440), fill=bird)  # body
    fence.ellipse((420, 240, 520, 340), fill=bird)  # head
    fence.polygon([(510, 282), (575, 296), (510, 306)], fill=(240, 170, 30))  # beak
    fence.ellipse((478, 270, 498, 290), fill=(236, 176, 40))  # eye ring
    fence.ellipse((484, 276, 492, 284), fill=(8, 8, 8))
    for x in (330, 380):  # legs
        fence.line((x, 430, x + 6, 472), fill=(60, 50, 44), width=5)
    fence.arc((300, 320, 440, 420), start=200, end=320, fill=(64, 64, 70), width=4)  # sheen
    return finish(image, rng, blur=1.0)


PICTURES: tuple[tuple[str, str, Callable[[random.Random], Image.Image], int], ...] = (
    (KITCHEN, "Country loaf after the overnight proof", country_loaf, 1),
    (KITCHEN, "Levain jar on the kitchen windowsill", levain_jar, 2),
    (BIRDS, "Grebes on the park lake at dawn", grebes_at_dawn, 3),
    (BIRDS, "Blackbird on the garden fence", blackbird_on_fence, 4),
)


# -- writing --------------------------------------------------------------------------------


def write_pictures(out: Path) -> list[Path]:
    written = []
    for folder, title, draw, seed in PICTURES:
        path = out / folder / f"{title}.jpg"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".", suffix=".jpg",
                                             delete=False) as tmp:
                draw(random.Random(seed)).save(tmp, "JPEG", quality=86, optimize=True)
            Path(tmp.name).replace(path)  # complete or not there at all
        written.append(path)
    return written


def write_speech(out: Path) -> Path | None:
    """The spoken note as WAV, or None (with a note on stderr) when espeak-ng is missing."""
    path = out / KITCHEN / f"{AUDIO_TITLE}.wav"
    if path.exists():
        return path
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        print("note: espeak-ng is not installed, so the sample audio (a spoken note to try "
              "transcripts with) was skipped; install it (apt-get install espeak-ng, "
              "brew install espeak-ng) and run this again", file=sys.stderr)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    subprocess.run([espeak, *ESPEAK_VOICE, "-w", str(tmp), SPEECH], check=True,
                   capture_output=True, timeout=120)
    tmp.replace(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out", type=Path, help="folder to write the sample media into")
    out: Path = parser.parse_args().out
    paths = write_pictures(out)
    speech = write_speech(out)
    for path in [*paths, *([speech] if speech else [])]:
        print(f"{path} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()

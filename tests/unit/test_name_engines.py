"""The name reader's OCR engines (``monitor.names``, ``gallery.ocr``): PP-OCRv4 through rapidocr (the default) and
Tesseract, on composed Zoom labels and on the real screenshots in ../shared (skipped when absent, never copied).

The real screenshots are checked against ``bench/gallery_names_real.json`` (salted hashes of names transcribed by
eye; see ``bench/real_names.py``), so no real name is written here either.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from bench.real_names import REAL, TRUTH, name_hash
from monitor.analyse import read_image
from monitor.config import ConfigError, load_config
from monitor.gallery import Tile, find_grid
from monitor.identity import best_match, match_key
from monitor.names import (
    _ICON_READ,
    _MAX_LOOKS,
    NameReader,
    _before_ellipsis,
    _better,
    _hangul_name,
    _holds_more,
    _reach,
    _surer_alike,
)
from tests.helpers.classroom import publictest_faces
from tests.helpers.gallery_frames import CAMERA_OFF_TILE, compose_gallery

pytestmark = pytest.mark.unit

Image = npt.NDArray[np.uint8]
NAMES = ["Ava Thompson", "Ben Okafor", "Chloe Martin", "Daniel Kim", "Ella Novak", "Finn O'Brien", "Grace Liu",
         "Hugo Silva", "Isla Patel"]


@pytest.fixture(scope="module")
def faces() -> list[Image]:
    return publictest_faces(9)


def test_the_engine_is_chosen_in_the_config_tree_and_validated() -> None:
    assert load_config().gallery.ocr == "rapidocr"
    assert load_config(overrides={"gallery": {"ocr": "tesseract"}}).gallery.ocr == "tesseract"
    with pytest.raises(ConfigError, match=r"^gallery\.ocr: "):
        load_config(overrides={"gallery": {"ocr": "easyocr"}})
    with pytest.raises(ConfigError, match=r"^gallery\.tesseract_lang: "):
        load_config(overrides={"gallery": {"tesseract_lang": "eng; rm -rf /"}})
    with pytest.raises(ValueError, match="unknown OCR engine"):
        NameReader(engine="easyocr")  # type: ignore[arg-type]


@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize("font", ["dejavu-sans", "hershey-simplex"])
def test_rapidocr_reads_composed_labels_and_a_steady_frame_costs_no_ocr(
    faces: list[Image], theme: str, font: str
) -> None:
    image, truth = compose_gallery(9, width=1600, height=900, theme=theme, faces=faces, names=NAMES,  # type: ignore[arg-type]
                                   font=font, speaker=4)
    grid = find_grid(image)
    assert grid is not None
    reader = NameReader(engine="rapidocr")
    readings = reader.read(image, grid)
    exact = [r.name is not None and match_key(r.name) == match_key(t.name) for r, t in zip(readings, truth, strict=True)]
    assert sum(exact) >= 8, [(t.name, r.name) for r, t in zip(readings, truth, strict=True)]
    assert (reader.stats.calls, reader.stats.labels_read) == (1, 9)  # all new labels in one recognition call
    calls = reader.stats.calls
    again = reader.read(image, grid)
    assert reader.stats.calls == calls, reader.stats  # the same labels again: answered from the cache
    assert [r.name for r in again] == [r.name for r in readings]


def test_a_label_two_crops_read_alike_and_sure_is_settled_on_its_first_frame(faces: list[Image]) -> None:
    """An H.264 recording copies a still label's pixels exactly, so a label read once waited for its second look
    (new pixels) for seconds: names matched 95.4% in the 16-tile class of bench/gallery_h264.py. Two crops of the
    label (the detector's line at two scales) read alike with every character sure are two reads."""
    image, truth = compose_gallery(9, width=1600, height=900, theme="dark", faces=faces, names=NAMES,  # type: ignore[arg-type]
                                   font="dejavu-sans")
    grid = find_grid(image)
    assert grid is not None
    readings = NameReader(engine="rapidocr").read(image, grid)
    settled = [r for r, t in zip(readings, truth, strict=True) if r.settled]
    assert len(settled) >= 4, [(r.name, r.settled) for r in readings]  # 5 of 9 measured; none before
    assert all(r.name is not None and match_key(r.name) == match_key(t.name)
               for r, t in zip(readings, truth, strict=True) if r.settled)


def test_a_label_whose_pixels_never_change_settles_after_a_few_frames(faces: list[Image]) -> None:
    """A label drawn opaque on a screen capture, or a still recording, shows the same pixels in every frame: the
    second look a label read once waits for never comes. Each frame showing its very pixels counts as a look, so it
    settles after ``_MAX_LOOKS`` frames, without reading it again (a still 23-tile real gallery stored 22 students:
    one label, read once and not surely, never settled and its student was never named)."""
    image, _ = compose_gallery(9, width=1600, height=900, theme="dark", faces=faces, names=NAMES,  # type: ignore[arg-type]
                                   font="dejavu-sans")
    grid = find_grid(image)
    assert grid is not None
    reader = NameReader(engine="rapidocr")
    first = reader.read(image, grid)
    assert not all(r.settled for r in first)  # 4 of 9 wait for a second look
    for _ in range(_MAX_LOOKS - 2):
        readings = reader.read(image, grid)
        assert [r.settled for r in readings] == [r.settled for r in first]  # not yet
    readings = reader.read(image, grid)
    assert all(r.settled for r in readings), [(r.name, r.settled) for r in readings]
    assert [r.name for r in readings] == [r.name for r in first]
    assert reader.stats.calls == 1  # settled from the cache: no label read again


def test_a_read_without_its_space_is_still_the_student() -> None:
    """PP-OCR drops the narrow space of a small label: "LeaKissner" must match Lea Kissner, and a dropped space is
    never a reason to take another student with other digits."""
    assert match_key("LeaKissner") == match_key("Lea Kissner")
    assert best_match("LeaKissner", ["Lea Kissner", "Leo Kessler"], 90.0) == ("Lea Kissner", 100.0)
    assert best_match("Student01", ["Student 10", "Student 01"], 80.0) == ("Student 01", 100.0)


@pytest.mark.parametrize(
    ("tesseract", "rapid", "name"),
    [
        ("20200759 양 예지 S| .", "20200759", "20200759 양예지"),  # syllables joined, trailing noise dropped
        ("20190723 이민정", "20190723 0|", "20190723 이민정"),
        ("[TA] Kevin 를 1", "[TA]Kevin", None),  # one stray syllable on a Latin label is no Korean name
        ("31337 김선경", "20200756召", None),  # disagrees with PP-OCR's student ID: not this label
        ("Darlene Alvarez 나 개", "Darlene Alvarez", None),  # Tesseract's Hangul for the noise after a Latin name
        (None, "20200759", None),
    ],
)
def test_tesseract_hangul_read_is_taken_only_as_a_korean_name(tesseract: str | None, rapid: str,
                                                            name: str | None) -> None:
    assert _hangul_name(tesseract, rapid) == name


@pytest.mark.parametrize(
    ("read", "other", "better"),
    [
        (("Zach Mcintyre", 0.87), ("Zach Mcinty", 0.89), True),  # the detector cut the line short at one scale
        (("Vance", 0.95), ("Vance Peters", 0.95), False),
        (("Vance Peters Go to Settings", 0.6), ("Vance Peters", 0.95), False),  # more, but far less sure
        (("Ava Kim", 0.91), ("Eva Kim", 0.85), True),  # neither holds the other: the surer
    ],
)
def test_the_fuller_read_of_two_crops_wins_when_nearly_as_sure(read: tuple[str, float], other: tuple[str, float],
                                                               better: bool) -> None:
    assert _better(read, other) is better


@pytest.mark.parametrize(
    ("read", "name"),
    [("X 20200998 Lee", "20200998 Lee"), ("K 20200756", "20200756"), ("% Ava Kim", "Ava Kim"),
     ("A Student 01", "A Student 01"), ("Ava 1234", "Ava 1234")],
)
def test_the_mute_icon_read_as_a_letter_before_a_student_id_is_dropped(read: str, name: str) -> None:
    """At a tight crop PP-OCR reads the mute icon's white microphone as a lone "K" or "Y" before the student ID
    (the Korean class: "K 20200756"); a one-letter word before anything but an ID stays."""
    assert _ICON_READ.sub("", read) == name


def test_a_camera_off_tile_without_a_label_is_read_by_its_big_centred_name(faces: list[Image]) -> None:
    """Zoom writes a camera-off participant's name large in the middle of the tile, sometimes with no bottom-left
    label at all (two of the real screenshots): the reader found no label and the tile stayed ``Tile R-C``."""
    image, truth = compose_gallery(9, width=1600, height=900, theme="dark", faces=faces, names=NAMES,  # type: ignore[arg-type]
                                   font="dejavu-sans", camera_off=[4])
    off = truth[4]
    # the bottom-left label painted over: only the centred name is left
    image[off.y + off.h * 3 // 4 : off.y + off.h - 2, off.x + 2 : off.x + off.w // 2] = CAMERA_OFF_TILE
    grid = find_grid(image)
    assert grid is not None
    readings = NameReader(engine="rapidocr").read(image, grid)
    tile = next(r for r in readings if (r.tile.row, r.tile.col) == (off.row, off.col))
    assert tile.camera_off
    assert tile.name is not None and match_key(tile.name) == match_key(off.name), tile
    others = [r for r in readings if r is not tile]
    assert sum(r.name is not None and match_key(r.name) == match_key(t.name)
               for r, t in zip(others, [t for t in truth if t is not off], strict=True)) >= 7


def _real(file: str) -> tuple[Image, dict[tuple[int, int], dict[str, object]]]:
    if not (REAL / file).is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"real screenshots missing at {REAL} under CI")
        pytest.skip(f"real screenshots not found at {REAL}")
    truth = json.loads(Path(TRUTH).read_text(encoding="utf-8"))["files"][file]
    return read_image(REAL / file), {(t["row"], t["col"]): t for t in truth}


@pytest.mark.parametrize(
    ("file", "engine", "at_least"),
    [
        # measured 2026-11-30 (bench/real_names.py): rapidocr 24/25, 6/6, 7/7, 7/7; Tesseract 5/25, 6/6, 1/7, 0/7;
        # after the wider detector strip (finer scale on small tiles) and the centred camera-off name: zoom 21/25,
        # face1 22/23, zoomtest 23/25, Korean 6/7 and 7/7, the 640x400 7x7
        # gallery 19/43 (8 before); after the line reached over its label's ink, the watermark's grey words left
        # out, Zoom's ellipsis cut before reading and a wider margin's fuller read kept: zoom 24/25, zoomtest 24/25,
        # Screenshot_513 23/25, the 7x7 gallery 21/43; after the contrast box's reach bounded by the label and an
        # unsure tight read replaced by a surer wider one: Screenshot_513 24/25, face1 23/23
        ("ReynaldiGev_Facial-Emotion-Recognition_zoomtest.jpg", "rapidocr", 23),
        ("ReynaldiGev_Facial-Emotion-Recognition_zoom.jpg", "rapidocr", 23),  # a watermark, names cut with "..."
        ("ReynaldiGev_Facial-Emotion-Recognition_Screenshot_513.png", "rapidocr", 23),  # a grey mute icon
        ("DeepSE_face-emotion_face1.jpg", "rapidocr", 22),  # one camera-off tile with its name in the middle only
        ("chamathpali_zoom-gallery-view-cropping_zoom.png", "rapidocr", 19),  # names ~5 px tall
        ("gregoryfdel_zoom-portrait-identifier_zoom_call.png", "rapidocr", 6),
        ("gommy15_zoom_korean_a.png", "rapidocr", 6),  # Hangul: read again by Tesseract eng+kor; 7/7 since
        # a label read as Latin on Tesseract's sheet of seven ("2021456 01S") is read again alone (one label of slack:
        # the system's Tesseract and its Korean data are Debian's, not pinned)
        ("gommy15_zoom_korean_b.png", "rapidocr", 6),
        ("gregoryfdel_zoom-portrait-identifier_zoom_call.png", "tesseract", 5),
    ],
)
def test_names_on_real_screenshots_are_read_exactly(file: str, engine: str, at_least: int) -> None:
    image, truth = _real(file)
    grid = find_grid(image)
    assert grid is not None
    readings = NameReader(engine=engine).read(image, grid)  # type: ignore[arg-type]
    legible = [r for r in readings if truth[(r.tile.row, r.tile.col)]["legible"]]
    exact = sum(name_hash(r.name) == truth[(r.tile.row, r.tile.col)]["sha256"] for r in legible)
    assert exact >= at_least, f"{exact}/{len(legible)} exact"


def test_a_big_tile_whose_small_label_the_first_scale_misses_is_read_at_the_finer_one() -> None:
    """The 2x2 marketing screenshot (954x634, tiles 459x259, labels ~8 px and blurred by upscaling): PP-OCR's
    detector at the first scale (the bottom strip at 128 px: 1.4x) finds no line on three tiles, which then had no
    read at all. The finer scale is now tried there too (and for a new label whose first-scale search found no
    line): every tile gets a read. They are still not exact ("HegryRak" for "Henry Park": the text is smeared)."""
    image, _ = _real("DeepSE_face-emotion_faces.jpg")
    grid = find_grid(image)
    assert grid is not None and len(grid.tiles) == 4
    names = [r.name for r in NameReader().read(image, grid)]
    assert all(names), names


def _label(text: str, scale: float, beyond: tuple[int, int, int] = (90, 90, 90), after: str = "",
           after_colour: tuple[int, int, int] = (130, 130, 130)) -> tuple[Image, Tile, int, int]:
    """A tile's bottom strip with a Zoom-like label (white text on a dark box) at (6, 20), what lies right of the
    box (``beyond``: the video's colour; ``after``: grey text over it). Returns the image, its tile, the text's
    baseline and height."""
    image = np.full((60, 320, 3), beyond, np.uint8)
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    image[20 - 3 : 20 + h + base + 3, 3 : 6 + w + 4] = (30, 30, 30)
    cv2.putText(image, text, (6, 20 + h), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    if after:
        cv2.putText(image, after, (6 + w + 12, 20 + h), cv2.FONT_HERSHEY_SIMPLEX, scale, after_colour, 1,
                    cv2.LINE_AA)
    return image, Tile(1, 1, 0, 0, 320, 60), 20 + h, h


def test_a_line_found_in_pieces_is_reached_over_its_label_and_no_further() -> None:
    """On the 640x400 7x7 gallery PP-OCR's detector split 4-5 px names and kept a piece ("Chloe Ma" of a longer
    name, the last word alone): ``_reach`` widens the piece over the label's ink, and stops where the label's box
    ends. A camera-off tile's flat surface next to the box ran the line across the whole tile when contrast down a
    column counted as ink (a box edge in the line's rows): letters must change across the row."""
    image, tile, _, h = _label("Chloe Martinez", 0.5)
    first, _ = cv2.getTextSize("Chloe", cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
    whole, _ = cv2.getTextSize("Chloe Martinez", cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
    x, y, w, bh = _reach(image, tile, (6, 20, first[0], h + 2))
    assert 3 <= x <= 6 and (y, bh) == (20, h + 2)  # the label's box starts at 3, its text at 6
    assert 6 + whole[0] - 3 <= x + w <= 6 + whole[0] + 6, (x, w, whole)
    # the line's rows take in a row of the light surface below the box: an edge, not letters
    image[20 + h + 2 :, :] = (200, 200, 200)
    _, _, w2, _ = _reach(image, tile, (6, 20, first[0], h + 4))
    assert w2 <= whole[0] + 6


def test_grey_text_beside_the_label_is_not_reached() -> None:
    """A Windows "Activate Windows / Go to Settings" watermark sat right of a name (read "... Go to Settings"
    after the name): its grey letters are not the label's white ones."""
    image, tile, _, h = _label("Hugo Silvana", 0.5, beyond=(30, 30, 30), after="Go to Settings")
    word, _ = cv2.getTextSize("Hugo", cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
    whole, _ = cv2.getTextSize("Hugo Silvana", cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
    x, _, w, _ = _reach(image, tile, (6, 20, word[0], h + 2))
    assert 6 + whole[0] - 3 <= x + w <= 6 + whole[0] + 6, (x, w, whole)


@pytest.mark.parametrize(("text", "cut"), [("Ava Thompson Gri...", True), ("Ava Thompson Grint", False),
                                           ("Room S1 T.", False)])
def test_zoom_s_ellipsis_is_cut_before_reading(text: str, cut: bool) -> None:
    """PP-OCR read the letter glued to Zoom's "..." as a dot or dropped it ("Martin..." read "Marti."): the crop is read
    up to the dots. A name's own last letter or a lone full stop is not an ellipsis."""
    image, _, baseline, _ = _label(text, 0.6)
    crop = image[12 : baseline + 10, 0:260]
    end = _before_ellipsis(crop)
    stem, _ = cv2.getTextSize(text.rstrip("."), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 1)
    if cut:
        assert 6 + stem[0] - 2 <= end <= 6 + stem[0] + 5, (end, stem)
    else:
        assert end == crop.shape[1]


@pytest.mark.parametrize(
    ("read", "other", "kept"),
    [((" verni", 0.84), ("vermi", 0.73), True), (("verni", 0.80), ("vermi", 0.73), False),
     (("verni", 0.95), ("vermi", 0.85), False), (("Verni", 0.90), ("verni", 0.70), False),
     (("verni x", 0.95), ("vermi", 0.70), False)],
)
def test_a_wider_margin_read_replaces_an_unsure_tight_read_of_the_same_length_when_clearly_surer(
        read: tuple[str, float], other: tuple[str, float], kept: bool) -> None:
    """Screenshot_513's "Verni" (9-px letters): the tight crop read "vermi" at 0.73, the same line with a wider
    margin "verni" at 0.84. Only an unsure read is replaced, only by a clearly surer one of as many characters (a
    longer or shorter read is a cut or an addition, decided elsewhere), and not for case alone."""
    assert _surer_alike(read, other) is kept


@pytest.mark.parametrize("gap", [10, 16, 24])
@pytest.mark.parametrize("name", ["Ava Kim", "Ben Okafor"])
def test_a_contrast_box_running_past_the_label_adds_no_word_from_the_video(name: str, gap: int) -> None:
    """The contrast finder's box can run on past Zoom's label into the video beside it, and its further reach was
    read as one more word: a white drawstring on DeepSE face1 became "jenniferbenka N". The reach is read only as far
    as the label's own box and ink go."""
    strip, _, _, h = _label(name, 0.45, beyond=(90, 90, 90))
    (w, _), _ = cv2.getTextSize(name, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
    x0 = 6 + w + 4 + gap  # a white letter on the video, past the label's box
    cv2.putText(strip, "N", (x0, 20 + h), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    image = np.full((240, 640, 3), 90, np.uint8)
    image[180:240, 0:320] = strip
    tile = Tile(1, 1, 0, 0, 640, 240)
    running_on = (3, 180 + 17, x0 + 13, h + 8)
    (read,), _ = NameReader(engine="rapidocr")._read_rapid(image, [(tile, running_on, True)])
    assert read == name


@pytest.mark.parametrize(
    ("read", "other", "holds"),
    [(("1065_Ava Kim", 0.95), ("065_Ava Kim", 0.96), True), (("1065_Ava Kim", 0.80), ("065_Ava Kim", 0.96), False),
     (("065_Ava Kim", 0.99), ("065_Ava Kim", 0.96), False), (("X065_Ava Kin", 0.96), ("065_Ava Kim", 0.96), False)],
)
def test_a_wider_margin_read_is_kept_when_it_only_adds_a_glyph_the_tight_crop_cut(
        read: tuple[str, float], other: tuple[str, float], holds: bool) -> None:
    """A student ID's first "1" sat on the detector box's edge and the tight crop read "065_..." (the zoomtest
    screenshot): the same line read with a wider margin holds it whole and more, nearly as sure."""
    assert _holds_more(read, other) is holds


def scripted_reader(reads: list[list[str]]) -> NameReader:
    """A Tesseract-engine reader whose OCR gives ``reads`` call after call (one list per call, one text per label)."""
    reader = NameReader(engine="tesseract")
    calls = iter(reads)

    def ocr(crops: list[Image], count: bool = True) -> list[str | None]:
        texts = next(calls)
        assert len(texts) == len(crops)
        return list(texts)

    reader._ocr = ocr  # type: ignore[method-assign]
    return reader


def test_still_frames_do_not_settle_two_reads_that_disagree() -> None:
    """A review's probe: read "Mia 7", the same pixels twice, then new pixels read "Mia 1": the still frames made
    four looks and the first read (a codec's worst frame) won the tie. Stillness counts only while every read agrees,
    and from the last read."""
    image, _ = compose_gallery(2, names=["Mia 7", "Ben 2"], rng=np.random.default_rng(1))
    grid = find_grid(image)
    assert grid is not None
    reader = scripted_reader([["Mia 7", "Ben 2"], ["Mia 1"]])
    for _ in range(3):
        first = reader.read(image, grid)
    assert [r.settled for r in first] == [False, False]  # a read and two frames of its pixels: three looks
    label = first[0].label_box
    assert label is not None
    x, y, w, h = label
    moved = image.copy()
    moved[y : y + h, x : x + w] = np.clip(moved[y : y + h, x : x + w].astype(int) + 3, 0, 255)  # new pixels
    now = reader.read(moved, grid)
    assert (now[0].name, now[0].settled) == ("Mia 7", False)  # "Mia 7" and "Mia 1" disagree: not settled
    assert now[1].settled  # Ben's label, still and never read otherwise, settles on its fourth look


def test_a_label_on_two_tiles_counts_one_still_look_a_frame() -> None:
    """Two tiles showing the very same label pixels counted twice a frame: settled after two frames, not four."""
    image, _ = compose_gallery(2, names=["Sam Lee", "Sam Lee"], rng=np.random.default_rng(2))
    grid = find_grid(image)
    assert grid is not None
    a, b = grid.tiles
    image[b.y : b.y + b.h, b.x : b.x + b.w] = image[a.y : a.y + a.h, a.x : a.x + a.w]  # the very same tile twice
    reader = scripted_reader([["Sam Lee"]])  # one label: read once for both tiles
    settled = [all(r.settled for r in reader.read(image, grid)) for _ in range(_MAX_LOOKS)]
    assert settled == [False] * (_MAX_LOOKS - 1) + [True]

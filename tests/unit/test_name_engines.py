"""The name reader's OCR engines (``monitor.names``, ``gallery.ocr``): PP-OCRv4 through rapidocr (the default) and
Tesseract, on composed Zoom labels and on the real screenshots in ../shared (skipped when absent, never copied).

The real screenshots are checked against ``bench/gallery_names_real.json`` (salted hashes of names transcribed by
eye; see ``bench/real_names.py``), so no real name is written here either.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from bench.real_names import REAL, TRUTH, name_hash
from monitor.analyse import read_image
from monitor.config import ConfigError, load_config
from monitor.gallery import find_grid
from monitor.identity import best_match, match_key
from monitor.names import NameReader, _hangul_name
from tests.helpers.classroom import publictest_faces
from tests.helpers.gallery_frames import compose_gallery

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
        (None, "20200759", None),
    ],
)
def test_tesseract_hangul_read_is_taken_only_as_a_korean_name(tesseract: str | None, rapid: str,
                                                            name: str | None) -> None:
    assert _hangul_name(tesseract, rapid) == name


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
        # measured 2026-11-30 (bench/real_names.py): rapidocr 24/25, 6/6, 7/7, 7/7; Tesseract 5/25, 6/6, 1/7, 0/7
        ("ReynaldiGev_Facial-Emotion-Recognition_zoomtest.jpg", "rapidocr", 22),
        ("gregoryfdel_zoom-portrait-identifier_zoom_call.png", "rapidocr", 6),
        ("gommy15_zoom_korean_a.png", "rapidocr", 6),  # Hangul: read again by Tesseract eng+kor
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

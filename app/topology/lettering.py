"""Text for the pictures: cleaned of what XML cannot hold, measured, and shortened to fit a box.

The pictures name DejaVu Sans first; its advance widths (thousandths of an em) for printable ASCII
are below. Any other character counts as a full em, wider than almost every glyph, so an estimate
errs towards shortening a name rather than letting it run over its box. Bold text is about 10%
wider than regular.
"""

from __future__ import annotations

import re

ELLIPSIS = "\u2026"
BOLD = 1.1
_ASCII = (
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636, 636, 636, 636,
    636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656,
    557, 863, 748, 787, 603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838, 500, 500, 613,
    635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818,
    592, 592, 525, 636, 337, 636, 838,
)  # fmt: skip
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
EM = 1000  # the ellipsis, and any character not in the table


def clean(text: object) -> str:
    """``text`` without the characters XML cannot hold at all."""
    return _INVALID_XML.sub("", str(text))


def _advance(char: str) -> int:
    code = ord(char) - 32
    return _ASCII[code] if 0 <= code < len(_ASCII) else EM


def text_width(text: str, size: float, bold: bool = False) -> float:
    """The estimated width in pixels of ``text`` at font size ``size``."""
    width = sum(_advance(c) for c in text) * size / 1000
    return width * BOLD if bold else width


def fit(text: str, size: float, room: float, bold: bool = False) -> str:
    """``text`` as it is if it fits in ``room`` pixels, else its longest start that fits with an ellipsis."""
    if text_width(text, size, bold) <= room:
        return text
    budget = room * 1000 / size / (BOLD if bold else 1) - EM
    used, keep = 0, 0
    while used + _advance(text[keep]) <= budget:
        used += _advance(text[keep])
        keep += 1
    return text[:keep] + ELLIPSIS

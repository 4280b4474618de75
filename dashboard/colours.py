"""One colour per emotion, used by every chart, legend and table so a colour means the same thing everywhere.

Keyed from ``db.emotions.EMOTIONS`` so a label can never be missing; negative emotions get warm or dark tones,
``happy`` and ``surprise`` bright ones and ``neutral`` a quiet grey that recedes behind the others. Flag severities
have their own three colours, the same as the badges in ``assets/style.css``.
"""

from typing import Final

from db.emotions import EMOTIONS

_PALETTE: Final = {
    "angry": "#d62728",
    "disgust": "#8c564b",
    "fear": "#9467bd",
    "happy": "#f2b701",
    "sad": "#1f77b4",
    "surprise": "#17becf",
    "neutral": "#9e9e9e",
}

EMOTION_COLOURS: Final[dict[str, str]] = {emotion: _PALETTE[emotion] for emotion in EMOTIONS}

SEVERITY_COLOURS: Final[dict[str, str]] = {"info": "#2563eb", "warning": "#b45309", "alert": "#b91c1c"}

# One emoji per emotion next to its colour on the student cards, so the state reads at a glance on a projector;
# all from Unicode 6 so a plain Debian font set draws every one.
EMOTION_EMOJI: Final[dict[str, str]] = {
    "angry": "😠",
    "disgust": "😖",
    "fear": "😨",
    "happy": "😊",
    "sad": "😢",
    "surprise": "😮",
    "neutral": "😐",
}
MOOD_COLOURS: Final[dict[str, str]] = {"positive": "#15803d", "neutral": "#9e9e9e", "negative": "#b91c1c"}

"""The emotion CNN: a compact VGG-style network with batch normalisation, sized to train on a laptop CPU.

Input is uint8-valued grayscale ``[N, 48, 48, 1]``; the ``Rescaling`` layer inside the model is the only place pixel
values are scaled. Output is a softmax over the seven FER2013 classes in ``db.emotions.EMOTIONS`` order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from db.emotions import EMOTIONS
from models.preprocess import FACE_SIZE

if TYPE_CHECKING:
    import keras


def build_model(width: int = 16, dropout: float = 0.3) -> keras.Model:
    """Four conv stages (width, 2w, 4w, 8w channels) of conv-BN-ReLU pairs, global pooling and a softmax head."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(FACE_SIZE, FACE_SIZE, 1), name="face")
    x = layers.Rescaling(1.0 / 255.0)(inputs)
    for stage, mult in enumerate((1, 2, 4, 8)):
        convs = 1 if stage == 0 else 2  # one conv at full resolution keeps the CPU cost down
        for i in range(convs):
            x = layers.Conv2D(width * mult, 3, padding="same", use_bias=False, name=f"conv{stage}_{i}")(x)
            x = layers.BatchNormalization(name=f"bn{stage}_{i}")(x)
            x = layers.ReLU(name=f"relu{stage}_{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{stage}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Dense(width * 8, use_bias=False, name="fc")(x)
    x = layers.BatchNormalization(name="bn_fc")(x)
    x = layers.ReLU(name="relu_fc")(x)
    x = layers.Dropout(dropout / 2, name="dropout_fc")(x)
    outputs = layers.Dense(len(EMOTIONS), activation="softmax", name="emotion")(x)
    return keras.Model(inputs, outputs, name="classmood_cnn")


def build_vgg(width: int = 32, dropout: float = 0.4, size: int = FACE_SIZE) -> keras.Model:
    """The issue-11 recipe's network: a VGG of four stages of two conv-BN-ReLU (w, 2w, 4w, 8w channels).

    At ``width=32`` it has 1.2 M weights, the size the cheap FER2013 recipes reach 70%+ with; the head is global
    average pooling, dropout and a softmax, so the input size can differ from 48 without new weights.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=(size, size, 1), name="face")
    x = layers.Rescaling(1.0 / 255.0)(inputs)
    for stage, mult in enumerate((1, 2, 4, 8)):
        for i in range(2):
            x = layers.Conv2D(width * mult, 3, padding="same", use_bias=False, name=f"conv{stage}_{i}")(x)
            x = layers.BatchNormalization(name=f"bn{stage}_{i}")(x)
            x = layers.ReLU(name=f"relu{stage}_{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{stage}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(len(EMOTIONS), activation="softmax", name="emotion")(x)
    return keras.Model(inputs, outputs, name="classmood_vgg")

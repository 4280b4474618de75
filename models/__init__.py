"""The emotion model: data loading, preprocessing, network definition, training, evaluation and inference.

Only ``models.preprocess`` and ``models.data`` are imported eagerly by other packages; TensorFlow is imported
lazily inside the functions that need it so that ``--help`` and config validation stay fast.
"""

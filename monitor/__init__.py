"""The capture worker: read a class video source, detect and classify faces, aggregate per interval, store.

Pipeline stages and their containers: ``Frame`` (``monitor.frame``) → ``FaceDetections`` (``monitor.detections``) →
``EmotionPredictions`` (``monitor.predictions``) → ``IntervalAggregate`` (``monitor.aggregate``), written by the one
storage thread (``monitor.storage``). TensorFlow is imported lazily, so ``--help`` and config errors are instant.
"""

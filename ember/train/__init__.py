"""``ember.train``: the training loop users would rather not write.

``Learner`` runs ``fit``/``fit_one_cycle``/``lr_find``; callbacks (``ember.train.callbacks``) do
the rest; ``ember.train.metrics`` holds the metrics. Guide: ``docs/train.md``.
"""

from ember.train.callbacks import (
    EVENTS,
    Callback,
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
    Checkpoint,
    CSVLogger,
    EarlyStopping,
    GradientAccumulation,
    GradientClip,
    LRFinder,
    MixedPrecision,
    OneCycleSchedule,
    ProgressBar,
    Recorder,
    ReduceLROnPlateau,
    SaveModel,
    Suggestions,
    TensorBoard,
)
from ember.train.interpret import ClassificationInterpretation
from ember.train.learner import Learner
from ember.train.metrics import F1Score, accuracy, error_rate, mae, mse, rmse, top_k_accuracy

__all__ = [
    "EVENTS",
    "CSVLogger",
    "Callback",
    "CancelBatchException",
    "CancelEpochException",
    "CancelFitException",
    "Checkpoint",
    "ClassificationInterpretation",
    "EarlyStopping",
    "F1Score",
    "GradientAccumulation",
    "GradientClip",
    "LRFinder",
    "Learner",
    "MixedPrecision",
    "OneCycleSchedule",
    "ProgressBar",
    "Recorder",
    "ReduceLROnPlateau",
    "SaveModel",
    "Suggestions",
    "TensorBoard",
    "accuracy",
    "error_rate",
    "mae",
    "mse",
    "rmse",
    "top_k_accuracy",
]

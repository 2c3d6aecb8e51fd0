"""Callbacks for ``ember.train.Learner``: one file per family."""

from ember.train.callbacks.checkpoint import Checkpoint
from ember.train.callbacks.core import (
    EVENTS,
    Callback,
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
)
from ember.train.callbacks.gradients import GradientAccumulation, GradientClip
from ember.train.callbacks.grow import GrowOnPlateau
from ember.train.callbacks.loggers import CSVLogger, TensorBoard
from ember.train.callbacks.precision import MixedPrecision
from ember.train.callbacks.progress import ProgressBar
from ember.train.callbacks.recorder import Recorder
from ember.train.callbacks.schedule import LRFinder, OneCycleSchedule, Suggestions
from ember.train.callbacks.tracking import EarlyStopping, ReduceLROnPlateau, SaveModel, TrackerCallback

__all__ = [
    "EVENTS",
    "CSVLogger",
    "Callback",
    "CancelBatchException",
    "CancelEpochException",
    "CancelFitException",
    "Checkpoint",
    "EarlyStopping",
    "GradientAccumulation",
    "GradientClip",
    "GrowOnPlateau",
    "LRFinder",
    "MixedPrecision",
    "OneCycleSchedule",
    "ProgressBar",
    "Recorder",
    "ReduceLROnPlateau",
    "SaveModel",
    "Suggestions",
    "TensorBoard",
    "TrackerCallback",
]

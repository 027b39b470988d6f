"""Recipes: the standard training, evaluation and federated runs, from a corpus folder to results.

:func:`train_recipe`, :func:`evaluate_recipe` and :func:`federate_recipe` are what ``emolab train``,
``emolab evaluate`` and ``emolab federate`` run; each returns a result object (:class:`TrainResult`,
:class:`~emolab.evaluation.Evaluation`, :class:`~emolab.federated.FederatedResult`) and writes the
same files the command line does.

Modules, by concern:

* :mod:`.inputs` - a corpus manifest to model inputs (:func:`prepare`, :func:`model_config_for`);
* :mod:`.splits` - default training / model-selection splits, rows to score, federated clients;
* :mod:`.warm_start` - starting from a trained model (``--init``);
* :mod:`.train`, :mod:`.evaluate`, :mod:`.federate` - the recipes themselves.

Training-time augmentation lives in :mod:`emolab.augmentation`.
"""

from .evaluate import evaluate_recipe
from .federate import federate_recipe, split_clients_recipe
from .inputs import label_set, model_config_for, prepare, read_labelled, resolve_model_path, synthetic_inputs
from .splits import client_partition, default_split, rows_to_score
from .train import TrainResult, train_recipe

__all__ = ["TrainResult", "client_partition", "default_split", "evaluate_recipe", "federate_recipe", "label_set", "model_config_for",
           "prepare", "read_labelled", "resolve_model_path", "rows_to_score", "split_clients_recipe", "synthetic_inputs", "train_recipe"]

"""The evaluation recipe: score a saved or bundled model on a corpus (``emolab evaluate``)."""

from __future__ import annotations

import os

import numpy as np

from ..data.corpora import ALIASES, LABEL_SETS
from ..errors import DataError
from ..evaluation import Evaluation
from ..preprocessing.inputs import SPEECH_SECONDS, load_speech_windows
from ..registry import FRAME_FACE_KINDS, SYNTHETIC_DATASETS
from ..taxonomy import EMOTIONS
from .inputs import prepare, read_labelled, resolve_model_path
from .splits import rows_to_score


def evaluate_recipe(model_path: str | os.PathLike, dataset: str, path: str | os.PathLike, *, split: str | None = None,
                    progress: bool = True, max_samples: int | None = None, classes: str = "auto") -> Evaluation:
    """Evaluate a saved or bundled model on a corpus; ``scored`` of the result says which rows and why.

    Parameters
    ----------
    model_path : path or str
        A ``.safetensors`` file, a training output folder, or a bundled model's name.
    dataset : str
        Corpus name (or ``"synthetic"``), read from ``path``.
    split : str, optional
        ``"all"``: every labelled row; ``"val"`` (or ``"actors15-18"``): the split the recipes select
        models on; ``"unseen"``: the subjects the model was neither trained nor selected on (its file names
        those it was); else an official split name of the corpus (``validation``, ``dev``, ``test``, ...).
        Default: when the model was trained on this corpus, its unseen subjects if the corpus has any and the
        file names them, else its model-selection split; otherwise every labelled row.
    progress : bool
    max_samples : int, optional
        Score a random subsample (seed 0) of at most this many of the chosen rows.
    classes : {"auto", "corpus", "model"}
        The answers the model may give, its probabilities renormalised over them (:func:`restrict_to_classes`).
        ``"auto"`` (default): a corpus documented with fewer emotions than the model's
        (:data:`emolab.data.corpora.LABEL_SETS`: CK+ has no neutral, CREMA-D and Emo-DB no surprise, eNTERFACE'05 no
        neutral) is scored over its own, as a cross-corpus study scores it; any other corpus over all the model's.
        ``"corpus"``: over the classes the corpus's rows label at all (every labelled row, whatever the split; a
        folder of your own with three emotions becomes a three-way task). ``"model"``: every class of the model.
        When the answers are restricted the reason says so and ``metrics["accuracy_all_classes"]`` gives the
        accuracy with every class allowed.

    Returns
    -------
    Evaluation
        Metrics over the scored rows; ``scored`` is ``{"split", "n", "of", "reason"}``: the split's
        name, how many rows were scored, of how many labelled rows, and why these.
    """
    from ..augmentation import AugmentedFaces
    from ..evaluation import evaluate
    from ..models import load_model
    from ..preprocessing.text import text_tokenizer
    from ..training import TrainConfig, Trainer, make_dataset

    model, meta = load_model(resolve_model_path(model_path))
    left: dict = {}
    m = read_labelled(dataset, path, meta["kind"], report=left)
    rows, scored = rows_to_score(m, dataset, split, meta.get("metrics", {}).get("dataset"), refit=meta.get("metrics", {}).get("refit"),
                                 train_groups=meta.get("metrics", {}).get("train_groups"))
    if left.get("left_out"):
        scored["reason"] += f"; {left['left_out']}"
    if max_samples and len(rows) > max_samples:
        scored["reason"] += f"; a random {max_samples} of its {len(rows)} rows (max_samples)"
        rows = np.random.default_rng(0).choice(rows, max_samples, replace=False)
    sub = m.iloc[rows].reset_index(drop=True)
    vocab = text_tokenizer(meta["preprocessing"]["vocabulary"]) if meta["preprocessing"].get("vocabulary") else None
    context = int(getattr(model.config, "context", 0)) if meta["kind"] == "text" else 0
    owner = None  # speech read whole: the scored row of each window
    if context:  # the context of a scored utterance comes from its whole dialogue, scored or not
        X = prepare("text", dataset, path, m, np.arange(len(m)), progress, vocab=vocab, context=context)[0]["X"][rows]
    elif meta["kind"] == "speech" and dataset not in SYNTHETIC_DATASETS:
        seconds = float(meta["preprocessing"].get("seconds", SPEECH_SECONDS))
        X, owner = load_speech_windows(sub, seconds, feature=getattr(model.config, "feature", "mfcc"), progress=progress)
        n_long = int(np.sum(np.bincount(owner, minlength=len(sub)) > 1))
        if n_long:
            scored["reason"] += (f"; {n_long} utterances with more than {seconds:g} s of speech read whole, in {seconds:g}-s windows 1 s apart "
                                 f"whose log-probabilities are averaged")
    else:
        inputs, prep = prepare(meta["kind"], dataset, path, sub, np.arange(len(sub)), progress, vocab=vocab,
                               feature=getattr(model.config, "feature", "mfcc"))
        X = inputs["X"]
        if prep.get("face_crops"):  # full frames or photos: each face found and cut out as the model was trained
            fc = prep["face_crops"]
            scored["reason"] += (f"; the face found by YuNet and cut out in {fc['cropped']} of {fc['n']} images"
                                 + (f", no face found in {fc['no_face']} (read whole)" if fc["no_face"] else ""))
    labels = list(meta.get("labels") or EMOTIONS)
    col = "label" if labels == list(EMOTIONS) else "raw_label"  # a model trained on the corpus's own labels
    if col not in sub.columns or not set(sub[col].astype(str)) <= set(labels):
        raise DataError(f"this model predicts {labels}, which the {dataset} labels do not match")
    y = np.array([labels.index(v) for v in sub[col].astype(str)], np.int64)
    if meta["kind"] in FRAME_FACE_KINDS:
        if X.ndim == 4:  # synthetic clips: the middle frame
            X = X[:, X.shape[1] // 2]
        ds = AugmentedFaces(X, y, augment=False)
    else:
        ds = make_dataset(X, y if owner is None else y[owner])
    proba = Trainer(model, TrainConfig(), progress=False).predict_proba(ds)
    if owner is not None:
        proba = pool_windows(proba, owner, len(sub))
    if getattr(model, "dialogue", None) is not None:  # a text model's dialogue head: each answer among its dialogue's (scored rows)
        from ..calibration import apply_temperature
        from ..models.dialogue import with_dialogue

        proba = apply_temperature(with_dialogue(model, np.log(np.clip(proba, 1e-12, 1.0)), sub), 1.0)
    shrink = float(getattr(model.config, "speaker_shrink", 0.0) or 0.0)
    if meta["kind"] == "speech" and shrink > 0 and "group" in sub.columns:
        # a speaker-normalised head reads each speaker after centring on their own readings (emolab.models.speaker_adapt)
        from ..models.speaker_adapt import speaker_adapt

        proba = speaker_adapt(np.log(np.clip(proba, 1e-12, 1.0)), sub["group"].tolist(),
                              bias=model.head[-1].bias.detach().double().cpu().numpy(), shrink=shrink)
        scored["reason"] += f"; speaker-normalised: each of the {sub['group'].nunique()} speakers' readings centred on their own mean (k = {shrink:g})"
    if classes not in ("auto", "corpus", "model"):
        raise ValueError(f"classes must be 'auto', 'corpus' or 'model', got {classes!r}")
    observed = set(m[col].astype(str))  # the classes the corpus's rows label, all of them, whatever the split
    documented = LABEL_SETS.get(ALIASES.get(dataset.lower(), dataset.lower())) if col == "label" else None
    allowed = {"corpus": observed, "auto": set(documented or labels) | observed, "model": set(labels)}[classes]
    used = [l for l in labels if l in allowed]
    extra = {}
    if len(used) < len(labels):
        pred_all = np.asarray(labels)[proba.argmax(1)]
        extra = {"accuracy_all_classes": float(np.mean(pred_all == sub[col].astype(str).to_numpy()))}
        proba, dropped = restrict_to_classes(proba, labels, used), [l for l in labels if l not in used]
        scored["reason"] += (f"; answers among the {len(used)} classes of the corpus (it has no {', '.join(dropped)}): "
                             f"accuracy {extra['accuracy_all_classes']:.1%} when all {len(labels)} may be answered")
        labels = used
    result = evaluate(sub[col], proba=proba, labels=labels)
    result.metrics.update(extra)
    result.scored = {**scored, "n": int(len(sub)), "of": int(len(m))}
    result.predictions = prediction_table(sub, col, proba, labels,
                                          windows=None if owner is None else np.bincount(owner, minlength=len(sub)))
    return result


def prediction_table(rows, label_column: str, proba: np.ndarray, labels: list[str], windows: np.ndarray | None = None):
    """One row per scored sample: who, the truth, the answer and its probability, every class's probability.

    Parameters
    ----------
    rows : pandas.DataFrame
        The scored manifest rows (``sample_id``, ``group`` and the label column).
    label_column : str
        ``"label"`` (emolab's emotions) or ``"raw_label"`` (a model trained on the corpus's own labels).
    proba : np.ndarray [shape=(n, len(labels))]
        The probabilities the metrics were computed from (after speaker centring and any class restriction).
    labels : list of str
    windows : np.ndarray [shape=(n,)], optional
        How many windows each speech file was read in.

    Returns
    -------
    pandas.DataFrame
        ``sample_id, group, label, predicted, probability, right`` (``probability`` is the answer's), one column
        per class with its probability, and ``windows`` for speech. Corpus ids only: no file paths.
    """
    import pandas as pd

    proba = np.asarray(proba, np.float64)
    table = pd.DataFrame({"sample_id": rows["sample_id"].astype(str).to_numpy(), "group": rows["group"].astype(str).to_numpy(),
                          "label": rows[label_column].astype(str).to_numpy(), "predicted": np.asarray(labels)[proba.argmax(1)],
                          "probability": proba.max(1)})
    table["right"] = table["label"] == table["predicted"]
    for k, name in enumerate(labels):
        table[f"p_{name}"] = proba[:, k]
    if windows is not None:
        table["windows"] = np.asarray(windows, int)
    return table


def restrict_to_classes(proba: np.ndarray, labels: list[str], keep: list[str]) -> np.ndarray:
    """Probabilities over ``labels`` [n, k] renormalised over the classes ``keep`` -> [n, len(keep)], in ``keep``'s order.

    The answer a model gives when it knows which classes can occur (a prior of zero for the others); the
    order among the kept classes is unchanged, so only answers of a dropped class move."""
    cols = [labels.index(l) for l in keep]
    p = np.asarray(proba, np.float64)[:, cols]
    return p / np.clip(p.sum(1, keepdims=True), 1e-300, None)


def pool_windows(proba: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """One answer per utterance from the answers of its windows: the mean of their log-probabilities, renormalised.

    Parameters
    ----------
    proba : np.ndarray [shape=(m, k)]
        Class probabilities of m windows.
    owner : np.ndarray [shape=(m,), dtype=int]
        The utterance (0..n-1) of each window; every utterance has at least one.
    n : int
        Number of utterances.

    Returns
    -------
    np.ndarray [shape=(n, k)]
        The normalised geometric mean of each utterance's window probabilities: for a linear head, the
        answer of the windows' mean logits, which speaker centring (:func:`~emolab.models.speaker_adapt.speaker_adapt`)
        then works on. Chosen over the arithmetic mean on RAVDESS utterances read by heads that never heard
        their speakers (``docs/speech.md``, "Utterances longer than the window")."""
    owner = np.asarray(owner, np.int64)
    count = np.bincount(owner, minlength=n)
    if len(owner) != len(proba) or np.any(count == 0):
        raise ValueError("every utterance needs at least one window, and every window an utterance")
    logp = np.zeros((n, proba.shape[1]))
    np.add.at(logp, owner, np.log(np.clip(np.asarray(proba, np.float64), 1e-12, 1.0)))
    logp /= count[:, None]
    logp -= logp.max(1, keepdims=True)
    p = np.exp(logp)
    return p / p.sum(1, keepdims=True)

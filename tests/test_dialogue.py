"""The dialogue-context head of text models (emolab.models.dialogue)."""

import collections

import numpy as np
import pandas as pd
import pytest
import torch

from emolab.errors import EmolabError
from emolab.models.dialogue import HALF_WINDOW, WHOLE, DialogueContext, in_dialogues, speaker_flags, windows, with_dialogue
from emolab.models.io import load_model, save_model
from emolab.models.zoo import TextLSTM, TextLSTMConfig


def _head(seed: int = 0, members: int = 1) -> DialogueContext:
    """A head with a non-zero correction (a trained head's output layer is not zero)."""
    torch.manual_seed(seed)
    h = DialogueContext(7, 8, members=members).eval()
    with torch.no_grad():
        for out in h.outs:
            out.weight.normal_(0, 1.0)
    return h


def _logits(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 2, (n, 7))


def test_speaker_flags_mark_the_same_speaker_before_and_after():
    f = speaker_flags(["ann", "ann", "bob", "", ""], 5)
    assert f[:, 0].tolist() == [0, 1, 0, 0, 0]  # same speaker as the utterance before (unknown: never)
    assert f[:, 1].tolist() == [1, 0, 0, 0, 0]  # as the one after
    assert not speaker_flags(None, 3).any() and speaker_flags(["a"], 1).shape == (1, 2)


def test_short_dialogues_are_read_whole_and_long_ones_in_centred_windows():
    assert windows(5) == [(0, 5, i) for i in range(5)]
    assert windows(WHOLE) == [(0, WHOLE, i) for i in range(WHOLE)]
    n = WHOLE + 16
    for i, (a, b, p) in enumerate(windows(n)):
        assert b - a == 2 * HALF_WINDOW + 1 and 0 <= a and b <= n and a + p == i
    assert windows(n)[20][:2] == (20 - HALF_WINDOW, 20 + HALF_WINDOW + 1)


def test_an_untrained_head_changes_nothing():
    z = _logits(9)
    out = in_dialogues(DialogueContext(7, 8), z, groups=[0, 0, 0, 1, 1, 1, 1, 2, 2], speakers=list("ababaabba"))
    assert np.allclose(out, z, atol=1e-6)


def test_each_utterance_is_read_among_its_own_dialogue_in_order():
    head, z = _head(), _logits(8)
    groups = np.array(["d1"] * 5 + ["d2"] * 3)
    order = np.array([0, 1, 2, 3, 4, 0, 1, 2], float)
    base = in_dialogues(head, z, groups, order, list("aabbaabc"))
    assert not np.allclose(base, z, atol=1e-3)
    perm = np.random.default_rng(1).permutation(8)  # rows in another order, the same dialogues: the same answers
    shuffled = in_dialogues(head, z[perm], groups[perm], order[perm], [list("aabbaabc")[i] for i in perm])
    assert np.allclose(shuffled, base[perm], atol=1e-5)
    changed = z.copy()
    changed[6, 2] += 4.0  # another answer in dialogue d2 moves d2's other utterances, never d1's
    again = in_dialogues(head, changed, groups, order, list("aabbaabc"))
    assert np.allclose(again[:5], base[:5], atol=1e-6) and not np.allclose(again[5], base[5], atol=1e-4)
    lone = in_dialogues(head, z[:5], speakers=list("aabba"))  # no groups: the rows are one dialogue in row order
    assert np.allclose(lone, base[:5], atol=1e-5)


def test_a_long_dialogue_reads_only_the_window_around_each_utterance():
    head, n = _head(), WHOLE + 20
    z = _logits(n)
    out = in_dialogues(head, z)
    span = 2 * HALF_WINDOW + 1
    for i in (0, 20, n - 1):  # each utterance's answer is that of its window read alone
        a, b, p = windows(n)[i]
        assert np.allclose(out[i], in_dialogues(head, z[a:b])[p], atol=1e-6) and b - a == span
    far = z.copy()
    far[-1, 3] += 6.0  # the last utterance is outside the first one's window, not outside the 30th's
    moved = in_dialogues(head, far)
    assert np.allclose(moved[0], out[0], atol=1e-9) and not np.allclose(moved[n - 2], out[n - 2], atol=1e-4)


def test_an_average_of_heads_averages_their_corrections():
    a, b, z = _head(0), _head(1), _logits(6)
    joint = DialogueContext.average([a, b]).eval()
    assert len(joint.grus) == 2
    expect = (in_dialogues(a, z) + in_dialogues(b, z)) / 2
    assert np.allclose(in_dialogues(joint, z), expect, atol=1e-5)
    with pytest.raises(ValueError, match="members"):
        DialogueContext(7, 8, members=0)


def test_a_text_model_keeps_its_dialogue_head_through_a_file(tmp_path):
    torch.manual_seed(0)
    config = TextLSTMConfig(vocab_size=50, embedding=16, hidden=16, dropout=0.0, dialogue=8, dialogue_members=2)
    model = TextLSTM(config).eval()
    with torch.no_grad():
        for out in model.dialogue.outs:
            out.weight.normal_(0, 1.0)
    back, meta = load_model(save_model(tmp_path / "t.safetensors", model))
    assert meta["config"]["dialogue"] == 8 and len(back.dialogue.grus) == 2
    table = pd.DataFrame({"group": ["x", "x", "y"], "utterance": [1, 0, 0], "speaker": ["a", "b", "a"]})
    z = _logits(3)
    assert np.allclose(with_dialogue(back, z, table), with_dialogue(model, z, table), atol=1e-6)
    assert not np.allclose(with_dialogue(back, z, table), z, atol=1e-4)
    plain = TextLSTM(TextLSTMConfig(vocab_size=50, embedding=16, hidden=16))
    assert plain.dialogue is None and with_dialogue(plain, z, table) is not None
    assert np.array_equal(with_dialogue(plain, z, table), z)  # no head: the utterance answers unchanged
    with pytest.raises(EmolabError, match="dialogue"):
        TextLSTM(TextLSTMConfig(dialogue=-1))


def test_the_lesson_reads_its_transcript_as_one_dialogue(tmp_path):
    """The bundled text model's dialogue head is applied in lessons: each answer is the utterance model's corrected
    by the transcript around it (in time order, with its speakers), then calibrated."""
    from emolab.bundled import PRETRAINED_DIR
    from emolab.calibration import apply_temperature, temperature_for
    from emolab.models.lesson import LateFusionLessonModels
    from emolab.preprocessing.text import text_tokenizer

    (tmp_path / "pre").mkdir()
    (tmp_path / "pre" / "text.safetensors").write_bytes((PRETRAINED_DIR / "text.safetensors").read_bytes())
    lm = LateFusionLessonModels(folder=tmp_path / "pre", precision="fp32")
    model = lm.models["text"]
    assert model.dialogue is not None, "the bundled text model has its dialogue head"
    texts = ["I can't stand this anymore, it's so unfair!", "Why do we always have to do this?", "Open your books, please."]
    speakers = ["S01", "S01", "T"]
    p = lm.text(texts, speakers)
    ids = text_tokenizer(lm.metas["text"]["preprocessing"]["vocabulary"]).transform(texts)
    with torch.no_grad():
        alone = model(torch.as_tensor(ids, dtype=torch.long)).double().numpy()
    expect = apply_temperature(in_dialogues(model.dialogue, alone, speakers=speakers), temperature_for("text"))
    assert np.allclose(p, expect, atol=1e-4)
    calm = lm.text(["What a lovely surprise, thank you!", texts[1], texts[2]], speakers)
    assert np.abs(calm[1] - p[1]).max() > 1e-3  # the same words after other words: another answer


def test_out_of_fold_corpora_hold_each_dialogue_out_exactly_once(tmp_path):
    """benchmarks/train_text_folds.py: whole dialogues per fold; each fold's corpus is the train CSV cut in two, text intact."""
    from emolab.data.corpora.meld import read_meld

    from tests.conftest import import_benchmark

    folds = import_benchmark("train_text_folds")
    header = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n"
    lines = [f'{i},"Line {d}.{u}, caf\u00e9 ""quoted""",S{u % 2},{"joy" if u else "anger"},positive,{d},{u},1,1,'
             f'"00:00:0{u},000","00:00:0{u},900"\n' for i, (d, u) in enumerate((d, u) for d in range(7) for u in range(3))]
    (tmp_path / "train_sent_emo.csv").write_text(header + "".join(lines), encoding="utf-8")
    fold = folds.fold_of_dialogues(list(range(7)), 3)
    assert sorted(fold) == list(range(7)) and sorted(collections.Counter(fold.values()).values()) == [2, 2, 3]
    assert fold == folds.fold_of_dialogues(list(reversed(range(7))), 3)  # the same cut whatever the order given
    whole = read_meld(tmp_path, ("train",))
    held = []
    for k in range(3):
        folds.write_fold_corpus(tmp_path / "train_sent_emo.csv", fold, k, tmp_path / f"f{k}")
        part = read_meld(tmp_path / f"f{k}")
        dev, train = part[part["split"] == "dev"], part[part["split"] == "train"]
        assert set(dev["dialogue"]) == {d for d, f in fold.items() if f == k} and not set(dev["dialogue"]) & set(train["dialogue"])
        assert len(dev) + len(train) == len(whole)
        held += dev["dialogue"].tolist()
        ref = whole.set_index(["dialogue", "utterance"]).loc[list(zip(dev["dialogue"], dev["utterance"]))]
        assert list(ref["text"]) == list(dev["text"]) and list(ref["label"]) == list(dev["label"])
    assert sorted(collections.Counter(held).values()) == [3] * 7  # each dialogue (3 utterances) held out once

import numpy as np
import pandas as pd
import pytest

from emolab.cache import FeatureCache, file_hash
from emolab.errors import EmolabError, MediaError
from emolab.preprocessing.audio import (fix_length, is_silent, load_audio, log_mel, mfcc_features, prosody, speech_activity,
                                        summary_features)

from .conftest import write_video, write_wav


def test_load_wav_resamples_and_mixes_to_mono(tmp_path):
    import soundfile as sf

    t = np.arange(44100) / 44100
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 440 * t)], 1) * 0.5
    sf.write(tmp_path / "a.wav", stereo, 44100)
    y = load_audio(tmp_path / "a.wav")
    assert y.dtype == np.float32 and y.ndim == 1 and abs(len(y) - 16000) <= 1
    assert abs(np.abs(y).max() - 0.5) < 0.02
    part = load_audio(tmp_path / "a.wav", offset=0.25, duration=0.5)
    assert abs(len(part) - 8000) <= 1


def test_audio_from_the_lesson_mp4_matches_the_wav(tiny_lesson):
    a = load_audio(tiny_lesson / "lesson.mp4")
    b = load_audio(tiny_lesson / "lesson.wav")
    assert abs(len(a) - len(b)) < 2048
    n = min(len(a), len(b)) - 4000
    # AAC is lossy and has priming delay; the envelopes still agree
    ea = np.convolve(np.abs(a[:n]), np.ones(800) / 800, "same")
    eb = np.convolve(np.abs(b[:n]), np.ones(800) / 800, "same")
    assert np.corrcoef(ea, eb)[0, 1] > 0.8


@pytest.mark.parametrize("name,content,match", [
    ("empty.wav", b"", "empty"),
    ("text.wav", b"this is not audio at all" * 10, "cannot decode"),
    ("text.mp4", b"this is not a video either" * 10, "cannot decode"),
])
def test_bad_audio_files_are_clear_errors(tmp_path, name, content, match):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(MediaError, match=match) as err:
        load_audio(p)
    assert name in str(err.value)


def test_video_without_audio_track(tmp_path):
    p = write_video(tmp_path / "silent.mp4")
    with pytest.raises(MediaError, match="no audio track"):
        load_audio(p)
    with pytest.raises(MediaError, match="not found"):
        load_audio(tmp_path / "missing.flac")


def test_features_shapes_and_silence():
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    y = (0.3 * np.sin(2 * np.pi * 200 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    assert mfcc_features(y).shape == (60, 101)
    assert log_mel(y).shape == (64, 101)
    p = prosody(y)
    assert abs(np.nanmedian(p["f0"]) - 200) < 10
    f = summary_features(y)
    assert f.shape == (142,) and np.isfinite(f).all()
    silence = np.zeros(16000, np.float32)
    assert is_silent(silence) and not is_silent(y)
    assert np.isfinite(summary_features(silence)).all()
    assert speech_activity(silence) == []
    assert summary_features(rng.normal(0, 0.1, 100).astype(np.float32)).shape == (142,)  # very short input
    assert len(fix_length(y, 100)) == 100 and len(fix_length(y[:10], 100)) == 100


def test_speech_activity_finds_the_lesson_turns(tiny_lesson):
    from emolab.data import read_transcript

    y = load_audio(tiny_lesson / "lesson.wav")
    regions = speech_activity(y)
    cues = read_transcript(tiny_lesson / "lesson.srt")
    assert len(regions) >= 1
    for cue in cues.itertuples():
        assert any(a - 0.15 <= cue.start and cue.end <= b + 0.15 for a, b in regions)


def test_cache_reuses_and_keys_on_content(tmp_path):
    p = write_wav(tmp_path / "x.wav")
    cache = FeatureCache("test", root=tmp_path / "cache")
    calls = []

    def compute():
        calls.append(1)
        return np.arange(3.0)

    a = cache.get_or_compute(p, {"v": 1}, compute)
    b = cache.get_or_compute(p, {"v": 1}, compute)
    assert np.array_equal(a, b) and len(calls) == 1
    cache.get_or_compute(p, {"v": 2}, compute)
    assert len(calls) == 2
    moved = p.rename(tmp_path / "renamed.wav")
    FeatureCache("test", root=tmp_path / "cache").get_or_compute(moved, {"v": 1}, compute)
    assert len(calls) == 2  # same content, same entry
    write_wav(moved, freq=330.0)
    FeatureCache("test", root=tmp_path / "cache").get_or_compute(moved, {"v": 1}, compute)
    assert len(calls) == 3 and len(file_hash(moved)) == 32
    # a corrupt entry is recomputed, not trusted
    for f in (tmp_path / "cache").rglob("*.npy"):
        f.write_bytes(b"garbage")
    FeatureCache("test", root=tmp_path / "cache").get_or_compute(moved, {"v": 1}, compute)
    assert len(calls) == 4


def test_overlapping_speech_windows_share_their_features(tiny_lesson):
    """Windows cut from one feature pass equal per-window features away from their edges, in any order,
    including a window that runs past the end of the track; log-mel too; no windows -> empty."""
    from emolab.preprocessing.inputs import speech_inputs_at, speech_inputs_from_waves

    y = load_audio(tiny_lesson / "lesson.wav")
    win = 16000  # 1-s windows, every 0.25 s, shuffled, the last one past the end (4 s track)
    starts = np.random.default_rng(0).permutation(np.r_[np.arange(0, 2.5, 0.25), 3.5] * 16000).astype(int)
    cut = np.stack([np.pad(y[a:a + win], (0, win - len(y[a:a + win]))) for a in starts])
    for feature in ("mfcc", "logmel"):
        shared = speech_inputs_at(y, starts, seconds=1.0, feature=feature)
        alone = speech_inputs_from_waves(cut, 1.0, feature)
        assert shared.shape == alone.shape == (len(starts), 1, 60 if feature == "mfcc" else 64, 101)
        assert np.abs(shared - alone)[..., 6:-6].max() < 1e-3, feature  # the 6 frames at each end see real context
        assert not np.allclose(shared[..., :2], alone[..., :2], atol=1e-3), feature
    assert speech_inputs_at(y, np.array([], int), seconds=1.0).shape == (0, 1, 60, 101)
    one_pass = speech_inputs_at(y, starts, seconds=1.0, max_span=1.0)  # every window alone
    assert np.allclose(one_pass, speech_inputs_from_waves(cut, 1.0), atol=1e-4)
    with pytest.raises(EmolabError):
        speech_inputs_at(y, np.array([-16000]), seconds=1.0)


def test_a_long_utterance_is_read_whole_in_windows_over_its_speech(tmp_path, monkeypatch):
    """When the speech detector hears more than one window of speech, windows 1 s apart (and one ending at the
    end) cover that span, each featurised as a training utterance is; a short sentence, or a file with no speech
    heard, keeps its single centred window; files are cached."""
    import soundfile as sf

    from emolab.preprocessing.inputs import load_speech_windows, speech_input, speech_windows_of, utterance_window_starts
    from emolab.preprocessing.vad import speech_span

    from .test_speakers import _voice

    assert list(utterance_window_starts(48000)) == [] and list(utterance_window_starts(20000, seconds=1.0)) == [0, 4000]
    assert list(utterance_window_starts(int(7.5 * 16000))) == [0, 16000, 32000, 48000, 64000, 72000]  # the last ends at the end
    y = _voice(5.0)  # 5 s of voice between two silent seconds
    first, last = speech_span(y)
    assert 0.8 * 16000 < first < 1.2 * 16000 and 5.8 * 16000 < last < 6.3 * 16000
    w = speech_windows_of(y, feature="logmel40")
    assert w.shape == (len(utterance_window_starts(last - first)), 1, 40, 301) and len(w) >= 3
    assert np.array_equal(w[0], speech_input(y[first:first + 48000], feature="logmel40"))
    assert np.array_equal(w[-1], speech_input(y[last - 48000:last], feature="logmel40"))
    short = _voice(1.5)  # a short sentence in a 3.5-s file: its centred window, as in training
    assert np.array_equal(speech_windows_of(short), speech_input(short)[None])
    noise = np.random.default_rng(0).standard_normal(int(7.5 * 16000)).astype(np.float32) * 0.1  # no speech heard
    assert np.array_equal(speech_windows_of(noise), speech_input(noise)[None])
    monkeypatch.setenv("EMOLAB_CACHE", str(tmp_path / "cache"))
    sf.write(tmp_path / "long.wav", y, 16000, subtype="FLOAT")
    files = pd.DataFrame({"path": [str(write_wav(tmp_path / "a.wav", seconds=2.0)), str(tmp_path / "long.wav")]})
    X, owner = load_speech_windows(files, feature="logmel40", progress=False)
    assert X.shape == (1 + len(w), 1, 40, 301) and list(owner) == [0] + [1] * len(w)
    np.testing.assert_allclose(X[1:], w, atol=1e-4)
    again, _ = load_speech_windows(files, feature="logmel40", progress=False)
    assert np.array_equal(X, again) and len(list((tmp_path / "cache").rglob("*.npy"))) == 2


def test_pool_windows_is_the_normalised_geometric_mean_of_each_utterances_windows():
    from emolab.recipes.evaluate import pool_windows

    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    out = pool_windows(p, np.array([0, 0, 1, 2]), 3)
    g = np.sqrt(p[0] * p[1])
    np.testing.assert_allclose(out[0], g / g.sum())
    np.testing.assert_allclose(out[1:], p[2:])
    assert out[0].argmax() == 0 and np.mean(p[:2], 0).argmax() == 0  # here both means agree
    windows = np.array([[0.99, 0.01], [0.2, 0.8], [0.2, 0.8]])
    assert pool_windows(windows, np.zeros(3, int), 1)[0].argmax() == 0  # the mean logit: one very sure window outweighs
    assert windows.mean(0).argmax() == 1  # two fairly sure ones, where the mean probability would not ...
    with pytest.raises(ValueError):
        pool_windows(p, np.array([0, 0, 2, 2]), 3)  # ... but an utterance without a window is refused


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_mel_equals_librosa_to_the_bit(dtype):
    """log_mel is computed without librosa; it must give librosa's numbers exactly (the speech models were
    trained on them): short clips, block boundaries of librosa's STFT (163 columns), long tracks, both mel sizes."""
    import librosa

    from emolab.preprocessing.audio import log_mel

    rng = np.random.default_rng(5)
    for n in (150, 400, 401, 26_079, 26_240, 48_000, 160_123):
        for n_mels in (40, 64):
            y = (rng.normal(0, 0.2, n) * np.linspace(0.01, 1, n)).astype(dtype)
            want = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=16000, n_fft=400, hop_length=160, n_mels=n_mels),
                                       ref=1.0, top_db=80.0).astype(np.float32)
            got = log_mel(y, n_mels=n_mels)
            assert got.dtype == np.float32 and np.array_equal(got, want), (n, n_mels)


def test_log_mel_does_not_import_librosa():
    import subprocess
    import sys

    code = ("import sys, numpy as np; from emolab.preprocessing.audio import log_mel; "
            "m = log_mel(np.random.default_rng(0).normal(0, .1, 16000).astype(np.float32), n_mels=40); "
            "assert m.shape == (40, 101), m.shape; print('librosa' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"

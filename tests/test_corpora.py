"""Each reader on a tiny fixture in the corpus's exact official layout; real counts where available."""


import numpy as np
import pandas as pd
import pytest

from emolab.data import MANIFEST_COLUMNS, concat_manifests, read_corpus, summarize, validate_manifest
from emolab.data.corpora import load_fer2013_image, parse_ravdess_name
from emolab.errors import DataError
from emolab.taxonomy import EMOTIONS

from .conftest import write_png, write_video, write_wav


def check_manifest(m: pd.DataFrame, n: int, corpus: str):
    assert list(m.columns[: len(MANIFEST_COLUMNS)]) == list(MANIFEST_COLUMNS)
    assert len(m) == n
    assert (m["corpus"] == corpus).all()
    assert m["sample_id"].is_unique
    assert set(m["label"]) <= set(EMOTIONS)
    assert m["group"].str.startswith(corpus + ":").all()
    validate_manifest(m)


def test_a_corpus_assembled_from_linked_folders_is_read_once_without_looping(tmp_path):
    """Actor folders that are symbolic links are followed; a link back up the tree, or a second link to the same
    folder, adds nothing."""
    import os

    for actor in (1, 2):
        for emo in ("01", "05"):
            write_wav(tmp_path / "store" / f"Actor_{actor:02d}" / f"03-01-{emo}-01-01-01-{actor:02d}.wav")
    root = tmp_path / "corpus"
    root.mkdir()
    os.symlink(tmp_path / "store" / "Actor_01", root / "Actor_01")
    os.symlink(tmp_path / "store" / "Actor_02", root / "Actor_02")
    os.symlink(tmp_path / "store" / "Actor_02", root / "Actor_02_again")
    os.symlink(root, tmp_path / "store" / "Actor_01" / "loop")
    m = read_corpus("ravdess", root)
    assert len(m) == 4 and sorted(m["actor"].astype(int).unique()) == [1, 2] and m["sample_id"].is_unique


def test_ravdess_audio_and_video_codes(tmp_path):
    for actor in (1, 2):
        for emo in ("01", "02", "05"):
            write_wav(tmp_path / f"Actor_{actor:02d}" / f"03-01-{emo}-01-01-01-{actor:02d}.wav")
        write_video(tmp_path / f"Actor_{actor:02d}" / f"01-01-03-02-02-01-{actor:02d}.mp4")
        write_wav(tmp_path / f"Actor_{actor:02d}" / f"03-02-04-01-01-01-{actor:02d}.wav")  # song
    (tmp_path / "Actor_01" / "notes.wav").write_bytes(b"")
    with pytest.warns(UserWarning, match="skipped 1"):
        m = read_corpus("ravdess", tmp_path)
    check_manifest(m, 10, "ravdess")
    assert m["group"].nunique() == 2
    row = m[m["sample_id"] == "ravdess:01-01-03-02-02-01-01"].iloc[0]
    assert (row.modality, row.modalities, row.label, row.intensity, row.gender) == ("audio-video", "face+audio", "happiness", "strong", "male")
    assert set(m.loc[m.raw_label == "calm", "label"]) == {"neutral"}
    with pytest.warns(UserWarning):
        speech = read_corpus("ravdess", tmp_path, vocal_channel="speech")
    assert len(speech) == 8
    assert parse_ravdess_name("03-01-09-01-01-01-01") is None


def test_fer2013_csv_and_folders(tmp_path):
    pixels = " ".join(["7"] * 2304)
    csv = tmp_path / "fer2013.csv"
    csv.write_text("emotion,pixels,Usage\n0," + pixels + ",Training\n3," + pixels + ",PublicTest\n6," + pixels + ",PrivateTest\n")
    m = read_corpus("fer2013", tmp_path)
    check_manifest(m, 3, "fer2013")
    assert list(m["label"]) == ["anger", "happiness", "neutral"]
    assert list(m["split"]) == ["train", "validation", "test"]
    assert not m["subject_known"].any()
    img = load_fer2013_image(csv, 1)
    assert img.shape == (48, 48) and img.dtype == np.uint8 and img[0, 0] == 7

    root = tmp_path / "folders"
    for split in ("train", "validation"):
        for cls in ("angry", "happy", "surprise"):
            write_png(root / split / cls / f"{split}_{cls}_1.jpg")
    f = read_corpus("fer", root)
    check_manifest(f, 6, "fer2013")
    assert summarize(f)["splits"]["validation"]["n_samples"] == 3


def test_fer2013_csv_bad_code_names_line(tmp_path):
    csv = tmp_path / "fer2013.csv"
    csv.write_text("emotion,pixels,Usage\n0,1 2,Training\n9,1 2,Training\n")
    with pytest.raises(DataError, match=r"line 3.*0-6") as err:
        read_corpus("fer2013", csv)
    assert "fer2013.csv" in str(err.value)


def test_meld_links_clips_and_keeps_dialogues_apart(tmp_path):
    header = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n"
    (tmp_path / "train_sent_emo.csv").write_text(header + '1,Oh my God!,Rachel,surprise,positive,0,0,1,1,"00:00:01,000","00:00:02,500"\n'
                                                 '2,I hate this.,Ross,anger,negative,0,1,1,1,"00:00:03,000","00:00:04,000"\n', encoding="utf-8")
    (tmp_path / "dev_sent_emo.csv").write_text(header + "1,Hi.,Joey,joy,positive,0,0,1,2,00:00:01,00:00:02\n", encoding="cp1252")
    write_video(tmp_path / "train" / "train_splits" / "dia0_utt0.mp4")
    m = read_corpus("meld", tmp_path)
    check_manifest(m, 3, "meld")
    first = m.iloc[0]
    assert first.modalities == "face+audio+text" and first.path.endswith("dia0_utt0.mp4")
    assert m.iloc[1].modalities == "text"
    assert first.start == pytest.approx(1.0) and first.end == pytest.approx(2.5)
    assert m["group"].nunique() == 2  # train dia0 and dev dia0 are different conversations
    assert list(m["label"]) == ["surprise", "anger", "happiness"]


def test_meld_missing_columns(tmp_path):
    (tmp_path / "train_sent_emo.csv").write_text("Utterance,Emotion\nhi,joy\n")
    with pytest.raises(DataError, match="missing column"):
        read_corpus("meld", tmp_path)


def test_goemotions_multilabel_original_and_ekman(tmp_path):
    orig = tmp_path / "original"
    orig.mkdir()
    (orig / "train.tsv").write_text("I love it\t18,17\tc1\nSo gross\t11\tc2\nHmm ok\t27\tc3\n")
    m = read_corpus("goemotions", orig)
    check_manifest(m, 3, "goemotions")
    assert m.iloc[0].raw_labels == "love;joy" and m.iloc[0].label == "happiness" and m.iloc[0].n_labels == 2
    assert list(m["label"]) == ["happiness", "disgust", "neutral"]
    ek = tmp_path / "ekman"
    ek.mkdir()
    (ek / "labels.txt").write_text("\n".join(["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]))
    (ek / "dev.tsv").write_text("What?!\t6\tx1\nyay\t3,6\tx2\n")
    e = read_corpus("goemotions", ek)
    assert list(e["label"]) == ["surprise", "happiness"] and e.iloc[1].labels == "happiness;surprise"
    (ek / "dev.tsv").write_text("bad line without tabs\n")
    with pytest.raises(DataError, match="line 1"):
        read_corpus("goemotions", ek)


def test_tess_cremad_emodb(tmp_path):
    for spk in ("OAF", "YAF"):
        for emo in ("angry", "ps", "neutral"):
            write_wav(tmp_path / "tess" / f"{spk}_{emo}" / f"{spk}_back_{emo}.wav")
    t = read_corpus("tess", tmp_path / "tess")
    check_manifest(t, 6, "tess")
    assert set(t.loc[t.raw_label == "pleasant surprise", "label"]) == {"surprise"}
    assert t["group"].nunique() == 2

    for name in ("1001_DFA_ANG_XX", "1001_IEO_HAP_HI", "1002_DFA_SAD_LO", "1091_TSI_NEU_XX"):
        write_wav(tmp_path / "crema" / "AudioWAV" / f"{name}.wav")
    (tmp_path / "crema" / "VideoDemographics.csv").write_text("ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n")
    c = read_corpus("crema-d", tmp_path / "crema")
    check_manifest(c, 4, "cremad")
    assert c.iloc[0].gender == "male" and c.iloc[1].intensity == "high" and c["group"].nunique() == 3

    for name in ("03a01Wa", "08a02Lb", "16b10Tc", "10a04Fd"):
        write_wav(tmp_path / "emodb" / "wav" / f"{name}.wav")
    e = read_corpus("emo-db", tmp_path / "emodb")
    check_manifest(e, 4, "emodb")
    assert list(e["label"]) == ["anger", "neutral", "happiness", "sadness"]
    assert list(e["gender"]) == ["male", "female", "male", "female"]


def test_enterface_layout_including_subject_6(tmp_path):
    write_video(tmp_path / "subject 1" / "anger" / "sentence 1" / "s1_an_1.avi")
    write_video(tmp_path / "subject 1" / "happiness" / "sentence 2" / "s1_ha_2.avi")
    write_video(tmp_path / "subject 6" / "fear" / "s6_fe_3.avi")
    m = read_corpus("enterface", tmp_path)
    check_manifest(m, 3, "enterface")
    assert list(m["label"]) == ["anger", "happiness", "fear"]
    assert list(m["sentence"]) == [1, 2, 3] and m["group"].nunique() == 2


def test_ckplus_sequences_and_ck48(tmp_path):
    root = tmp_path / "ck"
    for seq, code in (("S005/001", "3.0000000e+00"), ("S010/002", "5.0000000e+00")):
        for k in range(1, 4):
            s, q = seq.split("/")
            write_png(root / "cohn-kanade-images" / s / q / f"{s}_{q}_{k:08d}.png")
        s, q = seq.split("/")
        lab = root / "Emotion" / s / q / f"{s}_{q}_00000003_emotion.txt"
        lab.parent.mkdir(parents=True)
        lab.write_text(f"   {code}\n")
    write_png(root / "cohn-kanade-images" / "S011" / "001" / "S011_001_00000001.png")  # unlabelled sequence
    m = read_corpus("ck+", root)
    check_manifest(m, 2, "ckplus")
    assert list(m["label"]) == ["disgust", "happiness"] and list(m["n_frames"]) == [3, 3]
    assert m.iloc[0].path.endswith("00000003.png") and m.iloc[0].neutral_path.endswith("00000001.png")
    (root / "Emotion" / "S010" / "002" / "S010_002_00000003_emotion.txt").write_text("9\n")
    with pytest.raises(DataError, match="not a CK\\+ emotion code"):
        read_corpus("ckplus", root)
    ck48 = tmp_path / "CK+48"
    write_png(ck48 / "contempt" / "S138_008_00000007.png")
    write_png(ck48 / "sadness" / "S011_002_00000020.png")
    c = read_corpus("ckplus", ck48)
    assert list(c["label"]) == ["disgust", "sadness"] and list(c["raw_label"]) == ["contempt", "sadness"]


def test_generic_folder_with_groups_and_label_map(tmp_path):
    write_png(tmp_path / "train" / "joyful" / "kid01_a.png")
    write_png(tmp_path / "train" / "bored" / "kid02_a.png")
    write_png(tmp_path / "test" / "joyful" / "kid03_b.png")
    m = read_corpus("folder", tmp_path, label_map={"joyful": "happiness"}, group_pattern=r"(kid\d+)")
    check_manifest(m, 3, "folder")
    assert list(m["split"]) == ["test", "train", "train"]
    assert m["subject_known"].all() and m["group"].nunique() == 3
    with pytest.raises(Exception, match="unknown emotion label 'joyful'"):
        read_corpus("folder", tmp_path)


def test_lesson_reader_turns_truth_into_segments(tiny_lesson):
    m = read_corpus("lesson", tiny_lesson)
    check_manifest(m, len(m), "lesson")
    assert m["person"].nunique() == 4
    assert (m["end"] > m["start"]).all()
    assert m.iloc[0].modalities == "face+audio+text"
    s = summarize(m)
    assert s["n_groups"] == 4


def test_unknown_corpus_and_wrong_folders(tmp_path):
    with pytest.raises(DataError, match="unknown corpus"):
        read_corpus("imagenet", tmp_path)
    with pytest.raises(DataError, match="no MELD CSV"):
        read_corpus("meld", tmp_path)
    f = tmp_path / "x.txt"
    f.write_text("x")
    with pytest.raises(DataError, match="found a file"):
        read_corpus("tess", f)
    with pytest.raises(DataError, match="no FER2013 images"):
        read_corpus("fer2013", tmp_path)


def test_empty_manifest_is_rejected():
    with pytest.raises(DataError, match="empty"):
        validate_manifest(pd.DataFrame(columns=list(MANIFEST_COLUMNS)))


def test_concat_keeps_groups_distinct(tmp_path):
    write_wav(tmp_path / "a" / "Actor_01" / "03-01-05-01-01-01-01.wav")
    write_wav(tmp_path / "b" / "OAF_angry" / "OAF_back_angry.wav")
    both = concat_manifests([read_corpus("ravdess", tmp_path / "a"), read_corpus("tess", tmp_path / "b")])
    assert len(both) == 2 and both["group"].nunique() == 2


# ---------------------------------------------------------------------------- real corpora
@pytest.mark.realdata
def test_real_fer2013_counts(shared_data):
    import time

    t0 = time.perf_counter()
    m = read_corpus("fer2013", shared_data / "fer2013")
    assert time.perf_counter() - t0 < 30  # a manifest of paths, not pixels
    train = m[m.split == "train"]
    assert len(train) == 28709 and (m.split == "validation").sum() == 3589
    expected = {"anger": 3995, "disgust": 436, "fear": 4097, "happiness": 7215, "neutral": 4965, "sadness": 4830, "surprise": 3171}
    assert train["label"].value_counts().to_dict() == expected


@pytest.mark.realdata
def test_real_ravdess_counts(shared_data):
    m = read_corpus("ravdess", shared_data / "ravdess_speech")
    assert len(m) == 1080 and m["group"].nunique() == 18
    assert (m.raw_label == "neutral").sum() == 72 and (m.raw_label == "calm").sum() == 144
    assert set(m["modality"]) == {"audio-only"}


@pytest.mark.realdata
def test_real_meld_counts(shared_data):
    m = read_corpus("meld", shared_data / "meld")
    assert (m.split == "train").sum() == 9989 and (m.split == "dev").sum() == 1109
    assert set(m["label"]) == set(EMOTIONS)


@pytest.mark.realdata
def test_real_goemotions_counts(shared_data):
    for variant in ("original", "ekman"):
        m = read_corpus("goemotions", shared_data / "goemotions" / variant)
        assert (m.split == "train").sum() == 43410 and (m.split == "dev").sum() == 5426

import pytest

from emolab.data import read_transcript, write_srt
from emolab.errors import DataError

SRT = """1
00:00:01,000 --> 00:00:03,500
T: Let's start with fractions.

2
00:00:03,000 --> 00:00:04,000
<i>S02: Why?</i>

3
00:00:05,250 --> 00:00:06,000
Two lines
of text.
"""


def test_srt_with_speakers_overlaps_and_multiline(tmp_path):
    p = tmp_path / "a.srt"
    p.write_text(SRT)
    t = read_transcript(p)
    assert list(t.columns) == ["start", "end", "speaker", "text", "overlaps"]
    assert t.start.tolist() == [1.0, 3.0, 5.25]
    assert t.speaker.tolist() == ["T", "S02", ""]
    assert t.text.tolist()[2] == "Two lines of text."
    assert t.overlaps.tolist() == [False, True, False]


def test_vtt_voice_tags_and_round_trip(tmp_path):
    p = tmp_path / "a.vtt"
    p.write_text("WEBVTT\n\n00:01.000 --> 00:02.000\n<v Teacher>Good morning\n\n00:02.500 --> 00:03.000\nHi\n")
    t = read_transcript(p)
    assert t.speaker.tolist() == ["Teacher", ""] and t.start.tolist() == [1.0, 2.5]
    write_srt(tmp_path / "b.srt", t)
    back = read_transcript(tmp_path / "b.srt")
    assert back[["start", "end", "speaker", "text"]].equals(t[["start", "end", "speaker", "text"]])


def test_csv_transcript_and_wrong_encoding(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes("start,end,speaker,text\n0.5,1.5,S01,Très bien\n".encode("cp1252"))
    t = read_transcript(p)
    assert t.text.iloc[0] == "Très bien" and t.speaker.iloc[0] == "S01"


@pytest.mark.parametrize("body,match", [
    ("1\n00:00:99,000 --> 00:00:01,000\nx\n", "line 2"),
    ("1\n00:00:05,000 --> 00:00:01,000\nx\n", "ends .* before it starts"),
    ("just some text without timing\n", "no timed cues"),
])
def test_bad_timestamps_name_file_and_line(tmp_path, body, match):
    p = tmp_path / "bad.srt"
    p.write_text(body)
    with pytest.raises(DataError, match=match) as err:
        read_transcript(p)
    assert "bad.srt" in str(err.value)


def test_missing_csv_columns(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("begin,text\n1,hi\n")
    with pytest.raises(DataError, match="lacks column"):
        read_transcript(p)

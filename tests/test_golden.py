"""The lesson pipeline's tables, compared with a stored run (regression check of refactors).

The golden tables in ``tests/golden/tiny_lesson`` were written by this test with
``EMOLAB_UPDATE_GOLDEN=1``. Regenerate them only on purpose, when a change is meant to change what a
lesson analysis reports, and say so in the commit message.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

GOLDEN = Path(__file__).parent / "golden" / "tiny_lesson"
TABLES = ("timeline", "students", "speech", "utterances", "faces")


@pytest.mark.slow
def test_tiny_lesson_tables_match_the_stored_run(tiny_lesson):
    from emolab.timeline import AnalysisConfig, analyze_lesson

    res = analyze_lesson(tiny_lesson, config=AnalysisConfig(model="synthetic", precision="fp32"), progress=False)
    if os.environ.get("EMOLAB_UPDATE_GOLDEN"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for name in TABLES:
            getattr(res, name).to_csv(GOLDEN / f"{name}.csv", index=False, float_format="%.6g")
        pytest.skip("golden tables rewritten")
    assert len(res.timeline) > 0 and res.faces["person"].nunique() >= 2  # the stored run is not trivially empty
    for name in TABLES:
        want = pd.read_csv(GOLDEN / f"{name}.csv", keep_default_na=False)
        got = pd.read_csv(pd.io.common.StringIO(getattr(res, name).to_csv(index=False, float_format="%.6g")), keep_default_na=False)
        pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-4, atol=1e-4, obj=name)

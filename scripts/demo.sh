#!/usr/bin/env bash
# The README's main job on the bundled sample lesson.
# Until the lesson dashboard exists this is the most complete end-to-end run: the sample lesson
# read as a corpus (per-person annotated segments) and the environment report.
set -euo pipefail
cd "$(dirname "$0")/.."
LESSON=${1:-data/generated/sample_lesson}
.venv/bin/emolab info
echo
echo "== sample lesson: $LESSON"
ls -la "$LESSON"
echo
.venv/bin/emolab data summary lesson "$LESSON"

#!/usr/bin/env bash
# The README's main job: the lesson dashboard (Voila) on the bundled sample lesson, served on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${EMOLAB_PORT:-8866}
export JUPYTER_PATH="$PWD/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
echo "emolab lesson dashboard: open http://127.0.0.1:$PORT/ in a browser (Ctrl-C to stop)"
exec .venv/bin/voila notebooks/dashboards/lesson.ipynb --no-browser --port="$PORT" --Voila.ip=127.0.0.1 --template=emolab \
  --Voila.tornado_settings="{'websocket_max_message_size': 209715200}"

"""stdout sink: one JSON object per line, flushed per event, for `jq` or a shell loop (`wakeword detect`,
`wakeword run` with `stdout: true`)."""
from __future__ import annotations

import sys

from ..events import Detection


class StdoutSink:
    def publish(self, detection: Detection) -> None:
        """Write the event as one line; sys.stdout is looked up per event, so a redirected stdout is followed."""
        sys.stdout.write(detection.to_json() + "\n")
        sys.stdout.flush()

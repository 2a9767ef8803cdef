"""stdout sink: one JSON object per line, flushed per event, for `jq` or a shell loop (`wakeword detect`,
`wakeword run` with `stdout: true`)."""
from __future__ import annotations

import os
import sys

from ..events import Detection


class StdoutSink:
    def publish(self, detection: Detection) -> None:
        """Write the event as one line; sys.stdout is looked up per event, so a redirected stdout is followed."""
        try:
            sys.stdout.write(detection.to_json() + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            # The reader is gone: stdout now goes to /dev/null, so the interpreter's flush at exit does not fail
            # again (the pattern Python's signal docs give for SIGPIPE); the caller still learns of it.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
            raise

"""Audio in: WAV files, sample-rate conversion and chunked sources."""

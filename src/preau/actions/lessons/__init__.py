"""Video lessons (docs/lessons.md): ``videos`` (upload, read, serve by ranges, progress,
who watched, captions) and ``transcoding`` (the queue and its worker, off the request
path). Self-marking exercises are ``actions/exercises``."""

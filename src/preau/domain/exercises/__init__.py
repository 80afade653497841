"""Self-marking exercises (docs/lessons.md): questions and their marking, attempts, and the
Moodle GIFT format teachers share questions in."""

"""Learning: enrollments, lesson completions, video positions and progress."""

"""Assessment: quizzes, attempts, assignments, submissions and the gradebook."""

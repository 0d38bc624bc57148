"""Knowledge quality: golden questions and their check, evaluation, answer replay, insights,
contradictions, the unanswered-question queue and its assignments, practice scoring and change
summaries."""

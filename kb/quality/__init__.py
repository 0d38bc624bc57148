"""Knowledge quality: golden questions and their check, evaluation, answer replay, insights,
contradictions, the unanswered-question queue, practice scoring and change summaries."""

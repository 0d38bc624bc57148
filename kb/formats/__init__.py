"""Article files <-> articles: Markdown with front matter, bulk FAQ files, plain documents."""

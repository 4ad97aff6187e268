"""Where the archive is kept: Postgres (engine, schema, migrations, repository, the transcript,
vector and credential stores), the content-addressed media files, and the search cache."""

"""What every domain package shares and none owns: settings, the database, problems, request limits,
pagination, the types client input is judged by, and the compiled fast-path reads."""

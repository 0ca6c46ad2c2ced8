"""Operations: health checks, metrics, the offline API documentation and the problem type pages."""

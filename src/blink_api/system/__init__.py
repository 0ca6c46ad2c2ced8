"""Operations: health checks, metrics and the offline API documentation."""

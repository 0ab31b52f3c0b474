"""Operations: health, readiness, system status, statistics and Prometheus metrics."""

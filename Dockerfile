# Multi-stage image: dependencies are built in the first stage; the runtime stage runs as a
# non-root user, applies the migrations, then serves. Configure it with DATABASE_URL and friends.
FROM python:3.11-slim AS build
WORKDIR /build
COPY pyproject.toml requirements.lock README.md ./
COPY src ./src
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/venv/bin/pip install --no-cache-dir -c requirements.lock .

FROM python:3.11-slim
# DejaVu Sans for form PDFs: every European script, Cyrillic and Greek (see blink_api/forms/pdf.py).
RUN apt-get update \
 && apt-get install --no-install-recommends -y fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 blink
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY alembic.ini ./
COPY migrations ./migrations
RUN mkdir -p /app/.data && chown blink:blink /app/.data
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    BLINK_DATA_DIR=/app/.data
USER blink
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/health/ready', timeout=4)"
CMD ["sh", "-c", "blink-api migrate && exec blink-api serve"]

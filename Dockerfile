# Tupoksi Bot container: docker build -t tupoksi . && docker run --env-file .env -v tupoksi-data:/data tupoksi
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY knowledge ./knowledge
RUN pip install --no-cache-dir ".[charts]" && useradd --system --home /app tupoksi \
    && mkdir /data && chown tupoksi /data
USER tupoksi
ENV DATABASE_PATH=/data/tupoksi.sqlite3 KB_DIR=/app/knowledge PYTHONUNBUFFERED=1
VOLUME ["/data"]
# docker stop sends SIGTERM: the bot finishes questions in flight and flushes its log.
STOPSIGNAL SIGTERM
CMD ["tupoksi", "run"]

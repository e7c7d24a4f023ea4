FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY api api
COPY workers workers
COPY providers providers
COPY models models
COPY client client
COPY migrations migrations
COPY alembic.ini celeryconfig.py gunicorn.conf.py wsgi.py ./
RUN pip install .
RUN useradd --create-home app && mkdir -p /app/var && chown app /app/var
USER app

# rwkv-explainer: the Streamlit app with CPU-only PyTorch. Nothing is fetched at run time.
#   docker build -t rwkv-explainer .
#   docker run --rm -p 8501:8501 rwkv-explainer        # then open http://localhost:8501
# Another torch build: --build-arg TORCH_VERSION=... (and TORCH_INDEX_URL=... for another wheel index).
# Several containers behind one proxy (deploy/: compose, Kubernetes): give every one the same
# -e STREAMLIT_SERVER_COOKIE_SECRET=... (Streamlit signs its cookies with it). No nginx in this image.
FROM python:3.11-slim

ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_SERVER_HEADLESS=true

WORKDIR /app

# CPU-only torch from the PyTorch wheel index (torch alone), then the pinned runtime requirements
# without their torch line, so pip never swaps in the large CUDA build from PyPI.
COPY requirements.txt /tmp/requirements.txt
RUN pip install --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}" \
 && grep -viE '^\s*torch\s*(==|>=|~=|$)' /tmp/requirements.txt > /tmp/requirements-notorch.txt \
 && pip install -r /tmp/requirements-notorch.txt \
 && rm /tmp/requirements.txt /tmp/requirements-notorch.txt

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin app

COPY --chown=app:app .streamlit/ .streamlit/
COPY --chown=app:app streamlit_app.py ./
COPY --chown=app:app app/ app/
COPY --chown=app:app pages/ pages/
COPY --chown=app:app model/ model/
COPY --chown=app:app static/ static/
RUN python -m app.assets

USER app
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4).read().strip() == b'ok' else 1)"
CMD ["python", "-m", "app.serve", "--server.port", "8501", "--server.address", "0.0.0.0"]

# The two helpers of the local trial, from the same pinned base as Bridgework:
# Radicale (a CalDAV server) and aiosmtpd as a mail catcher, both pinned.
FROM python:3.11.11-slim-bookworm
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
RUN pip install 'radicale==3.9.0' 'aiosmtpd==1.4.6' \
    && groupadd --system --gid 10002 trial \
    && useradd --system --uid 10002 --gid trial --no-create-home --shell /usr/sbin/nologin trial \
    && mkdir -p /srv/radicale && chown 10002:10002 /srv/radicale
USER 10002:10002

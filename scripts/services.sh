#!/usr/bin/env bash
# Make sure what the tests need is there: Chromium + a Korean font, PostgreSQL and Redis running.
# Installs with apt only when running as root; never stops anything.
set -u
as_root() { [ "$(id -u)" = 0 ]; }
if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi nanum; then
  if as_root && command -v apt-get >/dev/null; then
    echo "installing chromium and fonts-nanum ..."
    apt-get update -qq >/dev/null 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-nanum >/dev/null 2>&1 \
      || echo "could not install chromium/fonts-nanum" >&2
  else
    echo "chromium or fonts-nanum missing (browser tests will skip outside CI)" >&2
  fi
fi
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL ..."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 20); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
  fi
fi
if command -v redis-server >/dev/null 2>&1; then
  if ! (command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1); then
    echo "starting Redis ..."
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null || true
    sleep 0.5
  fi
fi
exit 0

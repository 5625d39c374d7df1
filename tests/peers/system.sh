#!/usr/bin/env bash
# What the suite needs besides Python and npm packages: Debian's xmlsec1 (pysaml2 verifies SAML
# signatures with it), Node.js with npm (the OpenID provider the SSO tests sign in against),
# and PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 running.
# Missing packages are installed with apt-get when this runs as root or may use sudo without a
# password; otherwise it prints the exact command to run and fails. Installed but stopped
# services are started the same way. Arguments name more Debian packages to install when their
# command of the same name is missing (`make bench` passes `wrk`).
set -euo pipefail

if [ "$(id -u)" = 0 ]; then
  AS_ROOT=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  AS_ROOT=(sudo -n)
else
  AS_ROOT=(none)
fi

can_install() { [ "${AS_ROOT[0]:-}" != none ] && command -v apt-get >/dev/null 2>&1; }

missing=()
command -v xmlsec1 >/dev/null 2>&1 || missing+=(xmlsec1)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
for tool in "$@"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! can_install; then
    echo "missing: ${missing[*]}. Install them as root, then run this again:" >&2
    echo "    apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "installing ${missing[*]} with apt-get"
  "${AS_ROOT[@]}" apt-get update -qq
  "${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if [ "${AS_ROOT[0]:-}" != none ] && command -v pg_ctlcluster >/dev/null 2>&1 \
      && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    echo "starting PostgreSQL"
    "${AS_ROOT[@]}" pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  else
    echo "PostgreSQL is not answering on 127.0.0.1:5432: the suite needs it there, with user" >&2
    echo "postgres and trust authentication (apt-get install -y postgresql, then start it)" >&2
    exit 1
  fi
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  if [ "${AS_ROOT[0]:-}" != none ] && command -v redis-server >/dev/null 2>&1; then
    echo "starting Redis"
    "${AS_ROOT[@]}" mkdir -p /var/lib/redis /var/log/redis
    "${AS_ROOT[@]}" redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
      --appendonly no --dir /var/lib/redis --logfile /var/log/redis/fluxrouter-tests.log
  else
    echo "Redis is not answering on 127.0.0.1:6379: the suite needs it there" >&2
    echo "(apt-get install -y redis-server, then start it)" >&2
    exit 1
  fi
fi
for _ in $(seq 1 30); do
  pg_isready -h 127.0.0.1 -p 5432 -q && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "PostgreSQL or Redis did not come up within 30 s" >&2
exit 1

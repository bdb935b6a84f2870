#!/usr/bin/env bash
# Install what the VS Code end-to-end test needs: a real VS Code workbench
# (code-server from the npm registry) and Debian's Chromium, offline-safe.
# Idempotent: a second run finds the cache and returns in about a second.
# Follows shared/recipes/vscode-e2e.md (verified on Node 20 / Debian 12).
#
#   clients/vscode/scripts/setup-e2e.sh        # installs, prints the code-server path
#
# Cache: $GASTOWN_VSCODE_E2E_CACHE (default ~/.cache/gastown-vscode-e2e).
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
cache="${GASTOWN_VSCODE_E2E_CACHE:-$HOME/.cache/gastown-vscode-e2e}"
bin="$cache/node_modules/.bin/code-server"
stamp="$cache/.installed-$CODE_SERVER_VERSION"

log() { echo "setup-e2e: $*" >&2; }

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v rg >/dev/null 2>&1 || need_apt+=(ripgrep)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
# node-pty and argon2 (code-server's native modules) build with node-gyp when no prebuild fits.
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
command -v make >/dev/null 2>&1 || need_apt+=(make)
[ -e /usr/include/krb5.h ] || [ -e /usr/include/gssapi/gssapi.h ] || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq >/dev/null
  $sudo_ apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ -f "$stamp" ] && [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

# @vscode/ripgrep's postinstall downloads ripgrep from the internet unless it
# finds the archive in os.tmpdir()/vscode-ripgrep-cache-<its version>. Seed
# that cache with Debian's rg for the versions code-server 4.100.x pulls in.
tmpdir="${TMPDIR:-/tmp}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$(command -v rg)" "$work/rg"
for v in 1.15.9 1.15.10 1.15.11 1.15.12 1.15.13 1.15.14; do
  c="$tmpdir/vscode-ripgrep-cache-$v"
  mkdir -p "$c"
  for arch in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
    a="$c/ripgrep-v13.0.0-10-$arch.tar.gz"
    [ -f "$a" ] || tar czf "$a" -C "$work" rg
  done
done

mkdir -p "$cache"
cd "$cache"
[ -f package.json ] || echo '{"name":"gastown-vscode-e2e-cache","private":true}' > package.json
log "npm install code-server@$CODE_SERVER_VERSION into $cache (a few minutes the first time)"
# node-pty's install runs `npx node-gyp`: let npx answer yes; code-server's postinstall
# refuses to run as root unless npm_config_unsafe_perm=true (npm 11 has no such flag).
npm_config_yes=true npm_config_unsafe_perm=true npm_config_fund=false npm_config_audit=false \
  npm install --no-save "code-server@$CODE_SERVER_VERSION" >&2
[ -x "$bin" ] || { log "error: code-server did not install ($bin missing)"; exit 1; }
touch "$stamp"
echo "$bin"

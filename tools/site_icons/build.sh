#!/usr/bin/env bash
# Rebuild book/_static/scripts/fontawesome.js (the site's icons, see icons.js) with npm.
# Run it after adding an icon to icons.js; the output is committed, so a book build needs
# no Node. Test: tests/test_site.py checks that every <i class="fa-..."> became an <svg>.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
npm install --silent --no-audit --no-fund --prefix "$work" esbuild@0.25.12 \
    @fortawesome/fontawesome-svg-core@6.7.2 @fortawesome/free-solid-svg-icons@6.7.2 \
    @fortawesome/free-brands-svg-icons@6.7.2
cp "$here/icons.js" "$work/icons.js"
out="$here/../../book/_static/scripts/fontawesome.js"
mkdir -p "$(dirname "$out")"
"$work/node_modules/.bin/esbuild" "$work/icons.js" --bundle --minify --format=iife \
    --legal-comments=inline --target=es2018 --outfile="$out"
echo "wrote $out ($(wc -c < "$out") bytes)"

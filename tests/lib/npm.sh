# Shared by the suites: `npm_ci_once DIR` runs `npm ci` in DIR only when its package-lock.json
# changed since the last install there (a stamp with the lock's sha256 in node_modules).
npm_ci_once() {
  local dir=$1 want
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$dir/node_modules/.medlens-lock" 2>/dev/null)" != "$want" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) && echo "$want" > "$dir/node_modules/.medlens-lock"
  fi
}

#!/usr/bin/env bash
# What a VPN gateway or a mail server asks twofold: is this password (+ code) right?
#
#   examples/vpn_check.sh alice@contoso.example 123456   # password + a code from her app
#   examples/vpn_check.sh bob@contoso.example            # an app password, or 2SV off
#
# The password (or app password) is read from standard input or asked for, and the API
# token is sent through a file descriptor: neither shows in the process list.
# TWOFOLD_URL (default http://127.0.0.1:8000) and TWOFOLD_API_TOKEN (default: the demo's,
# from demo-credentials.json in TWOFOLD_DATA_DIR or ./data) say where and as whom.
# Exit status: 0 accept, 1 reject, 2 challenge (a text or call was started), 3 error
# (no user, password or API token to send, no answer, or a refused request).
# The JSON is built and read by python3's json module: any password goes as it is.
set -Eeuo pipefail
trap 'exit 3' ERR # whatever else fails is an error, never a reject or a challenge

fail() {
  echo "vpn_check.sh: $*" >&2
  exit 3
}

[ -n "${1:-}" ] || fail "usage: vpn_check.sh USER [CODE] < password"
user=$1
code=${2:-}
url=${TWOFOLD_URL:-http://127.0.0.1:8000}
token=${TWOFOLD_API_TOKEN:-}
if [ -z "$token" ]; then
  saved="${TWOFOLD_DATA_DIR:-$(dirname "$0")/../data}/demo-credentials.json"
  [ -r "$saved" ] || fail "no API token: set TWOFOLD_API_TOKEN (or run make run, which saves one in $saved)"
  token=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["api_client"]["token"])' \
    "$saved" 2>/dev/null) || fail "no API token in $saved: set TWOFOLD_API_TOKEN"
fi
case $token in *[[:space:]]*) fail "TWOFOLD_API_TOKEN is not a token (it has white space)" ;; esac

password=
if [ -t 0 ]; then
  IFS= read -rsp "Password for $user: " password || true
  echo >&2
else
  IFS= read -r password || true
fi
[ -n "$password" ] || fail "no password on standard input"

# The password goes to python3 on its standard input, never as an argument.
body=$(printf '%s' "$password" | python3 -c '
import json, sys
body = {"user": sys.argv[1], "password": sys.stdin.buffer.read().decode()}
if sys.argv[2]:
    body["code"] = sys.argv[2]
print(json.dumps(body))' "$user" "$code") || fail "the password is not UTF-8 text"

if ! answer=$(curl -sS --fail-with-body --max-time 30 \
  -H @<(printf 'Authorization: Bearer %s\n' "$token") \
  -H 'Content-Type: application/json' \
  --data-binary @- "$url/api/v1/validate/check" <<<"$body"); then
  echo "${answer:-no answer from $url}" >&2
  exit 3
fi
echo "$answer"
result=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["result"])' <<<"$answer" \
  2>/dev/null) || fail "not an answer of twofold's"
case $result in
  accept) exit 0 ;;
  reject) exit 1 ;;
  challenge) exit 2 ;;
  *) exit 3 ;;
esac

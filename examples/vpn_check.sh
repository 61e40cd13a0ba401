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
# Exit status: 0 accept, 1 reject, 2 challenge (a text or call was started), 3 error.
set -euo pipefail

user=${1:?usage: vpn_check.sh USER [CODE] < password}
code=${2:-}
url=${TWOFOLD_URL:-http://127.0.0.1:8000}
token=${TWOFOLD_API_TOKEN:-}
if [ -z "$token" ]; then
  saved="${TWOFOLD_DATA_DIR:-$(dirname "$0")/../data}/demo-credentials.json"
  token=$(sed -n 's/.*"token": "\(tf_[^"]*\)".*/\1/p' "$saved")
fi

if [ -t 0 ]; then
  read -rsp "Password for $user: " password && echo >&2
else
  IFS= read -r password || true
fi

json() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
body="{\"user\": $(json "$user"), \"password\": $(json "$password")"
if [ -n "$code" ]; then body+=", \"code\": $(json "$code")"; fi
body+="}"

if ! answer=$(curl -sS --fail-with-body --max-time 30 \
  -H @<(printf 'Authorization: Bearer %s\n' "$token") \
  -H 'Content-Type: application/json' \
  --data-binary @- "$url/api/v1/validate/check" <<<"$body"); then
  echo "${answer:-no answer from $url}" >&2
  exit 3
fi
echo "$answer"
case $(grep -o '"result": *"[a-z]*"' <<<"$answer") in
  *accept*) exit 0 ;;
  *reject*) exit 1 ;;
  *challenge*) exit 2 ;;
  *) exit 3 ;;
esac

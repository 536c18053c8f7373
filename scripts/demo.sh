#!/bin/sh
# make demo: mint a batch, serve it, redeem a code, show what each user sees.
set -eu
BIN=$1 DATA=$2 ADDR=$3
rm -rf "$DATA"
say() { printf '\n== %s\n' "$*"; }

say "factory: mint 1000 activated codes (CSV for the printing line)"
"$BIN" --data "$DATA" mint --product SKU-MILK-900 --count 1000 --activate --format csv --out "$DATA.codes.csv"
head -3 "$DATA.codes.csv"
CODE=$(sed -n 2p "$DATA.codes.csv" | cut -d, -f2)

say "anyone: verify a code offline"
"$BIN" --data "$DATA" verify "$CODE"

say "brand: start the scan service on $ADDR"
"$BIN" --data "$DATA" serve --addr "$ADDR" --log-level warn &
PID=$!
trap 'kill $PID 2>/dev/null; rm -f "$DATA.codes.csv"' EXIT
TOKEN=$(cat "$DATA/admin.token")
i=0; until curl -fs "http://$ADDR/healthz" >/dev/null; do i=$((i+1)); [ $i -lt 50 ] || exit 1; sleep 0.1; done

say "consumer: scan the code (POST /v1/scans)"
curl -s -H "Authorization: Bearer $TOKEN" -d "{\"code\":\"$CODE\",\"member\":\"mother-1\",\"request_id\":\"demo-1\"}" "http://$ADDR/v1/scans"

say "another consumer: scan the same code, spelled in lower case"
LOWER=$(printf %s "$CODE" | tr 'A-Z' 'a-z')
curl -s -H "Authorization: Bearer $TOKEN" -d "{\"code\":\"$LOWER\",\"member\":\"someone-else\"}" "http://$ADDR/v1/scans"

say "anyone: the code's public status (GET /v1/codes/{code})"
curl -s "http://$ADDR/v1/codes/$CODE"

say "consumer: balance and ledger (GET /v1/members/mother-1)"
curl -s -H "Authorization: Bearer $TOKEN" "http://$ADDR/v1/members/mother-1"

say "done; the landing page is http://$ADDR/c/$CODE while a server runs"

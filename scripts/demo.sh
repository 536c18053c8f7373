#!/bin/sh
# make demo: mint a batch, serve it, redeem a code, show what each user sees.
set -eu
BIN=$1 DATA=$2 ADDR=$3
rm -rf "$DATA"
say() { printf '\n== %s\n' "$*"; }

say "brand: store the URL every printed code opens (here the demo server; a real brand sets HTTPS://ITS.HOST)"
"$BIN" --data "$DATA" brand set --base-url "http://$ADDR" --name "Demo Dairy" --time-zone Asia/Shanghai

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

say "brand: apply the spring-milk campaign (docs/examples/spring-milk.json), add a store and its guide"
curl -s -X PUT -H "Authorization: Bearer $TOKEN" --data-binary @docs/examples/spring-milk.json "http://$ADDR/v1/campaigns/spring-milk" | head -c 200; echo
curl -s -X PUT -H "Authorization: Bearer $TOKEN" -d '{"name":"Store 1","region":"east"}' "http://$ADDR/v1/stores/S1"; echo
GUIDE=$(curl -s -H "Authorization: Bearer $TOKEN" -d '{"id":"G1","store":"S1"}' "http://$ADDR/v1/guides")
echo "$GUIDE"
GTOKEN=$(printf %s "$GUIDE" | sed 's/.*"token":"\([^"]*\)".*/\1/')

say "brand's app: a new mother agrees to join G1 in the app (POST /v1/members/mother-2/guide)"
curl -s -H "Authorization: Bearer $TOKEN" -d '{"guide":"G1"}' "http://$ADDR/v1/members/mother-2/guide" | head -c 200; echo

say "consumer: mother-2 scans cans until one pays a gift coupon"
COUPON=
for n in 3 4 5 6 7 8 9 10 11 12; do
  C=$(sed -n "${n}p" "$DATA.codes.csv" | cut -d, -f2)
  OUT=$(curl -s -H "Authorization: Bearer $TOKEN" -d "{\"code\":\"$C\",\"member\":\"mother-2\"}" "http://$ADDR/v1/scans")
  echo "$OUT"
  COUPON=$(printf %s "$OUT" | sed -n 's/.*"coupon":{"id":"\([^"]*\)".*/\1/p')
  [ -n "$COUPON" ] && break
done

if [ -n "$COUPON" ]; then
  say "guide: verify the coupon at the counter (核销), twice"
  curl -s -X POST -H "Authorization: Bearer $GTOKEN" "http://$ADDR/v1/coupons/$COUPON/verify" | head -c 300; echo
  curl -s -X POST -H "Authorization: Bearer $GTOKEN" "http://$ADDR/v1/coupons/$COUPON/verify"; echo
fi

say "guide: commissions and bound members (GET /v1/guides/G1)"
curl -s -H "Authorization: Bearer $GTOKEN" "http://$ADDR/v1/guides/G1" | head -c 400; echo

say "brand: audit every balance against the ledger (GET /v1/audit)"
curl -s -H "Authorization: Bearer $TOKEN" "http://$ADDR/v1/audit"; echo

say "consumer: the landing page of the code is http://$ADDR/C/$CODE"
if [ -t 0 ]; then
  printf 'The server runs until you press Enter.\n'
  read -r _
else
  printf 'The server stops now; to browse again: %s --data %s serve --addr %s\n' "$BIN" "$DATA" "$ADDR"
fi

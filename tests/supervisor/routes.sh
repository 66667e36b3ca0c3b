# Routes of a built fixture app, fetched and normalised for comparison (sourced by bash suites).

# routes_list APP: every route of the standalone app APP, one a line: its App Router routes from
# .next/app-path-routes-manifest.json (a [param] filled in, /dynamic with two names) and
# /hello.txt.
routes_list() {
	python3 - "$1/.next/app-path-routes-manifest.json" <<'PY'
import json, re, sys
routes = sorted(set(json.load(open(sys.argv[1])).values()))
for r in routes:
    if r.startswith('/_'):
        continue
    r = re.sub(r'\[[^/]+\]', '7', r)
    if r == '/dynamic':
        print(r + '?name=knext')
        r += '?name=second'
    print(r)
print('/hello.txt')
PY
}

# routes_wait PORT: until / answers (15 s at most).
routes_wait() {
	for _ in $(seq 1500); do
		curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
		sleep 0.01
	done
	return 1
}

# routes_fetch APP PORT OUT: GET every route; OUT.status has "route code" lines, OUT.resp the
# normalised status line, headers and body of each (what must not differ between two starts of
# the same build), OUT.entropy the body of /api/entropy.
routes_fetch() {
	local app=$1 port=$2 out=$3 r
	: >"$out.status"
	: >"$out.resp"
	: >"$out.entropy"
	routes_list "$app" >"$out.routes"
	while read -r r; do
		code=$(curl -s -D "$out.hdr" -o "$out.body" -w '%{http_code}' "http://127.0.0.1:$port$r")
		echo "$r $code" >>"$out.status"
		[ "$r" = /api/entropy ] && cat "$out.body" >"$out.entropy"
		{
			echo "== $r"
			# Dates and the connection's own headers differ between any two starts.
			tr -d '\r' <"$out.hdr" | grep -viE '^(date|keep-alive|connection):' | sort
			# What a route computes per request or per start: time, pid, uptime, randomness.
			sed -E -e 's#<p id="(rendered-at|pid)">[^<]*</p>#<p id="\1">-</p>#g' \
				-e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z/-/g' \
				-e 's/(\\?"id\\?":\\?"pid\\?",\\?"children\\?":)[0-9]+/\1-/g' \
				-e 's/"(uptime|random|uuid|now)":("[^"]*"|[0-9.e+-]+)/"\1":-/g' "$out.body"
			echo
		} >>"$out.resp"
	done <"$out.routes"
}

# entropy_field JSON NAME: one field of an /api/entropy answer.
entropy_field() {
	python3 -c 'import json, sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$1" "$2" \
		2>/dev/null
}

#!/usr/bin/env bash
# The CI pipeline's promises, proven on qemu-arm32 after the main job built it in BUILD (default build/):
#
#   1. Reproducible bytes: a clean build from a second checkout in another directory (its own workdir,
#      no local task cache) gives the same qemu-arm32.img, .img.zst and manifest.json.
#   2. A shared task cache on a real server: that build stores every compile task's outputs on an
#      nginx with WebDAV on loopback (PUT); a third checkout's clean build then runs no compile task
#      (report.json: restored), gives the same bytes again, and boots to dom0.
#
# Prints the sums and the figures: the cold and the warm build's time, and the cache's hits.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-build}" && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/xenbuild-cache-checks.XXXXXX")
nginx_pid=
cleanup() {
  [ -z "$nginx_pid" ] || kill "$nginx_pid" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT

# A checkout of the committed tree in a directory of its own, with this one's npm packages and build of xenbuild.
checkout() {
  git clone --quiet --no-hardlinks "$here" "$scratch/$1"
  cp -a "$here/dist" "$scratch/$1/dist"
  ln -s "$here/node_modules" "$scratch/$1/node_modules"
}

# nginx (Debian's, with its WebDAV module) serving $scratch/store on a free loopback port.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$scratch/store" "$scratch/nginx/tmp" "$scratch/nginx/logs"
{
  [ "$(id -u)" != 0 ] || echo 'user root root;'
  cat <<EOF
worker_processes 1;
pid $scratch/nginx/nginx.pid;
error_log $scratch/nginx/logs/error.log warn;
events { worker_connections 64; }
http {
  access_log $scratch/nginx/logs/access.log;
  client_body_temp_path $scratch/nginx/tmp/body;
  proxy_temp_path $scratch/nginx/tmp/proxy;
  fastcgi_temp_path $scratch/nginx/tmp/fastcgi;
  uwsgi_temp_path $scratch/nginx/tmp/uwsgi;
  scgi_temp_path $scratch/nginx/tmp/scgi;
  client_max_body_size 0;
  server {
    listen 127.0.0.1:$port;
    root $scratch/store;
    location / {
      dav_methods PUT;
      create_full_put_path on;
    }
  }
}
EOF
} > "$scratch/nginx/nginx.conf"
nginx -p "$scratch/nginx" -c "$scratch/nginx/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
url="http://127.0.0.1:$port/xenbuild-tasks"
for _ in $(seq 50); do
  (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null && break
  sleep 0.1
done
echo "cache-checks: nginx with WebDAV at $url"

# sums DIR: the sha256 of the image, the compressed image and the manifest of the qemu-arm32 build in DIR.
sums() { (cd "$1/qemu-arm32/deploy" && sha256sum qemu-arm32.img qemu-arm32.img.zst manifest.json); }
xb() { (cd "$scratch/$1" && shift && node bin/xenbuild.js "$@" --reporter plain); }
seconds() { node -e 'console.log((JSON.parse(require("fs").readFileSync(process.argv[1])).durationMs / 1000).toFixed(1))' "$1"; }

checkout cold
start=$SECONDS
xb cold all --board qemu-arm32 --frozen --task-cache "$url" > "$scratch/cold.log" || { tail -n 40 "$scratch/cold.log"; exit 1; }
echo "cache-checks: cold build in $scratch/cold: $((SECONDS - start)) s"
entries=$(find "$scratch/store" -name '*.tar.zst' | wc -l)
echo "cache-checks: $entries task outputs stored on the server"

echo "cache-checks: the main job's build ($build)"
sums "$build" | tee "$scratch/main.sums"
echo "cache-checks: a clean build from another checkout ($scratch/cold/build)"
sums "$scratch/cold/build" | tee "$scratch/cold.sums"
if ! diff <(cut -d' ' -f1 "$scratch/main.sums") <(cut -d' ' -f1 "$scratch/cold.sums") > /dev/null; then
  echo "cache-checks: FAILED: two clean builds of the same lock differ" >&2
  exit 1
fi
echo "cache-checks: reproducible: both builds are byte for byte the same"

checkout warm
start=$SECONDS
xb warm all --board qemu-arm32 --frozen --task-cache "$url" > "$scratch/warm.log" || { tail -n 40 "$scratch/warm.log"; exit 1; }
echo "cache-checks: warm build in $scratch/warm: $((SECONDS - start)) s"
report="$scratch/warm/build/qemu-arm32/report.json"
node - "$report" "$entries" <<'EOF'
const [file, entries] = process.argv.slice(2);
const tasks = JSON.parse(require('fs').readFileSync(file, 'utf8')).tasks;
const restored = tasks.filter((t) => t.status === 'restored').map((t) => t.id);
const compiled = tasks.filter((t) => t.status === 'ran' && /:(configure|build|config)$/.test(t.id)).map((t) => t.id);
console.log(`cache-checks: restored ${restored.length} of ${entries} entries: ${restored.join(' ')}`);
console.log(`cache-checks: ran ${tasks.filter((t) => t.status === 'ran').length} tasks (fetches, copies, the boot files and the image)`);
if (compiled.length || restored.length !== Number(entries)) {
  console.error(`cache-checks: FAILED: compile tasks ran with a warm cache: ${compiled.join(' ') || '(none)'}; restored ${restored.length} of ${entries}`);
  process.exit(1);
}
EOF
sums "$scratch/warm/build" | tee "$scratch/warm.sums"
diff <(cut -d' ' -f1 "$scratch/main.sums") <(cut -d' ' -f1 "$scratch/warm.sums") > /dev/null || {
  echo "cache-checks: FAILED: the build from the task cache differs" >&2
  exit 1
}
echo "cache-checks: cold $(seconds "$scratch/cold/build/qemu-arm32/report.json") s, warm $(seconds "$report") s (xenbuild's own timing)"
xb warm boot --board qemu-arm32
echo "cache-checks: ok"

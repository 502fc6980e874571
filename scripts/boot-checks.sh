#!/usr/bin/env bash
# Boots copies of the built qemu-arm32 image that are broken on purpose, and checks
# that `xenbuild boot` fails at the right milestone, saying which one it reached last:
#   - a wrong Xen address in the boot script: U-Boot runs, Xen never starts;
#   - the dom0 module missing from /chosen: Xen starts, dom0 never does;
# and one that is not broken but foreign: its boot script written without xenbuild's
# echo lines and size checks (as another tool would), which must still boot to dom0.
# Usage: scripts/boot-checks.sh [WORKDIR]   (after `xenbuild all --board qemu-arm32`)
# With BOOT_CHECKS_LOGS=DIR, each broken boot's console is kept as DIR/NAME.txt.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
workdir=$(realpath "${1:-build}")
deploy="$workdir/qemu-arm32/deploy"
xenbuild() { node "$root/bin/xenbuild.js" "$@" --workdir "$workdir" --reporter plain; }
img="$deploy/qemu-arm32.img"
[ -f "$img" ] || { echo "boot-checks: $img is not built: run xenbuild all --board qemu-arm32 first" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(sfdisk --json "$img" | python3 -c 'import json, sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][0]["start"])')
offset=$((start * 512))

# broken NAME SED-SCRIPT: a copy of the image whose boot.scr is boot.cmd edited by SED-SCRIPT
broken() {
  cp --sparse=always "$img" "$work/$1.img"
  sed -e "$2" "$deploy/boot/boot.cmd" > "$work/$1.cmd"
  if cmp -s "$deploy/boot/boot.cmd" "$work/$1.cmd"; then echo "boot-checks: $1: the edit changed nothing" >&2; exit 1; fi
  mkimage -A arm -O linux -T script -C none -n "broken: $1" -d "$work/$1.cmd" "$work/$1.scr" > /dev/null
  mcopy -o -i "$work/$1.img@@$offset" "$work/$1.scr" ::/boot.scr
}

# expect NAME LINE...: booting the copy fails, and its report holds every LINE
expect() {
  local name=$1; shift
  if (cd "$root" && xenbuild boot --board qemu-arm32 --image "$work/$name.img" --timeout 40) > "$work/$name.out" 2>&1; then
    cat "$work/$name.out"; echo "boot-checks: $name: booted, but it should not have" >&2; exit 1
  fi
  [ -z "${BOOT_CHECKS_LOGS:-}" ] || { mkdir -p "$BOOT_CHECKS_LOGS"; cp "$workdir/qemu-arm32/logs/boot.log" "$BOOT_CHECKS_LOGS/$name.txt"; }
  for line in "$@"; do
    grep -qF -- "$line" "$work/$name.out" || { cat "$work/$name.out"; echo "boot-checks: $name: missing \"$line\"" >&2; exit 1; }
  done
  echo "boot-checks: $name: failed as it should: $(grep '^FAILED' "$work/$name.out")"
}

broken wrong-xen-address 's/^bootz 0x[0-9a-f]* /bootz 0x48000000 /'
expect wrong-xen-address 'FAILED: Xen banner not reached' 'last milestone reached: boot script found'

broken no-dom0-module '/module@/d'
expect no-dom0-module 'FAILED: dom0 kernel started not reached' 'last milestone reached: Xen banner'
# A boot script as another tool writes it: the loads, the fdt edits and bootz, no echo lines.
broken foreign-script '/^#/d; /^echo /d; /^\t/d; /^else$/d; /^fi$/d; s/^if \(load [^&]*[^ &]\) *&& itest.*$/\1/'
if grep -q xenbuild: "$work/foreign-script.cmd"; then echo "boot-checks: foreign-script: still prints xenbuild lines" >&2; exit 1; fi
if ! (cd "$root" && xenbuild boot --board qemu-arm32 --image "$work/foreign-script.img" --timeout 60) > "$work/foreign.out" 2>&1; then
  cat "$work/foreign.out"; echo "boot-checks: foreign-script: did not boot to dom0" >&2; exit 1
fi
for line in 'not seen (optional): boot script found' 'ok: every required milestone reached, the last (dom0 userspace reached)'; do
  grep -qF -- "$line" "$work/foreign.out" || { cat "$work/foreign.out"; echo "boot-checks: foreign-script: missing \"$line\"" >&2; exit 1; }
done
echo "boot-checks: foreign-script: booted to dom0 without xenbuild's echo lines"
echo "boot-checks: 3 passed, 0 failed"

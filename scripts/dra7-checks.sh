#!/usr/bin/env bash
# After `xenbuild all --board dra7-evm --profile debian12`: what can be proven of the card
# without the board itself.
#   - `xenbuild check` passes, and it saw the secondary-CPU HYP entry in the Xen binary;
#   - at the offset it names, the bytes disassemble to the ROM service call
#     (movw ip, #0x102 / adr r0 / smc #0): the Xen patch is in the binary that boots;
#   - the card: MLO is the first file of the FAT boot partition (TI's ROM reads it first),
#     and the release files are there (bmap, compressed image, SHA256SUMS, manifest).
# Usage: scripts/dra7-checks.sh [WORKDIR]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
workdir=$(realpath "${1:-build}")
deploy="$workdir/dra7-evm/deploy"
fail() { echo "dra7-checks: $*" >&2; exit 1; }
[ -f "$deploy/dra7-evm.img" ] || fail "$deploy/dra7-evm.img is not built: run xenbuild all --board dra7-evm --profile debian12 first"

(cd "$root" && node bin/xenbuild.js check --board dra7-evm --profile debian12 --workdir "$workdir" --reporter plain)
seen=$(grep -E "^seen: deploy/xen: calls the ROM's HYP-entry service 0x102" "$deploy/check.txt") || fail "check.txt does not show the HYP-entry call in Xen"
offset=$(sed -E 's/.* at offset (0x[0-9a-f]+).*/\1/' <<< "$seen")
asm=$(arm-linux-gnueabihf-objdump -D -b binary -m arm --start-address=$((offset - 8)) --stop-address=$((offset + 4)) "$deploy/xen")
grep -qE 'movw\s+ip, #258' <<< "$asm" || { echo "$asm"; fail "no movw ip, #0x102 before the smc at $offset"; }
grep -qE 'smc\s+0' <<< "$asm" || { echo "$asm"; fail "no smc #0 at $offset"; }
echo "dra7-checks: Xen's secondary-CPU HYP entry, at $offset of deploy/xen:"
grep -E '^\s+[0-9a-f]+:' <<< "$asm"

start=$(sfdisk --json "$deploy/dra7-evm.img" | python3 -c 'import json, sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][0]["start"])')
first=$(mdir -b -i "$deploy/dra7-evm.img@@$((start * 512))" ::/ | head -n 1)
[ "$first" = "::/MLO" ] || fail "the first file of the boot partition is $first, not MLO"
echo "dra7-checks: the boot partition starts with MLO: $(mdir -b -i "$deploy/dra7-evm.img@@$((start * 512))" ::/ | sed 's#::/##' | tr '\n' ' ')"
for f in dra7-evm.img.bmap dra7-evm.img.zst SHA256SUMS manifest.json; do [ -s "$deploy/$f" ] || fail "$f is missing"; done
(cd "$deploy" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not match"
echo "dra7-checks: 4 passed, 0 failed"

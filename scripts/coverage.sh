#!/bin/bash
# Coverage that means what the tests reach: the tests' own process (vitest's V8
# provider) and every xenbuild CLI they start (NODE_V8_COVERAGE, inherited by
# child processes, mapped from dist/ back to src/ by c8), merged line by line.
# Prints a table per folder of src/; reports in coverage/.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
rm -rf coverage
mkdir -p coverage/raw
status=0
NODE_V8_COVERAGE="$PWD/coverage/raw" npx vitest run \
  --coverage.enabled --coverage.provider=v8 --coverage.include='src/**/*.ts' \
  --coverage.reporter=json --coverage.reportsDirectory=coverage/in-process "$@" || status=$?
npx c8 report --temp-directory coverage/raw --reports-dir coverage/subprocess --reporter json \
  --include 'dist/**/*.js' --exclude-after-remap=false >/dev/null
node scripts/coverage-summary.mjs coverage/in-process/coverage-final.json coverage/subprocess/coverage-final.json
exit "$status"

#!/usr/bin/env bash
# tools/regmap/import-published-enums.py, run on the published list beside the checkout, changes
# nothing in the committed register-maps/src/published.yaml: the enums there are the list's.
#   published-enums-current.sh SOURCE_DIR
set -euo pipefail
src=$1
reference=$src/../shared/reference
if [ ! -f "$reference/attributes.csv" ]; then
  [ "${CI:-}" = true ] && { echo "FAIL: $reference/attributes.csv is missing (CI=true)" >&2; exit 1; }
  echo "SKIP: $reference is absent (a user's clone): nothing to import from"; exit 77
fi
work=$(mktemp -d /tmp/vmd-enums.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp "$src/register-maps/src/published.yaml" "$work/published.yaml"
/usr/bin/python3 "$src/tools/regmap/import-published-enums.py" "$reference" "$work/published.yaml"
if ! diff -u "$src/register-maps/src/published.yaml" "$work/published.yaml" | head -n 20; then
  echo "FAIL: published.yaml is not in step with the published list's enums; run tools/regmap/import-published-enums.py" >&2
  exit 1
fi
# And a change is seen: an altered meaning in the copy is put back by the import.
sed -i '0,/published-enum: {[0-9]*: "/s//&CHANGED /' "$work/published.yaml"
grep -q 'CHANGED ' "$work/published.yaml" || { echo "FAIL: could not alter the copy" >&2; exit 1; }
/usr/bin/python3 "$src/tools/regmap/import-published-enums.py" "$reference" "$work/published.yaml" > /dev/null
! grep -q 'CHANGED ' "$work/published.yaml" || { echo "FAIL: the import did not restore an altered meaning" >&2; exit 1; }
echo "published.yaml carries the published list's enum meanings"

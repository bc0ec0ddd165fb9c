#!/bin/sh
# Fails when a banned function appears in the C sources (each invites a
# buffer overflow or silently accepts bad input, see ../shared/STYLE.md),
# or when the tree loses its shape: folders that include each other,
# or headers that include each other (scripts/layout_check.py; its call
# check, which needs the object files, runs with the tests).
cd "$(dirname "$0")/.."
status=0
banned='\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|atoll|sscanf|gets)[[:space:]]*\('
hits=$(grep -rnE "$banned" --include='*.c' --include='*.h' fcgi-app cron-jobs tests 2>/dev/null)
if [ -n "$hits" ]; then
    echo "lint: banned functions (use snprintf, buf_*, strtol and friends):"
    echo "$hits"
    status=1
fi
python3 scripts/layout_check.py || status=1
[ "$status" -eq 0 ] && echo "lint: ok"
exit "$status"

#!/bin/sh
# Fails when a banned function appears in the C sources: each invites a
# buffer overflow or silently accepts bad input (see ../shared/STYLE.md).
cd "$(dirname "$0")/.."
banned='\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|atoll|sscanf|gets)[[:space:]]*\('
hits=$(grep -rnE "$banned" --include='*.c' --include='*.h' fcgi-app cron-jobs tests 2>/dev/null)
if [ -n "$hits" ]; then
    echo "lint: banned functions (use snprintf, buf_*, strtol and friends):"
    echo "$hits"
    exit 1
fi
echo "lint: ok"

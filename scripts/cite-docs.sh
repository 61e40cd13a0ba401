#!/bin/sh
# Rewrite citations of the design, security and style notes once kept beside the
# repository (the upper-case notes, by bare name or by a path into the shared folder next
# to it) into citations of the repository's own docs/ folder, keeping item numbers: the
# security note's item 7 becomes "docs/security.md 7". Only tracked files are touched, and
# running it again changes nothing. It prints any other path into that shared folder,
# which it cannot map, and then exits 1. tests/test_docs.py fails while one is left.
set -eu
cd "$(git rev-parse --show-toplevel)"

files=$(git grep -l -I -E '(\.\./shared/)?(SECURITY|DESIGN|STYLE)\.md' -- . ':!scripts/cite-docs.sh' || true)
if [ -n "$files" ]; then
    printf '%s\n' "$files" | while IFS= read -r file; do
        # A bare name only where it starts a word (not BENCHMARKS.md, not docs/...).
        sed -i -E \
            -e 's#\.\./shared/SECURITY\.md#docs/security.md#g' \
            -e 's#\.\./shared/DESIGN\.md#docs/design.md#g' \
            -e 's#\.\./shared/STYLE\.md#docs/style.md#g' \
            -e 's#(^|[^A-Za-z0-9_./-])SECURITY\.md#\1docs/security.md#g' \
            -e 's#(^|[^A-Za-z0-9_./-])DESIGN\.md#\1docs/design.md#g' \
            -e 's#(^|[^A-Za-z0-9_./-])STYLE\.md#\1docs/style.md#g' \
            "$file"
        echo "cited docs/ in $file"
    done
fi

if git grep -n -I -E '\.\./shared' -- . ':!scripts/cite-docs.sh'; then
    echo "cite-docs: the lines above name other files outside the repository: edit them by hand" >&2
    exit 1
fi

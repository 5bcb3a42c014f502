# SPDX-License-Identifier: MIT
# scripts/sources.sh - sourced by style.sh and spdx-add.sh: which files are
# the project's own (tracked by git, or in a tree without git everything but
# build directories; never test corpora or generated files), and the SPDX
# line each kind of file starts with.  The sourcing script cds to the root.

# The project's files, one per line, relative to the root.
project_files() {
    if [ -d .git ] || [ -f .git ]; then
        git ls-files
    else
        find . -type d \( -name .git -o -name 'build*' -o -name node_modules -o -name subprojects \) -prune \
            -o -type f -print | sed 's|^\./||' | LC_ALL=C sort
    fi | while IFS= read -r f; do
        case $f in
        tests/fuzz-corpus/*) continue ;;
        esac
        [ -f "$f" ] || continue
        [ -n "$(spdx_line "$f")" ] || continue
        # Output of a generator (protoc-c and the like) is not ours to mark.
        head -n 3 "$f" | grep -q -e 'DO NOT EDIT' -e '@generated' && continue
        echo "$f"
    done
}

# The SPDX line FILE must start with (after a shebang line), or nothing if
# FILE is not of a kind that carries one.
spdx_line() {
    case $1 in
    *.c | *.h | *.proto | *.js) echo '/* SPDX-License-Identifier: MIT */' ;;
    *.py | *.sh | meson.build | */meson.build | meson_options.txt | *.service.in | *.toml) echo '# SPDX-License-Identifier: MIT' ;;
    esac
}

# The line of FILE where the SPDX line belongs: 2 after a shebang, else 1.
spdx_lineno() {
    if head -c 2 "$1" | grep -q '^#!'; then
        echo 2
    else
        echo 1
    fi
}

#!/usr/bin/env bash
# The interpreters CI needs beyond pyenv's CPython 3.9-3.13 and Debian 12's PyPy 3.9, from Debian's
# archive only (the machine reaches no other download site):
#
#   CPython 3.14 and 3.15 and PyPy 3.11: Debian sid's packages, which need sid's C library, so
#       they live in a sid chroot (debootstrap) at $SID_ROOT; run them with in_sid below.
#   CPython 3.13t (free-threaded): built from trixie's python3.13 source package into $FT_PREFIX,
#       on the host (Debian ships no free-threaded build; no 3.14/3.15 source is served here).
#
#   bash .ci/newer-pythons.sh            # provision (idempotent: a second run only re-mounts)
#   source .ci/newer-pythons.sh --lib    # only define in_sid / sid_unmount for the caller
#
# From nothing: about 2 minutes for the chroot, 3 to 7 for the 3.13t build, on 2 cores.
set -euo pipefail

SID_ROOT=${SID_ROOT:-/opt/asynchat-ci/sid}
FT_PREFIX=${FT_PREFIX:-/opt/asynchat-ci/py313t}
SID_PYTHONS=(python3.14 python3.15 pypy3)

# The host's /proc, /sys and /dev inside the chroot (the tests read /proc; pip needs /dev).
sid_mount() {
    local fs
    for fs in proc sys dev dev/pts; do
        mountpoint -q "$SID_ROOT/$fs" && continue
        case $fs in
            proc) mount -t proc proc "$SID_ROOT/proc" ;;
            sys) mount -t sysfs sys "$SID_ROOT/sys" ;;
            *) mount --bind "/$fs" "$SID_ROOT/$fs" ;;
        esac
    done
}

# Run a command in the chroot with the checkout $1 mounted at /proj; the rest is the command.
in_sid() {
    local checkout=$1; shift
    sid_mount
    mkdir -p "$SID_ROOT/proj"
    mountpoint -q "$SID_ROOT/proj" || mount --bind "$checkout" "$SID_ROOT/proj"
    # The chroot's pip has none of the host's configuration: only the certificate bundle it needs.
    chroot "$SID_ROOT" env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 \
        PIP_CERT=/etc/ssl/host-ca-bundle.crt PIP_DISABLE_PIP_VERSION_CHECK=1 "$@"
}

# Unmount everything below the chroot (before deleting it: a bound /dev is the host's).
sid_unmount() {
    local point
    for point in proj dev/pts dev sys proc; do
        if mountpoint -q "$SID_ROOT/$point"; then umount -l "$SID_ROOT/$point"; fi
    done
}

[ "${1:-}" = "--lib" ] && return 0

mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
need_apt_update=1
apt_install() {
    if [ -n "$need_apt_update" ]; then apt-get update -q; need_apt_update=; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-upgrade "$@"
}

# ---- sid chroot ------------------------------------------------------------------------------
have_sid=1
for py in "${SID_PYTHONS[@]}"; do [ -x "$SID_ROOT/usr/bin/$py" ] || have_sid=; done
if [ -z "$have_sid" ]; then
    command -v debootstrap >/dev/null || apt_install debootstrap
    mkdir -p "$SID_ROOT"
    [ -e "$SID_ROOT/etc/debian_version" ] || debootstrap --variant=minbase sid "$SID_ROOT" "$mirror"
    echo "deb $mirror sid main" > "$SID_ROOT/etc/apt/sources.list"
    # The copy of the archive served here carries a sid Release file past its Valid-Until date.
    printf 'Acquire::Check-Valid-Until "false";\nAcquire::Check-Date "false";\n' \
        > "$SID_ROOT/etc/apt/apt.conf.d/99asynchat-ci"
fi
cp /etc/resolv.conf "$SID_ROOT/etc/resolv.conf"
# Under its own name: Debian's ca-certificates in the chroot would rewrite the usual one.
mkdir -p "$SID_ROOT/etc/ssl"
cp /etc/ssl/certs/ca-certificates.crt "$SID_ROOT/etc/ssl/host-ca-bundle.crt"
sid_mount
if [ -z "$have_sid" ]; then
    # -testsuite: CPython's test_ftplib, test_poplib, test_smtplib and test.support.asynchat.
    chroot "$SID_ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive sh -c '
        apt-get update -q &&
        apt-get install -y -q --no-install-recommends gcc libc6-dev \
            python3.14-dev python3.14-venv libpython3.14-testsuite \
            python3.15-dev python3.15-venv libpython3.15-testsuite \
            pypy3 pypy3-dev pypy3-venv pypy3-lib-testsuite &&
        apt-get clean'
fi

# ---- free-threaded CPython 3.13t ---------------------------------------------------------------
if [ ! -x "$FT_PREFIX/bin/python3.13t" ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    # trixie's source package through an apt configuration of its own; the machine's stays as it is.
    mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/apt/parts"
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" \
        > "$work/apt/sources.list"
    cat > "$work/apt/apt.conf" <<EOF
Dir::Etc::SourceList "$work/apt/sources.list";
Dir::Etc::SourceParts "$work/apt/parts";
Dir::State::Lists "$work/apt/lists";
Dir::Cache "$work/apt/cache";
EOF
    APT_CONFIG=$work/apt/apt.conf apt-get update -q
    (cd "$work" && APT_CONFIG=$work/apt/apt.conf apt-get source --download-only -q python3.13)
    apt_install build-essential libssl-dev libffi-dev zlib1g-dev libbz2-dev liblzma-dev \
        libsqlite3-dev libreadline-dev libncurses-dev uuid-dev xz-utils
    mkdir "$work/src"
    tar -xf "$work"/python3.13_*.orig.tar.xz -C "$work/src" --strip-components=1
    echo "building CPython 3.13t into $FT_PREFIX (log: $work/build.log)"
    if ! (cd "$work/src" && ./configure -q --prefix="$FT_PREFIX" --disable-gil --disable-test-modules \
            --with-ensurepip=install && make -s -j"$(nproc)" && make -s install) > "$work/build.log" 2>&1; then
        tail -40 "$work/build.log"
        exit 1
    fi
    # --disable-test-modules leaves Lib/test out of the install; CPython's suites come from there.
    cp -r "$work/src/Lib/test" "$FT_PREFIX/lib/python3.13t/"
fi

for py in "${SID_PYTHONS[@]}"; do chroot "$SID_ROOT" "$py" -VV; done
"$FT_PREFIX/bin/python3.13t" -VV

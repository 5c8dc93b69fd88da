#!/usr/bin/env bash
# Builds the test-only etcd, kube-apiserver and kube-controller-manager into a cache
# outside the clone, once per machine:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/edgio-ingress/kube-<version>-<fingerprint>/
#
# The directory is keyed by the Kubernetes version and a fingerprint of this module's
# sources (go.mod, go.sum, every main.go), so a fresh clone reuses a build and a change
# rebuilds. A new build lands BESIDE the old ones and is never moved over a directory in
# use: tests of other clones may be running the old binaries at that moment. The file
# kube-<version>.current names the newest build (replaced atomically); the test harness
# reads it. Old builds are not pruned (they are outside every clone; delete them by hand
# when nothing runs). Without a Go toolchain it says so loudly and exits 0: the
# real-server tier of the tests is then skipped, and only then.
#
# Usage: tools/kube/build.sh            build if needed; print the directory
#        tools/kube/build.sh --dir      print the directory only
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(awk '$1 == "k8s.io/kubernetes" { sub(/^v/, "", $2); print $2; exit }' "$here/go.mod")"
fingerprint="$(cd "$here" && cat go.mod go.sum cmd/*/main.go | sha256sum | cut -d' ' -f1)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/edgio-ingress"
dir="$cache/kube-$version-${fingerprint:0:16}"
pointer="$cache/kube-$version.current"
binaries=(etcd kube-apiserver kube-controller-manager)
if [[ "${1:-}" == "--dir" ]]; then
    echo "$dir"
    exit 0
fi

built() {
    local name
    for name in "${binaries[@]}"; do [[ -x "$dir/$name" ]] || return 1; done
}

point() {  # name this build as the current one, atomically
    if [[ "$(cat "$pointer" 2>/dev/null)" != "$dir" ]]; then
        echo "$dir" >"$pointer.$$"
        mv -f "$pointer.$$" "$pointer"
    fi
    echo "$dir"
}

if built; then
    point
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    {
        echo "################################################################################"
        echo "## No Go toolchain: cannot build etcd, kube-apiserver, kube-controller-manager $version."
        echo "## The real Kubernetes API server tier of the tests will be SKIPPED."
        echo "################################################################################"
    } >&2
    exit 0
fi

mkdir -p "$cache"
# One build at a time per machine (two clones may run `make test` at once); whoever waited
# finds the binaries there.
exec 9>"$dir.lock"
flock 9
if built; then
    point
    exit 0
fi

echo "building ${binaries[*]} $version into $dir (first time only; minutes)" >&2
tmp="$(mktemp -d "${dir}.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
pkg=k8s.io/component-base/version
start=$SECONDS
(
    cd "$here"
    # Static binaries, as upstream ships them; the version stamps make /version and
    # `kubectl version` report the release instead of v0.0.0-master.
    CGO_ENABLED=0 go build -mod=readonly -trimpath \
        -ldflags "-s -w -X $pkg.gitVersion=v$version -X $pkg.gitMajor=${version%%.*} -X $pkg.gitMinor=$(echo "$version" | cut -d. -f2) -X $pkg.gitTreeState=clean" \
        -o "$tmp/" "${binaries[@]/#/./cmd/}"
)
chmod 755 "$tmp"
mv -T "$tmp" "$dir"  # $dir does not exist: a build that is not whole is never seen there
trap - EXIT
rm -f "$dir.lock"
echo "built in $((SECONDS - start)) s" >&2
point

#!/usr/bin/env bash
# Builds the test-only etcd and kube-apiserver into a cache outside the clone, once per
# machine: ${XDG_CACHE_HOME:-$HOME/.cache}/edgio-ingress/kube-<version>/.
#
# The directory is keyed by the Kubernetes version, and a fingerprint of this module's
# sources is kept beside the binaries, so a fresh clone reuses them and a change to
# go.mod, go.sum or a main.go rebuilds them. Without a Go toolchain it says so loudly and
# exits 0: the real-server tier of the tests is then skipped, and only then.
#
# Usage: tools/kube/build.sh            build if needed; print the directory
#        tools/kube/build.sh --dir      print the directory only
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(awk '$1 == "k8s.io/kubernetes" { sub(/^v/, "", $2); print $2; exit }' "$here/go.mod")"
dir="${XDG_CACHE_HOME:-$HOME/.cache}/edgio-ingress/kube-$version"
if [[ "${1:-}" == "--dir" ]]; then
    echo "$dir"
    exit 0
fi

fingerprint="$(cd "$here" && cat go.mod go.sum cmd/*/main.go | sha256sum | cut -d' ' -f1)"
if [[ -x "$dir/etcd" && -x "$dir/kube-apiserver" && "$(cat "$dir/.sources" 2>/dev/null)" == "$fingerprint" ]]; then
    echo "$dir"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    {
        echo "################################################################################"
        echo "## No Go toolchain: cannot build etcd and kube-apiserver $version."
        echo "## The real Kubernetes API server tier of the tests will be SKIPPED."
        echo "################################################################################"
    } >&2
    exit 0
fi

mkdir -p "$(dirname "$dir")"
# One build at a time per machine (two clones may run `make test` at once); whoever waited
# finds the binaries there.
exec 9>"$dir.lock"
flock 9
if [[ -x "$dir/etcd" && -x "$dir/kube-apiserver" && "$(cat "$dir/.sources" 2>/dev/null)" == "$fingerprint" ]]; then
    echo "$dir"
    exit 0
fi

echo "building etcd and kube-apiserver $version into $dir (first time only; minutes)" >&2
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
        -o "$tmp/" ./cmd/etcd ./cmd/kube-apiserver
)
echo "$fingerprint" >"$tmp/.sources"
chmod 755 "$tmp"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "built in $((SECONDS - start)) s" >&2
echo "$dir"

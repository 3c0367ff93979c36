#!/usr/bin/env bash
# Build the image where no container registry is reachable and run it as AWS Batch and a
# developer would. Needs root (rootful podman) and a Debian host; installs podman, runc and
# debootstrap with apt-get when they are missing.
#
# The base image is made with debootstrap from the Debian mirror this machine's apt already
# uses, then imported; it stays in $IMAGE_TEST_DIR's podman storage, so later runs skip it.
# pip inside the build reaches its index the way the host's pip does (index URL and CA
# bundle passed as build arguments; HTTPS leaving such machines may be re-signed).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${IMAGE_TEST_DIR:-/var/tmp/batch-task-image-test}
BASE=localhost/batch-task-base:bookworm
IMAGE=localhost/batch-task:test
PYTHON=$ROOT/.venv/bin/python
started=$SECONDS

say() { printf 'image test: %s\n' "$*"; }
die() { printf 'image test: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root: rootful podman and debootstrap"
[ -x "$PYTHON" ] || die "needs the project's .venv: run 'make test' (or 'make demo') first"

install_tools() {
  bash "$ROOT/.ci/packages" podman runc debootstrap
}

# podman as this test uses it: runc (crun fails on hosts with hybrid cgroups), cgroupfs, the
# highest ulimits such hosts accept, and storage of its own under $WORK (--root/--runroot).
# A `podman` on PATH that adds them lets `batch-task local --image` use the same storage.
setup_podman() {
  mkdir -p "$WORK/bin"
  cat >"$WORK/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
EOF
  cat >"$WORK/bin/podman" <<EOF
#!/bin/sh
exec $(command -v podman) --root "$WORK/storage" --runroot "$WORK/run" "\$@"
EOF
  chmod +x "$WORK/bin/podman"
  export CONTAINERS_CONF=$WORK/containers.conf
  export PATH=$WORK/bin:$PATH
}

# The first Debian (non-security) URI in this machine's apt sources, one-line or deb822.
debian_mirror() {
  local files=()
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && files+=("$f")
  done
  [ ${#files[@]} -gt 0 ] || return 0
  awk '
    /^[[:space:]]*#/ || /security/ { next }
    /^deb[[:space:]]/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }
    /^URIs:/ { print $2; exit }
  ' "${files[@]}" | grep -m1 debian || true
}

build_base() {
  if podman image exists "$BASE"; then
    say "base image $BASE already built"
    return
  fi
  local mirror
  mirror=$(debian_mirror)
  [ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list{,.d/*}"
  say "debootstrapping bookworm (python3, venv, CA certificates) from the host's apt mirror"
  rm -rf "$WORK/rootfs"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$WORK/rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 ||
    die "debootstrap failed; see $WORK/debootstrap.log"
  # The host's bundle: it holds any CA that re-signs HTTPS leaving this machine.
  cp /etc/ssl/certs/ca-certificates.crt "$WORK/rootfs/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"*
  tar -C "$WORK/rootfs" -c . | podman import --quiet - "$BASE" >/dev/null
  rm -rf "$WORK/rootfs"
}

build_image() {
  local args=(--build-arg "BASE_IMAGE=$BASE")
  local index cert
  index=${PIP_INDEX_URL:-$("$PYTHON" -m pip config get global.index-url 2>/dev/null || true)}
  [ -z "$index" ] || args+=(--build-arg "PIP_INDEX_URL=$index")
  cert=${PIP_CERT:-$("$PYTHON" -m pip config get global.cert 2>/dev/null || true)}
  # The base image carries the host's bundle at Debian's path, whatever the host's path is.
  [ -z "$cert" ] || args+=(--build-arg "PIP_CERT=/etc/ssl/certs/ca-certificates.crt")
  say "building $IMAGE"
  # The build stage is tagged too (its layers are all cached by then), so that pruning the
  # images a rebuild leaves behind keeps the layer of installed wheels for the next run.
  local target
  for target in "" build; do
    podman build --network=host --ignorefile docker/Dockerfile.dockerignore \
      -f docker/Dockerfile "${args[@]}" ${target:+--target "$target"} \
      -t "$IMAGE${target:+-$target}" . >>"$WORK/build.log" 2>&1 || {
      tail -40 "$WORK/build.log" >&2
      die "podman build failed; see $WORK/build.log"
    }
  done
  podman image prune --force >/dev/null
}

mkdir -p "$WORK"
: >"$WORK/build.log"
install_tools
setup_podman
build_base
say "base ready after $((SECONDS - started)) s"
build_start=$SECONDS
build_image
say "image built in $((SECONDS - build_start)) s: $(podman image inspect --format '{{.Size}}' "$IMAGE") bytes"
"$PYTHON" docker/image_checks.py "$IMAGE"
say "passed in $((SECONDS - started)) s"

#!/bin/bash
# debian-image.sh — builds (or finds cached) the Debian 12 image that
# e2e_debian deploys, as its own ctest fixture (debian_image): the build is
# packages and file writes, no VM, so it runs beside the other tests instead
# of inside e2e_debian's serial slot. e2e-debian.sh then finds the image's
# stamp current. Exit 77 (skipped) when not root or a tool is missing.
set -euo pipefail
# shellcheck source=e2e-lib.sh
. "$(dirname "$(readlink -f "$0")")/e2e-lib.sh"

need_tools debootstrap sfdisk mke2fs zstd sha256sum
need_built images/agent/provisiond-agent
cache=${LAB_CACHE:-$BUILD/lab-cache}
mkdir -p "$cache"
say "building $cache/debian-image.raw (cached by its inputs)"
"$SRC/images/build/build-debian-image.sh" "$cache/debian-image.raw" \
	--agent "$BUILD/images/agent/provisiond-agent" --cache "$cache/debian-debs"
say "done: $(stat -c %s "$cache/debian-image.raw.zst") bytes compressed"

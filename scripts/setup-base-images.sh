#!/usr/bin/env bash
# Installs the container tools the podman driver needs (Debian packages) and creates the offline
# base image stand-ins (python:3.12-slim, node:<major>-slim, busybox) in the shared image cache
# ($IGNITE_IMAGE_CACHE or ~/.cache/dodil/ignite-images). Idempotent: a second run takes seconds.
# Needs root (apt-get, debootstrap) and a built tree (npm run build). Usage: bash scripts/setup-base-images.sh
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(buildah podman runc fuse-overlayfs debootstrap busybox-static uidmap catatonit)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

npm run build >/dev/null
echo "== offline base images"
node --input-type=module -e '
import { setupBaseImages } from "./dist/local/drivers/base-images.js";
const r = await setupBaseImages({ log: (l) => console.log(l) });
for (const i of r.images) console.log(`${i.refs[0]}: ${i.created ? `created in ${i.seconds} s` : "present"}`);
'

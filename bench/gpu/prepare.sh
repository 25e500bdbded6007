#!/usr/bin/env bash
# bench/gpu/prepare.sh [--prebuilt FILE] [--sharp]: fills build-gpu/ (git-ignored by build-*/), the one folder a device
# call carries, with what the GPU machine lacks: bun (it has neither bun nor node, and no registry to fetch them from)
# and the runtime packages the GPU stages import (cac, valibot, yaml). Run it here, once per bun version.
#   --prebuilt FILE  a libdusa_cuda.<hash>.so.xz returned by an earlier call's build stage: later calls skip the CUDA
#                    build while the CUDA sources hash the same
#   --sharp          also pack sharp and its libvips (+6 MB), for running `bun bench` itself there
# Prints the size of what a call sends (the device tool's limit: 64 MiB for the tree and carried paths together).
set -euo pipefail
cd "$(dirname "$0")/../.."
prebuilt="" sharp=""
while [ $# -gt 0 ]; do
  case $1 in
    --prebuilt) prebuilt=$2; shift 2 ;;
    --sharp) sharp="sharp @img detect-libc semver"; shift ;;
    *) echo "usage: $0 [--prebuilt FILE] [--sharp]" >&2; exit 2 ;;
  esac
done
mkdir -p build-gpu
version=$(bun --version)
if [ ! -f build-gpu/bun.xz ] || [ "$(cat build-gpu/bun.version 2>/dev/null)" != "$version" ]; then
  echo "compressing bun $version (about a minute)..."
  nice -n 19 xz -T1 -6 -c "$(readlink -f "$(command -v bun)")" >build-gpu/bun.xz.tmp
  mv build-gpu/bun.xz.tmp build-gpu/bun.xz
  echo "$version" >build-gpu/bun.version
fi
# shellcheck disable=SC2086
tar -C node_modules -cJf build-gpu/node_modules.tar.xz cac valibot yaml $sharp
if [ -n "$prebuilt" ]; then
  mkdir -p build-gpu/prebuilt
  rm -f build-gpu/prebuilt/*
  cp "$prebuilt" build-gpu/prebuilt/
fi
tree=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
carried=$(du -sb build-gpu | cut -f1)
echo "build-gpu: $(ls build-gpu | tr '\n' ' ')"
echo "a call sends $(((tree + carried) / 1048576)) MiB (tree $((tree / 1048576)) + build-gpu $((carried / 1048576))) of the 64 MiB allowed"

#!/usr/bin/env bash
# `clang` for the lab's Cilium agents: a compile cache in front of Debian's clang-19.
#
# Every cilium-agent compiles its BPF datapath when it starts, and keeps compiled objects only in
# memory (pkg/datapath/loader/cache.go), so every lab on this host compiled the same programs
# again: ~10 s of two cores per lab. This wrapper keys each compile by its preprocessed source
# (every header it reads, node configuration included) plus its flags, as ccache does, and
# replays the object when the key is known. ccache itself cannot: the agent compiles to stdout.
# Anything but the agent's `-c <source> -o -` form goes straight to clang.
set -euo pipefail
real=${KTH_CLANG_REAL:-/usr/lib/llvm-19/bin/clang}
cache=${KTH_CLANG_CACHE:-}
args=("$@")
source_file=
output=
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
  -c) source_file=${args[i + 1]:-} ;;
  -o) output=${args[i + 1]:-} ;;
  -E) output=preprocess ;;
  esac
done
if [[ -z $cache || -z $source_file || $output != - ]]; then exec "$real" "$@"; fi

# The same command with -E instead of -c (and without -g): its output is what the compile reads.
pre=()
for arg in "${args[@]}"; do
  case $arg in
  -c) pre+=(-E) ;;
  -g) ;;
  *) pre+=("$arg") ;;
  esac
done
input=$("$real" "${pre[@]}")
# The agent compiles each template in a directory named after a hash of its configuration, and
# that name reaches the input only as header paths (and the object only as debug file names);
# like ccache's base_dir, the key leaves it out, so labs whose programs are the same share them.
templates='s#/templates/[0-9a-f]\{64\}#/templates/H#g'
key=$({ printf '%s' "$input" | sed "$templates"; printf '%s\0' "$("$real" --version | head -1)" "${args[@]}" | sed "$templates"; } | sha256sum | cut -c1-40)
object="$cache/${key:0:2}/$key.o"
note() { [[ -z ${KTH_CLANG_CACHE_LOG:-} ]] || echo "$(date -u +%FT%TZ) $1 ${source_file##*/} $key" >>"$KTH_CLANG_CACHE_LOG"; }
if [[ -s $object ]]; then
  note hit
  exec cat "$object"
fi
note miss
mkdir -p "$cache/${key:0:2}"
# KTH_CLANG_CACHE_KEEP_INPUT=1 keeps each missed compile's preprocessed input beside its object (.i), to see why inputs differ.
if [[ ${KTH_CLANG_CACHE_KEEP_INPUT:-} == 1 ]]; then printf '%s' "$input" >"$cache/${key:0:2}/$key.i"; fi
tmp=$(mktemp "$cache/${key:0:2}/.$key.XXXXXX")
trap 'rm -f "$tmp"' EXIT
"$real" "$@" >"$tmp"
mv "$tmp" "$object" # atomic: agents compiling the same program at once both end with one good object
trap - EXIT
exec cat "$object"

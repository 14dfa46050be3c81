#!/usr/bin/env bash
# The wall time of a first run (empty compilation cache) and a second run (the cache the first
# filled) of each command, three trials each, for the README's Speed section:
#   experiments/compile_latency.sh "wgangp_mlp --steps 10" "dcgan_mnist --steps 20"
# Image runs share one evaluation classifier, trained beforehand, so only compilation differs.
set -uo pipefail
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python -m jaxgan.run --exp dcgan_mnist --steps 2 --workdir "$scratch/warm" --no-progress --no-compilation-cache \
  --set eval.classifier_dir="$scratch/classifiers" > /dev/null 2>&1
number=0
for command in "$@"; do
  number=$((number + 1))
  extra=()
  [[ $command == dcgan* ]] && extra=(--set eval.classifier_dir="$scratch/classifiers")
  for trial in 1 2 3; do
    export JAXGAN_CACHE_DIR="$scratch/cache-$number-$trial"
    for phase in first second; do
      start=$(date +%s.%N)
      # shellcheck disable=SC2086  # the command's words are meant to split
      python -m jaxgan.run --exp $command --workdir "$scratch/run-$number-$trial-$phase" --no-progress "${extra[@]}" \
        > /dev/null 2>&1 || echo "$command failed"
      echo "$command | trial $trial | $phase run | $(python -c "print(f'{$(date +%s.%N) - $start:.2f}')") s"
    done
  done
done

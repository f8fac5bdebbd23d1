#!/usr/bin/env bash
# Wall time of the default `disentangle` grid (every stream × intervention × seed, then the table
# and figures), re-running all of its jobs. Usage: bash benchmarks/disentangle_grid.sh [CORES]
set -euo pipefail
cd "$(dirname "$0")/.."
cores="${1:-2}"
start=$(date +%s)
snakemake --cores "$cores" --forcerun train_disentangle --quiet rules -- disentangle
end=$(date +%s)
runs=$(ls -d results/runs/disentangle/*/seed=* | wc -l)
echo "disentangle default grid: ${runs} runs in $((end - start)) s on ${cores} cores"

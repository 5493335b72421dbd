#!/usr/bin/env bash
# Scan the promoters of the genes listed in genes.txt (next to this script) for the default ATF/CREB motifs.
#
#   bash examples/scan_gene_list.sh            # writes hits.tsv and hits.bed in the current directory
#
# Runs from any directory: genes.txt is found beside the script, the outputs go to the working directory.
set -euo pipefail

script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
genes_file="${script_dir}/genes.txt"

# --genome demo        the small GRCh37 demo genome bundled with motifscan (no network); drop it to ask the
#                      Ensembl REST server (GRCh38), or give --genome genome.fa --annotation genes.gtf
# --genes-file FILE    gene names, one per line, '#' comments (names may also be given as arguments)
# -o hits.tsv          the hits as TSV: '#' provenance lines, a header, one row per site
#                      (start/end genomic 0-based half-open; tss_rel_start/tss_rel_end: +1 = TSS base)
# --bed hits.bed       the same sites as BED6, e.g. for a genome browser
# Defaults worth knowing: --upstream 2000 --downstream 500 (promoter window around the canonical TSS),
# --pvalue 1e-4, and the default ATF/CREB motif set (choose others with --motif ID or --tf NAME).
motifscan scan \
    --genome demo \
    --genes-file "${genes_file}" \
    -o hits.tsv \
    --bed hits.bed

sites=$(( $(grep -vc '^#' hits.tsv) - 1 ))  # rows minus the header
echo "wrote ${sites} sites to hits.tsv and hits.bed" >&2

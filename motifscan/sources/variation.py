"""rsIDs -> variants, through Ensembl's variation endpoints (``POST variation/:species`` with ``{"ids": [...]}``,
the batch form of ``GET variation/:species/:id``).

Ensembl answers with one object per known ID (unknown IDs are left out), each with ``mappings``: ``seq_region_name``,
1-based inclusive ``start``/``end`` (an insertion has ``start = end + 1``), ``strand`` (1/-1), ``allele_string``
(``"G/A"``, ``"G/A/T"``, ``"-/CA"`` for an insertion, ``"CA/-"`` for a deletion: the first allele is the reference)
and ``assembly_name``. Each alternate allele becomes one :class:`~motifscan.variant_io.Variant` in VCF form: 1-based
POS, and for insertions and deletions the preceding reference base as anchor (fetched from Ensembl's sequence), so
that variants from rsIDs and from VCF files are one kind of thing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from motifscan.errors import EnsemblError
from motifscan.model import Region
from motifscan.variant_io import Variant, classify

log = logging.getLogger(__name__)

POST_VARIATION_IDS = 200
"""rsIDs per ``POST variation/:species`` (well below the 1000 that Ensembl's POST guidance allows)."""

_COMPLEMENT = str.maketrans("ACGTacgt", "TGCAtgca")
_ALLELE = re.compile(r"^(?:[ACGTacgt]+|-)$")
_PRIMARY = re.compile(r"^(?:chr)?(?:[0-9]+|X|Y|MT|M)$")


def _check_answer(asked: list[str]):
    def check(answer: Any) -> None:
        if not isinstance(answer, dict) or any(not isinstance(v, dict) for v in answer.values()):
            raise ValueError("expected an object of variation objects")
        unasked = [k for k in answer if k not in asked]
        if unasked:
            raise ValueError(f"answered for IDs not asked for: {', '.join(unasked[:3])}")
    return check


def fetch_variations(source, rsids: Sequence[str]) -> dict[str, dict]:
    """The variation objects Ensembl has for ``rsids`` (unknown ones are absent), batched and cached.

    ``source`` is an :class:`~motifscan.sources.ensembl.EnsemblSource` (its session, throttle, retries and cache).
    """
    from motifscan.sources.ensembl import (
        OFFLINE_NOTE,
        OfflineCacheMiss,
        _ClientError,
        _q,
    )

    asked = list(dict.fromkeys(rsids))
    cached = source._cache.get_many(source._scope, "variation", asked)
    missing = [i for i in asked if i not in cached]
    if missing and source.offline:
        raise OfflineCacheMiss(f"the variation records of {', '.join(missing[:5])} are {OFFLINE_NOTE}")
    found = {k: v for k, v in cached.items() if v}
    for first in range(0, len(missing), POST_VARIATION_IDS):
        batch = missing[first : first + POST_VARIATION_IDS]
        try:
            answer = source._request("POST", f"variation/{_q(source.species)}", body={"ids": batch},
                                     what=f"the variation records of {', '.join(batch[:3])}"
                                          + (" ..." if len(batch) > 3 else ""),
                                     validate=_check_answer(batch))
        except _ClientError as exc:
            raise EnsemblError(f"Ensembl ({source.base_url}) refused the variation look-up: {exc.detail}") from None
        found.update(answer)
        source._cache.put_many(source._scope, "variation", {i: answer.get(i) or {} for i in batch})
    return found


def _mapping(rsid: str, obj: dict, assembly: str) -> dict | None:
    """The mapping on a primary chromosome of the source's assembly (None when there is none)."""
    mappings = obj.get("mappings")
    if not isinstance(mappings, list):
        raise EnsemblError(f"Ensembl's variation record of {rsid} has no list of mappings")
    usable = [m for m in mappings if isinstance(m, dict) and isinstance(m.get("seq_region_name"), str)
              and isinstance(m.get("start"), int) and isinstance(m.get("end"), int)
              and isinstance(m.get("allele_string"), str)]
    for mapping in usable:
        named = mapping.get("assembly_name")
        if named is not None and named != assembly:
            raise EnsemblError(f"Ensembl answered {rsid} on assembly {named}, not {assembly}")
    primary = [m for m in usable if _PRIMARY.match(m["seq_region_name"])]
    if len(primary) > 1:
        log.warning("%s maps to %d places; using %s:%d", rsid, len(primary), primary[0]["seq_region_name"],
                    primary[0]["start"])
    return primary[0] if primary else None


def variants_from_rsids(source, rsids: Sequence[str]) -> tuple[list[Variant], list[str]]:
    """(variants, rsIDs not found): one Variant per alternate allele, in VCF form (see the module docstring)."""
    records = fetch_variations(source, rsids)
    pending: list[tuple[str, str, int, str, list[str]]] = []  # rsid, chrom, 0-based start, ref, alts
    unknown: list[str] = []
    for rsid in dict.fromkeys(rsids):
        obj = records.get(rsid)
        mapping = _mapping(rsid, obj, source.assembly) if obj else None
        if mapping is None:
            unknown.append(rsid)
            continue
        alleles = mapping["allele_string"].split("/")
        if len(alleles) < 2 or not all(_ALLELE.match(a) for a in alleles):
            log.warning("%s: allele string %r is not sequence alleles; not scored", rsid, mapping["allele_string"])
            continue
        if mapping.get("strand", 1) == -1:
            alleles = [a if a == "-" else a.translate(_COMPLEMENT)[::-1] for a in alleles]
        alleles = ["" if a == "-" else a.upper() for a in alleles]
        pending.append((rsid, mapping["seq_region_name"], mapping["start"] - 1, alleles[0], alleles[1:]))
    anchors_needed = [(chrom, start) for _, chrom, start, ref, alts in pending
                      if not ref or any(len(a) != len(ref) or not a for a in alts)]
    anchors = {}
    if anchors_needed:
        regions = [Region(chrom, start - 1, start) for chrom, start in anchors_needed]
        anchors = dict(zip(anchors_needed, source.fetch_sequences(regions)))
    variants = []
    for rsid, chrom, start, ref, alts in pending:
        for alt in alts:
            if ref and alt and len(ref) == len(alt):
                variant = Variant(chrom, start + 1, ref, alt, rsid)
            else:
                anchor = anchors[(chrom, start)].upper()
                variant = Variant(chrom, start, anchor + ref, anchor + alt, rsid)
            if classify(variant.ref, variant.alt) is None:
                variants.append(variant)
    return variants, unknown

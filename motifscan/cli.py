"""The ``motifscan`` command: a thin click layer over the library. No science here: parse options, call the library,
call a writer.

Exit codes (:mod:`motifscan.errors`): 0 success (zero hits included), 1 failure (unreadable or malformed input, no gene
resolved, network exhausted), 2 usage error (bad option or value, missing input path, unknown motif, release or
background). Errors are one line on stderr; ``-v`` adds the traceback.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shlex
import signal
import sys
import traceback
from collections.abc import Iterable

import click

from motifscan import __version__
from motifscan.errors import EXIT_FAILURE, MotifscanError
from motifscan.options import GenomeSpec, PromoterOptions, ScanOptions

log = logging.getLogger("motifscan")


class _OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"motifscan: {record.levelname.lower()}: {record.getMessage()}"


def _configure_logging(verbose: int, quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter())
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.DEBUG if verbose else logging.ERROR if quiet else logging.INFO)


def _restore_logging(handlers: list[logging.Handler], propagate: bool, level: int) -> None:
    log.handlers[:] = handlers
    log.propagate = propagate
    log.setLevel(level)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so that it unwinds like Ctrl-C: staged outputs are removed."""


EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT), as shells report it."""
EXIT_TERMINATED = 128 + signal.SIGTERM
"""SIGTERM (143)."""


def _raise_terminated(signum, frame) -> None:
    raise _Terminated()


def _treat_sigterm_as_sigint() -> None:
    """SIGTERM (``kill``, a batch system's time limit) unwinds the program as Ctrl-C does, so that the outputs staged
    as temporary files are removed and no target is touched. Only in the main thread (signal handlers can be
    installed nowhere else), i.e. not when the CLI is driven from a worker thread."""
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)


def _stdout_closed() -> bool:
    """Standard output was closed by the caller (``motifscan ... >&-``): Python then sets ``sys.stdout`` to None."""
    return sys.stdout is None


def _silence_stdout() -> None:
    """After a broken pipe: point file descriptor 1 at /dev/null, so that Python's flush at exit fails no more."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


# -v and -q are global options: accepted before the subcommand (``motifscan -v scan ...``) and after it
# (``motifscan scan ... -v``); _Group.add_command gives every subcommand its own copy.
_VERBOSE_HELP = "Debug logging; tracebacks on errors."
_QUIET_HELP = "Only errors on stderr."


def _set_verbose(ctx: click.Context, _param, value: int) -> None:
    if value:
        root = ctx.find_root()
        root.obj = root.obj or {}
        root.obj["verbose"] = root.obj.get("verbose", 0) + value
        _configure_logging(root.obj["verbose"], bool(root.obj.get("quiet")))


def _set_quiet(ctx: click.Context, _param, value: bool) -> None:
    if value:
        root = ctx.find_root()
        root.obj = root.obj or {}
        root.obj["quiet"] = True
        _configure_logging(root.obj.get("verbose", 0), True)
        from motifscan.progress import report_to

        ctx.with_resource(report_to(None))  # no progress bar either, for the rest of the subcommand


def _global_options(command: click.Command) -> None:
    """Add -v/--verbose and -q/--quiet to a subcommand (unless it already has options of those names)."""
    taken = {name for param in command.params for name in getattr(param, "opts", [])}
    if not {"-v", "--verbose"} & taken:
        command.params.append(click.Option(["-v", "--verbose"], count=True, expose_value=False, callback=_set_verbose,
                                           is_eager=True, help=_VERBOSE_HELP))
    if not {"-q", "--quiet"} & taken:
        command.params.append(click.Option(["-q", "--quiet"], is_flag=True, expose_value=False, callback=_set_quiet,
                                           is_eager=True, help=_QUIET_HELP))


class _Group(click.Group):
    """Turns motifscan's own errors into one line and an exit code; other exceptions too, unless ``-v``."""

    argv: list[str] = []

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        _global_options(cmd)
        super().add_command(cmd, name)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **options):
        # remembered for the provenance line "command:", whether called from the shell or from CliRunner
        _Group.argv = [str(a) for a in (sys.argv[1:] if args is None else args)]
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **options)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **options)
        except click.exceptions.NoArgsIsHelpError as error:  # bare `motifscan`: the help text
            error.show()
            sys.exit(error.exit_code)
        except click.ClickException as error:  # click's usage errors, in motifscan's one-line form
            hint = ""
            if isinstance(error, click.UsageError) and error.ctx is not None:
                hint = f" (see '{error.ctx.command_path} --help')"
            click.echo(f"motifscan: error: {error.format_message()}{hint}", err=True)
            sys.exit(error.exit_code)
        except click.exceptions.Abort as error:
            terminated = isinstance(error.__context__, _Terminated)
            click.echo(f"motifscan: error: {'terminated' if terminated else 'aborted'}", err=True)
            sys.exit(EXIT_TERMINATED if terminated else EXIT_INTERRUPTED)
        except BrokenPipeError:  # `motifscan ... | head`: the reader has what it wanted
            _silence_stdout()
            sys.exit(0)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context):
        try:
            value = super().invoke(ctx)
            if sys.stdout is not None:
                sys.stdout.flush()  # here, so that a reader gone away is a broken pipe caught below, not at exit
            return value
        except BrokenPipeError:  # `motifscan ... | head -1`: the reader has what it wanted; exit 0, quietly
            _silence_stdout()
            ctx.exit(0)
        except MotifscanError as error:
            self._fail(ctx, str(error), error.exit_code)
        except _Terminated:
            self._fail(ctx, "terminated (SIGTERM); no output written", EXIT_TERMINATED)
        except KeyboardInterrupt:
            self._fail(ctx, "interrupted; no output written", EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as error:  # a bug: say so, in one line unless -v
            self._fail(ctx, f"internal error: {type(error).__name__}: {error} (run with -v for details)",
                       EXIT_FAILURE)

    @staticmethod
    def _fail(ctx: click.Context, message: str, code: int) -> None:
        if (ctx.obj or {}).get("verbose"):
            traceback.print_exc()
        click.echo(f"motifscan: error: {message}", err=True)
        ctx.exit(code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, "--version", prog_name="motifscan")
@click.option("-v", "--verbose", count=True, help=_VERBOSE_HELP)
@click.option("-q", "--quiet", is_flag=True, help=_QUIET_HELP)
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Find candidate transcription-factor binding sites (JASPAR motifs) in promoters and sequences."""
    from motifscan.progress import report_to, terminal_stream

    ctx.obj = {"verbose": verbose, "quiet": quiet}
    saved = (list(log.handlers), log.propagate, log.level)
    ctx.call_on_close(lambda: _restore_logging(*saved))  # in-process callers (tests, notebooks) get theirs back
    _configure_logging(verbose, quiet)
    ctx.with_resource(report_to(terminal_stream(quiet)))


def _remember_tf_species(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    ctx.meta["motifscan.tf_species"] = value


def _motif_options(command):
    options = [
        click.option("--motif", "motif_ids", multiple=True, metavar="ID",
                     help="JASPAR matrix ID (MA0605.3, or MA0605 for its latest version). Repeatable."),
        click.option("--tf", "tf_names", multiple=True, metavar="NAME",
                     help="TF name, case-insensitive, within --collection and --tax-group. Repeatable."),
        # not passed to the command (expose_value=False): _motif_selection reads it from the context, so that every
        # command taking the motif options gets it without a new parameter
        click.option("--tf-species", metavar="SPECIES", expose_value=False, callback=_remember_tf_species,
                     help="Only --tf matrices of this species: 'Homo sapiens', 'human', 'mouse' or a taxonomy ID "
                          "(JASPAR names JUN in human and Jun in mouse; --tf JUN matches both)."),
        click.option("--motif-file", "motif_files", multiple=True, metavar="FILE",
                     type=click.Path(exists=True, dir_okay=False),
                     help="Motif file: JASPAR, PFM, HOMER, cluster-buster, MEME (text or XML), TRANSFAC or "
                          "JASPAR .sites; plain or gzip. Repeatable."),
        click.option("--collection", "collections", multiple=True, metavar="NAME",
                     help="JASPAR collection [default: CORE]. Without --tf: select the whole group."),
        click.option("--tax-group", "tax_groups", multiple=True, metavar="NAME",
                     help="JASPAR tax group [default: vertebrates]. Without --tf: select the whole group."),
        click.option("--jaspar-release", default=None, metavar="RELEASE",
                     help="Bundled JASPAR release [default: the newest, JASPAR2026]."),
    ]
    return functools.reduce(lambda c, option: option(c), reversed(options), command)


def _declared(dataclass_type: type, names: tuple[str, ...] | None = None) -> list:
    """click options of the fields of an options dataclass (:mod:`motifscan.options`): each declared there once,
    with its default, flag and help; click gets them from its metadata here."""
    from dataclasses import MISSING, fields

    declared = []
    for f in fields(dataclass_type):
        if names is not None and f.name not in names:
            continue
        flag = f.metadata["flag"]
        default = None if f.default is MISSING else f.default
        settings: dict = {"help": flag.help, "show_default": flag.show_default}
        if flag.metavar:
            settings["metavar"] = flag.metavar
        if flag.envvar:
            settings["envvar"] = flag.envvar
        if flag.kind == "flag":
            settings.update(is_flag=True, default=default)
            if flag.inverted:
                settings.update(flag_value=False, default=True)
        else:
            settings["default"] = list(default or ()) if flag.multiple else default
            settings["multiple"] = flag.multiple
            settings["type"] = {"float": float, "str": str,
                                "int": click.IntRange(min=flag.minimum) if flag.minimum is not None else int,
                                "choice": click.Choice(list(flag.choices)),
                                "folder": click.Path(file_okay=False)}[flag.kind]
        declared.append(click.option(*flag.flags, f.name, **settings))
    return declared


def _apply(options: list):
    return lambda command: functools.reduce(lambda c, option: option(c), reversed(options), command)


def _build(dataclass_type: type, values: dict):
    """The options dataclass from a command's values (taken out of ``values``); a bad value is a usage error naming
    the flag: ``--pvalue must be in (0, 1], not 2``."""
    from dataclasses import fields

    from motifscan.errors import UsageError
    from motifscan.options import OptionValueError, flag_name

    given = {f.name: values.pop(f.name) for f in fields(dataclass_type) if f.name in values}
    try:
        return dataclass_type(**given)
    except OptionValueError as error:
        raise UsageError(f"{flag_name(dataclass_type, error.option)} {error.problem}") from None


_MODEL_FIELDS = ("pseudocount", "background", "p_threshold", "min_rel_score", "mask_lowercase", "jobs")


def _model_options(command):
    """The options that decide how windows are scored and which are sites (shared by every scanning command)."""
    return _apply(_declared(ScanOptions, _MODEL_FIELDS))(command)


def _scoring_options(command):
    """Every scoring option plus the output files of the commands that report sites."""
    options = [
        *_declared(ScanOptions),
        click.option("-o", "--output", default="-", metavar="FILE", help="TSV output [default: stdout]."),
        click.option("--bed", "bed_path", default=None, metavar="FILE", help="Also write BED6 (0-based half-open)."),
        click.option("--bed-track", is_flag=True, help="Start the BED with a UCSC/IGV track line (useScore=1)."),
        click.option("--gff3", "gff3_path", default=None, metavar="FILE", help="Also write GFF3 (1-based)."),
        click.option("--fimo", "fimo_path", default=None, metavar="FILE",
                     help="Also write FIMO-compatible TSV (1-based, within each record; q-values are BH)."),
        _HTML_OPTION,
    ]
    return _apply(options)(command)


_HTML_OPTION = click.option("--html", "html_path", default=None, metavar="FILE",
                            help="Also write a self-contained HTML report (nothing fetched; opens anywhere).")


def _command_line() -> str:
    return " ".join(shlex.quote(a) for a in ["motifscan", *_Group.argv])


def _motif_selection(motif_ids, tf_names, motif_files, collections, tax_groups, jaspar_release):
    """(the JASPAR release's exact name, the selected motifs)."""
    from motifscan.motifs import jaspar_database, select_motifs

    release = jaspar_database(jaspar_release).release
    context = click.get_current_context(silent=True)
    tf_species = context.meta.get("motifscan.tf_species") if context else None
    if tf_species and not tf_names:
        raise click.UsageError("--tf-species narrows --tf: give a TF name with --tf")
    return release, select_motifs(release=release, motif_ids=motif_ids, tf_names=tf_names, motif_files=motif_files,
                                  collections=collections or None, tax_groups=tax_groups or None,
                                  tf_species=tf_species)


def _same_file(a: str, b: str) -> bool:
    """Whether two paths name one file: through symbolic links (realpath) and hard links (device and inode)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): then they are not the same existing file
        return False


# an input of a run, as _check_outputs takes it: a path, several (e.g. --motifs-file given twice), or none
_InputPaths = str | os.PathLike | Iterable[str | os.PathLike | None] | None


def _check_outputs(outputs: dict[str, str | None], inputs: dict[str, _InputPaths] | None = None) -> None:
    """Every output path usable, before any work: not empty (``-o ''``), writable, no two the same (one would
    silently overwrite the other), and none an input of the run, also through a link (the output would replace the
    input). ``outputs``: option name -> path ("-" = stdout; None = not asked for); ``inputs``: option or argument
    name -> path or paths (those that are no existing file, e.g. None or "demo", are skipped). Usage errors (exit 2),
    except a closed stdout (exit 1)."""
    from motifscan.errors import UsageError
    from motifscan.writers import check_output_path

    for option, path in outputs.items():
        if path is not None and not str(path).strip():
            raise UsageError(f"{option}: empty file name (use '-' for standard output)")
    given = {option: str(path) for option, path in outputs.items() if path is not None}
    if "-" in given.values() and _stdout_closed():
        raise MotifscanError("cannot write standard output: it is closed (give a file with -o)")
    for path in given.values():
        check_output_path(path)
    files = [(option, path) for option, path in given.items() if path != "-" and not _is_device(path)]
    for i, (option, path) in enumerate(files):
        for other_option, other in files[:i]:
            if _same_file(path, other):
                raise UsageError(f"{other_option} and {option} name the same file: {other}")
    for name, value in (inputs or {}).items():
        paths = [value] if isinstance(value, (str, os.PathLike)) else list(value or ())
        for input_path in (str(p) for p in paths if p is not None and os.path.exists(str(p))):
            for option, path in files:
                if _same_file(path, input_path):
                    raise UsageError(f"{option} {path} is the input {name} {input_path}: it would be replaced; "
                                     "choose another output file")


def _is_device(path: str) -> bool:
    """/dev/null, /dev/stdout, a FIFO: written in place (two outputs may well share /dev/null)."""
    return os.path.exists(path) and not os.path.isfile(path)


def _count(n: int, noun: str) -> str:
    """``"1 hit"``, ``"0 hits"``, ``"2 hits"``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _scan_outputs(output: str, bed_path: str | None, gff3_path: str | None,
                  fimo_path: str | None, html_path: str | None = None) -> dict[str, str | None]:
    """The output options of a scan, by option name, for :func:`_check_outputs`."""
    return {"-o/--output": output, "--bed": bed_path, "--gff3": gff3_path, "--fimo": fimo_path, "--html": html_path}


def _write_outputs(result, output: str, bed_path: str | None, bed_track: bool, gff3_path: str | None,
                   fimo_path: str | None, html_path: str | None = None) -> None:
    """Every requested file, written as one step (all or none)."""
    from motifscan.writers import write_outputs

    pieces: list = [(output, result.tsv_byte_chunks())]
    if bed_path is not None:
        pieces.append((bed_path, result.bed_chunks(track=bed_track)))
    if gff3_path is not None:
        pieces.append((gff3_path, result.gff3_chunks()))
    if fimo_path is not None:
        pieces.append((fimo_path, result.fimo_chunks()))
    if html_path is not None:
        pieces.append((html_path, [result.to_html()]))
    write_outputs(pieces)
    log.info("%s", _count(len(result), "hit"))


@cli.command()
@click.argument("fasta_path", metavar="FASTA", type=click.Path(exists=True, dir_okay=False))
@_motif_options
@_scoring_options
def fasta(fasta_path, motif_ids, tf_names, motif_files, collections, tax_groups, jaspar_release, output, bed_path,
          bed_track, gff3_path, fimo_path, html_path, **values):
    """Scan the records of a FASTA file (plain or gzip) on both strands.

    Coordinates are positions in each record, 0-based half-open; seq_name = chrom = the record ID.
    """
    from dataclasses import asdict

    from motifscan.api import scan_fasta

    options = _build(ScanOptions, values)
    _check_outputs(_scan_outputs(output, bed_path, gff3_path, fimo_path, html_path),
                   {"FASTA": fasta_path, "--motif-file": motif_files})
    release, motifs = _motif_selection(motif_ids, tf_names, motif_files, collections, tax_groups, jaspar_release)
    result = scan_fasta(fasta_path, motifs, jaspar_release=release, command=_command_line(), **asdict(options))
    _write_outputs(result, output, bed_path, bed_track, gff3_path, fimo_path, html_path)


@cli.command()
@click.argument("query", required=False)
@click.option("--collection", "collections", multiple=True, metavar="NAME", help="[default: CORE]")
@click.option("--tax-group", "tax_groups", multiple=True, metavar="NAME", help="[default: vertebrates]")
@click.option("--jaspar-release", default=None, metavar="RELEASE", help="[default: the newest bundled]")
@click.option("--tf-species", "species", default=None, metavar="SPECIES",
              help="Only matrices of this species: 'Homo sapiens', 'human', 'mouse' or a taxonomy ID.")
def motifs(query, collections, tax_groups, jaspar_release, species):
    """List JASPAR motifs (latest version of each base ID), or those whose ID, name, class or family contains
    QUERY; with the species JASPAR gives for each matrix."""
    from motifscan.motifs import jaspar_database

    _check_outputs({"standard output": "-"})
    database = jaspar_database(jaspar_release)
    found = database.search(query, list(collections) or ["CORE"], list(tax_groups) or ["vertebrates"], species)
    click.echo("\t".join(["id", "name", "class", "family", "length", "collection", "tax_group", "species"]))
    for motif in found:
        click.echo("\t".join([motif.id, motif.name, motif.tf_class, motif.family, str(motif.width),
                              motif.collection, motif.tax_group, motif.species]))
    log.info("%s in %s", _count(len(found), "motif"), database.release)


def _gene_options(command):

    options = [
        click.argument("genes", nargs=-1),
        click.option("--genes-file", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="File of gene names, one per line; '#' comments."),
        *_declared(GenomeSpec),
        *_declared(PromoterOptions, ("upstream", "downstream", "transcripts", "biotypes", "strict")),
    ]
    return _apply(options)(command)


_BACKGROUND_GENES = click.option(
    "--background-genes", "background_genes_file", type=click.Path(exists=True, dir_okay=False), default=None,
    metavar="FILE", help="The background universe, one gene per line (e.g. the genes expressed in your cells) "
                         "[default: every protein-coding gene of the source].")


def _gene_list(genes, genes_file) -> list[str]:
    from motifscan.genes import read_gene_file

    names = list(genes) + (read_gene_file(genes_file) if genes_file else [])
    if not names:
        raise click.UsageError("give gene names or --genes-file")
    return names


@cli.command()
@_gene_options
@_apply(_declared(PromoterOptions, ("chrom_style",)))
@click.option("--rank-promoters", is_flag=True,
              help="Add promoter_rank_p: the site's score against every background promoter's best (cached).")
@_BACKGROUND_GENES
@_motif_options
@_scoring_options
def scan(genes, genes_file, rank_promoters, background_genes_file, motif_ids, tf_names, motif_files, collections,
         tax_groups, jaspar_release, output, bed_path, bed_track, gff3_path, fimo_path, html_path, **values):
    """Scan the promoters of GENES (symbols, Ensembl gene or transcript IDs).

    Coordinates are genomic, 0-based half-open; tss_rel_start/tss_rel_end count from the TSS (+1 = TSS base).
    """
    from dataclasses import asdict

    from motifscan.api import scan_genes

    options, window, spec = (_build(ScanOptions, values), _build(PromoterOptions, values),
                             _build(GenomeSpec, values))
    _check_outputs(_scan_outputs(output, bed_path, gff3_path, fimo_path, html_path),
                   {"--genes-file": genes_file, "--genome": spec.genome, "--annotation": spec.annotation,
                    "--motif-file": motif_files, "--background-genes": background_genes_file})
    if background_genes_file is not None and not rank_promoters:
        raise click.UsageError("--background-genes is the background of --rank-promoters: give both")
    names = _gene_list(genes, genes_file)
    release, motifs = _motif_selection(motif_ids, tf_names, motif_files, collections, tax_groups, jaspar_release)
    result = scan_genes(names, motifs, genome=spec, jaspar_release=release, command=_command_line(),
                        rank_promoters=rank_promoters, background_genes=background_genes_file,
                        **asdict(options), **asdict(window))
    _write_outputs(result, output, bed_path, bed_track, gff3_path, fimo_path, html_path)


@cli.command()
@click.argument("vcf", metavar="VCF", required=False)
@_gene_options
@click.option("--variant", "variant_specs", multiple=True, metavar="CHROM:POS:REF:ALT|rsID",
              help="A variant to score (1-based POS, as in VCF), or a dbSNP rsID looked up in Ensembl. Repeatable; "
                   "with it the VCF argument may be left out.")
@click.option("--all", "all_variants", is_flag=True,
              help="Score every variant of the VCF against --genome (streamed), not only those in promoters.")
@_motif_options
@_scoring_options
def variants(vcf, genes, genes_file, variant_specs, all_variants, html_path, motif_ids, tf_names, motif_files,
             collections, tax_groups, jaspar_release, output, bed_path, bed_track, gff3_path, fimo_path, **values):
    """Does a variant break or make a site? Score both alleles of the variants in the promoters of GENES.

    VCF: VCF or BCF, plain or bgzipped (a tabix/CSI index is used when present). One row per variant x motif x
    strand where either allele's best window touching the variant has p <= --pvalue; pos is the 1-based VCF POS.
    """
    from dataclasses import asdict

    from motifscan.api import write_variants
    from motifscan.errors import UsageError

    options, window, spec = (_build(ScanOptions, values), _build(PromoterOptions, values),
                             _build(GenomeSpec, values))
    if vcf is not None and not os.path.exists(vcf):
        if not variant_specs:
            raise UsageError(f"VCF {vcf}: no such file")
        genes, vcf = (vcf, *genes), None  # with --variant, the first argument may be a gene
    for option, value in (("--gff3", gff3_path), ("--fimo", fimo_path)):
        if value is not None:
            raise UsageError(f"{option} is not available for variants: use -o (TSV) and --bed (the affected sites)")
    _check_outputs({"-o/--output": output, "--bed": bed_path, "--html": html_path},
                   {"VCF": vcf, "--genes-file": genes_file, "--genome": spec.genome, "--annotation": spec.annotation,
                    "--motif-file": motif_files})
    names = list(genes) + (_gene_list((), genes_file) if genes_file else [])
    release, motifs = _motif_selection(motif_ids, tf_names, motif_files, collections, tax_groups, jaspar_release)
    rows = write_variants(output, vcf, names, motifs, bed=bed_path, bed_track=bed_track, html=html_path,
                          variants=variant_specs, all_variants=all_variants, genome=spec, jaspar_release=release,
                          command=_command_line(), **asdict(options), **asdict(window))
    log.info("%s", _count(rows, "variant x motif x strand row"))


@cli.command()
@_gene_options
@_BACKGROUND_GENES
@click.option("--gc-match/--no-gc-match", default=True, show_default=True,
              help="Compare query promoters with background promoters of similar GC (strata, exact CMH test).")
@click.option("--gc-strata", type=click.IntRange(min=1), default=10, show_default=True,
              help="Number of GC strata (equal-frequency in the background, at least 20 promoters each).")
@click.option("-o", "--output", default="-", metavar="FILE", help="TSV output [default: stdout].")
@click.option("--plot", "plot_path", default=None, metavar="FILE",
              help="Also draw odds ratio against -log10 q (.png or .svg).")
@_HTML_OPTION
@_motif_options
@_model_options
def enrich(genes, genes_file, background_genes_file, gc_match, gc_strata, output, plot_path, html_path, motif_ids,
           tf_names, motif_files, collections, tax_groups, jaspar_release, **values):
    """Test each motif for sites enriched in the promoters of GENES against a background of promoters.

    Per matrix: promoters with a site at --pvalue (one-sided Fisher; with --gc-match the exact stratified test) and
    each promoter's best site score (one-sided Mann-Whitney; with --gc-match van Elteren), BH across the matrices.
    One row per matrix, sorted by p_value. Query genes are left out of the background.
    """
    from dataclasses import asdict

    from motifscan.gene_lists import enrich as run_enrich

    options, window, spec = (_build(ScanOptions, values), _build(PromoterOptions, values),
                             _build(GenomeSpec, values))
    _check_outputs({"-o/--output": output, "--plot": plot_path, "--html": html_path},
                   {"--genes-file": genes_file, "--genome": spec.genome, "--annotation": spec.annotation,
                    "--motif-file": motif_files, "--background-genes": background_genes_file})
    if plot_path is not None and not plot_path.lower().endswith((".png", ".svg")):
        raise click.BadParameter("must end in .png or .svg", param_hint="--plot")
    names = _gene_list(genes, genes_file)
    release, motifs = _motif_selection(motif_ids, tf_names, motif_files, collections, tax_groups, jaspar_release)
    result = run_enrich(names, motifs, background_genes=background_genes_file, gc_match=gc_match,
                        gc_strata=gc_strata, genome=spec, jaspar_release=release, command=_command_line(),
                        **asdict(options), **asdict(window))
    from motifscan.writers import write_lines

    write_lines(output, result.tsv_lines())
    if html_path is not None:
        write_lines(html_path, [result.to_html()])
    if plot_path is not None:
        result.plot(plot_path)
    significant = int((result.columns["q_value"] < 0.05).sum())
    log.info("%d matrices tested; %d with presence q < 0.05", len(result), significant)


@cli.command()
@_gene_options
@click.option("--format", "output_format", type=click.Choice(["fasta", "bed"]), default="fasta", show_default=True)
@click.option("-o", "--output", default="-", metavar="FILE", help="Output file [default: stdout].")
def promoters(genes, genes_file, output_format, output, **values):
    """Write the promoter windows of GENES as FASTA (gene orientation; header 1-based inclusive) or BED."""
    from motifscan.genes import collect_promoters
    from motifscan.writers import promoter_bed_lines, promoter_fasta_lines, write_lines

    window, spec = _build(PromoterOptions, values), _build(GenomeSpec, values)
    _check_outputs({"-o/--output": output},
                   {"--genes-file": genes_file, "--genome": spec.genome, "--annotation": spec.annotation})
    found = collect_promoters(_gene_list(genes, genes_file), spec, window)
    lines = (promoter_fasta_lines(found.promoters, found.sequences) if output_format == "fasta"
             else promoter_bed_lines(found.promoters, found.provenance))
    write_lines(output, lines)


_EXECUTION_OPTIONS = ("--jobs", "-j", "--dask-scheduler", "--chunk-size")


def _command_line_without_execution() -> str:
    """The command line less the options that say only where and in what pieces to run (so that the output's
    provenance, and thus its bytes, do not depend on them)."""
    words, skip = [], False
    for word in _Group.argv:
        if skip:
            skip = False
            continue
        name, equals, _ = word.partition("=")
        if name in _EXECUTION_OPTIONS:
            skip = not equals
            continue
        words.append(word)
    return " ".join(shlex.quote(a) for a in ["motifscan", *words])


@cli.command()
@click.argument("fasta_path", metavar="FASTA", type=click.Path(exists=True, dir_okay=False))
@click.option("--regions", type=click.Path(exists=True, dir_okay=False), default=None, metavar="BED",
              help="Scan only these regions (BED, 0-based half-open; hits named by the name column).")
@_motif_options
@_apply(_declared(ScanOptions, ("pseudocount", "background", "p_threshold", "q_threshold", "min_rel_score",
                               "mask_lowercase", "max_strand")))
@click.option("-o", "--output", required=True, metavar="FILE",
              help="FILE.tsv.gz or FILE.bed.gz (bgzip + tabix index) or FILE.parquet (partitioned by chromosome).")
@click.option("--chunk-size", type=click.IntRange(min=1), default=None, metavar="BASES",
              help="Window starts per chunk of work [default: 1000000]; results do not depend on it.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True, metavar="N",
              help="Local worker processes.")
@click.option("--dask-scheduler", default=None, metavar="ADDRESS",
              help="Run the chunks on a Dask cluster: tcp://HOST:PORT, or local:N to start one of N workers.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Cache folder (FASTA indexes when the genome's folder is read-only).")
def genome(fasta_path, regions, motif_ids, tf_names, motif_files, collections, tax_groups, jaspar_release, output,
           chunk_size, jobs, dask_scheduler, cache_dir, **values):
    """Scan a whole genome FASTA (plain or bgzip), or its --regions, in chunks, to an indexed file.

    Coordinates: 0-based half-open on each chromosome; the hits, p- and q-values are those of `motifscan fasta` on
    the same sequences, whatever --chunk-size, --jobs or --dask-scheduler.
    """
    from dataclasses import asdict

    from motifscan.api import scan_genome

    if jobs > 1 and dask_scheduler:
        raise click.UsageError("--jobs and --dask-scheduler exclude each other (the Dask cluster sets the workers)")
    options = _build(ScanOptions, {**values, "jobs": jobs})
    release, motifs = _motif_selection(motif_ids, tf_names, motif_files, collections, tax_groups, jaspar_release)
    result = scan_genome(fasta_path, output, motifs, regions=regions, chunk_size=chunk_size,
                         dask_scheduler=dask_scheduler, jaspar_release=release, cache_dir=cache_dir,
                         command=_command_line_without_execution(), **asdict(options))
    log.info("%d hits in %d chunks -> %s", result.n_hits, result.chunks, ", ".join(map(str, result.paths)))


@cli.command()
@click.argument("hits_path", metavar="HITS.tsv", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, metavar="FILE", help="Image file: .png, .svg or .pdf.")
@click.option("--title", default=None, help="Figure title.")
@click.option("--top", type=click.IntRange(min=0), default=None, metavar="N",
              help="Draw the N motifs whose best site has the lowest p-value; 0 = all [default: 25].")
@click.option("--max-q", type=click.FloatRange(0, 1), default=None, metavar="Q",
              help="Draw only sites with q-value <= Q.")
@click.option("--motif", "motif_ids", multiple=True, metavar="ID",
              help="Draw only this motif (MA0605.3, or MA0605 for any version). Repeatable.")
@click.option("--tf", "tf_names", multiple=True, metavar="NAME",
              help="Draw only motifs of this TF name (case-insensitive). Repeatable.")
def plot(hits_path, output, title, top, max_q, motif_ids, tf_names):
    """Draw a promoter map of a motifscan TSV: one row per scanned promoter (or sequence), sites by position
    relative to the TSS, N stretches hatched."""
    from motifscan.api import ScanResult
    from motifscan.plots import DEFAULT_TOP, suffix_check
    from motifscan.provenance import Provenance
    from motifscan.writers import read_tsv, records_from_provenance

    _check_outputs({"-o/--output": output}, {"HITS.tsv": hits_path})
    suffix_check(output)
    provenance, hits = read_tsv(hits_path)
    # the provenance gives the promoter window's extent, the record lines each promoter's strand, the gap lines
    # the N stretches
    result = ScanResult(hits, (), Provenance.from_lines(provenance), {}, records_from_provenance(provenance))
    cap = DEFAULT_TOP if top is None else (top or None)
    figure = result.plot(output, title=title, top=cap, max_q=max_q, motif_ids=motif_ids, tf_names=tf_names)
    left_out = figure.left_out
    drawn = len(hits) - left_out["sites"]
    log.info("%s drawn to %s", _count(drawn, "site"), output)
    if left_out["by_q"]:
        log.info("not drawn: %s with q > %g (--max-q)", _count(left_out["by_q"], "site"), max_q)
    capped = left_out["sites"] - left_out["by_q"]
    if capped:
        log.warning("not drawn: %s of %s beyond the %d with the strongest sites; use --top N (0 = all), --motif "
                    "or --tf to choose", _count(capped, "site"), _count(left_out["motifs"], "more motif"), cap)


@cli.command()
@click.argument("motif_id", metavar="MOTIF")
@click.option("-o", "--output", required=True, metavar="FILE", help="Image file: .png, .svg or .pdf.")
@click.option("--jaspar-release", default=None, metavar="RELEASE", help="[default: the newest bundled]")
@click.option("--tf-species", "species", default=None, metavar="SPECIES",
              help="With a TF name: only its matrices of this species ('human', 'mouse', 'Homo sapiens', 9606).")
@_apply(_declared(ScanOptions, ("pseudocount",)))
def logo(motif_id, output, jaspar_release, species, pseudocount):
    """Draw the sequence logo (information content, bits) of a motif: a JASPAR ID, a TF name (each of its
    matrices, one row each) or a motif file (each of its motifs, up to 12)."""
    from motifscan.api import resolve_motifs
    from motifscan.plots import motif_logo

    _check_outputs({"-o/--output": output}, {"MOTIF": motif_id})
    from motifscan.motifs import jaspar_database

    motifs = resolve_motifs(motif_id, jaspar_database(jaspar_release), tf_species=species)
    if len(motifs) > MAX_LOGOS:
        log.warning("%s holds %d motifs; drawing the first %d: %s", motif_id, len(motifs), MAX_LOGOS,
                    " ".join(m.id for m in motifs[:MAX_LOGOS]))
        motifs = motifs[:MAX_LOGOS]
    motif_logo(motifs, output, pseudocount=pseudocount)
    drawn = ", ".join(f"{m.id} {m.name}" + (f" ({m.species})" if m.species else "") for m in motifs)
    log.info("%s of %s written to %s: %s", _count(len(motifs), "logo"), motif_id, output, drawn)


MAX_LOGOS = 12
"""The most logos ``motifscan logo`` draws in one figure (a motif file may hold hundreds)."""


@cli.command()
@click.argument("hits_path", metavar="HITS.tsv", type=click.Path(exists=True, dir_okay=False))
@click.option("--top", type=int, default=None, metavar="N", help="Design the best N sites by p [default: 5].")
@click.option("--row", "rows", type=int, multiple=True, metavar="K",
              help="Design the site of data row K (1-based, header not counted). Repeatable.")
@click.option("--genome", default=None, metavar="FASTA|demo",
              help="Genome FASTA (plain or bgzip; no annotation needed) or 'demo'. Default: Ensembl REST.")
@click.option("--species", default="human", show_default=True, help="Ensembl species.")
@click.option("--assembly", default=None, metavar="NAME", help="Ensembl assembly [default: GRCh38 for human].")
@click.option("--ensembl-url", envvar="MOTIFSCAN_ENSEMBL_URL", default=None, metavar="URL",
              help="Ensembl REST server (mirror, tests); env MOTIFSCAN_ENSEMBL_URL.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Cache directory [default: the user cache directory].")
@click.option("--no-cache", is_flag=True, help="Do not read or write the Ensembl cache.")
@click.option("--offline", is_flag=True, help="Answer from the cache only.")
@click.option("--enzymes", default=None, metavar="E1,E2,...",
              help="Restriction enzymes for the cloning primers' tails, 5' first (e.g. KpnI,XhoI); the first two "
                   "that do not cut the insert are used.")
@_motif_options
@click.option("-o", "--output", required=True, metavar="FILE", help="Design TSV ('-' for stdout).")
@click.option("--html", "html_path", default=None, metavar="FILE", help="Also write the design as an HTML page.")
def design(hits_path, top, rows, genome, species, assembly, ensembl_url, cache_dir, no_cache, offline, enzymes,
           motif_ids, tf_names, motif_files, collections, tax_groups, jaspar_release, output, html_path):
    """Bench designs for sites of a scan TSV: ChIP-qPCR primers, a site-destroying mutation with QuikChange-style
    primers, and primers to clone the promoter window into a reporter vector.

    Coordinates are 0-based half-open on the chromosome's + strand. Give the scan's motifs again (--motif, --tf,
    --motif-file, ...) only when the TSV cannot name them all (motif files, more than 30 motifs).
    """
    from motifscan.api import design_sites

    _check_outputs({"-o/--output": output, "--html": html_path}, {"HITS.tsv": hits_path, "--genome": genome})
    motifs = None
    if motif_ids or tf_names or motif_files or collections or tax_groups:
        _, motifs = _motif_selection(motif_ids, tf_names, motif_files, collections, tax_groups, jaspar_release)
    result = design_sites(hits_path, top=top, rows=rows, genome=genome, motifs=motifs,
                          enzymes=[e for e in (enzymes or "").split(",") if e.strip()], cache_dir=cache_dir,
                          species=species, assembly=assembly, ensembl_url=ensembl_url, use_cache=not no_cache,
                          offline=offline, command=_command_line())
    from motifscan.writers import write_outputs

    pieces = [(output, [result.to_tsv()])]
    if html_path is not None:
        pieces.append((html_path, [result.to_html()]))
    write_outputs(pieces)
    log.info("%d sites designed", len(result))


def _without_huge_pages() -> None:
    """Ask numpy (imported later) not to madvise transparent huge pages for its arrays, unless the user chose.

    numpy marks every array of 4 MB or more MADV_HUGEPAGE; where the kernel's THP defrag setting is ``madvise`` (the
    default of many distributions) each first touch of such memory may compact memory synchronously for a 2 MB page.
    A scan makes many short-lived arrays of tens of MB (columns of millions of hits): measured on (e) of
    benchmarks/run.py (2.2 M hits), that cost 1.5-2 s of system time in building the hit table alone, and nothing
    in return. Only the command line does this: it owns its process (and passes it to the processes it starts); the
    library leaves the caller's numpy as it is."""
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")


def main() -> None:
    """Entry point of the ``motifscan`` console script and ``python -m motifscan``."""
    _without_huge_pages()
    _treat_sigterm_as_sigint()
    cli(prog_name="motifscan")

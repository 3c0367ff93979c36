"""The ingest stages: fetch, convert, validate, publish; each reports progress and can stop.

resolve sources -> output already complete? (skip) -> fetch -> open and check ->
COG by GDAL (the one full read) -> strict COG validation -> quicklook and STAC Item
from the overviews -> publish COG, quicklook, then the Item that marks it complete
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from types import MappingProxyType
from typing import Any

from runtime import TaskContext, UsageError
from tasks.ingest.quicklook import write_png
from tasks.ingest.stac import COG_MEDIA_TYPE, asset_href, build_item, summary
from tasks.raster import completion, profiles, resources, sources
from tasks.raster.completion import Outputs
from tasks.raster.gdal_config import gdal_env
from tasks.raster.progress_spans import byte_span, fraction_span
from tasks.raster.publish import Publisher, publishing
from tasks.raster.sources import Source
from tasks.raster.validate import validate_cog
from tasks.raster.write import copy

# Bump when the conversion changes so much that an earlier output is no longer what this
# version would make: retries then redo the work instead of skipping.
RECIPE = 1
STAGES = {"fetch": (0.0, 0.15), "convert": (0.15, 0.85), "validate": (0.85, 0.9)}
PUBLISH = (0.9, 1.0)


Arguments = Mapping[str, Any]


def recorded_options(args: Arguments) -> dict[str, Any]:
    """The options that shape the output: they go into the fingerprint and the Item."""
    options = {k: v for k, v in args.items() if k not in ("source", "destination", "overwrite")}
    if options["dst_crs"] is None:
        options.pop("resampling")
    if options["nodata"] is not None and math.isnan(options["nodata"]):
        options["nodata"] = "nan"
    return options


def run(ctx: TaskContext, args: Arguments) -> dict[str, Any]:
    """Ingest `args` (the task's arguments, named as in its signature)."""
    args = _normalised(args)
    ctx.progress(0.0, stage="fetch", message="checking the sources")
    resolved = [sources.resolve(uri) for uri in args["source"]]
    outputs = Outputs.beside(args["destination"])
    fingerprint = completion.fingerprint(resolved, recipe=RECIPE, options=recorded_options(args))
    machine = resources.detect()
    config = gdal_env(machine, os.environ)
    ctx.log.info(
        "ingest.plan",
        sources=args["source"],
        destination=outputs.data,
        fingerprint=fingerprint,
        cpus=machine.cpus,
        gdal_cachemax_mib=machine.gdal_cache_mib,
    )
    with publishing(args["destination"], ctx) as publisher:
        done = completion.completed(publisher, outputs, fingerprint, args["overwrite"])
        if done is not None:
            ctx.log.info("ingest.skipped", reason="complete output from the same job found")
            ctx.progress(1.0, stage="publish", message="already complete")
            return _result(outputs, summary(done), skipped=True)
        local = _fetch(ctx, resolved)
        gdal_source, options = _prepare(local, args, config)
        staged = publisher.stage(outputs.data)
        ctx.progress(STAGES["convert"][0], stage="convert", message="writing the COG")
        progress = fraction_span(ctx, *STAGES["convert"], "convert")
        copy(gdal_source, staged, "COG", options, config, progress, local)
        ctx.progress(STAGES["validate"][0], stage="validate", message="checking the COG")
        validate_cog(staged, outputs.data)
        facts = _describe(publisher, staged, outputs, fingerprint, args, config)
        _publish(ctx, publisher, staged, outputs)
    ctx.log.info("ingest.published", cog=outputs.data, bytes=facts["bytes"])
    return _result(outputs, facts, skipped=False)


def _normalised(args: Arguments) -> Arguments:
    """Fail on bad parameters before any I/O; spell the CRS one way for the fingerprint."""
    if not args["source"]:
        raise UsageError("ingest needs at least one --source")
    profiles.check_blocksize(args["blocksize"])
    if args["dst_crs"] is None:
        return args
    from rasterio.crs import CRS
    from rasterio.errors import CRSError

    try:
        crs = CRS.from_user_input(args["dst_crs"])
    except CRSError as exc:
        raise UsageError(
            f"dst_crs {args['dst_crs']!r} is not a CRS GDAL knows ({exc}); "
            "use an authority code such as EPSG:3857"
        ) from exc
    spelled = crs.to_string() if crs.to_epsg() is None else f"EPSG:{crs.to_epsg()}"
    return MappingProxyType({**args, "dst_crs": spelled})


def _fetch(ctx: TaskContext, resolved: list[Source]) -> list[Source]:
    """Download remote inputs to scratch in parallel when they fit; else GDAL streams them."""
    remote = [s for s in resolved if s.remote]
    if not remote:
        return resolved
    if not sources.fits_in_scratch(resolved, ctx.scratch):
        ctx.log.info("ingest.fetch", mode="stream", reason="scratch space too small to download")
        return resolved
    total = sum(s.size for s in remote) or 1
    on_bytes = byte_span(ctx, *STAGES["fetch"], "fetch", total, message="downloading")
    ctx.log.info("ingest.fetch", mode="download", bytes=total)
    return [
        sources.download(s, ctx.scratch / "sources" / str(i), lambda: ctx.cancelled, on_bytes)
        if s.remote
        else s
        for i, s in enumerate(resolved)
    ]


def _prepare(
    local: list[Source], args: Arguments, config: dict[str, str | int]
) -> tuple[str, dict[str, str]]:
    """Open and check every input; return what GDAL converts and the creation options."""
    import rasterio

    from tasks.raster import stack

    with rasterio.Env(**config), ExitStack() as opened:
        inputs = [(s, opened.enter_context(sources.open_raster(s))) for s in local]
        stacked = stack.stack_of(inputs, args["nodata"])
        gdal_source = (
            stack.vrt_xml(inputs, stacked)
            if stack.needs_vrt(inputs, stacked)
            else local[0].gdal_path
        )
    options = profiles.cog_options(
        args["compress"],
        dtype=stacked.dtype,
        count=stacked.count,
        blocksize=args["blocksize"],
        overview_resampling=args["overview_resampling"],
        threads=resources.detect().cpus,
        dst_crs=args["dst_crs"],
        resampling=args["resampling"],
    )
    return gdal_source, options


def _describe(
    publisher: Publisher,
    staged: Path,
    outputs: Outputs,
    fingerprint: str,
    args: Arguments,
    config: dict[str, str | int],
) -> dict[str, Any]:
    """Write the quicklook and the Item from the staged COG's overviews; return the facts."""
    import rasterio

    size = staged.stat().st_size
    with rasterio.Env(**config), rasterio.open(staged) as dataset:
        write_png(dataset, publisher.stage(outputs.thumbnail))
        item = build_item(
            dataset,
            item_id=Path(outputs.data.rsplit("/", 1)[-1]).stem,
            cog_href=asset_href(outputs.data),
            thumbnail_href=asset_href(outputs.thumbnail),
            size=size,
            fingerprint=fingerprint,
            sources=list(args["source"]),
            options=recorded_options(args),
        )
        facts = {
            "width": dataset.width,
            "height": dataset.height,
            "count": dataset.count,
            "crs": _crs_text(dataset.crs),
            "bounds": list(dataset.bounds),
            "bytes": size,
        }
    publisher.stage(outputs.item).write_text(
        json.dumps(item.to_dict(include_self_link=False), indent=1)
    )
    return facts


def _publish(ctx: TaskContext, publisher: Publisher, staged: Path, outputs: Outputs) -> None:
    start, end = PUBLISH
    # The COG is most of the bytes; the quicklook and the Item fill the last 5%.
    on_bytes = byte_span(ctx, start, start + (end - start) * 0.95, "publish", staged.stat().st_size)
    ctx.progress(start, stage="publish", message="publishing the COG")
    publisher.publish(staged, outputs.data, COG_MEDIA_TYPE, on_bytes)
    publisher.publish(publisher.stage(outputs.thumbnail), outputs.thumbnail, "image/png")
    publisher.publish(publisher.stage(outputs.item), outputs.item, "application/geo+json")


def _crs_text(crs: Any) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg is not None else crs.to_wkt()


def _result(outputs: Outputs, facts: dict[str, Any], *, skipped: bool) -> dict[str, Any]:
    return {
        "cog": outputs.data,
        "item": outputs.item,
        "thumbnail": outputs.thumbnail,
        **facts,
        "skipped": skipped,
    }

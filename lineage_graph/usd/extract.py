"""Read a USD scene with ``pxr`` into a *scene document*: identity, layers and arcs, missing
assets, variant sets (nested ones too) and, per scene variant, the composed prims.

This module only reads files; storing scene documents in the graph is a later slice of the USD
issue (see README's status).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lineage_graph.errors import LineageGraphError
from lineage_graph.usd.document import scene_content_hash


class SceneReadError(LineageGraphError):
    """The file is not a USD layer, or cannot be read."""


@dataclass(frozen=True)
class Arc:
    kind: str  # SUBLAYER | REFERENCE | PAYLOAD
    layer: str  # the layer that authors the arc (relative path)
    target: str  # the asset path as authored
    resolved: str | None  # relative path of the target, None when it does not resolve
    prim: str | None  # the prim spec that introduces it (None for sublayers)


@dataclass(frozen=True)
class Layer:
    path: str  # relative to the asset root
    sha256: str


@dataclass(frozen=True)
class Prim:
    path: str
    type: str
    kind: str
    instanceable: bool
    instance_proxy: bool


@dataclass(frozen=True)
class VariantSet:
    name: str
    options: list[str]
    default: str | None
    # For a nested set: the selections under which it exists, e.g. {"clutter": "messy"}.
    exists_under: dict[str, str] = field(default_factory=dict)


@dataclass
class SceneVariantPrims:
    selections: dict[str, str]
    prims: list[Prim]


@dataclass
class SceneDocument:
    scene_id: str
    version: str
    content_hash: str
    root_layer: str
    root_prim: str
    layers: list[Layer]
    arcs: list[Arc]
    missing_assets: list[str]
    variant_sets: list[VariantSet]
    default_selections: dict[str, str]
    default_prims: list[Prim]  # the composition under the default selections
    variants: list[SceneVariantPrims]

    def as_dict(self) -> dict[str, Any]:
        return {
            "sceneId": self.scene_id,
            "version": self.version,
            "contentHash": self.content_hash,
            "rootLayer": self.root_layer,
            "rootPrim": self.root_prim,
            "layers": [{"path": layer.path, "sha256": layer.sha256} for layer in self.layers],
            "arcs": [{"kind": a.kind, "layer": a.layer, "target": a.target,
                      "resolved": a.resolved, "prim": a.prim} for a in self.arcs],
            "missingAssets": self.missing_assets,
            "variantSets": [{"name": v.name, "options": v.options, "default": v.default,
                             "existsUnder": v.exists_under} for v in self.variant_sets],
            "defaultSelections": self.default_selections,
            "defaultPrims": [_prim_dict(p) for p in self.default_prims],
            "variants": [{"selections": v.selections,
                          "prims": [_prim_dict(p) for p in v.prims]} for v in self.variants],
        }


def _prim_dict(p: Prim) -> dict[str, Any]:
    return {"path": p.path, "type": p.type, "kind": p.kind, "instanceable": p.instanceable,
            "instanceProxy": p.instance_proxy}


def _pxr() -> Any:
    try:
        from pxr import Sdf, Usd, UsdUtils
    except ImportError as exc:  # pragma: no cover - usd-core is a dependency
        raise SceneReadError("usd-core (pxr) is not installed") from exc
    return Sdf, Usd, UsdUtils


def read_scene(
    path: Path,
    asset_root: Path | None = None,
    selections: list[dict[str, str]] | None = None,
    all_variants: bool = False,
    max_variants: int = 256,
    on_progress: Callable[[int, int], None] | None = None,
) -> SceneDocument:
    """Read the scene rooted at ``path``.

    ``selections``: the scene variants to compose (each a partial selection map, completed
    with the defaults); ``all_variants``: every combination of the root prim's variant sets
    (refused past ``max_variants``). Neither: the default selection only. ``on_progress`` is
    called with (variants composed, variants to compose) as composition proceeds.
    """
    sdf, usd, usd_utils = _pxr()
    path = path.resolve()
    root_dir = (asset_root or path.parent).resolve()
    layer = _open_layer(sdf, path)
    try:
        layers, _assets, unresolved = usd_utils.ComputeAllDependencies(str(path))
    except Exception as exc:  # Tf.ErrorException: a sublayer or reference does not parse
        raise SceneReadError(f"{path}: a layer it depends on is not readable "
                             f"({_first_line(exc)})") from exc
    layer_paths = sorted({Path(lyr.realPath) for lyr in layers if lyr.realPath})
    layer_docs = [Layer(_relative(p, root_dir), _file_sha256(p)) for p in layer_paths]
    content_hash = scene_content_hash((lyr.path, lyr.sha256) for lyr in layer_docs)
    custom = dict(layer.customLayerData or {})
    scene_id = str(custom.get("sceneId") or path.stem)
    version = str(custom.get("sceneVersion") or f"sha256:{content_hash[:16]}")

    try:
        stage = usd.Stage.Open(str(path), usd.Stage.LoadAll)
    except Exception as exc:  # Tf.ErrorException, as above
        raise SceneReadError(f"{path}: USD could not compose this scene "
                             f"({_first_line(exc)})") from exc
    if stage is None:
        raise SceneReadError(f"{path}: USD could not compose this scene")
    root = stage.GetDefaultPrim()
    if not root or not root.IsValid():
        children = list(stage.GetPseudoRoot().GetChildren())
        if not children:
            raise SceneReadError(f"{path}: the scene has no root prim")
        root = children[0]
    root_path = root.GetPath()
    root_sets = _variant_sets(root)
    defaults = {v.name: v.default for v in root_sets if v.default is not None}

    wanted = _selections_to_compose(root_sets, defaults, selections, all_variants, max_variants)
    default_prims = _prims(usd, stage)
    stage.SetEditTarget(stage.GetSessionLayer())
    variants: list[SceneVariantPrims] = []
    nested: dict[str, VariantSet] = {}
    for selection in wanted:
        stage.GetSessionLayer().Clear()  # no selection of the previous variant may linger
        # Root sets first: a nested set exists only once its parent selection is composed.
        ordered = sorted(selection.items(), key=lambda item: item[0] not in defaults)
        for set_name, option in ordered:
            prim = stage.GetPrimAtPath(root_path)
            _select(prim, set_name, option)
        prim = stage.GetPrimAtPath(root_path)
        for vset in _variant_sets(prim):
            if vset.name in defaults:
                continue
            seen = nested.get(vset.name)
            # Under which selections does the nested set exist? The selections common to
            # every composed variant where it appeared (e.g. {"clutter": "messy"}).
            under = dict(selection) if seen is None else {
                k: v for k, v in seen.exists_under.items() if selection.get(k) == v}
            nested[vset.name] = VariantSet(vset.name, vset.options, vset.default, under)
        variants.append(SceneVariantPrims(dict(selection), _prims(usd, stage)))
        if on_progress is not None:
            on_progress(len(variants), len(wanted))
    stage.GetSessionLayer().Clear()

    return SceneDocument(
        scene_id=scene_id,
        version=version,
        content_hash=content_hash,
        root_layer=_relative(path, root_dir),
        root_prim=str(root_path),
        layers=layer_docs,
        arcs=_arcs(sdf, layers, root_dir),
        missing_assets=sorted({_relative(Path(u), root_dir) for u in unresolved}),
        variant_sets=[*root_sets, *nested.values()],
        default_selections=defaults,
        default_prims=default_prims,
        variants=variants,
    )


def _open_layer(sdf: Any, path: Path) -> Any:
    if not path.is_file():
        raise SceneReadError(f"{path}: no such file")
    try:
        layer = sdf.Layer.FindOrOpen(str(path))
    except Exception as exc:  # pxr raises Tf.ErrorException for unreadable layers
        raise SceneReadError(f"{path}: not a readable USD layer ({_first_line(exc)})") from exc
    if layer is None:
        raise SceneReadError(f"{path}: not a USD layer")
    return layer


def _select(prim: Any, set_name: str, option: str) -> None:
    sets = prim.GetVariantSets()
    if not sets.HasVariantSet(set_name):
        raise SceneReadError(
            f"no variant set {set_name!r} on the root prim under these selections "
            f"(it has: {', '.join(sorted(sets.GetNames())) or 'none'})")
    vset = sets.GetVariantSet(set_name)
    options = sorted(vset.GetVariantNames())
    if option not in options:
        raise SceneReadError(f"variant set {set_name!r} has no option {option!r} "
                             f"(it has: {', '.join(options)})")
    vset.SetVariantSelection(option)


def _variant_sets(prim: Any) -> list[VariantSet]:
    sets = prim.GetVariantSets()
    found = []
    for name in sets.GetNames():
        vset = sets.GetVariantSet(name)
        found.append(VariantSet(name, sorted(vset.GetVariantNames()),
                                vset.GetVariantSelection() or None))
    return found


def _selections_to_compose(
    root_sets: list[VariantSet], defaults: dict[str, str],
    selections: list[dict[str, str]] | None, all_variants: bool, max_variants: int,
) -> list[dict[str, str]]:
    options = {v.name: v.options for v in root_sets}
    if all_variants:
        total = 1
        for opts in options.values():
            total *= max(1, len(opts))
        if total > max_variants:
            raise SceneReadError(
                f"the scene has {total} variant combinations, more than --max-variants "
                f"{max_variants}; raise it or pick selections with --variant"
            )
        names = sorted(options)
        return [dict(zip(names, combo, strict=True))
                for combo in itertools.product(*(options[n] for n in names))]
    # Sets and options are checked while composing (_select): nested sets appear only then.
    return [{**defaults, **partial} for partial in selections or [{}]]


def _prims(usd: Any, stage: Any) -> list[Prim]:
    predicate = usd.TraverseInstanceProxies(usd.PrimAllPrimsPredicate)
    prims = []
    for prim in usd.PrimRange(stage.GetPseudoRoot(), predicate):
        if prim.IsPseudoRoot():
            continue
        prims.append(Prim(
            path=str(prim.GetPath()),
            type=str(prim.GetTypeName()),
            kind=str(usd.ModelAPI(prim).GetKind() or ""),
            instanceable=bool(prim.IsInstanceable()),
            instance_proxy=bool(prim.IsInstanceProxy()),
        ))
    return sorted(prims, key=lambda p: p.path)


def _arcs(sdf: Any, layers: list[Any], root_dir: Path) -> list[Arc]:
    arcs: list[Arc] = []
    for layer in layers:
        if not layer.realPath:
            continue
        here = _relative(Path(layer.realPath), root_dir)
        for sub in layer.subLayerPaths:
            arcs.append(Arc("SUBLAYER", here, sub, _resolve(layer, sub, root_dir), None))
        paths: list[Any] = []
        layer.Traverse(sdf.Path.absoluteRootPath, paths.append)
        for spec_path in paths:
            if not (spec_path.IsPrimPath() or spec_path.IsPrimVariantSelectionPath()):
                continue
            spec = layer.GetPrimAtPath(spec_path)
            if spec is None:
                continue
            for kind, items in (("REFERENCE", spec.referenceList.GetAddedOrExplicitItems()),
                                ("PAYLOAD", spec.payloadList.GetAddedOrExplicitItems())):
                for item in items:
                    if not item.assetPath:
                        continue  # an internal reference: no layer is brought in
                    arcs.append(Arc(kind, here, item.assetPath,
                                    _resolve(layer, item.assetPath, root_dir), str(spec_path)))
    return sorted(arcs, key=lambda a: (a.layer, a.kind, a.prim or "", a.target))


def _resolve(layer: Any, asset_path: str, root_dir: Path) -> str | None:
    absolute = Path(layer.ComputeAbsolutePath(asset_path))
    return _relative(absolute, root_dir) if absolute.is_file() else None


def _relative(path: Path, root_dir: Path) -> str:
    try:
        return path.resolve().relative_to(root_dir).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _first_line(exc: BaseException) -> str:
    """pxr's messages read "Error in 'Fn' at line N in file F : 'what went wrong'": keep the
    part a user can act on."""
    text = " ".join(str(exc).split())
    found = re.search(r" : '(.+?)'(?= Error in |$)", text)
    if found is not None:
        text = found.group(1)
    return text[:300] or type(exc).__name__

"""The demo's own USD scene, authored with pxr: a warehouse with a lighting variant set
(day, night) and a layout variant set (aisle_wide, aisle_narrow: the narrow layout adds a
shelf), a sublayer for lights and a referenced pallet asset."""

from __future__ import annotations

import shutil
from pathlib import Path

SCENE_ID = "demo_warehouse"
SCENE_VERSION = "2.1.0"


def author_warehouse(directory: Path) -> Path:
    """Write the scene's layers under ``directory`` (same content every time, so the content
    hash, and the demo, are stable) and return the root layer."""
    from pxr import Gf, Usd, UsdGeom, UsdLux

    # Authored in a staging folder with the real relative layout (so references resolve while
    # authoring), then copied over only where the text differs: re-running leaves files alone.
    staging = directory / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "assets").mkdir(parents=True)
    pallet = staging / "assets" / "pallet.usda"
    asset = Usd.Stage.CreateNew(str(pallet))
    root = UsdGeom.Xform.Define(asset, "/Pallet")
    UsdGeom.Cube.Define(asset, "/Pallet/Deck").GetSizeAttr().Set(1.2)
    asset.SetDefaultPrim(root.GetPrim())
    asset.Save()

    light_stage = Usd.Stage.CreateNew(str(staging / "lights.usda"))
    UsdGeom.Xform.Define(light_stage, "/World")
    UsdLux.DistantLight.Define(light_stage, "/World/Sun").CreateIntensityAttr(3000.0)
    light_stage.Save()

    stage = Usd.Stage.CreateNew(str(staging / "warehouse.usda"))
    layer = stage.GetRootLayer()
    layer.customLayerData = {"sceneId": SCENE_ID, "sceneVersion": SCENE_VERSION}
    layer.subLayerPaths.append("./lights.usda")
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    world = UsdGeom.Xform.Define(stage, "/World").GetPrim()
    stage.SetDefaultPrim(world)
    for i in range(3):
        prim = UsdGeom.Xform.Define(stage, f"/World/Pallet_{i:02d}").GetPrim()
        prim.GetReferences().AddReference("./assets/pallet.usda")
        UsdGeom.XformCommonAPI(prim).SetTranslate(Gf.Vec3d(2.0 * i, 0, 0))
    UsdGeom.Cube.Define(stage, "/World/Shelf_01")
    UsdGeom.Cube.Define(stage, "/World/Shelf_02")

    lighting = world.GetVariantSets().AddVariantSet("lighting")
    for option, intensity in (("day", 3000.0), ("night", 40.0)):
        lighting.AddVariant(option)
        lighting.SetVariantSelection(option)
        with lighting.GetVariantEditContext():
            UsdLux.SphereLight.Define(stage, "/World/Lamp").CreateIntensityAttr(intensity)
    lighting.SetVariantSelection("day")

    layout = world.GetVariantSets().AddVariantSet("layout")
    for option in ("aisle_wide", "aisle_narrow"):
        layout.AddVariant(option)
        layout.SetVariantSelection(option)
        if option == "aisle_narrow":
            with layout.GetVariantEditContext():
                UsdGeom.Cube.Define(stage, "/World/Shelf_03")
    layout.SetVariantSelection("aisle_wide")

    stage.Save()

    for authored in sorted(p for p in staging.rglob("*.usda")):
        target = directory / authored.relative_to(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = authored.read_text()
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
    shutil.rmtree(staging)
    return directory / "warehouse.usda"


__all__ = ["SCENE_ID", "SCENE_VERSION", "author_warehouse"]

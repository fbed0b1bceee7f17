"""USD scenes (usd-core's ``pxr``): reading, storing, querying, and the ``usdScene`` facet."""

from lineage_graph.usd.facet import UsdSceneDatasetFacet, scene_facet

__all__ = ["UsdSceneDatasetFacet", "scene_facet"]

"""Print the demo's forensic answer: the regression, the ranked suspects with their reasons and
evidence, where to look next (GraphiQL, Cypher)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from rich.console import Console

from lineage_graph.demo.pipeline import CYPHER, SUSPECTS_QUERY, DemoResult


def print_report(out: Console, result: DemoResult) -> None:
    report = result.report
    out.print(f"\n[bold]detector v2 vs v1 on {report['metric']}[/bold]: "
              f"{report['baselineValue']:g} -> {report['candidateValue']:g} "
              f"(delta {report['delta']:+.3f}, regressed: {report['regressed']})")
    for suspect in report["suspects"]:
        out.print(f"  #{suspect['rank']}  score {suspect['score']:.3f}  {suspect['kind']}  "
                  f"[bold]{suspect['node']['name']}[/bold]", highlight=False)
        out.print(f"      {suspect['reason']}", highlight=False, soft_wrap=True)
    if report["suspects"]:
        top = report["suspects"][0]
        out.print("[bold]Evidence for the top suspect[/bold] (model version -> suspect):")
        out.print("  " + "\n  -> ".join(_short(n) for n in top["evidence"][0]), highlight=False)
    url = f"{result.api_url}/graphql"
    out.print(f"\n[bold]GraphiQL[/bold] (query ready): {url}?q={quote(SUSPECTS_QUERY, safe='')}",
              highlight=False,
              soft_wrap=True)
    out.print(f"[bold]Query to paste there[/bold]:\n{SUSPECTS_QUERY}", highlight=False)
    out.print(f"\n[bold]Cypher[/bold] (cypher-shell or Neo4j Browser):\n{CYPHER}",
              highlight=False)


def _short(node_id: Any) -> str:
    text = str(node_id)
    return text if len(text) <= 100 else text[:97] + "..."

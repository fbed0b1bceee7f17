"""Print the demo's forensic answer: the regression, the ranked suspects with their reasons and
evidence, where to look next (GraphiQL, Cypher)."""

from __future__ import annotations

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
    variants = report["implicatedSceneVariants"]
    if variants:
        out.print("\n[bold]Scene variants that fed the regression[/bold] (upstream of the top "
                  "suspects):")
        for variant in variants:
            out.print(f"  {variant['name']}  [dim]{variant['id']}[/dim]", highlight=False)
    top = [s for s in report["suspects"] if s["rank"] == 1]
    if top:
        out.print("[bold]Evidence for the top suspects[/bold] (model <- ... <- suspect):")
        for suspect in top:
            for path in suspect["evidenceText"]:
                out.print(f"  {path}", highlight=False, soft_wrap=True)
    url = f"{result.api_url}/graphql"
    out.print(f"\n[bold]GraphiQL[/bold] (query ready): {url}?q={quote(SUSPECTS_QUERY, safe='')}",
              highlight=False,
              soft_wrap=True)
    out.print(f"[bold]Query to paste there[/bold]:\n{SUSPECTS_QUERY}", highlight=False)
    out.print("\n[bold]Cypher[/bold] (save it as a file and run `lineage-graph cypher -f FILE`, "
              f"or paste it into Neo4j Browser):\n{CYPHER}", highlight=False)


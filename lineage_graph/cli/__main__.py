from lineage_graph.cli import main

main()

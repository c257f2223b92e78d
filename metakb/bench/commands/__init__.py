"""The benchmark suites' command lines: one module per suite, each with ``main(argv, prog)``.

They parse options, run a suite of `metakb.bench` and write its JSON and page;
`metakb.bench.suites` maps suite names to them for ``metakb bench SUITE``.
"""

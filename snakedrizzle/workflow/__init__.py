"""Running the DAG: the validated configuration (``config``, ``params``: parameter names,
defaults from the schema, which stage uses which), the plan each rule asks (``dag``), the runner
behind ``AstroDrizzle()``/``TweakReg()`` and the console scripts (``runner``), and what every
rule script starts with (``jobs``; ``jobserver`` and ``benchmarks`` for local runs)."""

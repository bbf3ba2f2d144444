"""plugin_bridge: the local server (`seedgen serve`) and the InDesign UXP panel that generate, browse and place seeds.

`server.create_app` builds the HTTP API from the routers in `routes/` (one module per resource), `runner` serves
it, `jobs` runs generation / augment / vectorize jobs in subprocesses, `library` serves and trashes the seed
files, `auth` keeps the per-install token, `settings` holds the bridge's settings and limits, and `panel/` is
the UXP plugin (manifest, HTML, CSS, JS); `command` is the `seedgen serve` click command, which the seedgen CLI
loads by its module name. Nothing in the project imports this package; it imports the others.
"""

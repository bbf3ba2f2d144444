"""One module per `seedgen` subcommand; each exposes a click command named `command`."""

"""One module per `tokenmix` subcommand: add_arguments(parser) and run(args) -> exit code."""

"""The command line: click commands, the injected environment, the console."""

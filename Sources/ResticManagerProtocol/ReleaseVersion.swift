/// The version of this release of restic-manager: both binaries report it
/// (`--version`, `hello.agent_version`), and `scripts/package` reads it from
/// this line to name the `.deb` files. Change it here and nowhere else.
public let releaseVersion = "0.1.0"

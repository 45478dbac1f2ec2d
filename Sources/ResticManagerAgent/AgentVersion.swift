import ResticManagerProtocol

/// The version this agent build reports in `hello`: the release version.
public let agentVersion = releaseVersion

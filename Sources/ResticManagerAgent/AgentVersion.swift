/// The version this agent build reports in `hello`.
public let agentVersion = "0.1.0"

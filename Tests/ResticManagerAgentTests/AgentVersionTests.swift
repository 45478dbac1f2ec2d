import ResticManagerAgent
import ResticManagerCore
import ResticManagerProtocol
import Testing

@Suite struct AgentVersionTests {
    @Test func versionIsSemanticAndTheReleaseVersion() {
        #expect(SemanticVersion(agentVersion) != nil)
        #expect(agentVersion == releaseVersion)
    }
}
